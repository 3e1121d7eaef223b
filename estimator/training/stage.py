"""Stage 2 of an estimate: the plan's training run on the chosen cluster.

The run model (:func:`estimator.training.plan_training_run`, ``docs/run_model.md``) builds one
optimizer step from the model shape, the parallel layout and the chip, searches the layout,
bounds the global batch by the useful-batch law, and turns steps into a run with interruptions
and checkpoints. This module maps a hardware profile and the scenario onto it and prices the
result: GPU-hours are paid accelerator-hours (restarts and downtime included), dollars are
GPU-hours x the profile's dated price (or the scenario's), days are GPU-hours / GPUs / 24.

A scenario's ``mfu`` or ``goodput`` pins that factor (the model is bypassed for it); so does a
profile whose utilisation constants are ``measured`` (pinned by its file for the user's own
cluster).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from estimator.allocation import Allocation
from estimator.errors import EstimatorError, InputError
from estimator.fields import ref
from estimator.hardware import HardwareProfile, price_warning
from estimator.scenario import Scenario
from estimator.shape import ModelShape
from estimator.training import Accelerator, TrainingJob, TrainingRun, plan_training_run
from estimator.training.constants import family_for
from estimator.training.run import RunHours, plan_training_runs
from estimator.training.types import FAMILIES
from estimator.training.types import PRECISIONS as TRAINING_PRECISIONS

#: Family whose constants a profile of an unknown family borrows (its band is widened).
FALLBACK_FAMILY = "nvidia-hopper"


def training_accelerator(profile: HardwareProfile) -> Accelerator:
    """The run model's view of a profile (decimal GB of HBM, per-direction bandwidths, the
    figures the run model was calibrated with: ``tests/training_hardware.py``)."""
    family = family_for(profile.family, profile.generation)
    family = family if family in FAMILIES else FALLBACK_FAMILY
    return Accelerator(
        id=profile.id, family=family,
        peak_flops_per_s={p: v * 1e12 for p, v in profile.peak_tflops.items()
                          if p in TRAINING_PRECISIONS},
        memory_bytes=profile.memory_gb * 1e9,
        memory_bandwidth_bytes_per_s=profile.memory_bandwidth_tb_per_s * 1e12,
        scale_up_domain_chips=int(profile.scale_up_domain_chips),
        scale_up_bytes_per_s=profile.scale_up_gb_per_s * 1e9,
        scale_out_bytes_per_s=profile.scale_out_gb_per_s * 1e9,
        power_w=profile.power_w,
    )


def price_of(s: Scenario, profile: HardwareProfile) -> float:
    """USD per chip-hour: the scenario's price, else the profile's tier (raises InputError
    naming the tiers the profile has)."""
    return (s.price_per_hour if s.price_per_hour is not None
            else profile.price_usd_per_hour(s.price_tier))


@dataclass(frozen=True)
class ClusterRates:
    """What a GPU-hour of this cluster buys for this model: dense peak (FLOP/s) at the training
    precision, the run's MFU and goodput, the price (USD per chip-hour) and the resulting
    dollars per 6ND FLOP (the rate the lifetime trade-off uses)."""

    peak_flops_per_s: float
    mfu: float
    goodput: float
    price_usd_per_hour: float
    usd_per_flop: float  # training dollars per 6ND FLOP of this plan (extra tokens included)


@dataclass(frozen=True)
class TrainingResult:
    """The training run (units in the names; GPU-hours are paid accelerator-hours)."""

    hardware: str
    hardware_name: str
    gpus: int
    precision: str
    run: TrainingRun
    rates: ClusterRates
    gpu_hours: float
    wall_clock_days: float
    min_gpus_for_memory: int
    max_useful_gpus: int
    band: tuple[float, float]
    warnings: tuple[str, ...] = ()
    #: the date of the profile's quote for the price tier (None: a price given by the user),
    #: and whether it is stale or of unknown age (hardware.PriceFreshness.flagged)
    price_date: str | None = None
    price_stale: bool | None = None

    @property
    def mfu(self) -> float:
        return self.rates.mfu

    @property
    def goodput(self) -> float:
        return self.rates.goodput

    @property
    def price_usd_per_hour(self) -> float:
        return self.rates.price_usd_per_hour


def job_of(s: Scenario, allocation: Allocation, shape: ModelShape,
           profile: HardwareProfile) -> TrainingJob:
    """The run-model job of a plan on a profile, with the scenario's pins."""
    measured = profile.calibration.status == "measured"
    mfu = s.mfu if s.mfu is not None else (profile.train_mfu if measured else None)
    goodput = s.goodput if s.goodput is not None else (profile.train_goodput if measured
                                                       else None)
    storage = (None if s.checkpoint_storage_gb_per_s is None
               else s.checkpoint_storage_gb_per_s * 1e9)
    return TrainingJob(
        shape=shape, tokens=allocation.tokens, gpus=s.gpus, seq_len=s.seq_len,
        precision=s.precision, tp=s.tp, pp=s.pp, cp=s.cp, ep=s.ep, micro_batch=s.micro_batch,
        recompute=s.recompute, global_batch_tokens=s.global_batch_tokens, mfu=mfu,
        goodput=goodput, checkpoint_storage_bytes_per_s=storage)


