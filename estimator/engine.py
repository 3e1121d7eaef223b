"""The estimate: a scenario through five named stages, and the same on every hardware profile.

:func:`estimate` runs

1. **plan** (:mod:`estimator.plan`): what to train, and the inference-aware alternative;
2. **training run** (:mod:`estimator.training.stage`): GPU-hours, days, memory and batch limits;
3. **serving** (:mod:`estimator.serving.stage`): decode rate and cost per token;
4. **costs** (:func:`estimator.costs.costs_stage`): dollars, energy, CO2, lifetime totals;
5. **uncertainty** (:mod:`estimator.uncertainty`): P10/P50/P90 bands,

each a function of the scenario and the earlier stages' frozen results, and returns one
:class:`Estimate` whose quantities are declared in :mod:`estimator.quantities`.
:func:`compare` is the one engine for "this scenario on every profile": the
hardware-independent stages run once and are shared by every profile.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from estimator import costs, sanity
from estimator.allocation import Allocation
from estimator.catalogue import Catalogue, resolve
from estimator.errors import EstimatorError, InputError
from estimator.hardware import HardwareProfile
from estimator.plan import (
    CostRates,
    PlanResult,
    law_for,
    model_shape_of,
    plan_stage,
    target_allocation,
)
from estimator.quantities import QUANTITIES
from estimator.scenario import RUN_MODES, Scenario
from estimator.serving.stage import (
    ServingRates,
    ServingResult,
    anchored,
    serving_cost_per_million,
    serving_rates,
    serving_stage,
    usd_per_token,
)
from estimator.training.stage import (
    TrainingResult,
    plan_ahead,
    price_of,
    rate_anchors,
    train_rate_curve,
    training_hours,
    training_stage,
)
from estimator.uncertainty import Band, LawSamples, law_samples, uncertainty_stage

#: Version of the ``estimate --json`` object (and the report JSON's ``estimate``).
ESTIMATE_SCHEMA_VERSION = 2

__all__ = ["Band", "Estimate", "compare", "comparison_rows", "estimate"]


#: What :attr:`Estimate.price_date` appends to a stale (or undated) price's date.
STALE_SUFFIX = " (stale)"


@dataclass(frozen=True)
class Estimate:
    """Every result of a scenario. Units in the names; the quantities are declared (label, unit,
    definition, source) in :mod:`estimator.quantities`; JSON via :meth:`to_dict`. The stage
    results (``plan``, ``training``, ``serving``, ``costs``) are kept for the faces that need
    more than the headline numbers."""

    scenario: Scenario
    law_id: str
    law_name: str
    law_citation: str
    loss: float
    params: float
    total_params: float
    tokens: float
    train_flops: float
    train_flops_6nd: float
    flops_ratio_to_6nd: float
    epochs: float
    optimal_batch_tokens: float
    extrapolation_factor: float
    hardware: str
    hardware_name: str
    gpus: int
    precision: str
    mfu: float
    goodput: float
    price_usd_per_hour: float
    gpu_hours: float
    cost_usd: float
    wall_clock_days: float
    energy_mwh: float
    co2_tonnes: float | None
    min_gpus_for_memory: int
    max_useful_gpus: int
    global_batch_tokens: float
    step_time_s: float
    tokens_per_s_per_gpu: float
    predicted_mfu: float
    expected_interruptions: float
    scaling_efficiency: float
    parallel_layout: dict[str, Any]
    inference_hardware: str
    serving_output_tokens_per_s_per_chip: float | None
    serving_bound: str
    serving_batch: int | None
    serving_chips_per_replica: int | None
    ttft_s: float | None
    tpot_s: float | None
    cost_per_million_input_tokens_usd: float | None
    cost_per_million_output_tokens_usd: float | None
    inference_cost_per_million_tokens_usd: float | None
    serving_replicas: int | None
    serving_chips: int | None
    lifetime_inference_tokens: float
    lifetime_inference_cost_usd: float | None
    lifetime_total_cost_usd: float | None
    bands: dict[str, Band] = field(default_factory=dict)
    uncertainty_source: str = ""
    compute_optimal: dict[str, float] | None = None
    lifetime_optimal: dict[str, float] | None = None
    warnings: tuple[str, ...] = ()
    plan: PlanResult | None = field(default=None, repr=False, compare=False)
    training: TrainingResult | None = field(default=None, repr=False, compare=False)
    serving: ServingResult | None = field(default=None, repr=False, compare=False)
    costs: costs.CostsResult | None = field(default=None, repr=False, compare=False)
    provenance: dict[str, str] = field(default_factory=dict, compare=False)
    #: training dollars per FLOP against model size on this cluster (None: not measured)
    train_rate_fn: Any = field(default=None, repr=False, compare=False)
    #: the fewest GPUs that finish the plan within the scenario's deadline (a deadline beside
    #: another target; None otherwise)
    gpus_needed: int | None = None
    #: a target solved on the run model (budget, deadline): the limit and what the plan uses
    #: of it (:func:`estimator.targets.target_summary`); None for the law-only targets
    target: dict[str, Any] | None = None

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params

    @property
    def training_constants(self) -> str | None:
        """Whether the run model's constants for the chip's family are fitted, partly fitted
        or borrowed (:func:`estimator.training.constants.constants_status`)."""
        run = self.training.run if self.training is not None else None
        if run is None:
            return None
        from estimator.training.constants import constants_status

        return constants_status(run.constants_family)

    @property
    def price_date(self) -> str | None:
        """The training price quote's date, '(stale)' appended when it is flagged (None: the
        user gave the price)."""
        t = self.training
        if t is None or t.price_date is None:
            return None
        return t.price_date + (STALE_SUFFIX if t.price_stale else "")

    def value(self, key: str) -> Any:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``estimator estimate --json`` (schema
        :data:`ESTIMATE_SCHEMA_VERSION`): ``schema_version``, ``inputs`` (the validated
        scenario's fields in use, with ``mode`` and the target), every result quantity with its
        context, ``*_p10/_p50/_p90`` bands, the alternatives, ``warnings`` and where the law and
        hardware came from (``provenance``)."""
        q = {qq.key: getattr(self, qq.key) for qq in QUANTITIES
             if not (qq.only_when_set and getattr(self, qq.key) is None)}
        d: dict[str, Any] = {
            "schema_version": ESTIMATE_SCHEMA_VERSION,
            "inputs": self.scenario.relevant(),
            "law": self.law_id,
            "law_name": self.law_name,
        }
        if self.target is not None:
            d["target"] = dict(self.target)
        d.update({k: v for k, v in q.items() if _group(k) == "plan"})
        d.update(hardware=self.hardware, gpus=self.gpus, precision=self.precision, mfu=self.mfu,
                 goodput=self.goodput, price_usd_per_hour=self.price_usd_per_hour,
                 parallel_layout=dict(self.parallel_layout))
        d.update({k: v for k, v in q.items() if _group(k) == "training"})
        d.update(inference_hardware=self.inference_hardware, serving_bound=self.serving_bound)
        d.update({k: v for k, v in q.items() if _group(k) == "serving"})
        d["lifetime_inference_tokens"] = self.lifetime_inference_tokens
        d.update({k: v for k, v in q.items() if _group(k) == "lifetime"})
        for name, band in self.bands.items():
            d[f"{name}_p10"] = band.p10
            d[f"{name}_p50"] = band.p50
            d[f"{name}_p90"] = band.p90
        if self.uncertainty_source:
            d["uncertainty_source"] = self.uncertainty_source
        if self.compute_optimal is not None:
            d["compute_optimal"] = self.compute_optimal
        if self.lifetime_optimal is not None:
            d["lifetime_optimal"] = self.lifetime_optimal
        d["warnings"] = list(self.warnings)
        if self.provenance:
            d["provenance"] = dict(self.provenance)
        return d


