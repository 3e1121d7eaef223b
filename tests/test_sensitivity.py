"""Sensitivity: every swing is the engine at a varied input, checked against closed forms of the
cost model (hours go as 1/MFU, dollars as the price, lifetime inference as demand) and against
the law's own parameter samples."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from estimator.catalogue import default_catalogue
from estimator.engine import estimate
from estimator.errors import InputError
from estimator.scenario import Scenario
from estimator.sensitivity import (
    DEMAND_SPREAD,
    FACTORS,
    Ends,
    Factor,
    sensitivity,
)
from estimator.uncertainty import law_samples

REL = 1e-9


@pytest.fixture(scope="module")
def cat():
    return default_catalogue()


@pytest.fixture(scope="module")
def base(cat):
    s = Scenario()
    return s, estimate(s, catalogue=cat)


@pytest.fixture(scope="module")
def result(base, cat):
    s, e = base
    return sensitivity(s, e, catalogue=cat)


def _swing(result, key):
    (w,) = [w for w in result.swings if w.input == key]
    return w


def test_biggest_swing_first_on_the_metric(result, base):
    _s, e = base
    assert result.metric == "lifetime_total_cost_usd"  # the plan serves demand
    assert result.baseline == pytest.approx(e.lifetime_total_cost_usd, rel=REL)
    swings = [w.swing for w in result.swings]
    assert swings == sorted(swings, reverse=True)
    for w in result.swings:
        lo, hi = w.metric_at(result.metric)
        assert w.swing == pytest.approx(abs(hi - lo), rel=REL)
    d = json.loads(json.dumps(result.to_dict()))  # chart data: plain numbers, labels, units
    assert d["baseline"] == result.baseline and d["metric_unit"] == "USD"
    assert [s["input"] for s in d["swings"]] == [w.input for w in result.swings]


def test_utilisation_band_scales_hours_by_the_calibration_band(result, base):
    _s, e = base
    w = _swing(result, "utilisation")
    lo_ratio, hi_ratio = e.training.band  # the run model's band for the chip's family
    # gpu_hours = flops / (peak x mfu x goodput x 3600): MFU / 1.33 -> 1.33x the dollars
    assert w.low_cost_usd == pytest.approx(e.cost_usd * hi_ratio, rel=REL)
    assert w.high_cost_usd == pytest.approx(e.cost_usd * lo_ratio, rel=REL)
    assert w.low_days == pytest.approx(e.wall_clock_days * hi_ratio, rel=REL)
    assert w.low_value == pytest.approx(e.mfu * e.goodput / hi_ratio, rel=REL)
    # the estimate's own P10-P90 cost band includes this spread (and the law's)
    b = e.bands["cost_usd"]
    assert b.p10 < w.high_cost_usd * 1.2 and b.p90 > w.low_cost_usd * 0.8


def test_training_price_tier_is_cheapest_to_dearest_tier(result, base, cat):
    _s, e = base
    w = _swing(result, "price_tier")
    prices = sorted(p.usd_per_hour for p in cat.profile(e.hardware).prices.values())
    assert (w.low_value, w.high_value) == (prices[0], prices[-1])
    assert w.low_cost_usd == pytest.approx(e.gpu_hours * prices[0], rel=REL)
    assert w.high_cost_usd == pytest.approx(e.gpu_hours * prices[-1], rel=REL)
    # serving held at the plan's price: lifetime inference unchanged
    inf = e.lifetime_inference_cost_usd
    assert w.low_lifetime_usd == pytest.approx(w.low_cost_usd + inf, rel=REL)


def test_serving_price_tier_moves_only_lifetime_inference(result, base, cat):
    _s, e = base
    w = _swing(result, "inference_price_tier")
    prices = sorted(p.usd_per_hour for p in cat.profile(e.inference_hardware).prices.values())
    assert w.low_cost_usd == pytest.approx(e.cost_usd, rel=REL)
    # serving dollars are chip-time x price: linear in the price per chip-hour
    inf = e.lifetime_inference_cost_usd
    expect_hi = e.cost_usd + inf * prices[-1] / e.serving.price_usd_per_hour
    assert w.high_lifetime_usd == pytest.approx(expect_hi, rel=1e-6)


def test_demand_plus_minus_half_scales_lifetime_inference(result, base):
    _s, e = base
    w = _swing(result, "demand")
    inf = e.lifetime_inference_cost_usd
    assert w.low_lifetime_usd == pytest.approx(e.cost_usd + (1 - DEMAND_SPREAD) * inf, rel=REL)
    assert w.high_lifetime_usd == pytest.approx(e.cost_usd + (1 + DEMAND_SPREAD) * inf, rel=REL)
    assert w.low_cost_usd == pytest.approx(e.cost_usd, rel=REL)


def test_law_ends_are_the_law_samples_at_p10_and_p90(result, base, cat):
    s, e = base
    w = _swing(result, "law")
    samples = law_samples(s, cat.law(s.law), e.plan.allocation)
    flops = 6 * samples.params * samples.tokens
    # nearest-rank P10 / P90 of the samples' training compute
    order = np.sort(flops)
    n = len(order)
    assert w.low_value == pytest.approx(order[round(0.1 * (n - 1))], rel=REL)
    assert w.high_value == pytest.approx(order[round(0.9 * (n - 1))], rel=REL)
    # same cluster: dollars follow training compute (the run model's MFU moves a little with
    # the model size, so nearly but not exactly in proportion)
    assert w.low_cost_usd / w.high_cost_usd == pytest.approx(w.low_value / w.high_value,
                                                             rel=0.05)
    # and they sit inside the estimate's compute band's neighbourhood
    b = e.bands["train_flops"]
    assert b.p10 * 0.99 <= w.low_value <= w.high_value <= b.p90 * 1.01


def test_compute_budget_ranks_law_samples_by_model_size(cat):
    s = Scenario(mode="compute", compute_flops=1e24)
    r = sensitivity(s, catalogue=cat)
    w = _swing(r, "law")
    assert w.unit == "parameters" and w.low_value < w.high_value
    # the budget is fixed: the training dollars hardly move, the serving ones do
    assert w.low_cost_usd == pytest.approx(w.high_cost_usd, rel=0.05)  # (MFU moves with size)
    assert w.low_lifetime_usd != pytest.approx(w.high_lifetime_usd, rel=1e-3)


def test_lifetime_plans_keep_the_law_band(cat):
    s = Scenario(optimize="lifetime")
    e = estimate(s, catalogue=cat)
    r = sensitivity(s, e, catalogue=cat)
    w = _swing(r, "law")
    # the samples are each re-optimised for lifetime cost: the ends bracket the plan's band
    b = e.bands["train_flops"]
    assert b.p10 * 0.99 <= w.low_value <= w.high_value <= b.p90 * 1.01
    assert "re-optimised for lifetime cost" in w.basis


def test_without_demand_ranks_training_cost_and_skips_serving(cat):
    s = Scenario(inference_tokens_per_day=0)
    r = sensitivity(s, catalogue=cat)
    assert r.metric == "cost_usd"
    skipped = {k.input: k.reason for k in r.skipped}
    assert {"demand", "inference_price_tier"} <= set(skipped)
    assert "no serving demand" in skipped["demand"]
    assert r.swings[0].input in ("price_tier", "utilisation")


def test_goodput_swing_is_the_failure_rate_spread_around_the_run_models_goodput(result, base):
    """Failure rate (issue 14): the run model's lost time x2 and /2 (FAILURE_RATE_SPREAD)."""
    from estimator.sensitivity import FAILURE_RATE_SPREAD

    _s, e = base
    w = _swing(result, "goodput")
    lost = 1 - e.goodput
    assert w.low_value == pytest.approx(1 - lost * FAILURE_RATE_SPREAD, rel=REL)
    assert w.high_value == pytest.approx(1 - lost / FAILURE_RATE_SPREAD, rel=REL)
    # hours go as 1 / goodput with MFU held
    assert w.low_cost_usd == pytest.approx(e.cost_usd * e.goodput / w.low_value, rel=REL)


