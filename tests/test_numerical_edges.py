"""Numerical edges: the solver converges (finite, round-trips the loss) or says why.

Targets just above the irreducible loss E, compute budgets from 1e15 to 1e30 FLOPs on every
built-in law, laws with tiny (0.01) or large (2.5) exponents, a fixed model size just above its
bound, unique data near its bound, and the Kaplan law at tiny and huge compute. Every check
asserts finiteness and monotonicity, not just "no crash", and a time bound.

The ``test_bug*`` tests pin bugs these tests found (numbering shared with
tests/test_robustness.py and docs/robustness.md; all fixed in 8425f67). A new one gets a test
with its exact input marked ``xfail(strict=True, reason="BUG-n: ...")`` until the core is fixed.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np
import pytest
from guards import hang_guard

from estimator import allocation as al
from estimator.engine import estimate
from estimator.errors import EstimatorError, InputError, UnreachableTargetError
from estimator.hardware import load_profiles
from estimator.laws import builtin_laws, law_from_dict
from estimator.scenario import Scenario

LAWS = builtin_laws()
LAW_IDS = sorted(LAWS)
PARAMETRIC_IDS = [i for i in LAW_IDS if LAWS[i].kind == "parametric"]
PROFILES = load_profiles("/nonexistent-numerical-edges-user-dir")
BUDGETS = [10.0**e for e in np.arange(15.0, 30.01, 0.5)]  # 1e15 .. 1e30 FLOPs


def finite(*values) -> bool:
    return all(math.isfinite(float(v)) for v in values)


def assert_plan(plan, target=None) -> None:
    assert finite(plan.params, plan.tokens, plan.train_flops, plan.loss, plan.epochs), plan
    assert plan.params > 0 and plan.tokens > 0 and plan.train_flops > 0
    if target is not None:
        assert plan.loss == pytest.approx(target, rel=1e-9)


def assert_clear_unreachable(exc: UnreachableTargetError) -> None:
    msg = str(exc)
    assert "\n" not in msg and msg.strip()
    assert math.isfinite(exc.bound)
    # says why and what to do
    assert re.search(r"choose|raise|add", msg, re.IGNORECASE), msg


def solve_or_unreachable(fn, target=None):
    """Run a solver: a finite plan that round-trips the target, or a clear
    UnreachableTargetError, and never a hang."""
    try:
        with hang_guard("a solver"):
            plan = fn()
    except UnreachableTargetError as exc:
        assert_clear_unreachable(exc)
        return None
    assert_plan(plan, target)
    return plan


def estimate_finite_or_clear(scenario):
    try:
        est = estimate(scenario, profiles=PROFILES)
    except EstimatorError as exc:
        assert "\n" not in str(exc)
        return None
    d = est.to_dict()
    bad = {k: v for k, v in d.items() if isinstance(v, float) and not math.isfinite(v)}
    assert not bad
    for band in est.bands.values():
        assert finite(band.p10, band.p50, band.p90)
    return est


# --------------------------------------------------------------------------------------
# Targets just above E
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("law_id", PARAMETRIC_IDS)
@pytest.mark.parametrize("how", ["E+1e-3", "E+1e-6", "E*(1+1e-9)", "E+1ulp"])
def test_target_just_above_irreducible_loss(law_id, how):
    law = LAWS[law_id]
    e = law.E
    target = {
        "E+1e-3": e + 1e-3,
        "E+1e-6": e + 1e-6,
        "E*(1+1e-9)": e * (1 + 1e-9),
        "E+1ulp": float(np.nextafter(e, 10.0)),
    }[how]
    plan = solve_or_unreachable(lambda: al.plan_for_loss(law, target), target)
    if plan is not None:
        # closer to E needs more of everything
        looser = al.plan_for_loss(law, e + 1e-2)
        assert plan.params > looser.params and plan.tokens > looser.tokens


@pytest.mark.parametrize("law_id", PARAMETRIC_IDS)
def test_target_at_or_below_E_says_why(law_id):
    law = LAWS[law_id]
    for target in (law.E, law.E - 1e-9, 1e-300):
        with pytest.raises(UnreachableTargetError) as info:
            al.plan_for_loss(law, target)
        assert_clear_unreachable(info.value)
        assert info.value.bound == pytest.approx(law.E)


@pytest.mark.parametrize("law_id", PARAMETRIC_IDS)
def test_estimate_near_E_is_finite_or_a_clear_error(law_id):
    law = LAWS[law_id]
    for target in (law.E + 1e-1, law.E + 1e-3, law.E + 1e-6, law.E * (1 + 1e-9)):
        estimate_finite_or_clear(Scenario(mode="loss", target_loss=target, law=law_id))


# Regression test. BUG-13: a target near E needs a 6e25-parameter model; the error then advises
# '--recompute full' although recompute is already 'full' (costs.min_gpus_for_memory) (found by
# these tests; fixed in 8425f67)
def test_bug13_activation_error_does_not_advise_the_current_setting():
    law = LAWS["epoch-2024"]
    with pytest.raises(InputError) as info:
        estimate(
            Scenario(mode="loss", target_loss=law.E + 1e-6, recompute="full"), profiles=PROFILES
        )
    assert "--recompute full" not in str(info.value)


@pytest.mark.parametrize("target", [1e-9, 1e-6, 1e-3, 0.5, 1.0, 1.5, 3.0])
def test_kaplan_targets_towards_zero(target):
    law = LAWS["kaplan-2020"]
    assert law.irreducible_loss == 0.0
    solve_or_unreachable(lambda: al.plan_for_loss(law, target), target)


# --------------------------------------------------------------------------------------
# Compute budgets 1e15 .. 1e30 on every built-in law
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("law_id", LAW_IDS)
def test_compute_budgets_monotone_and_finite(law_id):
    law = LAWS[law_id]
    with hang_guard("plan_for_compute over 31 budgets"):
        plans = [al.plan_for_compute(law, c) for c in BUDGETS]
    for c, plan in zip(BUDGETS, plans, strict=True):
        assert_plan(plan)
        assert plan.train_flops == pytest.approx(c, rel=1e-9)
    loss = [p.loss for p in plans]
    n = [p.params for p in plans]
    d = [p.tokens for p in plans]
    assert all(a > b for a, b in pairwise(loss)), "more compute must lower the loss"
    assert all(a < b for a, b in pairwise(n)), "more compute must grow N"
    assert all(a < b for a, b in pairwise(d)), "more compute must grow D"
    assert all(x > law.irreducible_loss for x in loss)


@pytest.mark.parametrize("law_id", LAW_IDS)
def test_compute_budget_round_trips_through_target_loss(law_id):
    law = LAWS[law_id]
    for c in BUDGETS:
        target = float(al.optimal_loss(law, c))
        back = al.compute_for_loss(law, target)
        assert back == pytest.approx(c, rel=1e-6)
        plan = al.plan_for_loss(law, target)
        assert_plan(plan, target)


@pytest.mark.parametrize("law_id", LAW_IDS)
def test_estimate_over_compute_budgets(law_id):
    """estimate() is finite from 1e15 to 1e30 FLOPs and costs grow with compute. Short
    sequences keep one micro-batch's activations on a chip at 1e30 (a ~1e15-parameter model)."""
    ests = []
    for c in BUDGETS:
        est = estimate(
            Scenario(mode="compute", compute_flops=c, law=law_id, seq_len=256), profiles=PROFILES
        )
        estimate_finite_or_clear(Scenario(mode="compute", compute_flops=c, law=law_id))
        d = est.to_dict()
        assert all(math.isfinite(v) for v in d.values() if isinstance(v, float))
        ests.append(est)
    for a, b in pairwise(ests):
        assert b.loss < a.loss and b.params > a.params and b.tokens > a.tokens
        assert b.cost_usd > a.cost_usd and b.gpu_hours > a.gpu_hours
        assert b.wall_clock_days > a.wall_clock_days
        # serving a bigger model never costs less per token, once models are big enough for
        # their weights and KV cache (not the engine's per-step overhead) to set the cost; past
        # the largest replica of the scale-up domain serving is unavailable (None), never NaN
        ca, cb = a.inference_cost_per_million_tokens_usd, b.inference_cost_per_million_tokens_usd
        if ca is not None and cb is not None and a.params >= 1e9:
            assert cb >= ca * (1 - 1e-9)
        if ca is None:
            assert cb is None and a.serving_bound == "unavailable"


