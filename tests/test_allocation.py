"""Allocation under C = 6ND, its inverse, constraints and the inference-aware optimum,
checked against closed forms and the papers' published numbers."""

import math

import numpy as np
import pytest

from estimator import allocation as al
from estimator.errors import InputError, UnreachableTargetError
from estimator.laws import FittedRange, ParametricLaw, get_law

LAW_IDS = ["epoch-2024", "chinchilla-2022", "kaplan-2020"]


@pytest.mark.parametrize("law_id", ["epoch-2024", "chinchilla-2022"])
def test_numeric_path_agrees_with_closed_form(law_id):
    law = get_law(law_id)
    c = np.logspace(15, 30, 31)
    n_cf, d_cf = law.optimal_allocation_closed_form(c)
    n_num, d_num = al.optimal_allocation_numeric(law, c)
    assert np.max(np.abs(n_num / n_cf - 1)) < 1e-9
    assert np.max(np.abs(d_num / d_cf - 1)) < 1e-9
    assert np.allclose(6 * n_cf * d_cf, c, rtol=1e-12)


def test_closed_form_by_hand_hoffmann_eq4():
    # G = (alpha A / (beta B))^(1/(alpha+beta)), N = G (C/6)^(beta/(alpha+beta))
    a, b, A, B = 0.34, 0.28, 406.4, 410.7
    c = 5.76e23
    g = (a * A / (b * B)) ** (1 / (a + b))
    n = g * (c / 6) ** (b / (a + b))
    got_n, got_d = get_law("chinchilla-2022").optimal_allocation_closed_form(c)
    assert got_n == pytest.approx(n, rel=1e-12)
    assert got_d == pytest.approx(c / (6 * n), rel=1e-12)


def test_issue_reference_allocations_at_gopher_budget():
    """5.76e23 FLOPs: Hoffmann's rounded constants give ~32.2 B / 2.98 T; Epoch's ~72 B / 1.33 T
    (~18 tokens per parameter). The gap is the known inconsistency of the published fit."""
    n, d = al.optimal_allocation(get_law("chinchilla-2022"), 5.76e23)
    assert n == pytest.approx(32.2e9, rel=0.005)
    assert d == pytest.approx(2.98e12, rel=0.005)
    n, d = al.optimal_allocation(get_law("epoch-2024"), 5.76e23)
    assert n == pytest.approx(72.4e9, rel=0.01)
    assert d == pytest.approx(1.33e12, rel=0.01)
    assert d / n == pytest.approx(18.4, abs=0.2)


def test_epoch_table_tokens_per_param_at_other_budgets():
    # scaling_laws.md 2a: D/N under Epoch's point estimate: 21.6 at 1e21, 18.1 at 1e24,
    # 17.1 at 1e25, 16.1 at 1e26; and at Chinchilla's 5.88e23: 7.30e10 / 1.34e12.
    law = get_law("epoch-2024")
    for c, ratio in [(1e21, 21.6), (1e24, 18.1), (1e25, 17.1), (1e26, 16.1)]:
        n, d = al.optimal_allocation(law, c)
        assert d / n == pytest.approx(ratio, abs=0.06)
    n, d = al.optimal_allocation(law, 6 * 70e9 * 1.4e12)
    assert n == pytest.approx(7.30e10, rel=0.005) and d == pytest.approx(1.34e12, rel=0.005)


@pytest.mark.parametrize("law_id", LAW_IDS)
def test_target_loss_compute_loss_round_trip(law_id):
    law = get_law(law_id)
    e = law.irreducible_loss
    targets = e + np.array([0.02, 0.1, 0.3, 1.0]) * (1.0 if e > 0 else 2.0) + (0 if e > 0 else 1.2)
    for t in targets:
        c = al.compute_for_loss(law, t)
        assert al.optimal_loss(law, c) == pytest.approx(t, rel=1e-9)
        plan = al.plan_for_loss(law, t)
        assert plan.loss == pytest.approx(t, rel=1e-9)
        assert plan.train_flops == pytest.approx(c, rel=1e-9)


@pytest.mark.parametrize("law_id", LAW_IDS)
def test_frontier_is_the_minimum_loss_at_fixed_compute(law_id):
    law = get_law(law_id)
    c = 1e23
    n, d = al.optimal_allocation(law, c)
    best = law.loss(n, d)
    for f in (0.8, 0.95, 1.05, 1.25):
        assert law.loss(n * f, d / f) > best


