"""The serving plan: batch, replica size, throughput, latency and chip-seconds per token.

:func:`plan_serving` picks, for one model on one accelerator and request mix,

* the **batch** (sequences in flight per replica): a pinned ``batch``; else, with latency
  targets, the largest batch whose mean TTFT and TPOT meet them; else (offline serving) the
  throughput-maximising batch, which is the largest the KV-cache memory holds (throughput
  never falls as the batch grows in this model, see ``docs/serving_model.md``), capped at the
  engine's ``max_batch``;
* the **replica** (chips per tensor-parallel replica, within one scale-up domain): pinned, or
  the one with the fewest chip-seconds per request (cheapest per token) under the targets.

Cost split: a replica spends ``b·t_pf`` of every turnover on prefill and ``(O-1)·t_dec`` on
decode; prefill chip-seconds are charged to input tokens, decode chip-seconds to output tokens,
so ``I·chip_s_per_input_token + O·chip_s_per_output_token`` is exactly the chip-seconds of a
request. Multiply by a price per chip-hour / 3600 for dollars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from estimator.errors import InputError
from estimator.serving.constants import constants_for
from estimator.serving.inputs import (
    BYTES_PER_VALUE,
    LatencyTargets,
    RequestMix,
    ServingAccelerator,
    ServingConstants,
)
from estimator.serving.precision import ResolvedPrecision, resolve_precision
from estimator.serving.roofline import (
    COMPONENTS,
    ModelCounts,
    ReplicaTerms,
    Roofline,
    at_batch,
    evaluate,
    kv_capacity_batch,
    replica_terms,
)
from estimator.shape import ModelShape

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86_400.0
#: Throughput gain from doubling the batch below which a memory or batch limit is reported as
#: not binding (the step is then compute- or bandwidth-bound whatever the batch): 5%, a
#: judgement.
BINDING_GAIN = 0.05
#: Default peak-to-mean ratio of request traffic for sizing a fleet: a judgement (interactive
#: traffic follows the working day; 2x the daily mean at peak is a common planning figure).
DEFAULT_PEAK_TO_MEAN = 2.0
#: Most scale-up domains one expert-parallel replica of a mixture of experts spans (64 x 8
#: chips = 512: DeepSeek-V3's decode deployment used 40 nodes of 8 H800, Sec. 3.4).
MAX_DOMAINS = 64
#: Points of the geometric batch grid searched under latency targets (refined to the integer).
GRID_POINTS = 40
#: Replica sizes whose grid throughput is below this share of the best are not refined (one
#: grid step, a factor 4096**(1/39) = 1.24 in batch, cannot close a larger gap).
REFINE_WITHIN = 0.75
NO_TARGETS = LatencyTargets()

BOUND_LABELS = {
    "weights_bandwidth": "reading the weights (HBM bandwidth)",
    "kv_bandwidth": "reading the KV cache (HBM bandwidth)",
    "compute": "tensor-core compute",
    "interconnect": "tensor-parallel all-reduces (scale-up link)",
    "overhead": "per-iteration engine overhead",
    "kv_capacity": "KV-cache memory (a larger batch does not fit)",
    "max_batch": "the engine's maximum batch",
    "ttft_target": "the time-to-first-token target",
    "tpot_target": "the time-per-output-token target",
}


class PricedByChipSeconds:
    """Dollars per million tokens from ``chip_s_per_input_token`` / ``chip_s_per_output_token``
    (floats or arrays) at a price per chip-hour: prefill time is charged to input tokens,
    decode time to output tokens."""

    def cost_per_million_input_tokens_usd(self, usd_per_chip_hour: float):
        """Dollars per million input tokens at a price per chip-hour (prefill time)."""
        return self.chip_s_per_input_token * 1e6 * usd_per_chip_hour / SECONDS_PER_HOUR

    def cost_per_million_output_tokens_usd(self, usd_per_chip_hour: float):
        """Dollars per million output tokens at a price per chip-hour (decode time)."""
        return self.chip_s_per_output_token * 1e6 * usd_per_chip_hour / SECONDS_PER_HOUR


@dataclass(frozen=True)
class ServingPlan(PricedByChipSeconds):
    """How one model serves a request mix on one accelerator. Units: tokens/s, seconds, bytes.

    ``output_tokens_per_s_per_chip`` is the sustained generated-token rate per chip for the
    mix, prefill included; ``band`` multiplies it into a P10-P90 range (leave-one-out errors of
    the family's calibration). ``bound`` names what limits the plan (keys of
    :data:`BOUND_LABELS`); ``time_shares`` says where a request's chip time goes."""

    accelerator_id: str
    family: str
    batch: int
    chips_per_replica: int
    kv_capacity_batch: int
    max_batch: int
    output_tokens_per_s_per_chip: float
    input_tokens_per_s_per_chip: float
    output_tokens_per_s_per_replica: float
    requests_per_s_per_replica: float
    ttft_s: float
    tpot_s: float
    tokens_per_s_per_user: float
    decode_step_s: float
    prefill_s_per_request: float
    chip_s_per_input_token: float
    chip_s_per_output_token: float
    chip_s_per_request: float
    bound: str
    time_shares: tuple[tuple[str, float], ...]
    weights_bytes_per_chip: float
    kv_bytes_per_token: float
    kv_room_fraction: float
    distinct_experts_per_layer: float
    weight_precision: str
    kv_precision: str
    matmul_precision: str
    input_tokens: float
    output_tokens: float
    constants_provenance: str
    band: tuple[float, float]
    warnings: tuple[str, ...]
    #: Tensor-parallel chips per attention group, and groups per replica (above 1: a mixture
    #: of experts spread over several domains); chips_per_replica is their product.
    tensor_parallel: int = 0
    attention_groups: int = 1

    @property
    def bound_label(self) -> str:
        return BOUND_LABELS[self.bound]

    @property
    def output_tokens_per_s_per_chip_p10(self) -> float:
        return self.output_tokens_per_s_per_chip * self.band[0]

    @property
    def output_tokens_per_s_per_chip_p90(self) -> float:
        return self.output_tokens_per_s_per_chip * self.band[1]


