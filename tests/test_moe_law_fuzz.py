"""Property tests of the joint MoE law file format: whatever a user writes, the loader gives
either one clear LawError or a law that is usable at every expert count (finite, falling
losses in its fitted range; closed-form allocation equal to the numeric path)."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator import allocation as al
from estimator.errors import EstimatorError, LawError
from estimator.laws import JointMoELaw, builtin_laws, law_from_dict

BASE = builtin_laws()["ludziejewski-2025"].to_dict()

edge_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-3, -1e-3, 1.0, -1.0, 3.0, -3.0, 1e30, -1e30, 1e300]),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from(["1e3", "x", "", None, [], {}, True]),
)


def near(value: float) -> st.SearchStrategy:
    """Plausible values around a published constant (sign flips, scale, exact edges)."""
    return st.one_of(
        st.floats(min_value=-3 * abs(value) - 1, max_value=3 * abs(value) + 1),
        st.just(value),
        st.just(-value),
    )


# One to three constants changed at a time, so that many drawn laws are valid.
_one_change = st.sampled_from(sorted(BASE["constants"])).flatmap(
    lambda k: st.tuples(st.just(k), st.one_of(near(BASE["constants"][k]), edge_numbers))
)
constants = st.lists(_one_change, min_size=1, max_size=3).map(
    lambda changes: {**BASE["constants"], **dict(changes)}
)
experts = st.one_of(
    st.floats(min_value=1.0, max_value=64.0),
    st.floats(min_value=0.5, max_value=2e6),
    edge_numbers,
)
expert_ranges = st.one_of(
    st.lists(st.floats(min_value=0.0, max_value=100.0), min_size=0, max_size=3),
    edge_numbers,
)


def assert_clear(exc: BaseException) -> None:
    assert isinstance(exc, LawError), repr(exc)
    msg = str(exc)
    assert msg.strip() and "\n" not in msg


def assert_usable(law: JointMoELaw) -> None:
    fr = law.fitted_range
    n = np.geomspace(fr.params_min, fr.params_max, 5)
    d = np.geomspace(fr.tokens_min, fr.tokens_max, 5)
    for e in (1.0, law.experts, law.experts_range[1], 1e6):
        at = law.at_experts(e)
        loss = np.asarray(at.loss(n[:, None], d[None, :]))
        assert np.all(np.isfinite(loss)), (e, loss)
        assert np.all(np.diff(loss, axis=0) <= 0) and np.all(np.diff(loss, axis=1) <= 0)
        assert np.all(loss >= law.irreducible_loss)
        dn, dd = at.dloss_dlog(1e9, 1e10)
        assert dn <= 0 and dd <= 0


@settings(max_examples=300, deadline=None)
@given(c=constants, e=experts)
def test_any_constants_load_clearly_or_give_a_usable_law(c, e):
    data = {**BASE, "constants": c, "experts": e}
    try:
        law = law_from_dict(data, where="user.yaml")
    except EstimatorError as exc:
        assert_clear(exc)
        return
    assert isinstance(law, JointMoELaw)
    assert_usable(law)


@settings(max_examples=150, deadline=None)
@given(r=expert_ranges)
def test_any_experts_range_loads_clearly(r):
    data = {**BASE, "fitted_range": {**BASE["fitted_range"], "experts": r}}
    try:
        law = law_from_dict(data, where="user.yaml")
    except EstimatorError as exc:
        assert_clear(exc)
        return
    lo, hi = law.experts_range
    assert 1.0 <= lo <= hi and math.isfinite(hi)


@settings(max_examples=60, deadline=None)
@given(
    delta=st.floats(min_value=-1.0, max_value=1.0),
    omega=st.floats(min_value=-1.0, max_value=1.0),
    gamma=st.floats(min_value=-0.03, max_value=0.03),
    zeta=st.floats(min_value=-0.03, max_value=0.03),
    e=st.floats(min_value=1.0, max_value=1e3),
)
def test_closed_form_matches_numeric_for_any_valid_law(delta, omega, gamma, zeta, e):
    c = {**BASE["constants"], "delta": delta, "omega": omega, "gamma": gamma, "zeta": zeta}
    try:
        law = law_from_dict({**BASE, "constants": c}).at_experts(e)
    except LawError:
        return  # an exponent that turns positive at some E: refused, tested elsewhere
    budgets = np.geomspace(1e18, 1e25, 5)
    n_cf, d_cf = law.optimal_allocation_closed_form(budgets)
    if not (np.all(np.isfinite(n_cf)) and np.all((n_cf > 1e3) & (n_cf < 1e17))):
        return  # an optimum outside the numeric path's search box: nothing to compare
    n_num, _ = al.optimal_allocation_numeric(law, budgets)
    assert np.allclose(n_num, n_cf, rtol=1e-8)
    assert np.allclose(6 * n_cf * d_cf, budgets, rtol=1e-12)