def test_target_below_irreducible_loss_names_the_bound():
    law = get_law("epoch-2024")
    with pytest.raises(UnreachableTargetError) as err:
        al.plan_for_loss(law, 1.80)
    assert err.value.bound == pytest.approx(1.8172)
    assert "1.817" in str(err.value) and "irreducible" in str(err.value)
    with pytest.raises(UnreachableTargetError):
        al.compute_for_loss(law, 1.8172)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_inputs_rejected(bad):
    law = get_law()
    with pytest.raises(InputError):
        al.plan_for_loss(law, bad)
    with pytest.raises(InputError):
        al.plan_for_compute(law, bad)
    with pytest.raises(InputError):
        al.plan_for_model(law, bad, tokens=1e12)


def test_tokens_per_param_constraint():
    law = get_law("epoch-2024")
    plan = al.plan_for_loss(law, 2.0, tokens_per_param=200)
    assert plan.tokens == pytest.approx(200 * plan.params, rel=1e-12)
    assert plan.loss == pytest.approx(2.0, rel=1e-10)
    # over-training costs more compute than the optimum for the same loss
    assert plan.train_flops > al.plan_for_loss(law, 2.0).train_flops
    # by hand: loss at the returned N equals the target
    assert law.loss(plan.params, 200 * plan.params) == pytest.approx(2.0, rel=1e-10)


def test_fixed_params_constraint_and_its_bound():
    law = get_law("epoch-2024")
    plan = al.plan_for_loss(law, 2.0, params=70e9)
    assert plan.params == 70e9
    d = (2085.43 / (2.0 - 1.8172 - 482.01 / 70e9**0.3478)) ** (1 / 0.3658)  # closed form
    assert plan.tokens == pytest.approx(d, rel=1e-9)
    with pytest.raises(UnreachableTargetError) as err:
        al.plan_for_loss(law, 2.0, params=1e9)
    bound = 1.8172 + 482.01 / 1e9**0.3478
    assert err.value.bound == pytest.approx(bound)
    assert f"{bound:.4g}" in str(err.value)


def test_muennighoff_effective_data():
    u = 1e11
    # below one epoch nothing changes
    assert al.effective_tokens(5e10, u) == pytest.approx(5e10)
    # 4 epochs: D' = U + U R* (1 - exp(-3/R*))
    expected = u + u * 15.4 * (1 - math.exp(-3 / 15.4))
    assert al.effective_tokens(4e11, u) == pytest.approx(expected, rel=1e-12)
    # saturates at U (1 + R*)
    assert al.effective_tokens(1e16, u) == pytest.approx(u * 16.4, rel=1e-9)
    # inverse
    assert al.tokens_for_effective(expected, u) == pytest.approx(4e11, rel=1e-9)
    assert np.isinf(al.tokens_for_effective(u * 17, u))


def test_unique_data_constraint_reports_epochs_and_costs_more():
    law = get_law("epoch-2024")
    free = al.plan_for_loss(law, 2.0)
    limited = al.plan_for_loss(law, 2.0, unique_tokens=1e11)
    assert limited.epochs == pytest.approx(limited.tokens / 1e11)
    assert limited.epochs > 1
    assert limited.loss == pytest.approx(2.0, rel=1e-8)
    assert law.loss(limited.params, al.effective_tokens(limited.tokens, 1e11)) == pytest.approx(
        2.0, rel=1e-8
    )
    assert limited.train_flops >= free.train_flops * (1 - 1e-9)
    # brute-force check of optimality over a grid of N
    n = np.logspace(10, 12.5, 4000)
    d = al.tokens_for_effective(law.tokens_for_loss(n, 2.0), 1e11)
    assert limited.train_flops <= np.min(6 * n * d) * (1 + 1e-4)
    # plenty of unique data: same as the free plan, one partial epoch
    roomy = al.plan_for_loss(law, 2.0, unique_tokens=1e14)
    assert roomy.params == pytest.approx(free.params, rel=1e-9) and roomy.epochs < 1


def test_unique_data_unreachable_names_bound():
    law = get_law("epoch-2024")
    with pytest.raises(UnreachableTargetError) as err:
        al.plan_for_loss(law, 2.0, unique_tokens=1e9)
    bound = 1.8172 + 2085.43 / (1e9 * 16.4) ** 0.3658
    assert err.value.bound == pytest.approx(bound, rel=1e-9)
    assert "unique" in str(err.value)


