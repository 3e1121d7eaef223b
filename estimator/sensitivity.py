"""Sensitivity of a plan's dollars and days to its uncertain inputs: the data of a tornado chart.

Each uncertain input (a :class:`Factor` in :data:`FACTORS`) names a low and a high value and the
scenario that carries each; both ends run through the engine (:func:`estimator.engine.estimate`),
so a swing is never a hand-written twin of the cost formula. The inputs:

* **utilisation**: MFU scaled so the GPU-hours move by the run model's calibration band for the
  chip's family (the P10 and P90 of reported / estimated hours on published runs, wider when
  the family's constants are borrowed; the band the estimate's own P10-P90 carries);
* **training price tier** and **serving price tier**: the profile's cheapest and dearest dated
  tier (the other side's price held where it is);
* **scaling law P10/P90**: the plan under the law's parameter samples (a bootstrap of its fit,
  :func:`estimator.uncertainty.law_samples`) whose training compute is at the 10th and 90th
  percentile, run as a given model of that size and data;
* **demand**: serving demand at +-:data:`DEMAND_SPREAD` (a planning convention, not a forecast);
* **failure rate** (goodput): the run model's lost time (interruptions, restarts, checkpoints)
  doubled and halved, the spread of published failure rates (:data:`FAILURE_RATE_SPREAD`).

Adding an input is one :class:`Factor` entry. :func:`sensitivity` returns the swings biggest
first, on the quantity chosen as the metric (lifetime total when the plan serves demand, else
training cost), with both ends' training cost, days and lifetime total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from estimator import units
from estimator.catalogue import Catalogue, resolve
from estimator.engine import Estimate, estimate
from estimator.errors import EstimatorError, InputError
from estimator.quantities import BY_KEY
from estimator.scenario import Scenario

#: Demand varied by this fraction either way (the plan's demand x 0.5 and x 1.5). A planning
#: convention for "what if demand is half or one and a half times the plan", not a forecast.
DEMAND_SPREAD = 0.5
#: Quantities a sensitivity can rank its swings by.
METRICS = ("lifetime_total_cost_usd", "cost_usd", "wall_clock_days")

__all__ = ["DEMAND_SPREAD", "FACTORS", "METRICS", "Ends", "Factor", "Sensitivity", "Skipped",
           "Swing", "sensitivity"]


@dataclass(frozen=True)
class Ends:
    """The two ends of one uncertain input: their values (in the factor's unit), how each reads,
    the scenario the engine runs for each, and where the range comes from (``basis``)."""

    low_value: float
    high_value: float
    low_text: str
    high_text: str
    low: Scenario
    high: Scenario
    basis: str
    label: str = ""  # overrides the factor's label when the range is of another quantity
    unit: str = ""
    #: a result quantity whose engine value at each end is the end's value (the texts are
    #: then templates: "{}" becomes the value as the quantities registry formats it)
    value_key: str = ""


@dataclass(frozen=True)
class Factor:
    """One uncertain input: ``ends(scenario, estimate, catalogue)`` gives its :class:`Ends`, or a
    string saying why it does not apply to this scenario."""

    key: str
    label: str
    unit: str
    ends: Callable[[Scenario, Estimate, Catalogue], Ends | str]


@dataclass(frozen=True)
class Swing:
    """One bar of the tornado: the input's low and high value (in ``unit``), what the engine
    gives at each end (training cost in USD, wall-clock days, training + lifetime inference in
    USD, None where serving is unavailable), and ``swing``: |metric at high - metric at low| in
    the metric's unit."""

    input: str
    label: str
    unit: str
    low_value: float
    high_value: float
    low_text: str
    high_text: str
    low_cost_usd: float
    high_cost_usd: float
    low_days: float
    high_days: float
    low_lifetime_usd: float | None
    high_lifetime_usd: float | None
    swing: float
    basis: str

    def metric_at(self, metric: str) -> tuple[float | None, float | None]:
        """(value at the low end, value at the high end) of a metric of :data:`METRICS`."""
        return {"cost_usd": (self.low_cost_usd, self.high_cost_usd),
                "wall_clock_days": (self.low_days, self.high_days),
                "lifetime_total_cost_usd": (self.low_lifetime_usd, self.high_lifetime_usd),
                }[metric]


@dataclass(frozen=True)
class Skipped:
    """An input left out of this sensitivity, and why."""

    input: str
    label: str
    reason: str


@dataclass(frozen=True)
class Sensitivity:
    """Swings biggest first on ``metric`` (a key of :data:`METRICS`, label and unit from the
    quantities registry), the baseline the bars are drawn from, and the inputs left out."""

    metric: str
    metric_label: str
    metric_unit: str
    baseline_cost_usd: float
    baseline_days: float
    baseline_lifetime_usd: float | None
    swings: tuple[Swing, ...]
    skipped: tuple[Skipped, ...]

    @property
    def baseline(self) -> float | None:
        """The metric at the plan's own inputs."""
        return {"cost_usd": self.baseline_cost_usd, "wall_clock_days": self.baseline_days,
                "lifetime_total_cost_usd": self.baseline_lifetime_usd}[self.metric]

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "metric_label": self.metric_label,
                "metric_unit": self.metric_unit, "baseline": self.baseline,
                "baseline_cost_usd": self.baseline_cost_usd,
                "baseline_days": self.baseline_days,
                "baseline_lifetime_usd": self.baseline_lifetime_usd,
                "swings": [s.__dict__.copy() for s in self.swings],
                "skipped": [s.__dict__.copy() for s in self.skipped]}