_GROUP = {q.key: q.group for q in QUANTITIES}


def _group(key: str) -> str:
    return _GROUP[key]


# --------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------


def estimate(scenario: Scenario, *, catalogue: Catalogue | None = None, profiles=None,
             with_uncertainty: bool = True) -> Estimate:
    """Run the five stages on a scenario. Raises :class:`~estimator.errors.EstimatorError`
    subclasses on bad input.

    ``catalogue``: the laws and profiles to use (default: built-in plus the user folders,
    loaded once per process); ``profiles`` (a ProfileSet or dict) builds one around given
    profiles."""
    # Overflow or a division by zero at an extreme input shows as inf/NaN in the result, which
    # _check_finite reports as a clear error; numpy's warnings would only be noise on stderr.
    with np.errstate(all="ignore"):
        return _solve_and_run(scenario.validated(), resolve(catalogue, profiles),
                              with_uncertainty)


def _solve_and_run(s: Scenario, cat: Catalogue, with_uncertainty: bool, *,
                   alternatives: bool = True) -> Estimate:
    """The pipeline, after solving a target that limits the training run (a budget, a
    deadline, the GPUs for a deadline: :mod:`estimator.targets`) on the run model."""
    if s.mode not in RUN_MODES and not s.solves_gpus:
        return _run(s, cat, with_uncertainty, alternatives=alternatives)
    from estimator.targets import solve, target_summary

    law = law_for(s, cat.law(s.law))
    profile = cat.profile(s.hardware)
    price_of(s, profile)  # a price tier the profile lacks: a clear error before any search
    solved = solve(s, law, profile,
                   lambda sc: _run(sc, cat, False, alternatives=alternatives))
    est = _run(solved.scenario, cat, with_uncertainty, allocation=solved.allocation,
               alternatives=alternatives)
    est = replace(est, scenario=s, gpus_needed=solved.gpus_needed,
                  warnings=solved.warnings + est.warnings)
    return replace(est, target=target_summary(s, est))