def test_compute_mode_with_unique_data_beats_naive_split():
    law = get_law("epoch-2024")
    plan = al.plan_for_compute(law, 1e24, unique_tokens=1e11)
    assert plan.train_flops == pytest.approx(1e24, rel=1e-9)
    n = np.logspace(9, 13, 5000)
    losses = law.loss(n, al.effective_tokens(1e24 / (6 * n), 1e11))
    assert plan.loss <= np.min(losses) + 1e-9


def test_extrapolation_factor():
    law = get_law("epoch-2024")
    assert al.extrapolation_factor(law, 1e9, 1e10) == 1.0
    assert al.extrapolation_factor(law, 1.62e11, 1e10) == pytest.approx(10.0)
    assert al.extrapolation_factor(law, 1e9, 3.18e13) == pytest.approx(100.0)
    assert al.extrapolation_factor(law, 5.73e6, 1e10) == pytest.approx(10.0)


SARDANA = ParametricLaw(
    id="sardana",
    name="sardana",
    citation="Sardana et al. 2023 code",
    dataset="x",
    fitted_range=FittedRange(1, 1e13, 1, 1e13),
    E=1.69,
    A=406.4,
    B=410.7,
    alpha=0.336,
    beta=0.283,
)


def test_sardana_reference_model_loss():
    # scaling_laws.md section 6: a 70e9 model on 1e12 tokens has loss 1.9473 (4.2e23 FLOPs)
    assert SARDANA.loss(70e9, 1e12) == pytest.approx(1.9473, abs=5e-5)


def test_sardana_inference_aware_optimum_reference_numbers():
    """Sardana et al. 2023 reference (authors' code, FLOP objective): loss 1.947 with 2e12
    lifetime inference tokens."""
    chin = al.plan_for_loss(SARDANA, 1.947)
    assert chin.params == pytest.approx(34.08e9, rel=1e-3)
    assert chin.tokens == pytest.approx(1.810e12, rel=1e-3)
    assert chin.train_flops == pytest.approx(3.702e23, rel=1e-3)
    assert chin.train_flops + 2 * chin.params * 2e12 == pytest.approx(5.065e23, rel=1e-3)
    lp = al.lifetime_optimal(
        SARDANA,
        1.947,
        train_cost_per_flop=1.0,
        inference_cost_per_token=lambda n: 2 * n,
        inference_tokens=2e12,
    )
    assert lp.allocation.params == pytest.approx(24.18e9, rel=1e-3)
    assert lp.allocation.tokens == pytest.approx(2.657e12, rel=1e-3)
    assert lp.train_cost == pytest.approx(3.855e23, rel=1e-3)
    assert lp.total_cost == pytest.approx(4.823e23, rel=1e-3)
    assert lp.total_cost / (chin.train_flops + 4 * chin.params * 1e12) == pytest.approx(
        0.952, abs=1e-3
    )


def test_lifetime_optimum_without_inference_is_compute_optimal():
    law = get_law("epoch-2024")
    lp = al.lifetime_optimal(
        law,
        2.0,
        train_cost_per_flop=1.0,
        inference_cost_per_token=lambda n: 2 * n,
        inference_tokens=0.0,
    )
    chin = al.plan_for_loss(law, 2.0)
    assert lp.allocation.params == pytest.approx(chin.params, rel=1e-4)


def test_kaplan_closed_forms_agree_with_numeric_path():
    law = get_law("kaplan-2020")
    c = np.logspace(15, 30, 31)
    n_cf, d_cf = law.optimal_allocation_closed_form(c)
    n_num, d_num = al.optimal_allocation_numeric(law, c)
    assert np.max(np.abs(n_num / n_cf - 1)) < 1e-9
    assert np.max(np.abs(d_num / d_cf - 1)) < 1e-9
    assert np.allclose(law.optimal_loss_closed_form(c), law.loss(n_num, d_num), rtol=1e-12)
    assert np.allclose(
        law.compute_for_loss_closed_form(law.optimal_loss_closed_form(c)), c, rtol=1e-9
    )
    # inverses of L(N, D)
    assert law.loss(1e9, law.tokens_for_loss(1e9, 2.5)) == pytest.approx(2.5, rel=1e-12)
    assert law.loss(law.params_for_loss(1e11, 2.5), 1e11) == pytest.approx(2.5, rel=1e-12)
    assert np.isinf(law.tokens_for_loss(1e6, 2.0))  # a 1e6 model can't reach 2.0 at any D
