"""Stage 3 of an estimate: serving the plan's model.

Decode throughput is the lesser of the compute-bound and memory-bandwidth-bound rates
(:func:`estimator.costs.decode_throughput`: each step reads the weights once and the KV cache of
every sequence in the batch), which sets the cost per million generated tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from estimator import costs
from estimator.errors import InputError
from estimator.hardware import HardwareProfile
from estimator.plan import PlanResult
from estimator.scenario import Scenario


@dataclass(frozen=True)
class ServingRates:
    """The serving chip's peak (FLOP/s) for the weights' precision and its price (USD per
    chip-hour)."""

    profile: HardwareProfile
    peak_flops_per_s: float
    price_usd_per_hour: float


def serving_rates(s: Scenario, inference_profile: HardwareProfile) -> ServingRates:
    tier = s.inference_price_tier or s.price_tier
    price = (s.inference_price_per_hour if s.inference_price_per_hour is not None
             else inference_profile.price_usd_per_hour(tier))
    prec = s.inference_precision if s.inference_precision in ("fp8", "fp4") else "bf16"
    try:
        peak = inference_profile.peak_flops_per_s(prec)
    except InputError:  # weights in fp8 on a chip without fp8 math: computes in bf16
        peak = inference_profile.peak_flops_per_s("bf16")
    return ServingRates(inference_profile, peak, price)


def decode(s: Scenario, r: ServingRates, params, shape=None) -> costs.DecodeThroughput:
    """Decode throughput of N-parameter models (vectorised over ``params``)."""
    ip = r.profile
    return costs.decode_throughput(
        params, peak_flops_per_s=r.peak_flops_per_s,
        memory_bandwidth_tb_per_s=ip.memory_bandwidth_tb_per_s, memory_gb=ip.memory_gb,
        utilization=ip.inference_utilization, weight_precision=s.inference_precision,
        batch=s.inference_batch, context_tokens=s.inference_context_tokens, shape=shape)


def usd_per_token(s: Scenario, r: ServingRates) -> Callable[[np.ndarray], np.ndarray]:
    """Dollars per generated token as a function of model size (arrays in, arrays out)."""
    def fn(params):
        return costs.cost_per_million_tokens(
            r.price_usd_per_hour, decode(s, r, params).tokens_per_s_per_chip) / 1e6
    return fn


@dataclass(frozen=True)
class ServingResult:
    """Serving the model: decode rate per chip, what bounds it, replica size and the cost per
    million generated tokens."""

    inference_hardware: str
    tokens_per_s_per_chip: float
    bound: str
    chips_per_replica: int
    price_usd_per_hour: float
    cost_per_million_tokens_usd: float


def serving_stage(s: Scenario, plan: PlanResult, r: ServingRates) -> ServingResult:
    """Stage 3: the decode roofline of the plan's model on the serving hardware."""
    dec = decode(s, r, plan.params, plan.shape if s.n_layers is not None else None)
    per_m = float(costs.cost_per_million_tokens(r.price_usd_per_hour, dec.tokens_per_s_per_chip))
    return ServingResult(
        inference_hardware=r.profile.id, tokens_per_s_per_chip=float(dec.tokens_per_s_per_chip),
        bound=dec.bound, chips_per_replica=dec.chips_per_replica,
        price_usd_per_hour=r.price_usd_per_hour, cost_per_million_tokens_usd=per_m)
