"""The estimate engine end to end: hand-computed costs, validation, save/load, uncertainty."""

import math
import os
from dataclasses import replace

import numpy as np
import pytest
import yaml

from estimator import allocation as al
from estimator.engine import compare, estimate
from estimator.errors import InputError, ScenarioError, UnreachableTargetError
from estimator.hardware import get_profile
from estimator.laws import get_law
from estimator.scenario import Scenario, load_scenario, save_scenario


def test_default_scenario_is_a_full_estimate():
    est = estimate(Scenario())
    # default target: as good as Chinchilla (70 B on 1.4 T) under Epoch's law
    law = get_law("epoch-2024")
    assert est.loss == pytest.approx(law.loss(70e9, 1.4e12), rel=1e-12)
    assert est.params == pytest.approx(73.0e9, rel=0.01)
    for key, value in est.to_dict().items():
        if isinstance(value, float):
            assert math.isfinite(value), key
    assert est.cost_usd > 0 and est.lifetime_total_cost_usd > est.cost_usd


def test_hand_computed_training_cost():
    s = Scenario(
        mode="model",
        params=7e9,
        tokens=1e12,
        hardware="a100-80gb",
        gpus=256,
        mfu=0.5,
        goodput=1.0,
        price_per_hour=2.0,
        pue=1.1,
        grid_kg_co2_per_kwh=0.4,
    )
    est = estimate(s)
    hours = 6 * 7e9 * 1e12 / (312e12 * 0.5 * 1.0 * 3600)
    assert est.train_flops == pytest.approx(4.2e22)
    assert est.gpu_hours == pytest.approx(hours, rel=1e-12)
    assert est.cost_usd == pytest.approx(hours * 2.0, rel=1e-12)
    assert est.wall_clock_days == pytest.approx(hours / 256 / 24, rel=1e-12)
    power = get_profile("a100-80gb").power_w
    assert est.energy_mwh == pytest.approx(hours * power * 1.1 / 1e6, rel=1e-12)
    assert est.co2_tonnes == pytest.approx(est.energy_mwh * 0.4, rel=1e-12)
    # bands bracket the point estimate
    b = est.bands["gpu_hours"]
    assert b.p10 < est.gpu_hours < b.p90


def test_the_run_model_sets_utilisation_when_not_pinned():
    """Without pins the run model's MFU and goodput set the hours (issue 11), through the one
    identity gpu_hours = 6ND / (peak x MFU x goodput x 3600); the price is the profile's."""
    p = get_profile("h100-sxm")
    est = estimate(Scenario(mode="compute", compute_flops=1e24))
    assert est.mfu == est.predicted_mfu and 0.2 < est.mfu < 0.7
    assert 0.5 < est.goodput < 1.0
    assert est.price_usd_per_hour == p.price_usd_per_hour("on_demand")
    assert est.gpu_hours == pytest.approx(
        est.train_flops_6nd / (989.5e12 * est.mfu * est.goodput * 3600), rel=1e-9)
    assert est.hardware == "h100-sxm" and est.gpus == 1024 and est.precision == "bf16"
    assert est.parallel_layout["tp"] * est.parallel_layout["pp"] * est.parallel_layout["cp"] \
        * est.parallel_layout["dp"] == 1024


def test_fp8_speed_up_is_the_measured_one_not_2x_and_unsupported_precision_is_an_error():
    """fp8 does not halve the hours: NVIDIA's bf16/fp8 recipe pairs give 1.25-1.53x end to end
    (training_refs.md 1.7); the estimate says so in a warning."""
    base = Scenario(mode="compute", compute_flops=1e24)
    bf16 = estimate(base)
    fp8 = estimate(replace(base, precision="fp8"))
    assert 1.2 < bf16.gpu_hours / fp8.gpu_hours < 1.6
    assert any("fp8" in w for w in fp8.warnings)
    with pytest.raises(InputError, match="fp8"):
        estimate(replace(base, hardware="a100-80gb", precision="fp8"))


def test_exact_flops_ratio():
    s = Scenario(
        mode="model",
        params=7e9,
        tokens=1e12,
        exact_flops=True,
        n_layers=32,
        d_model=4096,
        seq_len=4096,
    )
    est = estimate(s)
    assert est.flops_ratio_to_6nd == pytest.approx(1 + 32 * 4096 * 4096 / 7e9)
    assert est.train_flops == pytest.approx(4.2e22 * est.flops_ratio_to_6nd)


def test_too_few_gpus_is_an_error_naming_the_least_and_too_many_a_warning():
    with pytest.raises(InputError) as info:
        estimate(Scenario(mode="model", params=400e9, tokens=1e13, gpus=16))
    assert info.value.field == "gpus" and "least" in str(info.value)
    least = int(info.value.expected.removeprefix(">=").strip())
    assert f"raise gpus to at least {least}" in str(info.value)
    ok = estimate(Scenario(mode="model", params=400e9, tokens=1e13, gpus=least))
    assert ok.min_gpus_for_memory == least
    many = estimate(Scenario(mode="model", params=1e9, tokens=2e10, gpus=100_000))
    assert many.gpus > many.max_useful_gpus
    assert any("barely shorten the run" in w for w in many.warnings)
    # past the useful batch more GPUs cost more and save no time
    fewer = estimate(Scenario(mode="model", params=1e9, tokens=2e10, gpus=many.max_useful_gpus))
    assert many.gpu_hours > fewer.gpu_hours


