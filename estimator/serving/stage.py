"""Stage 3 of an estimate: serving the plan's model for the scenario's request mix.

The serving model (:func:`estimator.serving.plan_serving`, ``docs/serving_model.md``) gives the
batch, replica size, throughput, latency and chip-seconds per input and output token on the
serving chip; :func:`estimator.serving.fleet` sizes the fleet for the peak demand. Dollars:
chip-seconds x price per chip-hour / 3600. The lifetime optimum of the plan stage needs the cost
per token as a function of model size: :func:`usd_per_token` interpolates a cached table of
:func:`estimator.serving.output_cost_curve` over model sizes (one table per serving context, so
a recompute that does not change the serving inputs reuses it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from estimator.errors import InputError
from estimator.hardware import HardwareProfile, price_warning
from estimator.plan import PlanResult
from estimator.scenario import Scenario
from estimator.serving import (
    FAMILIES,
    Fleet,
    LatencyTargets,
    RequestMix,
    ServingAccelerator,
    ServingPlan,
    fleet,
    output_cost_curve,
    plan_serving,
)
from estimator.serving.inputs import PRECISIONS

SECONDS_PER_HOUR = 3600.0
#: Family whose constants a profile of an unknown family borrows for serving.
FALLBACK_FAMILY = "nvidia-hopper"
#: Model sizes of the cost table the lifetime optimiser interpolates: 10 per decade.
_TABLE_LOG10_N = np.arange(7.0, 14.01, 0.1)


def serving_accelerator(profile: HardwareProfile) -> ServingAccelerator:
    """The serving model's view of a hardware profile. Memory: vendors' "80 GB" HBM is 80 GiB
    (the serving calibration assumes this mapping, ``docs/serving_model.md``)."""
    family = profile.family if profile.family in FAMILIES else FALLBACK_FAMILY
    return ServingAccelerator(
        id=profile.id, family=family,
        peak_flops_per_s={p: v * 1e12 for p, v in profile.peak_tflops.items() if p in PRECISIONS},
        memory_bytes=profile.memory_gb * 2**30,
        memory_bandwidth_bytes_per_s=profile.memory_bandwidth_tb_per_s * 1e12,
        scale_up_domain_chips=int(profile.scale_up_domain_chips),
        scale_up_bytes_per_s=profile.scale_up_gb_per_s * 1e9,
        scale_out_bytes_per_s=profile.scale_out_gb_per_s * 1e9,
    )


@dataclass(frozen=True)
class ServingRates:
    """The serving chip and its price (USD per chip-hour) under the scenario's policy."""

    profile: HardwareProfile
    accelerator: ServingAccelerator
    price_usd_per_hour: float


def serving_rates(s: Scenario, inference_profile: HardwareProfile) -> ServingRates:
    tier = s.inference_price_tier or s.price_tier
    price = (s.inference_price_per_hour if s.inference_price_per_hour is not None
             else inference_profile.price_usd_per_hour(tier))
    return ServingRates(inference_profile, serving_accelerator(inference_profile), price)


def request_mix(s: Scenario) -> RequestMix:
    return RequestMix(s.input_tokens_per_request, s.output_tokens_per_request)


def targets_of(s: Scenario) -> LatencyTargets:
    return LatencyTargets(ttft_s=None if s.ttft_ms is None else s.ttft_ms / 1e3,
                          tpot_s=None if s.tpot_ms is None else s.tpot_ms / 1e3)


_TABLES: dict[tuple, tuple] = {}
_TABLES_MAX = 256


def _cost_table(acc: ServingAccelerator, mix: RequestMix, weight_precision: str,
                kv_precision: str, targets: LatencyTargets, vocab: int | None,
                moe: tuple[int, int, int] = (1, 1, 0)):
    """(log10 N, log chip-seconds per output token of the request mix, fits) over the table's
    model sizes: the cheapest replica for each, prefill work included. Cached per serving
    context (the accelerator's figures, the mix, precisions, targets, vocabulary)."""
    key = (acc.id, acc.family, tuple(sorted(acc.peak_flops_per_s.items())), acc.memory_bytes,
           acc.memory_bandwidth_bytes_per_s, acc.scale_up_domain_chips, acc.scale_up_bytes_per_s,
           acc.scale_out_bytes_per_s, mix, weight_precision, kv_precision, targets, vocab, moe)
    hit = _TABLES.get(key)
    if hit is None:
        if len(_TABLES) >= _TABLES_MAX:
            _TABLES.clear()
        hit = _TABLES[key] = _compute_table(acc, mix, weight_precision, kv_precision, targets,
                                            vocab, moe)
    return hit