def _run(s: Scenario, cat: Catalogue, with_uncertainty: bool, *, allocation=None,
         samples: LawSamples | None = None, alternatives: bool = True,
         shared: dict | None = None) -> Estimate:
    # ``shared`` (compare): what the profiles of one comparison have in common, computed once
    law = _once(shared, "law", lambda: law_for(s, cat.law(s.law)))
    profile = cat.profile(s.hardware)
    inf_profile = cat.profile(s.inference_hardware) if s.inference_hardware else profile
    price_of(s, profile)  # a price tier the profile lacks: a clear error before any work
    srates = serving_rates(s, inf_profile)
    alloc0 = allocation if allocation is not None else target_allocation(s, law)
    shape0 = _once(shared, "shape", lambda: model_shape_of(s, alloc0.params))
    inf_usd = usd_per_token(s, srates, total_per_active=shape0.total_params / shape0.active_params)
    # Stage 2 first at the target's allocation: the lifetime trade-off of stage 1 needs the
    # cluster's dollars per FLOP for this model; rerun when the plan moves.
    sanity.check_allocation(s, alloc0)
    trades_off = s.optimize == "lifetime" or (alternatives and s.lifetime_output_tokens > 0)
    anchors = None
    if trades_off:  # the plan and the rate curve's sizes: one batched layout search
        anchors = rate_anchors(s, alloc0, law)
        plan_ahead(s, [(alloc0, shape0)], profile, hours=anchors)
    train = training_stage(s, alloc0, shape0, profile)
    rate_fn = train_rate_curve(s, profile, train, alloc0, anchors) if trades_off else None
    if trades_off:  # the plan depends on this chip's rates
        plan = plan_stage(s, law, CostRates(train.rates.usd_per_flop, inf_usd, rate_fn),
                          allocation=alloc0, alternatives=alternatives)
    else:  # the rates are not read: the same plan on every chip
        plan = _once(shared, "plan", lambda: plan_stage(
            s, law, CostRates(train.rates.usd_per_flop, inf_usd, rate_fn), allocation=alloc0,
            alternatives=alternatives))
    if plan.allocation is not alloc0:
        sanity.check_plan(s, plan)
        train = training_stage(s, plan.allocation, plan.model_shape, profile)
    crates = train.rates
    serve = serving_stage(s, plan, srates)
    plan = _exact_alternatives(plan, serve, s, srates, train, profile)
    cst = costs.costs_stage(train.gpu_hours, crates.price_usd_per_hour, profile.power_w, s.pue,
                            s.grid_kg_co2_per_kwh, plan.lifetime_inference_tokens,
                            serve.cost_per_million_tokens_usd, s.peak_to_mean)
    bands, source, unc_warnings = {}, "", ()
    if with_uncertainty:
        if samples is None or s.optimize != "compute":
            samples = law_samples(s, law, plan.allocation,
                                  CostRates(crates.usd_per_flop, inf_usd, rate_fn))
        unc = uncertainty_stage(s, plan, samples,
                                gpu_hours_per_flop=train.gpu_hours / plan.train_flops,
                                hours_band=train.band,
                                price_usd_per_hour=crates.price_usd_per_hour,
                                inference_usd_per_token=_anchored(inf_usd, plan, serve, s),
                                serving_available=serve.available)
        bands, source, unc_warnings = unc.bands, unc.source, unc.warnings
    a = plan.allocation
    sp = serve.plan
    est = Estimate(
        scenario=s, law_id=law.id, law_name=law.name, law_citation=law.citation, loss=a.loss,
        params=a.params, total_params=plan.total_params, tokens=a.tokens,
        train_flops=plan.train_flops,
        train_flops_6nd=plan.train_flops_6nd, flops_ratio_to_6nd=plan.flops_ratio_to_6nd,
        epochs=a.epochs, optimal_batch_tokens=train.run.optimal_batch_tokens,
        extrapolation_factor=plan.extrapolation_factor, hardware=profile.id,
        hardware_name=profile.display_name, gpus=s.gpus, precision=s.precision, mfu=crates.mfu,
        goodput=crates.goodput, price_usd_per_hour=crates.price_usd_per_hour,
        gpu_hours=train.gpu_hours, cost_usd=cst.cost_usd, wall_clock_days=train.wall_clock_days,
        energy_mwh=cst.energy_mwh, co2_tonnes=cst.co2_tonnes,
        min_gpus_for_memory=train.min_gpus_for_memory, max_useful_gpus=train.max_useful_gpus,
        global_batch_tokens=train.run.global_batch_tokens, step_time_s=train.run.step_time_s,
        tokens_per_s_per_gpu=train.run.tokens_per_s_per_gpu,
        predicted_mfu=train.run.predicted_mfu,
        expected_interruptions=train.run.expected_interruptions,
        scaling_efficiency=train.run.scaling_efficiency,
        parallel_layout=layout_dict(train.run),
        inference_hardware=serve.inference_hardware,
        serving_output_tokens_per_s_per_chip=sp.output_tokens_per_s_per_chip if sp else None,
        serving_bound=sp.bound if sp else "unavailable",
        serving_batch=sp.batch if sp else None,
        serving_chips_per_replica=sp.chips_per_replica if sp else None,
        ttft_s=sp.ttft_s if sp else None, tpot_s=sp.tpot_s if sp else None,
        cost_per_million_input_tokens_usd=serve.cost_per_million_input_tokens_usd,
        cost_per_million_output_tokens_usd=serve.cost_per_million_output_tokens_usd,
        inference_cost_per_million_tokens_usd=serve.cost_per_million_tokens_usd,
        serving_replicas=serve.fleet.replicas if serve.fleet else None,
        serving_chips=serve.fleet.chips if serve.fleet else None,
        lifetime_inference_tokens=cst.lifetime_inference_tokens,
        lifetime_inference_cost_usd=cst.lifetime_inference_cost_usd,
        lifetime_total_cost_usd=cst.lifetime_total_cost_usd, bands=bands,
        uncertainty_source=source, compute_optimal=plan.compute_optimal,
        lifetime_optimal=plan.lifetime_optimal,
        warnings=plan.warnings + train.warnings + serve.warnings + tuple(unc_warnings),
        plan=plan, training=train, serving=serve, costs=cst, train_rate_fn=rate_fn,
        provenance={"law": sanity.law_origin(law), "hardware": profile.origin,
                    "inference_hardware": inf_profile.origin},
    )
    _check_finite(est)
    return replace(est, warnings=est.warnings + sanity.estimate_warnings(est, cat))