class Fleet(NamedTuple):
    """Replicas and chips that serve a demand at its peak."""

    replicas: int
    chips: int


@lru_cache(maxsize=256)
def _counts(shape: ModelShape) -> ModelCounts:
    return ModelCounts.from_shape(shape)


@lru_cache(maxsize=16)
def _grid(max_batch: int) -> np.ndarray:
    g = np.unique(np.round(np.geomspace(1.0, float(max_batch), GRID_POINTS)))
    return g.astype(float)


def _multi_domain(shape: ModelShape, acc: ServingAccelerator) -> bool:
    """Whether replicas may span several scale-up domains: a mixture of experts on a chip
    with a known scale-out network."""
    return shape.is_moe and acc.scale_out_bytes_per_s > 0


def _candidates(shape: ModelShape, acc: ServingAccelerator,
                chips_per_replica: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate replicas as (tensor-parallel chips per attention group, groups): one group of
    every power-of-two size within a domain that divides the heads; for a mixture of experts
    on a chip with a scale-out network, also replicas of 2 to :data:`MAX_DOMAINS` whole
    domains, their attention in groups of each of those sizes and the experts spread over
    every chip (a pinned ``chips_per_replica`` above one domain keeps its size)."""
    tps = _candidate_tps(shape, acc, chips_per_replica)
    inner = _candidate_tps(shape, acc, None)
    if not tps.size:  # a pinned replica larger than one domain keeps its size
        return spanning_replicas(inner, acc.scale_up_domain_chips, [int(chips_per_replica)])
    groups = np.ones_like(tps)
    if chips_per_replica is not None or not _multi_domain(shape, acc):
        return tps, groups
    t_all, g_all = spanning_replicas(inner, acc.scale_up_domain_chips)
    return np.concatenate([tps, t_all]), np.concatenate([groups, g_all])


def spanning_replicas(inner_tps, domain: int, sizes=None) -> tuple[np.ndarray, np.ndarray]:
    """Replicas that span whole scale-up domains: for each size (default 2 to
    :data:`MAX_DOMAINS` domains of ``domain`` chips), attention groups of every tensor-parallel
    width in ``inner_tps``, as (width, groups) arrays, size by size."""
    if sizes is None:
        sizes = [domain * 2**i for i in range(1, int(math.log2(MAX_DOMAINS)) + 1)]
    t_all = np.array([t for n in sizes for t in inner_tps], dtype=float)
    g_all = np.array([n / t for n in sizes for t in inner_tps], dtype=float)
    return t_all, g_all


def _candidate_tps(shape: ModelShape, acc: ServingAccelerator,
                   chips_per_replica: int | None) -> np.ndarray:
    """Tensor-parallel replica sizes inside one domain (empty: a pinned multi-domain replica
    of a mixture of experts, see :func:`_candidates`)."""
    domain = acc.scale_up_domain_chips
    if chips_per_replica is not None:
        t = chips_per_replica
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
            raise InputError(f"chips_per_replica must be a whole number >= 1, got {t!r}",
                             field="chips_per_replica", value=t, expected="a whole number >= 1")
        if t > domain:
            if _multi_domain(shape, acc) and t % domain == 0 and t // domain <= MAX_DOMAINS:
                return np.array([], dtype=float)
            why = ("tensor parallelism across domains is not modelled" if not shape.is_moe
                   else f"a mixture of experts spans whole domains (a multiple of {domain}, "
                   f"at most {MAX_DOMAINS * domain} chips)" if acc.scale_out_bytes_per_s > 0
                   else "the chip's scale-out network is unknown")
            raise InputError(
                f"chips_per_replica = {t} exceeds the scale-up domain of {acc.id} ({domain} "
                f"chips): {why}",
                field="chips_per_replica", value=t, expected=f"at most {domain}")
        if shape.n_heads % t:
            ok = [x for x in range(1, domain + 1) if shape.n_heads % x == 0]
            raise InputError(
                f"chips_per_replica = {t} does not divide the {shape.n_heads} attention heads",
                field="chips_per_replica", value=t,
                expected=f"one of {', '.join(map(str, ok))}",
                hint="tensor parallelism shards whole attention heads over the chips")
        return np.array([float(t)])
    tps = [t for t in (2**i for i in range(12)) if t <= domain and shape.n_heads % t == 0]
    return np.array(tps, dtype=float)


def _no_fit_error(shape: ModelShape, acc: ServingAccelerator, k: ServingConstants,
                  prec: ResolvedPrecision, mix: RequestMix, counts: ModelCounts,
                  pinned: int | None) -> InputError:
    domain = acc.scale_up_domain_chips
    wide = np.array([2.0**i for i in range(14)])
    need = kv_capacity_batch(counts, acc, k, prec, mix, wide) >= 1
    chips_needed = int(wide[np.argmax(need)]) if need.any() else None
    weights_gb = ((counts.always_params + counts.routed_params) * prec.weight_bytes
                  + (counts.unembedding_params + counts.input_embedding_params) * 2) / 1e9
    what = (f"the model ({shape.total_params / 1e9:,.1f} B parameters, {weights_gb:,.0f} GB of "
            f"weights in {prec.weight_precision}) with the KV cache of one "
            f"{mix.input_tokens + mix.generated_tokens:,.0f}-token request")
    if pinned is not None and chips_needed is not None and chips_needed <= domain:
        return InputError(f"{what} does not fit on {pinned} {acc.id} chips",
                          field="chips_per_replica", value=pinned,
                          expected=f"at least {chips_needed}",
                          hint=f"use chips_per_replica >= {chips_needed} (or leave it automatic)")
    fixes = []
    for p in ("fp8", "int8", "fp4", "int4"):
        if BYTES_PER_VALUE[p] >= prec.weight_bytes:
            continue
        lower = resolve_precision(acc, p, prec.kv_precision)
        ok = kv_capacity_batch(counts, acc, k, lower, mix, wide) >= 1
        fitting = wide[ok & (wide <= domain)]
        if fitting.size:
            fixes.append(f"with {p} weights it fits on {int(fitting[0])} chips")
            break
    need_txt = (f"it needs about {chips_needed} chips" if chips_needed else
                "it does not fit on any number of chips")
    hint = (f"{need_txt}, more than the {domain}-chip scale-up domain of {acc.id} (pipeline "
            "parallelism across domains is not modelled)")
    if _multi_domain(shape, acc):
        hint = (f"it does not fit even on {MAX_DOMAINS} scale-up domains of {domain} {acc.id} "
                "chips with the experts spread over them")
    if fixes:
        hint += "; " + "; ".join(fixes)
    hint += "; or choose a chip with more memory"
    return InputError(f"{what} does not fit on one replica of up to {domain} {acc.id} chips",
                      field="weight_precision" if fixes else "accelerator",
                      value=prec.weight_precision, expected=f"a replica of <= {domain} chips",
                      hint=hint)


def _unreachable_error(ev: Roofline, targets: LatencyTargets, acc: ServingAccelerator,
                       valid: np.ndarray) -> InputError:
    """No batch meets the targets: name the best reachable latency (replicas that fit)."""
    ev = replace(ev, ttft_s=np.where(valid, ev.ttft_s, np.inf),
                 tpot_s=np.where(valid, ev.tpot_s, np.inf))
    ttft_ok = ev.ttft_s <= targets.ttft_s if targets.ttft_s is not None else True
    tpot_ok = ev.tpot_s <= targets.tpot_s if targets.tpot_s is not None else True
    if targets.tpot_s is not None and not np.any(tpot_ok):
        i = int(np.argmin(ev.tpot_s))
        best = float(ev.tpot_s[i])
        return InputError(
            f"no batch meets the TPOT target of {targets.tpot_s:.3g} s: the fastest this model "
            f"decodes on {acc.id} is {best:.3g} s per token ({1 / best:,.0f} tokens/s per user),"
            f" at batch 1 on {_chips(ev, i)} chips per replica", field="tpot_s",
            value=targets.tpot_s, expected=f"at least {best:.3g} s",
            hint="raise the TPOT target, use fewer bytes per weight (fp8, fp4) or a chip with "
                 "more memory bandwidth")
    if targets.ttft_s is not None and not np.any(ttft_ok & tpot_ok):
        cand = np.where(tpot_ok, ev.ttft_s, np.inf)
        i = int(np.argmin(cand if np.isfinite(cand).any() else ev.ttft_s))
        best = float(ev.ttft_s[i])
        return InputError(
            f"no batch meets the TTFT target of {targets.ttft_s:.3g} s: the shortest time to "
            f"first token for this prompt on {acc.id} is {best:.3g} s, at batch 1 on "
            f"{_chips(ev, i)} chips per replica", field="ttft_s", value=targets.ttft_s,
            expected=f"at least {best:.3g} s",
            hint="raise the TTFT target, shorten the prompt, or use a faster chip")
    raise AssertionError("targets reachable")  # pragma: no cover


def _chips(ev: Roofline, i: int) -> int:
    """Chips of replica ``i`` of a 1-D evaluation."""
    return int(np.broadcast_to(ev.chips, np.shape(ev.tp))[i])


def _at(x, j: int) -> float:
    """Row ``j`` of a per-replica quantity that may be a scalar or an (n, 1) / (n, 3) array."""
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else float(a.reshape(a.shape[0], -1)[j, 0])


def _bound(ev: Roofline, j: int, limit: str | None) -> str:
    """What binds replica ``j`` of a [b, b+1, 2b] evaluation: a target that stops the batch;
    the memory or batch limit if doubling the batch would raise throughput by
    :data:`BINDING_GAIN`; else the largest share of the serving time."""
    if limit in ("ttft_target", "tpot_target"):
        return limit
    if limit in ("kv_capacity", "max_batch"):
        out = ev.output_tokens_per_s_per_chip
        if out[j, 2] / out[j, 0] - 1.0 >= BINDING_GAIN:
            return limit
    shares = {c: float(ev.shares[c][j, 0]) for c in COMPONENTS}
    return max(shares, key=shares.get)


def _largest_meeting(rep: ReplicaTerms, col: ReplicaTerms, cap: np.ndarray,
                     valid: np.ndarray, targets: LatencyTargets, acc: ServingAccelerator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per replica size, the largest integer batch (<= ``cap``) whose TTFT and TPOT meet the
    targets, and which replica sizes meet them at all. TTFT and TPOT grow with the batch, so
    the last feasible point of a geometric grid is refined over the integers up to the next."""

    def meets(ev: Roofline) -> np.ndarray:
        ok = np.ones(np.shape(ev.tpot_s), dtype=bool)
        if targets.ttft_s is not None:
            ok &= ev.ttft_s <= targets.ttft_s
        if targets.tpot_s is not None:
            ok &= ev.tpot_s <= targets.tpot_s
        return ok

    grid = _grid(int(np.max(cap)))
    ev = at_batch(col, grid[None, :], with_shares=False)
    ok = meets(ev) & (grid[None, :] <= cap[:, None]) & valid[:, None]
    keep = ok.any(axis=1)
    if not keep.any():
        ev1 = at_batch(rep, 1.0, with_shares=False)
        raise _unreachable_error(ev1, targets, acc, valid)
    # replica sizes far behind the best on the grid cannot win after refining the batch by
    # less than one grid step: drop them before the integer refinement
    rows = np.arange(ok.shape[0])
    last = ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    thr = np.where(keep, ev.output_tokens_per_s_per_chip[rows, last], 0.0)
    keep &= thr >= REFINE_WITHIN * thr.max()
    lo = grid[last]
    hi = np.minimum(np.where(last + 1 < grid.size, grid[np.minimum(last + 1, grid.size - 1)],
                             lo), cap)
    hi = np.where(keep, np.maximum(hi, lo), lo)
    span = int(np.max(hi - lo)) + 1
    cand = lo[:, None] + np.arange(span, dtype=float)[None, :]
    ev = at_batch(col, cand, with_shares=False)
    ok = meets(ev) & (cand <= hi[:, None])
    ok[:, 0] = True
    chosen = cand[rows, cand.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)]
    return chosen, keep


