"""Chart data agrees with the core: frontier, N-D plane, cost per hardware, lifetime optimum."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from estimator import allocation as al
from estimator.curves import Curves, compute_curves
from estimator.engine import estimate
from estimator.hardware import get_profile, load_profiles
from estimator.laws import get_law
from estimator.scenario import Scenario
from estimator.serving.stage import serving_rates, usd_per_token
from estimator.training.stage import cluster_rates

SCENARIOS = {
    "default": Scenario(),
    "loss": Scenario(mode="loss", target_loss=2.05),
    "ratio": Scenario(mode="loss", target_loss=2.1, tokens_per_param=100.0),
    "fixed-size": Scenario(mode="loss", target_loss=2.05, params=3e10),
    "compute": Scenario(mode="compute", compute_flops=1e24),
    "model": Scenario(mode="model", params=7e9, tokens=2e12),
    "unique": Scenario(unique_tokens=5e11),
    "lifetime": Scenario(optimize="lifetime"),
    "kaplan": Scenario(law="kaplan-2020"),
    "chinchilla-fp8": Scenario(law="chinchilla-2022", precision="fp8"),
    "no-serving": Scenario(inference_tokens_per_day=0.0),
    "exact": Scenario(mode="compute", compute_flops=3e23, exact_flops=True),
}


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


def _curves(s: Scenario, profiles) -> tuple[Curves, object]:
    e = estimate(s, profiles=profiles)
    return compute_curves(s, e, profiles=profiles), e


def _all_arrays(c: Curves):
    for name in ("frontier_compute_flops", "frontier_loss", "frontier_loss_p10",
                 "frontier_loss_p90", "iso_params", "iso_tokens", "iso_loss", "iso_levels",
                 "optimal_params", "optimal_tokens", "cost_losses", "lifetime_params",
                 "lifetime_total_usd", "lifetime_train_usd", "lifetime_inference_usd"):
        v = getattr(c, name)
        if v is not None:
            yield name, v
    for k, v in c.cost_by_hardware.items():
        yield f"cost_by_hardware[{k}]", v
    for i, (x, y) in enumerate(c.iso_contours):
        yield f"contour {i} params", x
        yield f"contour {i} tokens", y


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_array_is_finite_and_nonempty(name, profiles):
    c, _ = _curves(SCENARIOS[name], profiles)
    for label, arr in _all_arrays(c):
        assert np.all(np.isfinite(arr)), label
    assert len(c.frontier_loss) > 100
    assert len(c.cost_losses) > 20
    assert len(c.lifetime_params) > 20
    assert len(c.iso_levels) >= 3
    assert c.hardware_rows
    for row in c.hardware_rows:
        for k, v in row.items():
            if isinstance(v, float):
                assert math.isfinite(v), (row["id"], k)


def test_frontier_is_the_core_frontier(profiles):
    s = SCENARIOS["default"]
    c, e = _curves(s, profiles)
    law = get_law(s.law)
    np.testing.assert_allclose(c.frontier_loss, al.optimal_loss(law, c.frontier_compute_flops),
                               rtol=1e-12)
    assert np.all(np.diff(c.frontier_compute_flops) > 0)
    assert np.all(np.diff(c.frontier_loss) < 0)  # more compute, lower loss
    # The frontier spans decades on both sides of the target.
    assert c.frontier_compute_flops[0] < e.train_flops_6nd / 100
    assert c.frontier_compute_flops[-1] > e.train_flops_6nd * 10


def test_compute_optimal_plan_lies_on_the_frontier(profiles):
    for name in ("default", "loss", "compute"):
        c, e = _curves(SCENARIOS[name], profiles)
        assert c.target_compute_flops == pytest.approx(e.train_flops_6nd, rel=1e-12)
        assert c.target_loss == pytest.approx(e.loss, rel=1e-12)
        on_frontier = np.interp(math.log(c.target_compute_flops),
                                np.log(c.frontier_compute_flops), c.frontier_loss)
        assert on_frontier == pytest.approx(c.target_loss, rel=1e-9), name
        assert c.target_compute_flops in c.frontier_compute_flops


def test_constrained_plan_lies_above_the_frontier(profiles):
    c, e = _curves(SCENARIOS["ratio"], profiles)
    frontier_at_plan = al.optimal_loss(get_law("epoch-2024"), c.target_compute_flops)
    assert c.target_loss > frontier_at_plan + 1e-4


def test_frontier_band_from_law_samples(profiles):
    s = SCENARIOS["default"]
    law = get_law(s.law)
    c, _ = _curves(s, profiles)
    if law.samples_array() is None:
        assert c.frontier_loss_p10 is None and c.frontier_loss_p90 is None
        pytest.skip("the default law ships no parameter samples")
    assert c.frontier_loss_p10.shape == c.frontier_loss.shape
    assert np.all(c.frontier_loss_p10 <= c.frontier_loss_p90)
    # The band is the spread of each sampled law's frontier: check by brute force. It is
    # computed on a coarse sub-grid (exact at its nodes, the end points) and interpolated in
    # log C between them (within 1e-4, far below a pixel).
    samples = law.samples_array()
    for k, rel in ((0, 1e-9), (len(c.frontier_compute_flops) - 1, 1e-9),
                   (len(c.frontier_compute_flops) // 2, 1e-4)):
        one = [al.optimal_loss(replace(law, E=r[0], A=r[1], B=r[2], alpha=r[3], beta=r[4],
                                       param_samples=None), c.frontier_compute_flops[k])
               for r in samples]
        p10, p90 = np.percentile(one, [10, 90])
        assert c.frontier_loss_p10[k] == pytest.approx(p10, rel=rel)
        assert c.frontier_loss_p90[k] == pytest.approx(p90, rel=rel)


def test_kaplan_has_no_band(profiles):
    c, _ = _curves(SCENARIOS["kaplan"], profiles)
    assert c.frontier_loss_p10 is None and c.frontier_loss_p90 is None


def test_iso_grid_is_the_law(profiles):
    for name in ("default", "kaplan"):
        s = SCENARIOS[name]
        c, e = _curves(s, profiles)
        law = get_law(s.law)
        assert c.iso_loss.shape == (len(c.iso_params), len(c.iso_tokens))
        np.testing.assert_allclose(c.iso_loss, law.loss(c.iso_params[:, None],
                                                         c.iso_tokens[None, :]), rtol=1e-12)
        # log-spaced and centred on the plan
        assert np.allclose(np.diff(np.log(c.iso_params)), np.log(c.iso_params[1] / c.iso_params[0]))
        assert c.iso_params[0] < e.params < c.iso_params[-1]
        assert c.iso_tokens[0] < e.tokens < c.iso_tokens[-1]
        assert c.plan_params == e.params and c.plan_tokens == e.tokens
        # the plan's loss is one of the contour levels, and each contour is on its level
        assert np.any(np.isclose(c.iso_levels, e.loss, rtol=1e-12))
        assert len(c.iso_contours) == len(c.iso_levels)
        for level, (n, d) in zip(c.iso_levels, c.iso_contours, strict=True):
            assert len(n) > 10
            np.testing.assert_allclose(law.loss(n, d), level, rtol=1e-6)
            assert n.min() >= c.iso_params[0] * (1 - 1e-9)
            assert d.max() <= c.iso_tokens[-1] * (1 + 1e-9)


def test_compute_optimal_line_is_the_core_allocation(profiles):
    s = SCENARIOS["default"]
    c, _ = _curves(s, profiles)
    law = get_law(s.law)
    n, d = al.optimal_allocation(law, 6.0 * c.optimal_params * c.optimal_tokens)
    np.testing.assert_allclose(c.optimal_params, n, rtol=1e-9)
    np.testing.assert_allclose(c.optimal_tokens, d, rtol=1e-9)
    assert len(c.optimal_params) > 50
    # ... and it passes through a compute-optimal plan
    tpp = np.interp(math.log(c.plan_params), np.log(c.optimal_params),
                    np.log(c.optimal_tokens))
    assert math.exp(tpp) == pytest.approx(c.plan_tokens, rel=1e-4)


@pytest.mark.parametrize("name", ["default", "ratio", "fixed-size", "model", "unique", "lifetime",
                                  "kaplan", "chinchilla-fp8", "exact"])
def test_cost_at_plan_loss_equals_estimate_on_every_hardware(name, profiles):
    s = SCENARIOS[name]
    c, e = _curves(s, profiles)
    i = int(np.argmin(np.abs(c.cost_losses - e.loss)))
    assert c.cost_losses[i] == pytest.approx(e.loss, rel=1e-12)
    assert c.cost_by_hardware[e.hardware][i] == pytest.approx(e.cost_usd, rel=1e-9)
    assert c.plan_cost_usd == pytest.approx(e.cost_usd, rel=1e-12)
    if s.optimize == "lifetime":
        return  # the lifetime optimum moves with the hardware's prices: not one plan
    for pid in c.cost_by_hardware:
        other = estimate(replace(s, hardware=pid), profiles=profiles)
        assert c.cost_by_hardware[pid][i] == pytest.approx(other.cost_usd, rel=1e-9), pid


def test_cost_curve_matches_core_plans_off_the_plan(profiles):
    """Away from the plan's loss each point is the cost estimate() gives for that target."""
    for name in ("loss", "fixed-size", "ratio"):
        s = SCENARIOS[name]
        c, e = _curves(s, profiles)
        for i in (5, len(c.cost_losses) // 3, len(c.cost_losses) - 5):
            target = float(c.cost_losses[i])
            other = estimate(replace(s, target_loss=target), profiles=profiles,
                             with_uncertainty=False)
            assert c.cost_by_hardware[e.hardware][i] == pytest.approx(other.cost_usd, rel=1e-6)


def test_cost_skips_profiles_without_the_precision(profiles):
    c, _ = _curves(SCENARIOS["chinchilla-fp8"], profiles)
    assert "a100-80gb" not in c.cost_by_hardware  # Ampere has no fp8
    assert "h100-sxm" in c.cost_by_hardware
    assert {r["id"] for r in c.hardware_rows} == set(c.cost_by_hardware)
    assert np.all(np.diff(c.cost_losses) > 0)


def test_lifetime_optimum_is_the_core_optimum(profiles):
    s = SCENARIOS["default"]
    c, e = _curves(s, profiles)
    law = get_law(s.law)
    p = get_profile(s.hardware, profiles)
    lp = al.lifetime_optimal(law, e.loss, train_cost_per_flop=cluster_rates(s, p).usd_per_flop,
                             inference_cost_per_token=usd_per_token(s, serving_rates(s, p)),
                             inference_tokens=s.lifetime_output_tokens)
    assert c.lifetime_optimum_params == pytest.approx(lp.allocation.params, rel=1e-6)
    # the optimum is located on the interpolated serving-cost table, then priced exactly by the
    # serving model: the two agree to the table's accuracy (a few per cent)
    assert c.lifetime_optimum_usd == pytest.approx(lp.total_cost, rel=0.03)
    # the curve is the sum of its parts, its minimum is the optimum, the plan costs more
    np.testing.assert_allclose(c.lifetime_total_usd,
                               c.lifetime_train_usd + c.lifetime_inference_usd)
    assert c.lifetime_total_usd.min() >= c.lifetime_optimum_usd * (1 - 0.02)
    assert c.lifetime_params[0] < c.lifetime_optimum_params < c.lifetime_params[-1]
    assert c.plan_lifetime_usd == pytest.approx(e.lifetime_total_cost_usd, rel=1e-9)
    assert c.plan_lifetime_usd > c.lifetime_optimum_usd
    assert c.lifetime_compute_optimal_params == pytest.approx(e.params, rel=1e-12)


def test_lifetime_without_serving_is_the_compute_optimum(profiles):
    c, e = _curves(SCENARIOS["no-serving"], profiles)
    assert np.all(c.lifetime_inference_usd == 0)
    assert c.lifetime_optimum_params == pytest.approx(e.params, rel=1e-3)


def test_lifetime_mode_marks_the_compute_optimal_alternative(profiles):
    c, e = _curves(SCENARIOS["lifetime"], profiles)
    assert e.compute_optimal is not None
    assert c.lifetime_compute_optimal_params == pytest.approx(e.compute_optimal["params"])
    assert c.lifetime_optimum_params == pytest.approx(e.params, rel=1e-9)


@pytest.mark.parametrize("name", ["default", "lifetime", "chinchilla-fp8", "exact"])
def test_hardware_rows_equal_compare(name, profiles):
    s = SCENARIOS[name]
    c, e = _curves(s, profiles)
    by_id = {r["id"]: r for r in c.hardware_rows}
    cost = [r["cost_usd"] for r in c.hardware_rows]
    assert cost == sorted(cost)
    assert sum(r["is_plan"] for r in c.hardware_rows) == 1 and by_id[e.hardware]["is_plan"]
    for pid in by_id:
        other = estimate(replace(s, hardware=pid), profiles=profiles)
        r = by_id[pid]
        assert r["cost_usd"] == pytest.approx(other.cost_usd, rel=1e-9), pid
        assert r["wall_clock_days"] == pytest.approx(other.wall_clock_days, rel=1e-9)
        assert r["gpu_hours"] == pytest.approx(other.gpu_hours, rel=1e-9)
        assert r["energy_mwh"] == pytest.approx(other.energy_mwh, rel=1e-9)
        assert r["cost_usd_p10"] == pytest.approx(other.bands["cost_usd"].p10, rel=1e-9)
        assert r["cost_usd_p90"] == pytest.approx(other.bands["cost_usd"].p90, rel=1e-9)
        assert r["wall_clock_days_p90"] == pytest.approx(other.bands["wall_clock_days"].p90,
                                                         rel=1e-9)
        assert r["lifetime_total_cost_usd"] == pytest.approx(other.lifetime_total_cost_usd,
                                                             rel=1e-9)
        assert r["cost_usd_p10"] <= r["cost_usd"] <= r["cost_usd_p90"]


def test_profiles_as_plain_dict(profiles):
    s = SCENARIOS["default"]
    e = estimate(s, profiles=profiles)
    c = compute_curves(s, e, profiles=dict(profiles.profiles))
    assert set(c.cost_by_hardware) == set(profiles.profiles)


def test_curves_module_does_not_import_qt():
    import subprocess
    import sys

    code = ("import sys, estimator.curves, estimator.report; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
