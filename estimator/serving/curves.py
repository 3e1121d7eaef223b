"""Serving cost over an array of model sizes, vectorised, for the lifetime (inference-aware)
optimiser: chip-seconds per input and per output token of the cheapest replica at each size.

The shapes are a smooth version of :func:`estimator.shape.derive_shape` (the same proportions:
width 102.4 x depth, heads of 128, 8 query heads per KV head, gated MLP of 3.5 d_model; no
rounding of widths), so the curve is continuous in the parameter count. Replica sizes are the
powers of two in the scale-up domain (head divisibility is not checked); the batch is the
offline one (the largest the KV cache holds) or, with targets, the largest that meets them,
found on a geometric grid and interpolated between grid points (a continuous batch, within a
few percent of :func:`estimator.serving.plan.plan_serving` on ``derive_shape(N)``; a test
checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from estimator.errors import InputError
from estimator.serving.constants import constants_for
from estimator.serving.inputs import (
    LatencyTargets,
    RequestMix,
    ServingAccelerator,
    ServingConstants,
)
from estimator.serving.plan import PricedByChipSeconds, spanning_replicas
from estimator.serving.precision import resolve_precision
from estimator.serving.roofline import ModelCounts, at_batch, replica_terms
from estimator.shape import (
    DEFAULT_ASPECT_RATIO,
    DEFAULT_FFN_MULTIPLE,
    DEFAULT_HEAD_DIM,
    DEFAULT_QUERIES_PER_KV_HEAD,
    DEFAULT_VOCAB,
)

#: Geometric batch grid of the curve under targets.
CURVE_GRID_POINTS = 48


@dataclass(frozen=True)
class CostCurve(PricedByChipSeconds):
    """Per model size (arrays): the cheapest replica and its cost. Where ``fits`` is False
    the model fits on no replica of the scale-up domain and the costs are ``inf`` (mask them;
    never show them)."""

    params: np.ndarray
    active_params: np.ndarray
    chips_per_replica: np.ndarray
    batch: np.ndarray
    output_tokens_per_s_per_chip: np.ndarray
    chip_s_per_input_token: np.ndarray
    chip_s_per_output_token: np.ndarray
    fits: np.ndarray


def smooth_counts(params: np.ndarray, *, n_experts: int = 1, experts_per_token: int = 1,
                  shared_experts: int = 0, vocab: int = DEFAULT_VOCAB,
                  aspect_ratio: float = DEFAULT_ASPECT_RATIO) -> ModelCounts:
    """:class:`ModelCounts` of derived shapes of ``params`` total parameters (arrays), with
    derive_shape's proportions and continuous depth and width: ``N = k·a²·L³ + 2·V·a·L`` with
    ``k = 2.25 + 10.5·(E + S)`` weights per d² per layer, solved for the depth ``L`` by
    Newton's method (derive_shape's equation)."""
    n = np.asarray(params, dtype=float)
    moe = n_experts > 1 or shared_experts > 0
    k_attn = 2.0 + 2.0 / DEFAULT_QUERIES_PER_KV_HEAD
    k_mlp = 3.0 * DEFAULT_FFN_MULTIPLE
    k = k_attn + k_mlp * ((n_experts + shared_experts) if moe else 1.0)
    v, a = float(vocab), float(aspect_ratio)
    lay = (n / (k * a * a)) ** (1.0 / 3.0)
    for _ in range(30):
        f = k * a * a * lay**3 + 2.0 * v * a * lay - n
        lay = np.maximum(lay - f / (3.0 * k * a * a * lay**2 + 2.0 * v * a), 1e-3)
    d = a * lay
    heads = np.maximum(d / DEFAULT_HEAD_DIM, 1.0)
    kv_heads = np.maximum(heads / DEFAULT_QUERIES_PER_KV_HEAD, 1.0)
    head = np.minimum(float(DEFAULT_HEAD_DIM), d)
    mlp = k_mlp * d * d                                   # one expert (or the dense MLP)
    attn = (2.0 * d * d + 2.0 * d * kv_heads * head) * lay
    norms = 2.0 * d * lay + d                             # per-layer gains and the final norm
    router = d * n_experts * lay if moe else 0.0
    routed = mlp * n_experts * lay if moe else 0.0
    always = attn + norms + router + (mlp * shared_experts * lay if moe else mlp * lay)
    active_mlp = mlp * (experts_per_token + shared_experts) * lay if moe else mlp * lay
    matmul = attn + router + active_mlp + v * d
    return ModelCounts(
        n_layers=lay, d_model=d, q_dim=d, n_heads=heads, n_kv_heads=kv_heads,
        head_width=head, mla=False, kv_latent_dim=0.0, always_params=always,
        routed_params=routed, n_experts=float(n_experts if moe else 1),
        experts_per_token=float(experts_per_token if moe else 1),
        input_embedding_params=v * d, unembedding_params=v * d, matmul_params=matmul,
        ffn_width=DEFAULT_FFN_MULTIPLE * d * ((experts_per_token + shared_experts)
                                              if moe else 1.0))


def output_cost_curve(
    params: ArrayLike,
    accelerator: ServingAccelerator,
    mix: RequestMix,
    *,
    weight_precision: str = "bf16",
    kv_precision: str = "bf16",
    targets: LatencyTargets | None = None,
    constants: ServingConstants | None = None,
    n_experts: int = 1,
    experts_per_token: int = 1,
    shared_experts: int = 0,
    vocab: int = DEFAULT_VOCAB,
) -> CostCurve:
    """Chip-seconds per input and output token of the cheapest replica, over an array of
    total parameter counts (derived shapes; a mixture of experts with ``n_experts``)."""
    n = np.atleast_1d(np.asarray(params, dtype=float))
    if n.ndim != 1 or not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise InputError("params must be a 1-D array of positive parameter counts",
                         field="params", value=params, expected="positive numbers")
    k = constants if constants is not None else constants_for(accelerator.family)
    prec = resolve_precision(accelerator, weight_precision, kv_precision)
    counts = smooth_counts(n[:, None], n_experts=n_experts, experts_per_token=experts_per_token,
                           shared_experts=shared_experts, vocab=vocab)
    domain = accelerator.scale_up_domain_chips
    tps = np.array([2.0**i for i in range(12) if 2**i <= domain])
    groups = np.ones_like(tps)
    if n_experts > 1 and accelerator.scale_out_bytes_per_s > 0:
        # as plan_serving: an MoE replica may span 2 to MAX_DOMAINS whole domains
        t_all, g_all = spanning_replicas(tps, domain)
        tps, groups = np.concatenate([tps, t_all]), np.concatenate([groups, g_all])
    rep = replica_terms(counts, accelerator, k, prec, mix, tps[None, :], groups[None, :])
    kv_cap = np.broadcast_to(rep.kv_capacity_batch, (n.size, tps.size))
    valid = kv_cap >= 1
    top = float(k.max_batch) * groups[None, :]
    cap = np.maximum(np.minimum(kv_cap, top), 1.0)
    if targets is not None and targets.any:
        b, meets = _batch_under_targets(rep, cap, targets, int(k.max_batch * groups.max()))
        valid &= meets
    else:
        b = cap
    ev = at_batch(rep, b, with_shares=False)
    out = np.where(valid, ev.output_tokens_per_s_per_chip, -np.inf)
    j = np.argmax(out, axis=1)
    rows = np.arange(n.size)
    fits = valid[rows, j]
    cin = np.broadcast_to(ev.chip_s_per_input_token, out.shape)[rows, j]
    cout = np.broadcast_to(ev.chip_s_per_output_token, out.shape)[rows, j]
    return CostCurve(
        params=n, active_params=_active_params(counts)[:, 0],
        chips_per_replica=np.where(fits, (tps * groups)[j], 0).astype(int),
        batch=np.where(fits, np.broadcast_to(b, out.shape)[rows, j], 0.0),
        output_tokens_per_s_per_chip=np.where(fits, out[rows, j], 0.0),
        chip_s_per_input_token=np.where(fits, cin, np.inf),
        chip_s_per_output_token=np.where(fits, cout, np.inf), fits=fits)


def _active_params(c: ModelCounts) -> np.ndarray:
    """Active parameters per token, embeddings included (as ``ModelShape.active_params``)."""
    routed_active = c.routed_params * c.experts_per_token / c.n_experts
    return c.always_params + routed_active + c.input_embedding_params + c.unembedding_params


def _batch_under_targets(rep, cap: np.ndarray, targets: LatencyTargets, max_batch: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Continuous batch where the tighter target is just met (linear interpolation of the
    slack between grid points), per (size, replica); and whether batch 1 meets them."""
    grid = np.geomspace(1.0, float(max_batch), CURVE_GRID_POINTS)
    col = rep._map(lambda v: v[..., None])
    ev = at_batch(col, grid)
    slack = np.full(ev.tpot_s.shape, np.inf)
    if targets.tpot_s is not None:
        slack = np.minimum(slack, 1.0 - ev.tpot_s / targets.tpot_s)
    if targets.ttft_s is not None:
        slack = np.minimum(slack, 1.0 - ev.ttft_s / targets.ttft_s)
    ok = (slack >= 0) & (grid <= cap[..., None])
    meets = ok[..., 0]
    last = ok.shape[-1] - 1 - np.argmax(ok[..., ::-1], axis=-1)
    nxt = np.minimum(last + 1, grid.size - 1)
    s0 = np.take_along_axis(slack, last[..., None], -1)[..., 0]
    s1 = np.take_along_axis(slack, nxt[..., None], -1)[..., 0]
    g0, g1 = grid[last], grid[nxt]
    # the slack falls with the batch: the crossing lies where it reaches zero (the whole step
    # when the next grid point still meets the targets, i.e. the memory cap binds first)
    frac = np.where(s1 >= 0, 1.0, s0 / np.maximum(s0 - s1, 1e-300))
    b = np.minimum(g0 + np.where(nxt > last, np.clip(frac, 0.0, 1.0), 0.0) * (g1 - g0), cap)
    return np.where(meets, b, 1.0), meets