def _once(shared: dict | None, key: str, make):
    """``make()``, or the value the comparison's earlier profiles computed for ``key``."""
    if shared is None:
        return make()
    if key not in shared:
        shared[key] = make()
    return shared[key]


def _exact_alternatives(plan: PlanResult, serve: ServingResult, s: Scenario,
                        rates: ServingRates, train: TrainingResult,
                        profile: HardwareProfile) -> PlanResult:
    """The plan stage located the alternatives (compute- and lifetime-optimal) with rates
    measured at one model size (the run's dollars per FLOP, the interpolated serving-cost
    table); price each one exactly, with its own training run and serving plan, as the plan
    itself is priced, so every dollar shown comes from the models."""
    if not (plan.compute_optimal or plan.lifetime_optimal):
        return plan
    tokens_inf = plan.lifetime_inference_tokens

    def fix(d):
        if d is None:
            return None
        d = dict(d)
        alloc = Allocation(params=d["params"], tokens=d["tokens"], train_flops=d["train_flops"],
                           loss=d["loss"], epochs=d.get("epochs", 1.0))
        shape = model_shape_of(s, d["params"])
        try:
            d["train_cost_usd"] = (training_hours(s, alloc, shape, profile)
                                   * train.price_usd_per_hour)
        except EstimatorError:
            pass  # keep the plan stage's estimate (the rate of the plan's own run)
        per_m = (serving_cost_per_million(s, shape, rates, d["tokens"] / d["params"])
                 if serve.available else None)
        if per_m is not None:
            d["lifetime_inference_cost_usd"] = per_m / 1e6 * s.peak_to_mean * tokens_inf
        elif tokens_inf > 0:  # fits on no serving replica: no lifetime cost
            d["lifetime_inference_cost_usd"] = None
            d["servable"] = False
        inf = d["lifetime_inference_cost_usd"]
        d["lifetime_total_cost_usd"] = None if inf is None else d["train_cost_usd"] + inf
        return d

    lifetime_opt = fix(plan.lifetime_optimal)
    if lifetime_opt is not None and "saving_usd" in lifetime_opt:
        if lifetime_opt["lifetime_total_cost_usd"] is None or serve.cost_per_million_tokens_usd \
                is None:
            lifetime_opt["saving_usd"] = None
        else:
            here = (train.gpu_hours * train.price_usd_per_hour
                    + serve.cost_per_million_tokens_usd / 1e6 * s.peak_to_mean * tokens_inf)
            lifetime_opt["saving_usd"] = here - lifetime_opt["lifetime_total_cost_usd"]
    return replace(plan, compute_optimal=fix(plan.compute_optimal), lifetime_optimal=lifetime_opt)


