"""The joint MoE law of Ludziejewski et al. 2025 (arXiv:2502.05172): the paper's own tables,
the reduced per-E Chinchilla forms, closed forms against the numeric path, the dense case, the
file format and every validation error."""

import math

import numpy as np
import pytest

from estimator import allocation as al
from estimator.engine import estimate
from estimator.errors import InputError, LawError
from estimator.laws import (
    JointMoELaw,
    ParametricLaw,
    builtin_laws,
    get_law,
    law_from_dict,
    load_law_file,
    moe_expansion_rate,
    save_law_file,
)
from estimator.scenario import Scenario

LAW = builtin_laws()["ludziejewski-2025"]

# Table 3 (Appendix B) as printed.
TABLE3 = {
    "a": 35.91,
    "alpha": -0.1889,
    "delta": -0.2285,
    "gamma": 0.0098,
    "b": 35.98,
    "beta": -0.1775,
    "omega": 0.5529,
    "zeta": -0.0259,
    "E_start": 2.0732,
    "E_max": 290.4521,
    "c": 1.3637,
}

# Table 4: E -> (m, mu, n, nu); c = 1.3637 in every row.
TABLE4 = {
    1: (30.3640, -0.1817, 53.9838, -0.1965),
    2: (27.7982, -0.1780, 66.8401, -0.2065),
    4: (24.8462, -0.1731, 87.7022, -0.2192),
    8: (21.8330, -0.1676, 119.9126, -0.2338),
    16: (19.0159, -0.1617, 167.5073, -0.2494),
    32: (16.5424, -0.1557, 234.6726, -0.2652),
}

# Table 1: (budget FLOPs, E) -> (N_act, D), as printed.
TABLE1 = {
    (1e20, 1): (1.7e9, 9.7e9),
    (1e20, 2): (1.5e9, 11.4e9),
    (1e20, 4): (1.2e9, 13.9e9),
    (1e20, 8): (990e6, 17e9),
    (1e20, 16): (810e6, 20.7e9),
    (1e20, 32): (669e6, 24.9e9),
    (1e21, 1): (5.7e9, 29.3e9),
    (1e21, 2): (5e9, 33e9),
    (1e21, 4): (4.4e9, 38e9),
    (1e21, 8): (3.8e9, 44.3e9),
    (1e21, 16): (3.3e9, 51.2e9),
    (1e21, 32): (2.85e9, 58.4e9),
    (1e22, 1): (18.8e9, 88.6e9),
    (1e22, 2): (17.4e9, 96e9),
    (1e22, 4): (15.8e9, 105.4e9),
    (1e22, 8): (14.4e9, 115.8e9),
    (1e22, 16): (13.2e9, 126.5e9),
    (1e22, 32): (12.2e9, 136.9e9),
}


def _hat(e, e_start, e_max):
    """Eq. 4 written out independently of the module."""
    return 1.0 / (1.0 / (e - 1.0 + 1.0 / (1.0 / e_start - 1.0 / e_max)) + 1.0 / e_max)


# --------------------------------------------------------------------------------------
# The shipped constants
# --------------------------------------------------------------------------------------


def test_builtin_constants_are_table3_except_e_start():
    assert isinstance(LAW, JointMoELaw)
    consts = LAW.constants()
    assert {k: v for k, v in consts.items() if k != "E_start"} == {
        k: v for k, v in TABLE3.items() if k != "E_start"
    }
    assert consts["E_start"] == 2.0832  # printed 2.0732; see test_table4_* below
    assert LAW.experts == 1.0 and LAW.is_dense
    assert LAW.experts_range == (1.0, 32.0)
    fr = LAW.fitted_range
    assert (fr.params_min, fr.params_max, fr.tokens_min, fr.tokens_max) == (
        7.9e7,
        2.7e9,
        5.0e8,
        8.0e10,
    )
    # FineWeb-Edu with the GPT-2 tokenizer: not comparable with the MassiveText laws.
    assert LAW.comparable is False
    assert "FineWeb-Edu" in LAW.dataset and "GPT-2" in LAW.dataset
    assert "2502.05172" in LAW.citation
    notes = LAW.notes.lower()
    assert "active" in notes and "including embedding" in notes and "6 n_act d" in notes
    assert "2.0732" in LAW.notes  # the misprint is named
    warning = LAW.comparability_warning()
    assert warning and "FineWeb-Edu" in warning and "not comparable" in warning
    assert get_law("epoch-2024").comparability_warning() is None