# --------------------------------------------------------------------------------------
# The inputs
# --------------------------------------------------------------------------------------


def _utilisation(s: Scenario, est: Estimate, cat: Catalogue) -> Ends | str:
    lo_ratio, hi_ratio = hours_band(est)  # reported / estimated hours, P10 and P90
    # hours go as 1 / (mfu x goodput): more hours is a lower MFU, fewer hours a higher one
    mfu_low = est.mfu / hi_ratio
    mfu_high = min(1.0, est.mfu / lo_ratio)
    basis = (f"GPU-hours x{lo_ratio:.2f} to x{hi_ratio:.2f}: the run model's P10-P90 of "
             "reported / estimated hours on published runs for this chip family "
             "(docs/run_model.md); applied as MFU with goodput held")
    if mfu_high < est.mfu / lo_ratio:
        basis += "; the high end is capped at MFU 100%"
    pin = {"goodput": est.goodput}
    return Ends(mfu_low * est.goodput, mfu_high * est.goodput,
                f"MFU {mfu_low:.1%} at goodput {est.goodput:.0%}",
                f"MFU {mfu_high:.1%} at goodput {est.goodput:.0%}",
                replace(s, mfu=mfu_low, **pin), replace(s, mfu=mfu_high, **pin), basis)


def hours_band(est: Estimate) -> tuple[float, float]:
    """The P10 and P90 factors on GPU-hours of the estimate's training run (the run model's
    calibration spread for the chip's family, wider when borrowed)."""
    return est.training.band


def _tier_ends(profile, tiers_of: str, make: Callable[[str], Scenario]) -> Ends | str:
    tiers = profile.price_tiers()
    if len(tiers) < 2:
        return f"{profile.id} has one price tier ({', '.join(tiers) or 'none'}); no range"
    by_price = sorted(tiers, key=lambda t: profile.prices[t].usd_per_hour)
    lo, hi = by_price[0], by_price[-1]
    plo, phi = profile.prices[lo], profile.prices[hi]
    basis = (f"{profile.id} {tiers_of} tiers, cheapest to dearest: {lo} "
             f"({plo.provider or plo.source}, {plo.date}) to {hi} "
             f"({phi.provider or phi.source}, {phi.date})")
    return Ends(plo.usd_per_hour, phi.usd_per_hour,
                f"{lo.replace('_', '-')} {units.usd_per_hour(plo.usd_per_hour)}",
                f"{hi.replace('_', '-')} {units.usd_per_hour(phi.usd_per_hour)}",
                make(lo), make(hi), basis)


def _training_tier(s: Scenario, est: Estimate, cat: Catalogue) -> Ends | str:
    # the serving price is held at the plan's (its tier would otherwise follow this one)
    serving = {"inference_price_tier": s.inference_price_tier or s.price_tier}
    ends = _tier_ends(cat.profile(s.hardware), "training price",
                      lambda t: replace(s, price_tier=t, price_per_hour=None, **serving))
    if isinstance(ends, Ends) and s.price_per_hour is not None:
        ends = replace(ends, basis=ends.basis + f" (in place of your price "
                                                f"{units.usd_per_hour(s.price_per_hour)})")
    return ends


def _serving_tier(s: Scenario, est: Estimate, cat: Catalogue) -> Ends | str:
    if est.lifetime_inference_tokens <= 0:
        return "no serving demand: serving prices do not move the cost"
    if est.lifetime_total_cost_usd is None:
        return "serving is unavailable for this model (see the warnings)"
    ends = _tier_ends(cat.profile(s.inference_hardware or s.hardware), "serving price",
                      lambda t: replace(s, inference_price_tier=t, inference_price_per_hour=None))
    if isinstance(ends, Ends) and s.inference_price_per_hour is not None:
        ends = replace(ends, basis=ends.basis + " (in place of your serving price "
                       f"{units.usd_per_hour(s.inference_price_per_hour)})")
    return ends