def _anchored(fn, plan: PlanResult, serve: ServingResult, s: Scenario):
    if serve.cost_per_million_tokens_usd is None:
        return fn
    return anchored(fn, plan.params, serve.cost_per_million_tokens_usd / 1e6 * s.peak_to_mean)


def layout_dict(run) -> dict[str, Any]:
    """The run's parallel layout as the JSON object ``parallel_layout``."""
    lay = run.layout
    return {"tp": lay.tp, "pp": lay.pp, "dp": lay.dp, "ep": lay.ep, "cp": lay.cp,
            "micro_batch": lay.micro_batch, "micro_batches": lay.micro_batches,
            "recompute": lay.recompute, "zero_stage": lay.zero_stage,
            "virtual_stages": lay.virtual_stages, "schedule": getattr(lay, "schedule", ""),
            "hybrid_shard": lay.hybrid_shard}


def layout_text(layout: dict[str, Any]) -> str:
    """'TP4 PP16 (interleaved x4) CP4 DP64, ZeRO-1, micro-batch 1, no recompute'."""
    parts = [f"TP{layout['tp']}"]
    if layout["pp"] > 1:
        sched = layout.get("schedule") or ""
        parts.append(f"PP{layout['pp']}" + (f" ({sched})" if sched else ""))
    if layout["cp"] > 1:
        parts.append(f"CP{layout['cp']}")
    if layout["ep"] > 1:
        parts.append(f"EP{layout['ep']}")
    parts.append(f"DP{layout['dp']}")
    rec = {"none": "no recompute", "selective": "selective recompute",
           "full": "full recompute"}.get(layout["recompute"], layout["recompute"])
    return (" ".join(parts) + f", ZeRO-{layout['zero_stage']}, micro-batch "
            f"{layout['micro_batch']}, {rec}")