def test_a_new_input_is_one_entry(base, cat):
    s, e = base

    def gpus(s, e, cat):
        return Ends(512, 2048, "512", "2,048", replace(s, gpus=512), replace(s, gpus=2048),
                    "a what-if")

    r = sensitivity(s, e, catalogue=cat, metric="wall_clock_days",
                    factors=FACTORS + (Factor("gpus", "GPUs", "chips", gpus),))
    w = _swing(r, "gpus")
    # fewer GPUs take longer, more take less (the run model: not in exact proportion)
    assert w.low_days > e.wall_clock_days > w.high_days
    assert r.swings[0].input == "gpus"  # a 4x range of GPUs moves days most


def test_an_end_the_engine_rejects_is_skipped_not_raised(base, cat):
    s, e = base

    def bad(s, e, cat):
        return Ends(1, 2, "a", "b", replace(s, hardware="no-such-chip"), s, "test")

    r = sensitivity(s, e, catalogue=cat, factors=(Factor("bad", "Bad", "", bad),))
    assert r.swings == () and "rejects" in r.skipped[0].reason


def test_unknown_metric_is_an_input_error(base, cat):
    s, e = base
    with pytest.raises(InputError) as err:
        sensitivity(s, e, catalogue=cat, metric="dollars")
    assert err.value.field == "metric"
