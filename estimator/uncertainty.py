"""Stage 5 of an estimate: P10 / P50 / P90 bands.

Two sources, combined: the scaling law's parameter samples (when it has them: a bootstrap of
its fit), each propagated through the same planning path as the headline plan
(:func:`estimator.plan.sample_plans`), and the run model's leave-one-out spread on published
runs (a log-normal through its P10/P90 factors for the chip's family).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from estimator import allocation as al
from estimator import costs
from estimator.allocation import Allocation
from estimator.laws import ParametricLaw, ScalingLaw
from estimator.plan import (
    CostRates,
    NoSamples,
    PlanResult,
    lifetime_sample_plans,
    sample_plans,
)
from estimator.scenario import Scenario

#: Standard-normal quantiles used to spread the utilisation band deterministically.
_Z = np.array(
    [-1.6449, -1.2816, -0.8416, -0.5244, -0.2533, 0.0, 0.2533, 0.5244, 0.8416, 1.2816, 1.6449]
)
_Z90 = 1.2815515655446004


@dataclass(frozen=True)
class Band:
    """P10 / P50 / P90 of a quantity."""

    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class LawSamples:
    """The plan under each of the law's parameter samples (hardware-independent, so shared by
    every profile of a comparison): model sizes, tokens, and a note for the band's source."""

    params: np.ndarray
    tokens: np.ndarray
    source: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class UncertaintyResult:
    bands: dict[str, Band] = field(default_factory=dict)
    source: str = ""
    warnings: tuple[str, ...] = ()


#: The quantiles of the bands, as :func:`numpy.percentile` computes them from [10, 50, 90].
_Q3 = np.true_divide(np.array([10.0, 50.0, 90.0]), 100)


@lru_cache(maxsize=64)
def _quantile_indices(n: int):
    """numpy's neighbours, weights and partition points of the three quantiles of ``n``
    values (``numpy.lib._function_base_impl._get_indexes``, linear method)."""
    vi = (n - 1) * _Q3
    prev = np.floor(vi)
    nxt = prev + 1.0
    above = vi >= n - 1
    prev[above] = -1.0
    nxt[above] = -1.0
    below = vi < 0
    prev[below] = 0.0
    nxt[below] = 0.0
    prev_i, next_i = prev.astype(np.intp), nxt.astype(np.intp)
    gamma = vi - prev_i
    kth = np.unique(np.concatenate(([0, n - 1], prev_i % n, next_i % n)))
    return prev_i, next_i, gamma, gamma >= 0.5, kth


def quantiles_10_50_90(a: np.ndarray) -> np.ndarray:
    """``np.percentile(a, [10, 50, 90], axis=-1)`` moved to the last axis: shape ``a.shape[:-1]
    + (3,)``. numpy's default ('linear', Hyndman & Fan 1996 method 7) bit for bit — the same
    order statistics (one partition), weights and interpolation formula — without
    np.percentile's per-call set-up (about half of a band's cost)
    (``tests/test_speed_paths.py`` checks it against numpy). A row with a NaN gives NaN."""
    a = np.asarray(a, dtype=float)
    prev_i, next_i, gamma, upper, kth = _quantile_indices(a.shape[-1])
    part = np.partition(a, kth, axis=-1)
    lo, hi = part[..., prev_i], part[..., next_i]
    diff = hi - lo
    out = np.where(upper, hi - diff * (1 - gamma), lo + diff * gamma)
    nan = np.isnan(part[..., -1])
    if np.any(nan):
        out[nan] = np.nan
    return out


def percentiles(x: np.ndarray) -> Band:
    x = x[np.isfinite(x)]
    if x.size == 0:  # the engine's finiteness check turns this into a clear error
        return Band(math.nan, math.nan, math.nan)
    p10, p50, p90 = quantiles_10_50_90(x)
    return Band(float(p10), float(p50), float(p90))