def _rounding_bounds(e):
    """Worst-case effect on Table 4's row E of rounding every Table 3 constant to its printed
    digits (half a unit of the last digit), plus Table 4's own printing."""
    eh = _hat(e, 2.0832, TABLE3["E_max"])
    ln = math.log(eh)
    # d ln Ê / d E_start at E (Ê depends on E_start through k = (1/E_start - 1/E_max)^-1)
    h = 1e-7
    dln_des = (
        math.log(_hat(e, 2.0832 + h, TABLE3["E_max"]))
        - math.log(_hat(e, 2.0832 - h, TABLE3["E_max"]))
    ) / (2 * h)
    dln = 5e-5 * abs(dln_des)  # E_start printed to 4 decimals
    m_rel = 0.005 / 35.91 + 5e-5 * ln + abs(TABLE3["delta"]) * dln
    n_rel = 0.005 / 35.98 + 5e-5 * ln + abs(TABLE3["omega"]) * dln
    mu_abs = 5e-5 + 5e-5 * ln + abs(TABLE3["gamma"]) * dln + 5e-5
    nu_abs = 5e-5 + 5e-5 * ln + abs(TABLE3["zeta"]) * dln + 5e-5
    return m_rel, n_rel, mu_abs, nu_abs


@pytest.mark.parametrize("e", sorted(TABLE4))
def test_table4_reduced_forms_match_the_joint_law_within_rounding(e):
    m4, mu4, n4, nu4 = TABLE4[e]
    r = LAW.reduced_constants(e)
    m_rel, n_rel, mu_abs, nu_abs = _rounding_bounds(e)
    assert r["m"] == pytest.approx(m4, rel=m_rel + 0.5e-4 / m4)
    assert r["n"] == pytest.approx(n4, rel=n_rel + 0.5e-4 / n4)
    assert abs(r["mu"] - mu4) <= mu_abs
    assert abs(r["nu"] - nu4) <= nu_abs
    assert r["c"] == 1.3637
    # and the law at E is that Chinchilla form, evaluated at a few points
    law = LAW.at_experts(e)
    n, d = np.array([1e8, 1e9, 2.7e9]), np.array([1e9, 2e10, 8e10])
    chinchilla = r["m"] * n ** r["mu"] + r["n"] * d ** r["nu"] + r["c"]
    assert np.allclose(law.loss(n, d), chinchilla, rtol=1e-14)
    assert np.allclose(LAW.loss_joint(n, d, e), chinchilla, rtol=1e-14)


def test_table3_printed_e_start_does_not_reproduce_table4():
    """The evidence for the correction: with the printed E_start = 2.0732 the dense row of
    Table 4 is out of reach of Table 3's rounding, with 2.0832 it is inside it."""
    printed = law_from_dict({**LAW.to_dict(), "constants": TABLE3})
    m4, _, n4, _ = TABLE4[1]
    r = printed.reduced_constants(1)
    m_rel, n_rel, _, _ = _rounding_bounds(1)
    assert abs(r["m"] / m4 - 1) > 3 * m_rel  # 0.12% off
    assert abs(r["n"] / n4 - 1) > 3 * n_rel  # 0.26% off
    # E = 1 gives Ê = E_start, so Table 4's m(1) = a E_start^delta pins E_start directly.
    implied = (m4 / TABLE3["a"]) ** (1 / TABLE3["delta"])
    assert implied == pytest.approx(2.0832, abs=0.002)
    assert abs(implied - 2.0732) > 0.005
    # The two choices differ by less than 5e-4 nats anywhere in the fitted box, well below
    # the fit's RMSE (0.0039 held out, 0.0062 training).
    n = np.geomspace(7.9e7, 2.7e9, 40)[:, None]
    d = np.geomspace(5e8, 8e10, 40)[None, :]
    for e in (1, 2, 4, 8, 16, 32):
        diff = LAW.loss_joint(n, d, e) - printed.loss_joint(n, d, e)
        assert np.max(np.abs(diff)) < 5e-4