_RUNS: dict[tuple, TrainingRun | InputError] = {}
_RUNS_MAX = 2048
#: Hours-only runs (training_hours), kept per (job, chip) as the full ones are
_HOURS: dict[tuple, RunHours | InputError] = {}


def _run_key(job: TrainingJob, acc: Accelerator) -> tuple:
    return (job, acc.id, acc.family, tuple(sorted(acc.peak_flops_per_s.items())),
            acc.memory_bytes, acc.memory_bandwidth_bytes_per_s, acc.scale_up_domain_chips,
            acc.scale_up_bytes_per_s, acc.scale_out_bytes_per_s, acc.power_w)


def _keep(key: tuple, run: TrainingRun | InputError) -> None:
    if len(_RUNS) >= _RUNS_MAX:
        _RUNS.clear()
    _RUNS[key] = run


def _planned_run(job: TrainingJob, acc: Accelerator) -> TrainingRun:
    """:func:`plan_training_run` with the shipped constants, kept per (job, chip): the plan's
    chip is planned again by the comparison, the cost curve's anchors and the rate curve meet
    the same jobs again as the window redraws. The run (or the error) is the function's own."""
    key = _run_key(job, acc)
    hit = _RUNS.get(key)
    if hit is None:
        try:
            hit = plan_training_run(job, acc)
        except InputError as exc:
            hit = exc
        _keep(key, hit)
    if isinstance(hit, InputError):
        raise hit.with_traceback(None)
    return hit


def plan_ahead(s: Scenario, plans: list[tuple[Allocation, ModelShape]],
               profile: HardwareProfile, *,
               hours: list[tuple[Allocation, ModelShape]] = ()) -> None:
    """Plan the training runs of several model sizes of one scenario on one profile in one
    batched layout search (:func:`estimator.training.run.plan_training_runs`) and keep them,
    so the :func:`training_stage` calls that follow find them: the same runs, for about a
    sixth less than one search each (``benchmarks/bench_training.py``). ``hours``: sizes whose
    GPU-hours alone are wanted (:func:`training_hours`: a rate curve's anchors), searched in the
    same pass. Nothing is returned or raised here: each stage call reports its own run or
    error."""
    acc = training_accelerator(profile)
    todo: dict[tuple, TrainingJob] = {}
    hours_keys: set[tuple] = set()
    for kind, group in (("run", plans), ("hours", hours)):
        for alloc, shape in group:
            try:
                job = job_of(s, alloc, shape, profile)
            except InputError:
                continue  # a pin this shape cannot take: its stage call reports it
            key = _run_key(job, acc)
            if key in _RUNS or key in todo or (kind == "hours" and key in _HOURS):
                continue
            todo[key] = job
            if kind == "hours":
                hours_keys.add(key)
    if len(todo) < 2:
        return  # one search is what the stage call does anyway
    keys = list(todo)
    got = plan_training_runs(list(todo.values()), acc,
                             hours_only=[i for i, k in enumerate(keys) if k in hours_keys])
    for key, run in zip(keys, got, strict=True):
        (_keep_hours if key in hours_keys else _keep)(key, run)