def plan_serving(
    shape: ModelShape,
    accelerator: ServingAccelerator,
    mix: RequestMix,
    *,
    weight_precision: str = "bf16",
    kv_precision: str = "bf16",
    targets: LatencyTargets | None = None,
    batch: int | None = None,
    chips_per_replica: int | None = None,
    constants: ServingConstants | None = None,
    train_tokens_per_param: float | None = None,
) -> ServingPlan:
    """Serving plan for ``shape`` on ``accelerator`` for the request ``mix``.

    ``targets`` are mean TTFT and TPOT in seconds; ``batch`` pins the sequences in flight per
    replica; ``chips_per_replica`` pins the tensor-parallel replica (else the cheapest per
    token is chosen among powers of two in the scale-up domain that divide the heads);
    ``constants`` override the family's shipped constants; ``train_tokens_per_param`` sharpens
    the quantisation warning. Raises :class:`InputError` when the model fits on no replica or
    no batch meets the targets (naming what would fit, or the best reachable latency)."""
    k = constants if constants is not None else constants_for(accelerator.family)
    prec = resolve_precision(accelerator, weight_precision, kv_precision, train_tokens_per_param)
    targets = NO_TARGETS if targets is None else targets
    if not isinstance(targets, LatencyTargets):
        raise InputError("targets must be a LatencyTargets", field="targets", value=targets)
    counts = _counts(shape)
    tps, groups = _candidates(shape, accelerator, chips_per_replica)
    rep = replica_terms(counts, accelerator, k, prec, mix, tps, groups)
    kv_cap = rep.kv_capacity_batch
    valid = kv_cap >= 1
    if not valid.any():
        raise _no_fit_error(shape, accelerator, k, prec, mix, counts, chips_per_replica)
    top = float(k.max_batch) * groups              # the engine's maximum batch, per group
    cap = np.maximum(np.minimum(kv_cap, top), 1.0)
    limits = np.where(kv_cap < top, "kv_capacity", "max_batch").astype(object)
    col = rep.column()

    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise InputError(f"batch must be a whole number >= 1, got {batch!r}", field="batch",
                             value=batch, expected="a whole number >= 1")
        valid &= kv_cap >= batch
        if not valid.any():
            best = int(kv_cap.max())
            raise InputError(
                f"a batch of {batch} does not fit: the KV cache of {accelerator.id} holds at "
                f"most {best} requests of {mix.input_tokens + mix.generated_tokens:,.0f} tokens"
                f" per replica", field="batch", value=batch, expected=f"at most {best}",
                hint="lower the batch, use an fp8 KV cache, or more chips per replica")
        chosen = np.full(cap.shape, float(batch))
        limits[:] = None
    elif targets.any:
        chosen, valid = _largest_meeting(rep, col, cap, valid, targets, accelerator)
        limits = np.where(chosen >= cap, limits, None).astype(object)
    else:
        chosen = cap

    # each candidate replica at its batch b, with b+1 (what the next sequence would cost) and
    # 2b (whether a larger batch would raise the throughput)
    cols = np.stack([chosen, chosen + 1.0, 2.0 * chosen], axis=1)
    ev = at_batch(col, cols)
    j = int(np.argmax(np.where(valid, ev.output_tokens_per_s_per_chip[:, 0], -np.inf)))
    t, b = float(rep.chips[j]), float(chosen[j])
    tp_j, g_j = float(rep.tp[j]), float(groups[j])
    limit = limits[j]
    if limit is None and batch is None:
        limit = ("tpot_target" if targets.tpot_s is not None
                 and float(ev.tpot_s[j, 1]) > targets.tpot_s else "ttft_target")
    bound = _bound(ev, j, limit)

    warnings = list(prec.warnings) + list(k.extra_warnings)
    if batch is not None and targets.any:
        if targets.ttft_s is not None and ev.ttft_s[j, 0] > targets.ttft_s:
            warnings.append(f"the pinned batch {batch} misses the TTFT target: "
                            f"{ev.ttft_s[j, 0]:.3g} s > {targets.ttft_s:.3g} s")
        if targets.tpot_s is not None and ev.tpot_s[j, 0] > targets.tpot_s:
            warnings.append(f"the pinned batch {batch} misses the TPOT target: "
                            f"{ev.tpot_s[j, 0]:.3g} s > {targets.tpot_s:.3g} s")
    room = _at(ev.kv_room_fraction, j)
    if room < 0.1:
        warnings.append(f"only {room:.0%} of each chip's memory is left for the KV cache: the "
                        "batch, and so the throughput, is very sensitive to the runtime's "
                        "memory reserve; more chips per replica or fewer bytes per weight are "
                        "safer")
    if g_j > 1:
        warnings.append(
            f"each replica spans {int(t) // accelerator.scale_up_domain_chips} scale-up "
            f"domains ({int(t)} {accelerator.id} chips): attention and dense layers in "
            f"{int(g_j)} data-parallel groups of {int(tp_j)} tensor-parallel chips, the routed "
            "experts spread over every chip with dispatch and combine all-to-alls over the "
            "scale-out network (as DeepSeek-V3 serves, Sec. 3.4); balanced routing assumed")
    if not counts.mla and tp_j > counts.n_kv_heads:
        warnings.append(f"{int(tp_j)} chips per replica exceed the {int(counts.n_kv_heads)} KV "
                        "heads: each KV head is stored on several chips (the cache per token "
                        "grows with the replica)")
    if counts.mla and tp_j > 1:
        warnings.append("multi-head latent attention under tensor parallelism keeps the "
                        "latent KV cache on every chip of the replica (data-parallel attention "
                        "would avoid it; not modelled)")
    if mix.generated_tokens <= 1:
        warnings.append("one output token per request: no decode steps; TPOT is 0")

    o_chip = float(ev.output_tokens_per_s_per_chip[j, 0])
    tpot = float(ev.tpot_s[j, 0])
    cin, cout = _at(ev.chip_s_per_input_token, j), float(ev.chip_s_per_output_token[j, 0])
    shares = tuple((c, float(ev.shares[c][j, 0])) for c in COMPONENTS)
    return ServingPlan(
        accelerator_id=accelerator.id, family=accelerator.family, batch=int(b),
        chips_per_replica=int(t), kv_capacity_batch=int(kv_cap[j]), max_batch=k.max_batch,
        output_tokens_per_s_per_chip=o_chip,
        input_tokens_per_s_per_chip=float(ev.input_tokens_per_s_per_chip[j, 0]),
        output_tokens_per_s_per_replica=o_chip * t,
        requests_per_s_per_replica=float(ev.requests_per_s_per_replica[j, 0]),
        ttft_s=float(ev.ttft_s[j, 0]), tpot_s=tpot,
        tokens_per_s_per_user=1.0 / tpot if tpot > 0 else 0.0,
        decode_step_s=float(ev.decode_step_s[j, 0]),
        prefill_s_per_request=_at(ev.prefill_s, j),
        chip_s_per_input_token=cin, chip_s_per_output_token=cout,
        chip_s_per_request=cin * mix.input_tokens + cout * mix.generated_tokens,
        bound=bound, time_shares=shares,
        weights_bytes_per_chip=_at(ev.weights_bytes_per_chip, j),
        kv_bytes_per_token=_at(ev.kv_bytes_per_token, j), kv_room_fraction=room,
        distinct_experts_per_layer=_at(np.broadcast_to(ev.distinct_experts, cols.shape)[:, :1], j),
        weight_precision=prec.weight_precision, kv_precision=prec.kv_precision,
        matmul_precision=prec.matmul_peak_key, input_tokens=float(mix.input_tokens),
        output_tokens=float(mix.generated_tokens), constants_provenance=k.provenance,
        band=k.band, warnings=tuple(warnings), tensor_parallel=int(tp_j),
        attention_groups=int(g_j))