def _nearest_rank(key: np.ndarray, q: float) -> int:
    order = np.argsort(key, kind="stable")
    return int(order[int(round(q * (len(key) - 1)))])


def _law(s: Scenario, est: Estimate, cat: Catalogue) -> Ends | str:
    from estimator.uncertainty import law_samples

    if est.plan is None:
        return "the estimate carries no plan"
    samples = law_samples(s, cat.law(s.law), est.plan.allocation, _cost_rates(s, cat, est))
    n, d = samples.params, samples.tokens
    if len(n) < 3:
        reason = "; ".join(samples.warnings) or "the law has no parameter samples"
        return f"no law band: {reason}"
    flops = n * d
    by_flops = np.ptp(flops) > 1e-9 * np.max(flops)
    key = flops if by_flops else n  # a fixed compute budget: the samples differ in model size
    i10, i90 = _nearest_rank(key, 0.10), _nearest_rank(key, 0.90)

    def given(i: int) -> Scenario:
        return replace(s, mode="model", params=float(n[i]), tokens=float(d[i]),
                       tokens_per_param=None, optimize="compute")

    basis = (f"{samples.source}: the samples at the 10th and 90th percentile of "
             f"{'training compute' if by_flops else 'model size'} (nearest rank), each run as "
             "a given model of that size and data")
    if by_flops:  # the values are the engine's training compute at each end
        return Ends(math.nan, math.nan, "P10 {}", "P90 {}", given(i10), given(i90), basis,
                    label="Scaling law P10-P90 (compute)", unit="FLOPs",
                    value_key="train_flops")
    return Ends(float(n[i10]), float(n[i90]), f"P10 {units.si(n[i10])} params",
                f"P90 {units.si(n[i90])} params", given(i10), given(i90), basis,
                label="Scaling law P10-P90 (model size)", unit="parameters")


def _cost_rates(s: Scenario, cat: Catalogue, est: Estimate):
    """Dollars per training FLOP (the estimate's run, as a function of model size when it
    measured one) and per served token, as the engine prices a plan (the lifetime optimum of
    each law sample needs them)."""
    from estimator.plan import CostRates
    from estimator.serving.stage import serving_rates, usd_per_token

    profile = cat.profile(s.hardware)
    inf = cat.profile(s.inference_hardware) if s.inference_hardware else profile
    return CostRates(est.cost_usd / est.train_flops_6nd, usd_per_token(s, serving_rates(s, inf)),
                     est.train_rate_fn)


def _demand(s: Scenario, est: Estimate, cat: Catalogue) -> Ends | str:
    if est.lifetime_inference_tokens <= 0:
        return "no serving demand in the plan"
    if est.lifetime_total_cost_usd is None:
        return "serving is unavailable for this model (see the warnings)"
    name = "requests_per_day" if s.requests_per_day is not None else "inference_tokens_per_day"
    base = getattr(s, name)
    lo_f, hi_f = 1 - DEMAND_SPREAD, 1 + DEMAND_SPREAD
    low, high = replace(s, **{name: base * lo_f}), replace(s, **{name: base * hi_f})
    return Ends(low.output_tokens_per_day, high.output_tokens_per_day,
                f"{units.si(low.output_tokens_per_day)} tokens/day",
                f"{units.si(high.output_tokens_per_day)} tokens/day", low, high,
                f"the plan's demand x{lo_f:g} and x{hi_f:g} (a planning convention, "
                f"sensitivity.DEMAND_SPREAD), {s.deployment_days:g} days in service")


#: Factor on the failure rate at each end of the goodput swing: job-stopping failure rates of
#: large clusters differ by about this much between sources (Llama 3 2e-5 per GPU-hour against
#: Meta's research clusters 1.2e-4; training_refs.md section 2): a judgement.
FAILURE_RATE_SPREAD = 2.0


def _goodput(s: Scenario, est: Estimate, cat: Catalogue) -> Ends | str:
    if s.goodput is not None:
        return "goodput is pinned in the scenario"
    lost = 1.0 - est.goodput  # time lost to interruptions, restarts and checkpoints
    lo = max(0.01, 1.0 - lost * FAILURE_RATE_SPREAD)
    hi = min(1.0, 1.0 - lost / FAILURE_RATE_SPREAD)
    pin = {"mfu": est.mfu}
    return Ends(lo, hi, f"goodput {lo:.0%}", f"goodput {hi:.0%}",
                replace(s, goodput=lo, **pin), replace(s, goodput=hi, **pin),
                f"the run model's lost time (1 - goodput = {lost:.0%}: interruptions, restarts, "
                f"checkpoints) x{FAILURE_RATE_SPREAD:g} and /{FAILURE_RATE_SPREAD:g}, the spread "
                "of published failure rates (training_refs.md section 2; a judgement)")