def _keep_hours(key: tuple, hours: RunHours | InputError) -> None:
    if len(_HOURS) >= _RUNS_MAX:
        _HOURS.clear()
    _HOURS[key] = hours


def training_hours(s: Scenario, allocation: Allocation, shape: ModelShape,
                   profile: HardwareProfile) -> float:
    """The paid GPU-hours of the plan's run on the scenario's cluster, as
    :func:`training_stage` counts them (the plan's N), without the run's report: where only a
    price is wanted (a rate curve's anchors, an alternative plan). The full run when it is
    kept, else an hours-only search (:class:`~estimator.training.run.RunHours`, about half a
    search), kept per (job, chip). Raises :class:`~estimator.errors.InputError` when no layout
    fits (without the least GPU count that would; :func:`training_stage` names it)."""
    acc = training_accelerator(profile)
    job = job_of(s, allocation, shape, profile)
    key = _run_key(job, acc)
    hit = _RUNS.get(key)
    if hit is None:
        hit = _HOURS.get(key)
    if hit is None:
        hit = plan_training_runs([job], acc, hours_only=[0])[0]
        _keep_hours(key, hit)
    if isinstance(hit, InputError):
        raise hit.with_traceback(None)
    return hit.gpu_hours * (allocation.params / shape.active_params)


def clear_caches() -> None:
    """Forget the kept runs and the run model's per-shape tables (benchmarks time a cold
    start with it)."""
    from estimator.training import run as run_model

    _RUNS.clear()
    _HOURS.clear()
    for fn in (run_model._grid, run_model._fitting, run_model._min_gpus, run_model._floor):
        fn.cache_clear()


_PINS = ("tp", "pp", "cp", "ep", "micro_batch", "recompute", "global_batch_tokens")


def _with_advice(exc: InputError, s: Scenario) -> InputError:
    """The run model's "nothing fits" error with advice that can fix it: only the inputs that
    would help (a pinned layout is offered for removal only when it is pinned; the sequence
    length only when it is long), named as fields so each face names them its way."""
    if exc.field != "gpus":
        return exc
    pinned = [name for name in _PINS if getattr(s, name) is not None]
    unpin = ("clear the layout pins (" + ", ".join(ref(n) for n in pinned) + ")") if pinned else ""
    if str(exc.expected).startswith(">="):
        need = str(exc.expected)[2:].strip()
        fixes = [f"raise {ref('gpus')} to at least {need}"] + ([unpin] if unpin else [])
    else:
        fixes = ([f"shorten {ref('seq_len')}"] if s.seq_len > 2048 else []) + (
            [unpin] if unpin else []) + [f"choose {ref('hardware')} with more memory per chip"]
    hint = ", or ".join(fixes)
    return InputError(f"{exc.template}: {hint}", field=exc.field, value=exc.value,
                      expected=exc.expected, hint=hint)