def test_extrapolation_warning_past_10x():
    est = estimate(Scenario(mode="compute", compute_flops=1e27))
    assert est.extrapolation_factor > 10
    assert any("extrapolating" in w for w in est.warnings)


def test_lifetime_optimisation_is_cheaper_and_reports_both():
    s = Scenario(mode="loss", target_loss=2.0, inference_tokens_per_day=1e11, deployment_days=730)
    comp = estimate(s)
    life = estimate(replace(s, optimize="lifetime"))
    assert life.loss == pytest.approx(2.0, rel=1e-8)
    assert life.params < comp.params and life.tokens > comp.tokens
    assert life.lifetime_total_cost_usd < comp.lifetime_total_cost_usd
    assert life.compute_optimal["lifetime_total_cost_usd"] == pytest.approx(
        comp.lifetime_total_cost_usd, rel=1e-9
    )  # the compute-optimal plan, priced the same way in both
    assert comp.lifetime_optimal["saving_usd"] == pytest.approx(
        comp.lifetime_total_cost_usd - life.lifetime_total_cost_usd, rel=1e-6
    )


def test_lifetime_inference_cost_by_hand():
    s = Scenario(
        mode="model", params=7e9, tokens=1e12, inference_tokens_per_day=1e9, deployment_days=100
    )
    est = estimate(s)
    assert est.lifetime_inference_tokens == 1e11
    # the fleet is paid for at the peak: tokens x all-in cost per output token x peak-to-mean
    assert est.lifetime_inference_cost_usd == pytest.approx(
        1e11 * est.inference_cost_per_million_tokens_usd / 1e6 * s.peak_to_mean, rel=1e-12
    )
    assert est.lifetime_total_cost_usd == pytest.approx(
        est.cost_usd + est.lifetime_inference_cost_usd
    )
    p = get_profile("h100-sxm")
    price = p.price_usd_per_hour("on_demand")
    # all-in per generated token: a request's chip-time (prompt and answer) over its output
    assert est.inference_cost_per_million_tokens_usd == pytest.approx(
        price / (est.serving_output_tokens_per_s_per_chip * 3600) * 1e6, rel=1e-9
    )
    i, o = s.input_tokens_per_request, s.output_tokens_per_request
    assert est.inference_cost_per_million_tokens_usd == pytest.approx(
        (i * est.cost_per_million_input_tokens_usd + o * est.cost_per_million_output_tokens_usd)
        / o, rel=1e-9)


def test_unreachable_target_propagates_with_bound():
    with pytest.raises(UnreachableTargetError) as err:
        estimate(Scenario(mode="loss", target_loss=1.5))
    assert err.value.bound == pytest.approx(1.8172)


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("gpus", 0, "gpus"),
        ("gpus", -5, "gpus"),
        ("mfu", 1.5, "mfu"),
        ("pue", 0.5, "pue"),
        ("compute_flops", -1.0, "compute_flops"),
        ("precision", "fp2", "precision"),
        ("price_tier", "free", "price_tier"),
        ("mode", "dream", "mode"),
        ("inference_tokens_per_day", -1.0, "inference_tokens_per_day"),
    ],
)
def test_validation_names_the_field(field, value, fragment):
    s = replace(Scenario(mode="compute", compute_flops=1e24), **{field: value})
    with pytest.raises(InputError) as err:
        s.validated()
    assert fragment in str(err.value)


def test_mode_needs_its_inputs():
    with pytest.raises(InputError, match="target_loss"):
        Scenario(mode="loss").validated()
    with pytest.raises(InputError, match="exactly one of tokens"):
        Scenario(mode="model", params=1e9).validated()