def _checked_keys() -> tuple[str, ...]:
    """The top-level keys of :meth:`Estimate.to_dict` that hold result numbers, in its order
    (bands follow them): what :func:`_check_finite` reads, without building the JSON object."""
    keys: dict[str, None] = {}
    for group, extra in (("plan", ("hardware", "gpus", "precision", "mfu", "goodput",
                                   "price_usd_per_hour")),
                         ("training", ("inference_hardware", "serving_bound")),
                         ("serving", ("lifetime_inference_tokens",)), ("lifetime", ())):
        keys.update((q.key, None) for q in QUANTITIES if _group(q.key) == group)
        keys.update((k, None) for k in extra)
    return tuple(keys)


_CHECKED = _checked_keys()


def _check_finite(est: Estimate) -> None:
    """No NaN or infinity ever reaches a screen: fail with a message instead. Reads the
    floats of :meth:`Estimate.to_dict` (the result quantities, then the bands) in its order."""
    bad = None
    for k in _CHECKED:
        v = getattr(est, k)
        if isinstance(v, float) and not math.isfinite(v):
            bad = k
            break
    if bad is None:
        for name, band in est.bands.items():
            for suffix in ("p10", "p50", "p90"):
                v = getattr(band, suffix)
                if isinstance(v, float) and not math.isfinite(v):
                    bad = f"{name}_{suffix}"
                    break
            if bad is not None:
                break
    if bad is not None:
        raise InputError(
            f"the estimate's {bad} is not a finite number for these inputs; "
            "the inputs are outside what the law and cost model can represent"
        )


# --------------------------------------------------------------------------------------
# This scenario on every hardware profile
# --------------------------------------------------------------------------------------


def compare(scenario: Scenario, *, catalogue: Catalogue | None = None, profiles=None,
            with_uncertainty: bool = True) -> list[Estimate]:
    """The same scenario on every hardware profile (one estimate each, in catalogue order);
    profiles that cannot run it (a precision or price tier the chip lacks) are skipped. The
    inference-aware alternative is left out (``lifetime_optimal`` is None) unless the scenario
    optimises lifetime cost, where it is the plan.

    The plan and the law samples do not depend on the hardware unless the scenario optimises
    lifetime cost, so they are computed once and shared. The last few comparisons are kept per
    (scenario, catalogue): the window's hardware chart, cost chart and table ask for the same
    one."""
    cat = resolve(catalogue, profiles)
    s = scenario.validated()
    key = _compared_key(s, cat, with_uncertainty)
    hit = _COMPARED.get(key) if key is not None else None
    if hit is not None and hit[0]() is cat:
        return list(hit[1])
    out = _compare(s, cat, with_uncertainty)
    if key is not None:
        if len(_COMPARED) >= _COMPARED_MAX:
            try:  # the oldest (a worker thread may be doing the same)
                _COMPARED.pop(next(iter(_COMPARED)), None)
            except (StopIteration, RuntimeError):
                pass
        _COMPARED[key] = (weakref.ref(cat), tuple(out))
    return out