# --------------------------------------------------------------------------------------
# Table 1: compute-optimal configurations
# --------------------------------------------------------------------------------------


def test_table1_rows_are_rounded_themselves():
    """The paper's N and D satisfy 6 N D = C only to within its rounding (up to 2.6%), which
    sets how closely they can be reproduced."""
    ratios = [6 * n * d / c for (c, _), (n, d) in TABLE1.items()]
    assert max(abs(r - 1) for r in ratios) < 0.03


@pytest.mark.parametrize("key", sorted(TABLE1))
def test_table1_compute_optimal_configurations(key):
    c, e = key
    n_paper, d_paper = TABLE1[key]
    law = LAW.at_experts(e)
    n, d = law.optimal_allocation_closed_form(c)
    assert 6 * n * d == pytest.approx(c, rel=1e-12)
    # 2-3 printed figures plus Table 3's 4-decimal exponents (at 1e22 FLOPs an exponent
    # rounded by 5e-5 moves N_opt by ~0.3%): within 2.5% on every row.
    assert n == pytest.approx(n_paper, rel=0.025)
    assert d == pytest.approx(d_paper, rel=0.025)


@pytest.mark.parametrize("c, e", [(1e21, 1), (1e21, 32), (1e22, 1), (1e22, 32)])
def test_table1_headline_rows_within_one_percent(c, e):
    n, d = LAW.at_experts(e).optimal_allocation_closed_form(c)
    n_paper, d_paper = TABLE1[(c, e)]
    assert n == pytest.approx(n_paper, rel=0.01)
    assert d == pytest.approx(d_paper, rel=0.01)


def test_finding1_more_experts_fewer_active_params_more_tokens():
    """Finding 1 / Table 1: at a fixed budget, more experts -> smaller N_act, larger D."""
    for c in (1e20, 1e21, 1e22, 1e23):
        ns, ds = zip(
            *(LAW.at_experts(e).optimal_allocation_closed_form(c) for e in TABLE4), strict=True
        )
        assert all(a > b for a, b in zip(ns, ns[1:], strict=False))
        assert all(a < b for a, b in zip(ds, ds[1:], strict=False))


def test_finding2_more_experts_lower_compute_optimal_loss():
    """Finding 2: with N and D re-optimised, more experts always lower the loss."""
    for c in (1e19, 1e21, 1e23, 1e25):
        losses = [float(LAW.at_experts(e).optimal_loss_closed_form(c)) for e in TABLE4]
        assert all(a > b for a, b in zip(losses, losses[1:], strict=False))


def test_rule_of_thumb_example():
    """Section 4.5: a compute-optimal 1.1B dense model trained on 8B tokens has a worse loss
    than a 1.1B-total MoE with E = 2 on 16B tokens or E = 4 on 32B tokens. Active sizes of
    those 1.1B-total MoEs from Appendix E (E = 2: 709M; E = 4: 426M)."""
    dense = LAW.loss(1.1e9, 8e9)
    assert LAW.at_experts(2).loss(709e6, 16e9) < dense
    assert LAW.at_experts(4).loss(426e6, 32e9) < dense


