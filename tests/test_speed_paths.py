"""The fast paths give the same numbers as the straightforward ones.

* :class:`~estimator.curves.Curves` computes its hardware part (the cost-vs-loss curves and the
  hardware rows, which need the scenario on every profile) on first access: the window that
  shows the frontier never pays for the comparison, and the lazy part is exactly what the
  eager computation gives.
* :func:`~estimator.engine.compare` shares per-shape work across the profiles: every estimate
  equals the one the whole engine gives for that profile on its own (``to_dict`` equal, float
  for float).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import replace

import numpy as np
import pytest

from estimator import curves as cv
from estimator import engine
from estimator.catalogue import catalogue_with_profiles
from estimator.curves import HARDWARE_FIELDS, compute_curves
from estimator.engine import comparison_rows, estimate
from estimator.errors import EstimatorError
from estimator.hardware import load_profiles
from estimator.plan import law_for
from estimator.scenario import Scenario

SCENARIOS = {
    "default": Scenario(),
    "loss-ratio": Scenario(mode="loss", target_loss=2.1, tokens_per_param=100.0),
    "model": Scenario(mode="model", params=7e9, tokens=2e12, gpus=512),
    "lifetime": Scenario(optimize="lifetime", hardware="h200"),
    "fp8-serve-elsewhere": Scenario(precision="fp8", inference_hardware="a100-80gb"),
    "moe": Scenario(mode="compute", compute_flops=3e24, n_experts=64, experts_per_token=8,
                    law="ludziejewski-2025"),
    "exact-unique": Scenario(mode="compute", compute_flops=3e23, exact_flops=True,
                             unique_tokens=2e11),
}


@pytest.fixture(scope="module")
def cat():
    return catalogue_with_profiles(load_profiles("/nonexistent-speed-test-dir"))


def _each_profile_alone(s: Scenario, cat) -> list:
    """The scenario on every profile, each through the whole engine on its own: a fresh
    estimate per profile (no alternatives, as the comparison shows none), with the plan and the
    law samples of the hardware-independent stages when the plan does not depend on the chip."""
    from estimator.plan import target_allocation
    from estimator.uncertainty import law_samples

    s = s.validated()
    alloc = samples = None
    with np.errstate(all="ignore"):
        if s.optimize == "compute":
            law = law_for(s, cat.law(s.law))
            alloc = target_allocation(s, law)
            samples = law_samples(s, law, alloc)
        out = []
        for pid in cat.profiles.profiles:
            try:
                out.append(engine._run(replace(s, hardware=pid).validated(), cat, True,
                                       allocation=alloc, samples=samples, alternatives=False))
            except EstimatorError:
                continue
    return out


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_lazy_hardware_part_is_the_eager_one(name, cat):
    s = SCENARIOS[name]
    e = estimate(s, catalogue=cat)
    c = compute_curves(s, e, catalogue=cat)
    # the charts that do not show hardware read their fields without computing it
    for f in ("frontier_loss", "iso_loss", "lifetime_total_usd", "plan_hardware",
              "plan_cost_usd", "lifetime_available"):
        getattr(c, f)
    assert c.hardware_pending
    eager = _each_profile_alone(s, cat)
    want_rows = comparison_rows(eager, e.hardware)
    law = law_for(s, cat.law(s.law))
    want_losses, want_cost, want_names, want_what = cv._cost_curves(
        s.validated(), e, law, cat, c.frontier_compute_flops, c.frontier_loss, eager)
    assert c.hardware_rows == want_rows  # rows of floats: equal, not close
    assert not c.hardware_pending
    assert np.array_equal(c.cost_losses, want_losses)
    assert c.cost_by_hardware.keys() == want_cost.keys()
    for pid, usd in want_cost.items():
        assert np.array_equal(c.cost_by_hardware[pid], usd), pid
    assert c.hardware_names == want_names and c.cost_constraint == want_what
    assert len(want_rows) >= 5  # the scenarios run on most profiles: the check is not vacuous


def test_fast_comparison_equals_each_profile_alone(cat):
    for name, s in SCENARIOS.items():
        got = engine.compare(s, catalogue=cat)
        want = _each_profile_alone(s, cat)
        assert [g.hardware for g in got] == [w.hardware for w in want], name
        for g, w in zip(got, want, strict=True):
            assert g.to_dict() == w.to_dict(), (name, g.hardware)


def test_lazy_curves_behave_as_a_dataclass(cat):
    s = Scenario()
    e = estimate(s, catalogue=cat)
    names = [f.name for f in dataclasses.fields(cv.Curves)]
    assert set(HARDWARE_FIELDS) <= set(names) and "hardware_part" not in names
    eager = compute_curves(s, e, catalogue=cat)
    rows = eager.hardware_rows
    # a copy, a pickle and replace() carry the hardware part (computing it when pending)
    for make in (copy.copy, copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c)),
                 lambda c: dataclasses.replace(c, target_loss=c.target_loss)):
        c = compute_curves(s, e, catalogue=cat)
        assert c.hardware_pending
        other = make(c)
        assert not other.hardware_pending
        assert other.hardware_rows == rows
    # built without a hardware part (no profile to compare on): empty, never an error
    bare = {f.name: getattr(eager, f.name) for f in dataclasses.fields(cv.Curves)
            if f.name not in HARDWARE_FIELDS}
    c = cv.Curves(**bare)
    assert c.hardware_rows == [] and c.cost_by_hardware == {} and len(c.cost_losses) == 0
    with pytest.raises(AttributeError):
        c.no_such_field  # noqa: B018


def test_a_given_comparison_is_used_as_is(cat):
    s = Scenario(mode="compute", compute_flops=1e23)
    e = estimate(s, catalogue=cat)
    comp = engine.compare(s, catalogue=cat)[:3]
    c = compute_curves(s, e, catalogue=cat, comparison=comp)
    assert [r["id"] for r in c.hardware_rows] == [r["id"] for r in comparison_rows(comp,
                                                                                   e.hardware)]
    assert set(c.cost_by_hardware) == {x.hardware for x in comp}


def test_the_finite_check_reads_the_json_numbers_in_order(cat):
    for s in (Scenario(), Scenario(optimize="lifetime"), Scenario(inference_tokens_per_day=0.0)):
        e = estimate(s, catalogue=cat)
        want = [k for k, v in e.to_dict().items() if isinstance(v, float)]
        band_keys = {f"{n}_{p}" for n in e.bands for p in ("p10", "p50", "p90")}
        got = [k for k in engine._CHECKED if isinstance(getattr(e, k), float)]
        assert got == [k for k in want if k not in band_keys]
        assert [k for k in want if k in band_keys] == [
            f"{n}_{p}" for n in e.bands for p in ("p10", "p50", "p90")]
        # the first non-finite number is the one named, as the JSON object lists them
        for key in ("cost_usd", "tokens_per_s_per_gpu", "lifetime_total_cost_usd"):
            if getattr(e, key) is None:
                continue
            bad = replace(e, **{key: float("nan")})
            with pytest.raises(EstimatorError, match=f"estimate's {key} is not a finite"):
                engine._check_finite(bad)
        name = next(iter(e.bands))
        bad = replace(e, bands={**e.bands, name: replace(e.bands[name], p50=float("inf"))})
        with pytest.raises(EstimatorError, match=f"estimate's {name}_p50 is not"):
            engine._check_finite(bad)


def test_band_quantiles_are_numpys_bit_for_bit():
    from estimator.uncertainty import quantiles_10_50_90

    rng = np.random.default_rng(7)
    for n in [*range(1, 30), 101, 1000, 2211]:
        for _ in range(5):
            a = rng.lognormal(size=n) * 10 ** rng.uniform(-5, 20)
            if rng.random() < 0.4:
                a = np.round(a, 1)  # ties
            assert np.array_equal(quantiles_10_50_90(a), np.percentile(a, [10, 50, 90]))
            b = rng.lognormal(size=(3, n))
            b[1, rng.integers(n)] = np.nan
            assert np.array_equal(quantiles_10_50_90(b).T,
                                  np.percentile(b, [10, 50, 90], axis=1), equal_nan=True)


def test_kept_runs_and_serving_plans_answer_as_a_cold_start(cat):
    """The kept training runs and serving plans are keyed by everything they read: after
    neighbouring scenarios filled them (same shape on other GPU counts, prices, precisions and
    request mixes), every number is the one a cold start gives."""
    from estimator.serving.stage import clear_caches as clear_serving
    from estimator.training.stage import clear_caches as clear_training

    base = Scenario(mode="compute", compute_flops=2e23, hardware="h100-sxm")
    variants = [base, replace(base, gpus=512), replace(base, precision="fp8"),
                replace(base, price_per_hour=3.0),
                replace(base, input_tokens_per_request=4000.0),
                replace(base, inference_precision="fp8"), replace(base, seq_len=8192),
                replace(base, tpot_ms=30.0)]
    warm = [estimate(s, catalogue=cat).to_dict() for s in variants]
    warm_cmp = [e.to_dict() for e in engine.compare(variants[1], catalogue=cat)]
    cold = []
    for s in variants:
        clear_training()
        clear_serving()
        cold.append(estimate(s, catalogue=cat).to_dict())
    clear_training()
    clear_serving()
    assert warm == cold
    assert warm_cmp == [e.to_dict() for e in engine.compare(variants[1], catalogue=cat)]


def test_kept_comparisons_follow_the_catalogue(cat):
    s = Scenario(mode="compute", compute_flops=1e23, gpus=768)
    full = engine.compare(s, catalogue=cat)
    again = engine.compare(s, catalogue=cat)
    assert again is not full and [e.to_dict() for e in again] == [e.to_dict() for e in full]
    again.clear()  # the caller's list is its own
    assert len(engine.compare(s, catalogue=cat)) == len(full)
    few = catalogue_with_profiles(dict(list(cat.profiles.profiles.items())[:3]))
    want = [e.hardware for e in full if e.hardware in few.profiles.profiles]
    assert [e.hardware for e in engine.compare(s, catalogue=few)] == want
    assert len(want) < len(full)


def test_a_failing_hardware_part_is_not_taken_for_a_missing_field(cat, monkeypatch):
    s = Scenario()
    e = estimate(s, catalogue=cat)
    c = compute_curves(s, e, catalogue=cat)

    def broken(*a, **k):
        raise AttributeError("a bug inside the comparison")

    monkeypatch.setattr(cv, "comparison_rows", broken)
    with pytest.raises(RuntimeError, match="a bug inside the comparison"):
        hasattr(c, "hardware_rows")
    assert c.hardware_pending  # nothing half-kept: the next access tries again
    monkeypatch.undo()
    assert c.hardware_rows and not c.hardware_pending