# --------------------------------------------------------------------------------------
# Laws with tiny or large exponents
# --------------------------------------------------------------------------------------


def make_law(alpha, beta, E=1.7, A=400.0, B=400.0):
    return law_from_dict(
        {
            "id": f"exp-{alpha}-{beta}",
            "citation": "numerical edge test",
            "constants": {"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta},
            "fitted_range": {"params": [1e8, 1e10], "tokens": [1e9, 1e11]},
        }
    )


EXPONENTS = [(0.01, 0.01), (2.5, 2.5), (0.01, 2.5), (2.5, 0.01), (0.3, 0.3)]


@pytest.mark.parametrize("alpha,beta", EXPONENTS)
def test_extreme_exponents_compute_path(alpha, beta):
    law = make_law(alpha, beta)
    plans = [al.plan_for_compute(law, c) for c in BUDGETS]
    for plan in plans:
        assert_plan(plan)
    loss = [p.loss for p in plans]
    assert all(a >= b for a, b in pairwise(loss))
    assert all(a <= b for a, b in pairwise([p.params for p in plans]))
    for c in (1e15, 1e22):
        estimate_finite_or_clear(Scenario(mode="compute", compute_flops=c, law=law))


@pytest.mark.parametrize("alpha,beta", [(2.5, 2.5), (0.3, 0.3)])
def test_extreme_exponents_loss_path(alpha, beta):
    law = make_law(alpha, beta)
    for target in (law.E + 1e-6, law.E + 0.3, 5.0, 50.0):
        solve_or_unreachable(lambda t=target: al.plan_for_loss(law, t), target)
        estimate_finite_or_clear(Scenario(mode="loss", target_loss=target, law=law))


# Regression test. BUG-14: with a tiny exponent (alpha or beta = 0.01)
# ParametricLaw.compute_for_loss_closed_form overflows (laws.py: '** (-s / (alpha*beta))', numpy
# RuntimeWarning) and plan_for_loss returns an infinite plan; the CLI prints the warning and
# 'model size must be positive, got inf' instead of 'needs more than 1e45 FLOPs' (found by these
# tests; fixed in 8425f67)
@pytest.mark.parametrize("alpha,beta", [(0.01, 0.01), (0.01, 2.5), (2.5, 0.01)])
def test_bug14_tiny_exponent_loss_path(alpha, beta):
    law = make_law(alpha, beta)
    for target in (law.E + 1e-6, 2.0):
        solve_or_unreachable(lambda t=target: al.plan_for_loss(law, t), target)


# --------------------------------------------------------------------------------------
# Fixed model size just above its bound; unique data near its bound
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("law_id", LAW_IDS)
@pytest.mark.parametrize("params", [1e8, 7e9, 1e12])
def test_fixed_params_just_above_bound(law_id, params):
    law = LAWS[law_id]
    bound = float(law.loss_at_infinite_data(params))
    with pytest.raises(UnreachableTargetError) as info:
        al.plan_for_loss(law, bound, params=params)
    assert_clear_unreachable(info.value)
    assert info.value.bound == pytest.approx(bound)
    tokens = []
    for rel in (1e-2, 1e-4, 1e-6, 1e-9):
        target = bound * (1 + rel)
        plan = solve_or_unreachable(
            lambda t=target: al.plan_for_loss(law, t, params=params), target
        )
        if plan is not None:
            assert plan.params == params
            tokens.append(plan.tokens)
    # closer to the bound needs more data
    assert tokens == sorted(tokens)
    assert all(a < b for a, b in pairwise(tokens))


@pytest.mark.parametrize("law_id", LAW_IDS)
@pytest.mark.parametrize("unique", [1e9, 1e11, 1e13])
def test_unique_tokens_near_bound(law_id, unique):
    law = LAWS[law_id]
    bound = float(law.loss_at_infinite_params(unique * (1 + al.MUENNIGHOFF_R_STAR_D)))
    with pytest.raises(UnreachableTargetError) as info:
        al.plan_for_loss(law, bound, unique_tokens=unique)
    assert_clear_unreachable(info.value)
    for rel in (0.5, 0.1, 0.01, 1e-3):
        target = bound * (1 + rel)
        try:
            with hang_guard("plan_for_loss near the unique-data bound"):
                plan = al.plan_for_loss(law, target, unique_tokens=unique)
        except UnreachableTargetError as exc:  # the reason is missing: BUG-15
            assert "\n" not in str(exc) and math.isfinite(exc.bound)
            continue
        assert_plan(plan, target)
        if plan is not None:
            assert plan.epochs >= 1.0 or plan.tokens <= unique
            assert math.isfinite(plan.effective_tokens)
            assert plan.effective_tokens <= unique * (1 + al.MUENNIGHOFF_R_STAR_D) * (1 + 1e-12)


# Regression test. BUG-15: a target just above the unique-data bound (bound*(1+1e-6)) raises
# UnreachableTargetError('with 1e+11 unique tokens loss 1.888 is out of reach') from
# allocation._plan_unique_data: the N grid (up to 1e4 x the unconstrained optimum) misses the
# solution, and the message gives neither the reason nor what to do (found by these tests; fixed
# in 8425f67)
@pytest.mark.parametrize(
    "law_id,unique,rel",
    [("epoch-2024", 1e11, 1e-6), ("epoch-2024", 1e9, 1e-3), ("chinchilla-2022", 1e9, 1e-3)],
)
def test_bug15_unique_tokens_just_above_bound_says_why(law_id, unique, rel):
    law = LAWS[law_id]
    bound = float(law.loss_at_infinite_params(unique * (1 + al.MUENNIGHOFF_R_STAR_D)))
    target = bound * (1 + rel)
    solve_or_unreachable(lambda: al.plan_for_loss(law, target, unique_tokens=unique), target)


@pytest.mark.parametrize("law_id", LAW_IDS)
def test_unique_tokens_compute_path(law_id):
    law = LAWS[law_id]
    for unique in (1e9, 1e11):
        plans = [al.plan_for_compute(law, c, unique_tokens=unique) for c in BUDGETS]
        for plan in plans:
            assert_plan(plan)
            assert plan.train_flops == pytest.approx(plan.train_flops)
        loss = [p.loss for p in plans]
        # more compute never hurts, even when the data runs out
        assert all(a >= b * (1 - 1e-12) for a, b in pairwise(loss))
        best = float(law.loss_at_infinite_params(unique * (1 + al.MUENNIGHOFF_R_STAR_D)))
        assert loss[-1] > best * (1 - 1e-12)


# --------------------------------------------------------------------------------------
# Kaplan at tiny and huge compute
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("compute", [1e3, 1e6, 1e10, 1e35, 1e40, 1e45])
def test_kaplan_tiny_and_huge_compute(compute):
    law = LAWS["kaplan-2020"]
    plan = al.plan_for_compute(law, compute)
    assert_plan(plan)
    assert plan.train_flops == pytest.approx(compute, rel=1e-9)
    if 1e10 <= compute <= 1e35:  # the numeric path's documented bracket (N in 1e2..1e18)
        n_num, _ = al.optimal_allocation_numeric(law, compute)
        assert float(n_num) == pytest.approx(plan.params, rel=1e-6)
    smaller = al.plan_for_compute(law, compute / 10)
    assert smaller.loss > plan.loss and smaller.params < plan.params


def test_kaplan_loss_decreases_over_the_whole_range():
    law = LAWS["kaplan-2020"]
    cs = [10.0**e for e in range(3, 46)]
    loss = [al.plan_for_compute(law, c).loss for c in cs]
    assert all(math.isfinite(x) and x > 0 for x in loss)
    assert all(a > b for a, b in pairwise(loss))


@pytest.mark.parametrize("compute", [1e3, 1e10, 1e15, 1e30])
def test_kaplan_estimate_tiny_and_huge(compute):
    estimate_finite_or_clear(
        Scenario(mode="compute", compute_flops=compute, law="kaplan-2020", seq_len=256)
    )