# --------------------------------------------------------------------------------------
# The law at E: closed forms against the numeric path, dense case, vectorisation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("e", [1, 2, 4, 8, 16, 32, 64, 3.5])
def test_closed_form_allocation_matches_numeric_path(e):
    law = LAW.at_experts(e)
    c = np.geomspace(1e18, 1e26, 9)
    n_cf, d_cf = law.optimal_allocation_closed_form(c)
    n_num, d_num = al.optimal_allocation_numeric(law, c)
    assert np.allclose(n_num, n_cf, rtol=1e-9)
    assert np.allclose(d_num, d_cf, rtol=1e-9)
    # and the closed-form frontier and its inverse
    l_opt = law.optimal_loss_closed_form(c)
    assert np.allclose(l_opt, law.loss(n_cf, d_cf), rtol=1e-12)
    assert np.allclose(law.compute_for_loss_closed_form(l_opt), c, rtol=1e-9)
    assert np.allclose(al.compute_for_loss(law, l_opt), c, rtol=1e-9)


def test_inverses_and_limits():
    law = LAW.at_experts(8)
    n = np.array([5e8, 3e9])
    target = 2.3
    d = law.tokens_for_loss(n, target)
    assert np.allclose(law.loss(n, d), target, rtol=1e-12)
    nn = law.params_for_loss(np.array([2e10, 1e11]), target)
    assert np.allclose(law.loss(nn, np.array([2e10, 1e11])), target, rtol=1e-12)
    assert np.isinf(law.tokens_for_loss(1e6, target))  # too small to ever reach it
    r = law.reduced_constants()
    assert law.irreducible_loss == 1.3637
    assert law.loss_at_infinite_data(1e9) == pytest.approx(r["m"] * 1e9 ** r["mu"] + 1.3637)
    assert law.loss_at_infinite_params(1e10) == pytest.approx(r["n"] * 1e10 ** r["nu"] + 1.3637)
    # allocation's generic paths use the closed forms
    assert al.tokens_for_loss_at_params(law, 1e9, target) == pytest.approx(
        float(law.tokens_for_loss(1e9, target))
    )


def test_gradients_match_finite_differences():
    law = LAW.at_experts(16)
    n, d = 1e9, 3e10
    dn, dd = law.dloss_dlog(n, d)
    h = 1e-6
    fd_n = (law.loss(n * math.exp(h), d) - law.loss(n * math.exp(-h), d)) / (2 * h)
    fd_d = (law.loss(n, d * math.exp(h)) - law.loss(n, d * math.exp(-h))) / (2 * h)
    assert dn == pytest.approx(fd_n, rel=1e-6) and dn < 0
    assert dd == pytest.approx(fd_d, rel=1e-6) and dd < 0


def test_dense_case_is_the_laws_own_dense_fit():
    dense = LAW.at_experts(8).dense()
    assert dense == LAW.at_experts(1) == LAW  # frozen copies compare by value
    assert dense.e_hat() == 2.0832  # Ê(1) = E_start exactly
    r = dense.reduced()
    assert isinstance(r, ParametricLaw)
    # Ludziejewski's dense law: a E_start^delta N^(alpha + gamma ln E_start) + ...
    ln = math.log(2.0832)
    assert r.A == pytest.approx(35.91 * 2.0832**-0.2285, rel=1e-14)
    assert r.alpha == pytest.approx(0.1889 - 0.0098 * ln, rel=1e-14)
    assert r.B == pytest.approx(35.98 * 2.0832**0.5529, rel=1e-14)
    assert r.beta == pytest.approx(0.1775 + 0.0259 * ln, rel=1e-14)
    assert r.E == 1.3637
    assert dense.loss(1e9, 2e10) == pytest.approx(float(r.loss(1e9, 2e10)), rel=1e-15)
    assert "dense" in dense.display_name and "E = 8" in LAW.at_experts(8).display_name


def test_e_hat_saturates_and_at_experts_is_a_frozen_copy():
    assert LAW.e_hat(1) == pytest.approx(2.0832, rel=1e-15)
    eh = LAW.e_hat(np.array([1, 2, 32, 1e3, 1e6]))
    assert np.all(np.diff(eh) > 0) and eh[-1] < 290.4521
    assert eh[-1] == pytest.approx(290.4521, rel=1e-3)
    eight = LAW.at_experts(8)
    assert eight.experts == 8.0 and LAW.experts == 1.0  # the original is unchanged
    assert eight.id == LAW.id and eight.constants() == LAW.constants()
    with pytest.raises(AttributeError):
        eight.experts = 4  # frozen
    assert eight.experts_extrapolation_factor() == 1.0
    assert LAW.at_experts(128).experts_extrapolation_factor() == 4.0