_COMPARED: dict[tuple, tuple] = {}
_COMPARED_MAX = 4


def _compared_key(s: Scenario, cat: Catalogue, with_uncertainty: bool) -> tuple | None:
    """The key of a kept comparison; None (not kept) when a law or profile is named by a file
    path, which the catalogue re-reads when the file changes."""
    from estimator.fileio import is_path_ref

    if any(is_path_ref(str(r)) for r in (s.law, s.hardware, s.inference_hardware) if r):
        return None
    return (id(cat), s, with_uncertainty)


#: Clearers of caches kept by the modules above the engine (e.g. chart_data's GPU sweeps),
#: which register themselves: :func:`clear_caches` reaches them without importing them.
_CACHE_CLEARERS: list[Callable[[], None]] = []


def register_cache(clear: Callable[[], None]) -> None:
    """Have :func:`clear_caches` call ``clear`` too."""
    _CACHE_CLEARERS.append(clear)


def clear_caches() -> None:
    """Forget the kept comparisons, training runs, serving plans and every registered cache
    (benchmarks time a cold start with it; the results never depend on them)."""
    from estimator.serving.stage import clear_caches as clear_serving
    from estimator.training.stage import clear_caches as clear_training

    _COMPARED.clear()
    clear_training()
    clear_serving()
    for clear in _CACHE_CLEARERS:
        clear()


def _compare(s: Scenario, cat: Catalogue, with_uncertainty: bool) -> list[Estimate]:
    with np.errstate(all="ignore"):
        allocation = samples = None
        solved_per_profile = s.mode in RUN_MODES or s.solves_gpus
        if s.optimize == "compute" and not solved_per_profile:
            try:
                law = law_for(s, cat.law(s.law))
                allocation = target_allocation(s, law)
                if with_uncertainty:
                    samples = law_samples(s, law, allocation)
            except InputError:
                return []
        out = []
        # the law, the model's shape and (unless the plan trades off this chip's rates) the
        # plan are the same on every profile: computed once
        shared: dict = {} if allocation is not None else None
        for pid in cat.profiles.profiles:
            try:
                if solved_per_profile:  # each chip buys its own plan within the limit
                    out.append(_solve_and_run(replace(s, hardware=pid).validated(), cat,
                                              with_uncertainty, alternatives=False))
                    continue
                out.append(_run(replace(s, hardware=pid).validated(), cat, with_uncertainty,
                                allocation=allocation, samples=samples, alternatives=False,
                                shared=shared))
            except InputError:
                continue
            except EstimatorError:
                continue
        return out


def comparison_rows(estimates: list[Estimate], plan_hardware: str = "") -> list[dict]:
    """One row per estimate (hardware profile), cheapest first: id, name, precision, price, MFU,
    goodput and every per-hardware quantity of :mod:`estimator.quantities` (with ``_p10`` and
    ``_p90`` where it has a band), and ``is_plan``."""
    from estimator.quantities import columns

    rows = []
    for e in estimates:
        row: dict[str, Any] = {"id": e.hardware, "name": e.hardware_name,
                               "precision": e.precision,
                               "price_usd_per_hour": e.price_usd_per_hour, "mfu": e.mfu,
                               "goodput": e.goodput}
        for q in columns():
            v = getattr(e, q.key)
            row[q.key] = v
            if q.band:
                b = e.bands.get(q.key)
                row[f"{q.key}_p10"] = b.p10 if b else v
                row[f"{q.key}_p90"] = b.p90 if b else v
        row["is_plan"] = e.hardware == plan_hardware
        rows.append(row)
    rows = [r for r in rows if all(math.isfinite(v) for v in r.values() if isinstance(v, float))]
    rows.sort(key=lambda r: r["cost_usd"])
    return rows