def law_samples(s: Scenario, law: ScalingLaw, allocation: Allocation,
                rates: CostRates | None = None) -> LawSamples:
    """The plan under every parameter sample of the law (just the plan when it has none). When
    the scenario optimises lifetime cost, each sample's plan is that sample's own lifetime
    optimum (needs ``rates``)."""
    n_k = np.array([allocation.params])
    d_k = np.array([allocation.tokens])
    sampled = law.sampled() if isinstance(law, ParametricLaw) else None
    warnings: list[str] = []
    source = ""
    lifetime = s.optimize == "lifetime"
    if sampled is not None and (not lifetime or rates is not None):
        try:
            if lifetime:
                n_k, d_k, dropped = lifetime_sample_plans(s, sampled, rates)
                source = (f"{len(n_k)} parameter samples of law '{law.id}', each re-optimised "
                          "for lifetime cost")
            else:
                n_k, d_k, dropped = sample_plans(s, sampled, allocation)
                source = f"{len(n_k)} parameter samples of law '{law.id}'"
            if dropped:
                warnings.append(f"{dropped} of {dropped + len(n_k)} parameter samples of law "
                                f"'{law.id}' cannot reach this target; bands use the rest")
        except NoSamples as exc:
            warnings.append(str(exc))
    return LawSamples(n_k, d_k, source, tuple(warnings))


def uncertainty_stage(s: Scenario, plan: PlanResult, samples: LawSamples, *,
                      gpu_hours_per_flop: float, hours_band: tuple[float, float],
                      price_usd_per_hour: float, inference_usd_per_token,
                      serving_available: bool = True) -> UncertaintyResult:
    """Stage 5: bands of params, tokens and compute (law samples), and of GPU-hours, cost,
    days and lifetime cost (law samples x the run model's calibration spread: ``hours_band``
    is its P10/P90 factor on GPU-hours for the chip's family, wider when its constants are
    borrowed, ``docs/run_model.md``). A sample's GPU-hours scale with its compute at the plan's
    GPU-hours per FLOP."""
    lo, hi = hours_band
    sigma = math.log(hi / lo) / (2 * _Z90)
    mid = math.sqrt(lo * hi)
    util_factors = mid * np.exp(sigma * _Z)  # spread of reported/estimated hours
    sources = ["the run model's spread on published runs"]
    if samples.source:
        sources.insert(0, samples.source)
    n_k, d_k = samples.params, samples.tokens
    flops = al.FLOPS_PER_PARAM_TOKEN * n_k * d_k * plan.flops_ratio_to_6nd
    hours = (flops[:, None] * util_factors[None, :]).ravel() * gpu_hours_per_flop
    bands: dict[str, Band] = {}
    if len(n_k) > 1:  # the plan itself is uncertain only under sampled law constants
        q = quantiles_10_50_90(np.stack([n_k, d_k, flops])).T
        for i, name in enumerate(("params", "tokens", "train_flops")):
            b = Band(*(float(v) for v in q[:, i]))
            if b.p90 > b.p10 * (1 + 1e-9):  # a fixed input (e.g. the compute budget) has no band
                bands[name] = b
    h = percentiles(hours)
    # cost and days are positive multiples of hours, so their percentiles are scaled ones
    day_scale = float(costs.wall_clock_days(1.0, s.gpus))
    p = price_usd_per_hour
    bands.update({
        "gpu_hours": h,
        "cost_usd": Band(h.p10 * p, h.p50 * p, h.p90 * p),
        "wall_clock_days": Band(h.p10 * day_scale, h.p50 * day_scale, h.p90 * day_scale),
    })
    warnings = list(samples.warnings)
    if plan.lifetime_inference_tokens > 0 and serving_available:
        inf_cost = np.asarray(plan.lifetime_inference_tokens * inference_usd_per_token(n_k),
                              dtype=float)
        servable = np.isfinite(inf_cost)
        if servable.sum() >= max(2, len(n_k) // 2):
            tot = (hours.reshape(len(n_k), -1)[servable] * p + inf_cost[servable, None]).ravel()
            bands["lifetime_total_cost_usd"] = percentiles(tot)
            if not servable.all():
                warnings.append(f"{int((~servable).sum())} of {len(n_k)} law samples give a "
                                "model the serving chip cannot hold; the lifetime band uses "
                                "the rest")
    return UncertaintyResult(bands, " and ".join(sources), tuple(warnings))