#: The uncertain inputs, in the order ties are listed. One entry per input.
FACTORS: tuple[Factor, ...] = (
    Factor("utilisation", "Utilisation (MFU × goodput)", "fraction", _utilisation),
    Factor("price_tier", "Training price tier", "USD per GPU-hour", _training_tier),
    Factor("law", "Scaling law P10-P90", "FLOPs", _law),
    Factor("demand", f"Serving demand ±{DEMAND_SPREAD:.0%}", "output tokens/day", _demand),
    Factor("inference_price_tier", "Serving price tier", "USD per chip-hour", _serving_tier),
    Factor("goodput", "Goodput (failures)", "fraction", _goodput),
)


# --------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------


def _metric_of(e: Estimate, metric: str) -> float | None:
    return getattr(e, metric)


def sensitivity(scenario: Scenario, est: Estimate | None = None, *,
                catalogue: Catalogue | None = None, metric: str | None = None,
                factors: Sequence[Factor] = FACTORS) -> Sensitivity:
    """The swing of the plan's cost, days and lifetime total over each uncertain input, biggest
    first on ``metric`` (default: the lifetime total when the plan serves demand, else the
    training cost). ``est`` is the scenario's estimate if already computed. Inputs that do not
    apply, or whose varied scenario the engine rejects, are in ``skipped`` with the reason."""
    cat = resolve(catalogue)
    s = scenario.validated()
    base = est if est is not None else estimate(s, catalogue=cat)
    if metric is None:
        metric = ("lifetime_total_cost_usd" if base.lifetime_inference_tokens > 0
                  and base.lifetime_total_cost_usd is not None else "cost_usd")
    if metric not in METRICS:
        raise InputError(f"unknown sensitivity metric '{metric}'; use one of "
                         f"{', '.join(METRICS)}", field="metric", value=metric,
                         expected=", ".join(METRICS))
    if _metric_of(base, metric) is None:
        raise InputError(f"the plan has no {BY_KEY[metric].label.lower()} (serving is "
                         "unavailable); rank by cost_usd instead", field="metric", value=metric)
    swings: list[Swing] = []
    skipped: list[Skipped] = []
    for f in factors:
        try:
            ends = f.ends(s, base, cat)
            if isinstance(ends, str):
                skipped.append(Skipped(f.key, f.label, ends))
                continue
            lo = estimate(ends.low, catalogue=cat, with_uncertainty=False)
            hi = estimate(ends.high, catalogue=cat, with_uncertainty=False)
        except EstimatorError as exc:
            skipped.append(Skipped(f.key, f.label, f"the engine rejects an end: {exc}"))
            continue
        a, b = _metric_of(lo, metric), _metric_of(hi, metric)
        if a is None or b is None:
            skipped.append(Skipped(f.key, f.label, "serving is unavailable at one end"))
            continue
        values = (ends.low_value, ends.high_value)
        texts = (ends.low_text, ends.high_text)
        if ends.value_key:
            q = BY_KEY[ends.value_key]
            values = (getattr(lo, q.key), getattr(hi, q.key))
            texts = tuple(t.format(q.text(v)) for t, v in zip(texts, values, strict=True))
        swings.append(Swing(
            input=f.key, label=ends.label or f.label, unit=ends.unit or f.unit,
            low_value=float(values[0]), high_value=float(values[1]),
            low_text=texts[0], high_text=texts[1],
            low_cost_usd=lo.cost_usd, high_cost_usd=hi.cost_usd,
            low_days=lo.wall_clock_days, high_days=hi.wall_clock_days,
            low_lifetime_usd=lo.lifetime_total_cost_usd,
            high_lifetime_usd=hi.lifetime_total_cost_usd,
            swing=abs(float(b) - float(a)), basis=ends.basis))
    order = {f.key: i for i, f in enumerate(factors)}
    swings.sort(key=lambda w: (-w.swing, order[w.input]))
    for w in swings:
        if not all(math.isfinite(v) for v in (w.low_cost_usd, w.high_cost_usd, w.swing)):
            raise InputError(f"the sensitivity to {w.label} is not a finite number")
    q = BY_KEY[metric]
    return Sensitivity(metric=metric, metric_label=q.label, metric_unit=q.unit,
                       baseline_cost_usd=base.cost_usd, baseline_days=base.wall_clock_days,
                       baseline_lifetime_usd=base.lifetime_total_cost_usd,
                       swings=tuple(swings), skipped=tuple(skipped))
