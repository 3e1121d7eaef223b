"""Chart data of the two charts that explain a plan's size (estimator.law_curves), checked
against closed forms written out here (Hoffmann et al. 2022 eq. 4) and an independent numeric
minimisation, not against the module's own helpers. No Qt."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from estimator.errors import InputError
from estimator.law_curves import (
    ISOFLOP_STEP_DECADES,
    comparison_laws,
    isoflop_profiles,
    law_disagreement,
)
from estimator.laws import ParametricLaw, builtin_laws, get_law

PLAN = (73e9, 1.34e12)  # params, tokens


def _hoffmann_eq4(law: ParametricLaw, c: float) -> tuple[float, float]:
    """N_opt = G (C/6)^(beta/(alpha+beta)), D_opt = G^-1 (C/6)^(alpha/(alpha+beta)),
    G = (alpha A / (beta B))^(1/(alpha+beta)) (Hoffmann et al. 2022, eq. 4)."""
    a, b = law.alpha, law.beta
    g = (a * law.A / (b * law.B)) ** (1 / (a + b))
    return g * (c / 6) ** (b / (a + b)), (c / 6) ** (a / (a + b)) / g


def _numeric_optimum(law, c: float) -> float:
    """argmin over N of L(N, C / 6N), by bounded scalar minimisation in ln N."""
    res = minimize_scalar(
        lambda ln_n: float(law.loss(math.exp(ln_n), c / (6 * math.exp(ln_n)))),
        bounds=(math.log(1e5), math.log(c / 6 / 1e5)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return math.exp(res.x)


@pytest.mark.parametrize("law_id", ["epoch-2024", "chinchilla-2022"])
def test_isoflop_optima_are_hoffmann_eq4(law_id):
    law = get_law(law_id)
    pr = isoflop_profiles(law, *PLAN)
    c_plan = 6 * PLAN[0] * PLAN[1]
    assert pr.plan_compute_flops == pytest.approx(c_plan, rel=1e-12)
    assert len(pr.profiles) == 5 and pr.plan_index == 2
    for k, prof in enumerate(pr.profiles):
        assert prof.compute_flops == pytest.approx(
            c_plan * 10 ** (ISOFLOP_STEP_DECADES * (k - 2)), rel=1e-12
        )
        n, d = _hoffmann_eq4(law, prof.compute_flops)
        assert prof.optimum_params == pytest.approx(n, rel=1e-9)
        assert prof.optimum_tokens == pytest.approx(d, rel=1e-9)
        # every point spends exactly the budget: C = 6ND
        np.testing.assert_allclose(6 * prof.params * prof.tokens, prof.compute_flops, rtol=1e-12)
        np.testing.assert_allclose(prof.loss, law.loss(prof.params, prof.tokens), rtol=1e-12)
        # the marked optimum is the bottom of the drawn profile
        assert prof.optimum_loss <= prof.loss.min() + 1e-12
        j = int(np.argmin(prof.loss))
        assert abs(math.log10(prof.params[j] / prof.optimum_params)) < 0.02


def test_isoflop_kaplan_optimum_matches_a_numeric_minimum():
    law = get_law("kaplan-2020")
    pr = isoflop_profiles(law, *PLAN)
    for prof in pr.profiles:
        assert prof.optimum_params == pytest.approx(
            _numeric_optimum(law, prof.compute_flops), rel=1e-4
        )


def test_the_plan_sits_on_its_own_profile_even_off_the_optimum():
    law = get_law("epoch-2024")
    n, d = 10e9, 2e13  # 2,000 tokens per parameter: far from compute-optimal
    pr = isoflop_profiles(law, n, d)
    prof = pr.plan_profile
    assert prof.compute_flops == pytest.approx(6 * n * d)
    assert prof.params[0] <= n <= prof.params[-1]
    assert pr.plan_loss == pytest.approx(float(law.loss(n, d)))
    assert pr.plan_loss > prof.optimum_loss + 1e-3  # off the optimum costs loss
    np.testing.assert_allclose(
        np.interp(math.log(n), np.log(prof.params), prof.loss), pr.plan_loss, rtol=1e-4
    )


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_isoflop_rejects_a_bad_plan(bad):
    with pytest.raises(InputError, match="positive"):
        isoflop_profiles(get_law(), bad, 1e12)


def test_law_disagreement_ratio_is_the_closed_form():
    laws = comparison_laws(get_law("epoch-2024"))
    d = law_disagreement(laws, "epoch-2024", *PLAN)
    assert {c.law_id for c in d.curves} == set(builtin_laws())
    c_plan = 6 * PLAN[0] * PLAN[1]
    for cv in d.curves:
        law = laws[cv.law_id]
        np.testing.assert_allclose(cv.tokens_per_param, cv.tokens / cv.params, rtol=1e-12)
        if isinstance(law, ParametricLaw):
            n, dd = _hoffmann_eq4(law, c_plan)
            assert cv.plan_tokens_per_param == pytest.approx(dd / n, rel=1e-9)
            # D/N = G^-2 (C/6)^((alpha-beta)/(alpha+beta)): rises with C when alpha > beta
            slope = np.polyfit(np.log(cv.compute_flops), np.log(cv.tokens_per_param), 1)[0]
            assert slope == pytest.approx((law.alpha - law.beta) / (law.alpha + law.beta), abs=1e-9)
        else:
            assert cv.plan_params == pytest.approx(_numeric_optimum(law, c_plan), rel=1e-4)
        fr = law.fitted_range
        inside = (
            (cv.params >= fr.params_min)
            & (cv.params <= fr.params_max)
            & (cv.tokens >= fr.tokens_min)
            & (cv.tokens <= fr.tokens_max)
        )
        np.testing.assert_array_equal(cv.in_fitted_range, inside)
    by_id = {c.law_id: c for c in d.curves}
    # the published Approach 3 fit wants far more data per parameter than the Epoch refit,
    # and Kaplan's far less: the disagreement the chart shows
    assert by_id["kaplan-2020"].plan_tokens_per_param < 5
    assert 10 < by_id["epoch-2024"].plan_tokens_per_param < 30
    assert by_id["chinchilla-2022"].plan_tokens_per_param > 50
    assert not by_id["kaplan-2020"].comparable


def test_a_loaded_law_joins_the_comparison_even_with_a_builtin_id():
    base = get_law("epoch-2024")
    mine = replace(base, id="my-fit", name="My fit", alpha=0.4, source="/tmp/my-fit.yaml")
    laws = comparison_laws(mine)
    assert list(laws)[-1] == "my-fit" and len(laws) == len(builtin_laws()) + 1
    clash = replace(base, alpha=0.4, source="/tmp/epoch.yaml")
    laws = comparison_laws(clash)
    assert len(laws) == len(builtin_laws()) + 1 and laws["epoch-2024"] is base
    d = law_disagreement(laws, "epoch-2024 (/tmp/epoch.yaml)", *PLAN)
    assert "epoch-2024 (/tmp/epoch.yaml)" in {c.law_id for c in d.curves}
    assert comparison_laws(base) == builtin_laws()  # a built-in law is not added twice