def _compute_table(acc, mix, weight_precision, kv_precision, targets, vocab, moe):
    kwargs = {} if vocab is None else {"vocab": vocab}
    kwargs.update(n_experts=moe[0], experts_per_token=moe[1], shared_experts=moe[2])
    curve = output_cost_curve(10.0 ** _TABLE_LOG10_N, acc, mix, weight_precision=weight_precision,
                              kv_precision=kv_precision, targets=targets, **kwargs)
    per_request = (mix.input_tokens * curve.chip_s_per_input_token
                   + mix.output_tokens * curve.chip_s_per_output_token)
    per_output = per_request / mix.output_tokens
    fits = np.asarray(curve.fits, dtype=bool) & np.isfinite(per_output) & (per_output > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_cost = np.where(fits, np.log(np.where(fits, per_output, 1.0)), np.inf)
    return _TABLE_LOG10_N, log_cost, fits


def usd_per_token(s: Scenario, r: ServingRates,
                  total_per_active: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """Dollars per generated token of the request mix (its prompt's prefill included), times the
    peak-to-mean ratio (the fleet is paid for at the peak), as a function of the law's model
    size N (the active size of a mixture of experts, whose total is ``total_per_active`` times
    it): interpolated in log-log over a cached table of total sizes; inf where the model fits
    on no replica."""
    moe = ((s.n_experts or 1, s.experts_per_token or 1, s.shared_experts or 0) if s.is_moe
           else (1, 1, 0))
    try:
        xs, ys, _fits = _cost_table(r.accelerator, request_mix(s), s.inference_precision,
                                    s.kv_precision, targets_of(s), s.vocab, moe)
    except InputError:  # e.g. a precision the chip cannot serve: no size is servable
        xs, ys = _TABLE_LOG10_N, np.full(_TABLE_LOG10_N.shape, np.inf)
    scale = r.price_usd_per_hour / SECONDS_PER_HOUR * s.peak_to_mean

    def fn(params):
        x = np.log10(np.asarray(params, dtype=float) * total_per_active)
        with np.errstate(invalid="ignore"):
            y = np.interp(x, xs, ys, left=np.inf, right=np.inf)
        return np.exp(y) * scale

    return fn


def anchored(fn: Callable[[np.ndarray], np.ndarray], params: float,
             exact_usd_per_token: float) -> Callable[[np.ndarray], np.ndarray]:
    """``fn`` (an interpolated dollars-per-token curve) scaled to equal ``exact_usd_per_token``
    (the serving stage's own cost) at ``params``, so curves and bands pass through the plan."""
    at = float(np.asarray(fn(np.array([params])))[0])
    if not (math.isfinite(at) and at > 0 and math.isfinite(exact_usd_per_token)):
        return fn
    k = exact_usd_per_token / at
    return lambda n: np.asarray(fn(n)) * k


@dataclass(frozen=True)
class ServingResult:
    """Serving the model: the serving plan (batch, replica, throughput, latency, what binds),
    the fleet for the peak demand and the dollars per million tokens. ``available`` is False
    when the model fits on no replica of the serving chip's scale-up domain with the default
    serving inputs; the serving numbers are then None and a warning says why."""

    inference_hardware: str
    available: bool
    plan: ServingPlan | None
    fleet: Fleet | None
    price_usd_per_hour: float
    cost_per_million_input_tokens_usd: float | None
    cost_per_million_output_tokens_usd: float | None
    cost_per_million_tokens_usd: float | None  # all-in per generated token (prefill included)
    warnings: tuple[str, ...] = ()


def serving_cost_per_million(s: Scenario, shape, r: ServingRates,
                             tokens_per_param: float | None = None) -> float | None:
    """All-in dollars per million generated tokens of the request mix for a model ``shape``
    (None when it fits on no replica)."""
    mix = request_mix(s)
    try:
        sp = serving_plan(shape, r.accelerator, mix, weight_precision=s.inference_precision,
                          kv_precision=s.kv_precision, targets=targets_of(s),
                          batch=s.inference_batch, chips_per_replica=s.inference_chips_per_replica,
                          train_tokens_per_param=tokens_per_param)
    except InputError:
        return None
    per_request = (mix.input_tokens * sp.chip_s_per_input_token
                   + mix.output_tokens * sp.chip_s_per_output_token)
    return per_request / mix.output_tokens * r.price_usd_per_hour / SECONDS_PER_HOUR * 1e6


def _accelerator_key(acc: ServingAccelerator) -> tuple:
    """What the serving model reads of an accelerator (its objects compare by identity)."""
    return (acc.id, acc.family, tuple(sorted(acc.peak_flops_per_s.items())), acc.memory_bytes,
            acc.memory_bandwidth_bytes_per_s, acc.scale_up_domain_chips, acc.scale_up_bytes_per_s,
            acc.scale_out_bytes_per_s)


_PLANS: dict[tuple, ServingPlan | InputError] = {}
_PLANS_MAX = 1024


def serving_plan(shape, acc: ServingAccelerator, mix: RequestMix, *, weight_precision: str,
                 kv_precision: str, targets: LatencyTargets, batch: int | None,
                 chips_per_replica: int | None,
                 train_tokens_per_param: float | None) -> ServingPlan:
    """:func:`estimator.serving.plan_serving` with the shipped constants, kept per (shape,
    chip, precisions, request mix, targets, pins): a comparison serves the same model on every
    chip, and a recompute that changes no serving input (the GPUs, the price) serves the same
    model again. The plan (or the error) is the function's own; a frozen result is shared."""
    key = (shape, _accelerator_key(acc), mix, weight_precision, kv_precision, targets, batch,
           chips_per_replica, train_tokens_per_param)
    hit = _PLANS.get(key)
    if hit is None:
        try:
            hit = plan_serving(shape, acc, mix, weight_precision=weight_precision,
                               kv_precision=kv_precision, targets=targets, batch=batch,
                               chips_per_replica=chips_per_replica,
                               train_tokens_per_param=train_tokens_per_param)
        except InputError as exc:
            hit = exc
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        _PLANS[key] = hit
    if isinstance(hit, InputError):
        raise hit.with_traceback(None)
    return hit


def clear_caches() -> None:
    """Forget the kept serving plans and cost tables (benchmarks time a cold start with it)."""
    _PLANS.clear()
    _TABLES.clear()


def _pinned(s: Scenario) -> bool:
    return (s.ttft_ms is not None or s.tpot_ms is not None or s.inference_batch is not None
            or s.inference_chips_per_replica is not None)


#: The serving model's argument names -> the scenario fields they come from, so an error
#: raised by :func:`plan_serving` names the field the user typed (and the CLI its flag).
_SCENARIO_FIELDS = {"chips_per_replica": "inference_chips_per_replica",
                    "weight_precision": "inference_precision", "batch": "inference_batch",
                    "tpot_s": "tpot_ms", "ttft_s": "ttft_ms", "accelerator": "inference_hardware"}


def _as_scenario_error(exc: InputError) -> InputError:
    """The same error, its field and the names in its hint those of the scenario."""
    def named(text: str | None) -> str | None:  # the argument names the text spells out
        for arg in ("chips_per_replica", "weight_precision"):
            name = _SCENARIO_FIELDS[arg]
            text = text and re.sub(rf"(?<![{{:\w]){arg}\b", "{f:" + name + "}", text)
        return text

    return InputError(named(exc.template), field=_SCENARIO_FIELDS.get(exc.field, exc.field),
                      value=exc.value, expected=exc.expected, hint=named(exc.hint))


def serving_stage(s: Scenario, plan: PlanResult, r: ServingRates) -> ServingResult:
    """Stage 3: the serving plan of the model for the request mix and targets. An impossible
    target or a pinned replica that cannot hold the model is the user's error (raised, naming
    what is reachable); a model that merely does not fit the default replicas gives a warning."""
    mix = request_mix(s)
    try:
        sp = serving_plan(plan.model_shape, r.accelerator, mix,
                          weight_precision=s.inference_precision, kv_precision=s.kv_precision,
                          targets=targets_of(s), batch=s.inference_batch,
                          chips_per_replica=s.inference_chips_per_replica,
                          train_tokens_per_param=plan.allocation.tokens_per_param)
    except InputError as exc:
        if _pinned(s):
            raise _as_scenario_error(exc) from None
        hint = f" ({exc.hint})" if exc.hint else ""
        return ServingResult(
            inference_hardware=r.profile.id, available=False, plan=None, fleet=None,
            price_usd_per_hour=r.price_usd_per_hour, cost_per_million_input_tokens_usd=None,
            cost_per_million_output_tokens_usd=None, cost_per_million_tokens_usd=None,
            warnings=(f"serving on {r.profile.display_name}: {exc}{hint}; serving and "
                      "lifetime costs are left out",))
    usd_per_chip_s = r.price_usd_per_hour / SECONDS_PER_HOUR
    per_request = (mix.input_tokens * sp.chip_s_per_input_token
                   + mix.output_tokens * sp.chip_s_per_output_token)
    fl = fleet(sp, output_tokens_per_day=s.output_tokens_per_day, peak_to_mean=s.peak_to_mean)
    warnings = list(sp.warnings)
    if r.accelerator.family != r.profile.family:
        warnings.append(f"{r.profile.display_name}: serving constants of an unknown chip "
                        f"family are borrowed from {FALLBACK_FAMILY}")
    tier = s.inference_price_tier or s.price_tier
    if s.inference_price_per_hour is None and (r.profile.id, tier) != (s.hardware, s.price_tier):
        stale = price_warning(r.profile, tier, "serving")  # training's own is warned there
        if stale:
            warnings.append(stale)
    return ServingResult(
        inference_hardware=r.profile.id, available=True, plan=sp, fleet=fl,
        price_usd_per_hour=r.price_usd_per_hour,
        cost_per_million_input_tokens_usd=sp.chip_s_per_input_token * usd_per_chip_s * 1e6,
        cost_per_million_output_tokens_usd=sp.chip_s_per_output_token * usd_per_chip_s * 1e6,
        cost_per_million_tokens_usd=per_request / mix.output_tokens * usd_per_chip_s * 1e6,
        warnings=tuple(warnings))