def training_stage(s: Scenario, allocation: Allocation, shape: ModelShape,
                   profile: HardwareProfile) -> TrainingResult:
    """Stage 2: the run model's layout, step, goodput and GPU-hours for the plan on the
    cluster, priced. Raises :class:`~estimator.errors.InputError` (``field="gpus"``, naming the
    least GPU count that fits) when the model fits on no layout of the cluster."""
    acc = training_accelerator(profile)
    try:
        run = _planned_run(job_of(s, allocation, shape, profile), acc)
    except InputError as exc:
        raise _with_advice(exc, s) from None
    # The run model counts the FLOPs of its shape; a derived shape's rounded widths hold a
    # slightly different parameter count than the plan's N (the law's, the user's): count N.
    scale = allocation.params / shape.active_params
    gpu_hours = run.gpu_hours * scale
    days = run.wall_clock_days * scale
    price = price_of(s, profile)
    peak = acc.peak_flops_per_s[s.precision]
    rates = ClusterRates(peak, run.predicted_mfu, run.goodput, price,
                         usd_per_flop=price * gpu_hours / allocation.train_flops)
    warnings = list(run.warnings)
    quote = profile.prices.get(s.price_tier) if s.price_per_hour is None else None
    stale = price_warning(profile, s.price_tier) if quote is not None else None  # None: fresh
    if stale:
        warnings.append(stale)
    if acc.family not in (profile.family, family_for(profile.family, profile.generation)):
        warnings.append(f"{profile.display_name}: the run model has no constants for family "
                        f"'{profile.family}'; it borrows {FALLBACK_FAMILY}'s")
    return TrainingResult(
        hardware=profile.id, hardware_name=profile.display_name, gpus=s.gpus,
        precision=s.precision, run=run, rates=rates, gpu_hours=gpu_hours,
        wall_clock_days=days, min_gpus_for_memory=run.min_gpus_for_memory,
        max_useful_gpus=run.max_useful_gpus,
        band=(run.gpu_hours_p10_factor, run.gpu_hours_p90_factor), warnings=tuple(warnings),
        price_date=None if quote is None else quote.date,
        price_stale=None if quote is None else stale is not None)


#: Model sizes, relative to the plan's, at which the training rate curve is measured.
RATE_ANCHORS = (0.1, 0.3, 3.0, 10.0)


def rate_anchors(s: Scenario, allocation: Allocation, law) -> list[tuple[Allocation, ModelShape]]:
    """The plans at :data:`RATE_ANCHORS` times the plan's size, at the plan's loss (sizes the
    law cannot bring to that loss, or no shape has, are left out), with their shapes."""
    from estimator.plan import model_shape_of

    out = []
    for f in RATE_ANCHORS:
        n = allocation.params * f
        with np.errstate(all="ignore"):
            d = float(np.asarray(law.tokens_for_loss(n, allocation.loss))
                      if hasattr(law, "tokens_for_loss") else np.nan)
        if not (math.isfinite(d) and d > 0):
            continue
        try:
            shape = model_shape_of(s, n)
        except EstimatorError:
            continue  # no shape of this size (e.g. too few active parameters for the experts)
        out.append((Allocation(params=n, tokens=d, train_flops=6.0 * n * d,
                               loss=allocation.loss), shape))
    return out


def train_rate_curve(s: Scenario, profile: HardwareProfile, center: TrainingResult,
                     allocation: Allocation, anchors: list[tuple[Allocation, ModelShape]]
                     ) -> Callable[[np.ndarray], np.ndarray]:
    """Training dollars per 6ND FLOP as a function of model size N on this cluster: the run
    model measured at the plan's size and at the sizes of ``anchors`` (:func:`rate_anchors`:
    :data:`RATE_ANCHORS` times it, each at the plan's loss, on the scenario's GPUs; sizes no
    layout holds are skipped), interpolated in log-log and held flat beyond. The run model's
    utilisation moves with the model's width and the batch it can use, so a constant rate
    would misprice plans far from the plan. The caller plans the anchors' hours ahead
    (:func:`plan_ahead`), in one search with the plan's run."""
    xs = [math.log(allocation.params)]
    ys = [math.log(center.rates.usd_per_flop)]
    price = center.rates.price_usd_per_hour
    for a, shape in anchors:
        try:
            hours = training_hours(s, a, shape, profile)
        except EstimatorError:
            continue
        xs.append(math.log(a.params))
        ys.append(math.log(price * hours / a.train_flops))  # as training_stage's usd_per_flop
    order = np.argsort(xs)
    xs_a, ys_a = np.asarray(xs)[order], np.asarray(ys)[order]

    def rate(params):
        return np.exp(np.interp(np.log(np.asarray(params, dtype=float)), xs_a, ys_a))

    return rate