def fleet(plan: ServingPlan, requests_per_day: float | None = None, *,
          output_tokens_per_day: float | None = None,
          peak_to_mean: float = DEFAULT_PEAK_TO_MEAN) -> Fleet:
    """Replicas (and chips) that serve the demand at its peak: ``ceil(peak requests/s /
    requests/s per replica)``, the peak being ``peak_to_mean`` times the daily mean. Give the
    demand as ``requests_per_day`` or ``output_tokens_per_day`` (converted with the plan's
    output tokens per request)."""
    if (requests_per_day is None) == (output_tokens_per_day is None):
        raise InputError("give the demand as requests_per_day or output_tokens_per_day "
                         "(one of them)", field="requests_per_day", value=requests_per_day,
                         expected="exactly one of requests_per_day, output_tokens_per_day")
    name = "requests_per_day" if requests_per_day is not None else "output_tokens_per_day"
    value = requests_per_day if requests_per_day is not None else output_tokens_per_day
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise InputError(f"{name} must be a number >= 0, got {value!r}", field=name,
                         value=value, expected="a number >= 0")
    if isinstance(peak_to_mean, bool) or not isinstance(peak_to_mean, (int, float)) \
            or not math.isfinite(peak_to_mean) or peak_to_mean < 1:
        raise InputError(f"peak_to_mean must be a number >= 1, got {peak_to_mean!r}",
                         field="peak_to_mean", value=peak_to_mean, expected="a number >= 1",
                         hint="the peak rate divided by the daily mean rate")
    requests = value if requests_per_day is not None else value / plan.output_tokens
    peak_rps = requests / SECONDS_PER_DAY * peak_to_mean
    replicas = math.ceil(peak_rps / plan.requests_per_s_per_replica - 1e-9) if peak_rps else 0
    return Fleet(int(replicas), int(replicas * plan.chips_per_replica))