def test_vectorised_over_experts():
    es = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    n, d = 1e9, 2e10
    joint = LAW.loss_joint(n, d, es)
    one_by_one = [LAW.at_experts(e).loss(n, d) for e in es]
    assert np.allclose(joint, one_by_one, rtol=1e-14)
    # the reduced law of an array of counts: every closed form broadcasts
    many = LAW.reduced(es)
    n_opt, d_opt = many.optimal_allocation_closed_form(1e22)
    for e, ni, di in zip(es, n_opt, d_opt, strict=True):
        n1, d1 = LAW.at_experts(e).optimal_allocation_closed_form(1e22)
        assert ni == pytest.approx(float(n1), rel=1e-13)
        assert di == pytest.approx(float(d1), rel=1e-13)


def test_engine_plans_with_the_law_at_e_experts(tmp_path):
    """A law file at E = 8 runs through the whole estimate; the plan is the closed form."""
    path = tmp_path / "moe8.yaml"
    save_law_file(LAW.at_experts(8), path)
    est = estimate(Scenario(law=str(path), mode="compute", compute_flops=1e22))
    n, d = LAW.at_experts(8).optimal_allocation_closed_form(1e22)
    assert est.params == pytest.approx(float(n), rel=1e-9)
    assert est.tokens == pytest.approx(float(d), rel=1e-9)
    assert est.loss == pytest.approx(float(LAW.at_experts(8).loss(n, d)), rel=1e-12)


@pytest.mark.parametrize("bad", [0, 0.5, -1, math.nan, math.inf, 1e7, True, "eight", None])
def test_at_experts_rejects_impossible_counts(bad):
    with pytest.raises(InputError) as err:
        LAW.at_experts(bad)
    assert err.value.field == "n_experts"
    assert "expert count" in str(err.value)


def test_moe_expansion_rate():
    assert moe_expansion_rate(32) == 32.0  # Switch top-1: the expert count itself
    assert moe_expansion_rate(8, 2) == 4.0  # Mixtral-style 8 experts, top-2
    assert moe_expansion_rate(256, 8, 1) == pytest.approx(257 / 9)  # DeepSeek-V3-style
    assert np.allclose(moe_expansion_rate(np.array([64, 128]), 8), [8.0, 16.0])


# --------------------------------------------------------------------------------------
# File format: round trip and validation
# --------------------------------------------------------------------------------------


def test_yaml_round_trip(tmp_path):
    for law in (LAW, LAW.at_experts(8), LAW.at_experts(2.5)):
        p = tmp_path / f"moe-{law.experts:g}.yaml"
        save_law_file(law, p)
        again = load_law_file(p)
        assert isinstance(again, JointMoELaw)
        assert again.constants() == law.constants()
        assert again.experts == law.experts and again.experts_range == law.experts_range
        assert again.fitted_range == law.fitted_range
        assert (again.citation, again.dataset, again.comparable, again.notes) == (
            law.citation,
            law.dataset,
            law.comparable,
            law.notes,
        )
        assert again.to_dict() == law.to_dict()
        assert again.loss(1e9, 2e10) == law.loss(1e9, 2e10)


def _moe(**over):
    d = LAW.to_dict()
    d.update(over)
    return d


def _consts(**over):
    return {**LAW.constants(), **over}


def _fr(**over):
    return {**LAW.to_dict()["fitted_range"], **over}