def test_save_and_load_round_trip(tmp_path):
    s = Scenario(
        mode="loss",
        target_loss=2.05,
        hardware="b200",
        gpus=2048,
        mfu=0.35,
        unique_tokens=5e12,
        optimize="lifetime",
    )
    p = tmp_path / "plan.yaml"
    save_scenario(s, p)
    assert yaml.safe_load(p.read_text())["target_loss"] == 2.05
    assert load_scenario(p) == s
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_save_failure_keeps_previous_file(tmp_path, monkeypatch):
    p = tmp_path / "plan.yaml"
    save_scenario(Scenario(gpus=64), p)
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ScenarioError, match="cannot save"):
        save_scenario(Scenario(gpus=128), p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["plan.yaml"]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("gpus: many\n", "gpus"),
        ("gpus: 1.5\n", "whole number"),
        ("colour: red\n", "unknown field"),
        ("- a\n- b\n", "mapping"),
        ("mode: [\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['echo hi']\n", "YAML tag not allowed"),
        ("a: &x 1\nb: *x\n", "aliases"),
        ("a: 2024-02-30\n", "not valid YAML"),
        ("mode: loss\n", "target_loss"),
    ],
)
def test_bad_scenario_files(tmp_path, text, fragment):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    assert fragment in str(err.value) and "bad.yaml" in str(err.value)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_compare_covers_every_profile_and_matches_estimate():
    s = Scenario(mode="compute", compute_flops=1e24)
    rows = compare(s)
    ids = {e.hardware for e in rows}
    assert {"a100-80gb", "h100-sxm", "b200", "tpu-v5p", "mi300x"} <= ids
    for e in rows:
        assert e.train_flops == pytest.approx(1e24, rel=1e-9)
        single = estimate(replace(s, hardware=e.hardware))
        assert e.cost_usd == pytest.approx(single.cost_usd, rel=1e-12)


def test_uncertainty_from_law_samples_when_available():
    law = get_law("epoch-2024")
    if not getattr(law, "has_uncertainty", False):
        pytest.skip("epoch-2024 ships without parameter samples")
    est = estimate(Scenario(mode="compute", compute_flops=1e24))
    b = est.bands["params"]
    assert b.p10 < est.params < b.p90
    # the sampled allocations are what the closed form gives for each sample
    sampled = law.sampled()
    n, _ = sampled.optimal_allocation_closed_form(1e24)
    import numpy as np

    assert b.p50 == pytest.approx(float(np.percentile(n, 50)), rel=1e-9)
    assert "parameter samples" in est.uncertainty_source
    # target-loss mode: compute varies across samples
    est2 = estimate(Scenario(mode="loss", target_loss=2.0))
    c = est2.bands["train_flops"]
    assert c.p10 < al.compute_for_loss(law, 2.0) < c.p90


def test_new_saved_files_get_normal_permissions(tmp_path):
    p = tmp_path / "plan.yaml"
    old = os.umask(0o022)
    try:
        save_scenario(Scenario(), p)
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o644


def test_compare_and_estimate_accept_a_plain_dict_of_profiles():
    from estimator.hardware import load_profiles

    profiles = dict(load_profiles().profiles)
    s = Scenario(mode="compute", compute_flops=1e24)
    assert estimate(s, profiles=profiles).cost_usd == pytest.approx(estimate(s).cost_usd)
    assert len(compare(s, profiles=profiles)) == len(profiles)


def test_lifetime_optimum_under_limited_unique_data_is_one_consistent_plan():
    """Issue 10: target 1.9, 5T unique tokens, 100B tokens/day, lifetime: the plan, its epochs,
    the lifetime chart and the saving all describe the same plan (repeated epochs valued by
    Muennighoff's D' everywhere)."""
    from estimator import allocation as al
    from estimator.curves import compute_curves
    from estimator.laws import get_law

    s = Scenario(mode="loss", target_loss=1.9, unique_tokens=5e12,
                 inference_tokens_per_day=1e11, optimize="lifetime")
    e = estimate(s)
    assert not any("not available" in w for w in e.warnings)
    law = get_law(s.law)
    # the plan reaches the target on its repeated data
    assert law.loss(e.params, al.effective_tokens(e.tokens, 5e12)) == pytest.approx(1.9, rel=1e-6)
    assert e.epochs == pytest.approx(e.tokens / 5e12)
    assert e.compute_optimal is not None and e.compute_optimal["epochs"] >= 1.0
    c = compute_curves(s, e)
    assert c.lifetime_optimum_params == pytest.approx(e.params, rel=1e-9)
    # the curve's cheapest point is the plan (to the curve's grid spacing)
    i = int(np.argmin(c.lifetime_total_usd))
    assert c.lifetime_params[i] == pytest.approx(e.params, rel=0.2)
    assert c.plan_lifetime_usd == pytest.approx(e.lifetime_total_cost_usd, rel=1e-9)


def test_lifetime_mode_keeps_the_law_uncertainty():
    """Issue 10: lifetime mode used to drop the law samples (the band shrank to utilisation
    only); now each sample is re-optimised for lifetime cost and the bands cover both."""
    s = Scenario(mode="loss", target_loss=2.0, inference_tokens_per_day=1e11, optimize="lifetime")
    e = estimate(s)
    for name in ("params", "tokens", "train_flops", "lifetime_total_cost_usd"):
        b = e.bands[name]
        assert b.p10 < b.p90, name
    assert e.bands["params"].p10 < e.params < e.bands["params"].p90
    assert "re-optimised for lifetime cost" in e.uncertainty_source
    # wider than the utilisation spread alone
    alone = estimate(s, with_uncertainty=True).bands["cost_usd"]
    assert alone.p90 / alone.p10 > 1.33 / 0.76