@dataclass(frozen=True)
class BatchSweep(PricedByChipSeconds):
    """Throughput and latency of one replica size as the batch grows (numpy arrays, one entry
    per batch). ``fits`` is False where the KV cache would not hold the batch."""

    chips_per_replica: int
    kv_capacity_batch: int
    batch: np.ndarray
    output_tokens_per_s_per_chip: np.ndarray
    tokens_per_s_per_user: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    chip_s_per_input_token: np.ndarray
    chip_s_per_output_token: np.ndarray
    fits: np.ndarray


def sweep_batch(
    shape: ModelShape,
    accelerator: ServingAccelerator,
    mix: RequestMix,
    *,
    weight_precision: str = "bf16",
    kv_precision: str = "bf16",
    chips_per_replica: int | None = None,
    constants: ServingConstants | None = None,
    batches: np.ndarray | None = None,
) -> BatchSweep:
    """Throughput per chip against per-user speed as the batch grows, for a chart. The replica
    is ``chips_per_replica`` or the offline plan's; ``batches`` defaults to a geometric grid up
    to the KV capacity (or the engine's maximum batch)."""
    k = constants if constants is not None else constants_for(accelerator.family)
    prec = resolve_precision(accelerator, weight_precision, kv_precision)
    counts = _counts(shape)
    if chips_per_replica is None or chips_per_replica > accelerator.scale_up_domain_chips:
        best = plan_serving(shape, accelerator, mix, weight_precision=weight_precision,
                            kv_precision=kv_precision, constants=k,
                            chips_per_replica=chips_per_replica)
        t, g = float(best.tensor_parallel), float(best.attention_groups)
    else:
        t, g = float(_candidate_tps(shape, accelerator, chips_per_replica)[0]), 1.0
    cap = int(kv_capacity_batch(counts, accelerator, k, prec, mix, t, g))
    if cap < 1:
        raise _no_fit_error(shape, accelerator, k, prec, mix, counts, chips_per_replica)
    if batches is None:
        top = float(min(cap, k.max_batch * g))
        b = np.unique(np.round(np.geomspace(1.0, top, 40))) if top > 1 else np.array([1.0])
    else:
        b = np.asarray(batches, dtype=float)
        if b.ndim != 1 or b.size == 0 or not np.all(np.isfinite(b)) or np.any(b < 1):
            raise InputError("batches must be a non-empty 1-D array of numbers >= 1",
                             field="batches", value=batches, expected="numbers >= 1")
    ev = evaluate(counts, accelerator, k, prec, mix, t, b, with_shares=False, groups=g)
    tpot = np.asarray(ev.tpot_s, dtype=float)
    speed = np.divide(1.0, tpot, out=np.zeros_like(tpot), where=tpot > 0)
    return BatchSweep(int(t * g), cap, b, ev.output_tokens_per_s_per_chip, speed, ev.ttft_s,
                      tpot, ev.chip_s_per_input_token * np.ones_like(b),
                      ev.chip_s_per_output_token, b <= cap)