@pytest.mark.parametrize(
    "data, field, fragment",
    [
        (_moe(form="moe"), "form", "joint-moe"),
        (
            _moe(constants={k: v for k, v in LAW.constants().items() if k != "zeta"}),
            None,
            "constants.zeta",
        ),
        (_moe(constants=_consts(kappa=1.0)), None, "unknown constant"),
        (_moe(constants=_consts(a="big")), None, "constants.a"),
        (_moe(constants=_consts(a=0.0)), "constants.a", "constants.a"),
        (_moe(constants=_consts(b=-3.0)), "constants.b", "constants.b"),
        (_moe(constants=_consts(alpha=0.1889)), "constants.alpha", "paper's sign"),
        (_moe(constants=_consts(beta=0.1775)), "constants.beta", "paper's sign"),
        (_moe(constants=_consts(alpha=-4.0)), "constants.alpha", "constants.alpha"),
        (_moe(constants=_consts(delta=9.0)), "constants.delta", "constants.delta"),
        (_moe(constants=_consts(omega=-9.0)), "constants.omega", "constants.omega"),
        (_moe(constants=_consts(gamma=2.0)), "constants.gamma", "constants.gamma"),
        (_moe(constants=_consts(zeta=-2.0)), "constants.zeta", "constants.zeta"),
        (_moe(constants=_consts(E_start=0.0)), "constants.E_start", "constants.E_start"),
        (_moe(constants=_consts(E_max=-1.0)), "constants.E_max", "constants.E_max"),
        (_moe(constants=_consts(c=-0.1)), "constants.c", "constants.c"),
        (_moe(constants=_consts(c=25.0)), "constants.c", "constants.c"),
        (_moe(constants=_consts(E_start=300.0)), "constants.E_start", "below"),
        # gamma large enough that the N exponent turns positive at large E
        (_moe(constants=_consts(gamma=0.05)), "constants.gamma", "model-size exponent"),
        (_moe(constants=_consts(zeta=0.05)), "constants.zeta", "data exponent"),
        (_moe(experts=0.5), "experts", "experts"),
        (_moe(experts="many"), None, "experts"),
        (
            _moe(fitted_range={"params": [1e8, 1e9], "tokens": [1e9, 1e10]}),
            "fitted_range.experts",
            "fitted_range.experts",
        ),
        (_moe(fitted_range=_fr(experts=[32, 1])), None, "fitted_range.experts"),
        (_moe(fitted_range=_fr(experts=[0.5, 32])), "fitted_range.experts", "fitted_range.experts"),
        (_moe(fitted_range=_fr(experts="1-32")), None, "fitted_range.experts"),
        (_moe(stderr={"a": 1.0}), "stderr", "parametric"),
        (_moe(param_samples={"columns": [], "values": []}), "param_samples", "parametric"),
        ({**builtin_laws()["epoch-2024"].to_dict(), "experts": 8}, "experts", "joint-moe"),
    ],
)
def test_every_validation_error_names_the_field(data, field, fragment):
    with pytest.raises(LawError) as err:
        law_from_dict(data, where="moe.yaml")
    msg = str(err.value)
    assert fragment in msg and "moe.yaml" in msg and "\n" not in msg
    if field is not None:
        assert err.value.field == field


def test_a_users_own_moe_law_loads(tmp_path):
    """A user file written by hand (the paper's printed constants, E = 4) loads and plans."""
    text = """
id: my-moe
form: joint-moe
constants: {a: 35.91, alpha: -0.1889, delta: -0.2285, gamma: 0.0098, b: 35.98,
            beta: -0.1775, omega: 0.5529, zeta: -0.0259, E_start: 2.0732,
            E_max: 290.4521, c: 1.3637}
experts: 4
citation: my reading of arXiv:2502.05172 Table 3
fitted_range: {params: [7.9e7, 2.7e9], tokens: [5e8, 8e10], experts: [1, 32]}
"""
    p = tmp_path / "my-moe.yaml"
    p.write_text(text)
    law = get_law(str(p))
    assert isinstance(law, JointMoELaw) and law.experts == 4.0
    assert law.comparable is False  # the default for this form
    n, d = law.optimal_allocation_closed_form(1e21)
    assert n == pytest.approx(4.4e9, rel=0.02) and d == pytest.approx(38e9, rel=0.02)
