"""The step model: time and memory of one optimizer step for arrays of candidate layouts.

Everything here is vectorised with numpy: a :class:`Candidates` holds one entry per layout and
:func:`evaluate` returns arrays of the same length. Shape quantities (:class:`Work`), chip
quantities (:class:`Fabric`) and constants may themselves be arrays of that length, which is how
the calibration evaluates all 240 measured layouts in one call.

Notation (per candidate): ``t`` tensor-, ``p`` pipeline-, ``c`` context-, ``e`` expert-parallel
degree, ``dp`` data-parallel degree, ``b`` micro-batch (sequences), ``m`` micro-batches per
step, ``v`` virtual pipeline stages, ``s`` sequence length; ``T = b s / c`` tokens of one
micro-batch on one context rank (the row count of every matrix multiply after the
sequence-parallel all-gather), ``T_l = T / t`` the tokens a GPU holds between them.

Time of one micro-batch on one pipeline stage (sum over its layers, balanced over stages):

* **matrix multiplies** ``M x K @ K x N``: ``max(2 M N K / (R eta), bytes / (B_hbm eta_m))``
  with the efficiency ``eta = eta_max / (1 + w0 (1/M + 1/N + 1/K))`` (small widths run far
  below peak; ``eta_max``, ``w0`` fitted per family), ``R`` the dense peak (times the fp8 gain
  for the linear layers of the blocks), roofline bytes ``(M K + K N) x in-bytes + 2 M N``.
  Attention projections ``(T, d) x (d, (q + 2 kv) / t)`` and ``(T, q / t) x (q / t, d)``, MLP
  ``(T, d) x (d, u f / t)`` (``u`` = 2 gated, Shazeer 2020) and ``(T, f / t) x (f / t, d)``,
  unembedding ``(T, d) x (d, V / t)`` (Megatron's Megatron-LM tensor-parallel layout, Shoeybi
  et al. 2019, arXiv:1909.08053, Sec. 3). Backward is twice the forward (dgrad and wgrad).
* **attention core** (FlashAttention, Dao 2023, arXiv:2307.08691): causal forward FLOPs
  ``4 T (s / 2) q / t`` (each token attends to ``s / 2`` keys on average, also under balanced
  context parallelism), backward 2.5x the forward (FlashAttention-2, Sec. 3.1.2: five matrix
  multiplies against two), at ``eta`` with ``N = s``, ``K = head_dim``.
* **mixture of experts**: each GPU receives ``T_l k`` routed token copies (balanced), its
  ``E / e`` experts multiply ``M_e = T_l k e / E`` rows each, times the load imbalance;
  shared experts run as a tensor-parallel dense MLP; a router ``(T_l, d) x (d, E)``
  (Shazeer et al. 2017; Lepikhin et al. 2020, arXiv:2006.16668; DeepSeek-V2).
* **memory-bound work** at ``B_hbm eta_m``: norms and residual adds (``20 d`` bytes per token
  and layer forward, sequence-parallel), rotary embedding, the MLP activation (``6 f`` bytes
  gated, ``4 f`` otherwise), MoE permute/unpermute (``8 k d``), the loss (12 B per logit),
  fp8 casts (3 B per element of each multiply input); backward twice the forward.
* **recompute**: ``full`` re-runs the forward (multiplies, attention, memory-bound work and the
  forward tensor-parallel collectives; Korthikanti et al. 2022, arXiv:2205.05198, Table 4:
  +33% FLOPs); ``selective`` re-runs norms and the activation function only.
* **communication**, ``bytes / (link x eta_c) + latency`` with the scale-up link when the
  group fits in one scale-up domain, else the scale-out network:
  tensor parallel with sequence parallelism, per layer and micro-batch 4 all-gathers/
  reduce-scatters forward and 4 backward of ``(t-1)/t T d`` bf16 values (Korthikanti 2022,
  Sec. 4.2.2), overlappable with the layer's multiplies (Megatron-Core ``--tp-comm-overlap``,
  torchtitan async-TP); context parallel, all-gather of K and V forward and all-gather plus
  reduce-scatter backward, ``3 (c-1) T kv`` values, overlappable with attention (ring
  attention, Liu et al. 2023, arXiv:2310.01889); expert all-to-all, dispatch and combine
  forward and backward, ``4 T_l k d`` values with the share ``(e-1)/e`` leaving the GPU
  (Lepikhin 2020), overlappable with the shared experts; pipeline point-to-point
  ``4 T_l d`` bytes per micro-batch and virtual stage; data parallel, reduce-scatter of fp32
  gradients and all-gather of bf16 weights once per step with ZeRO-1, overlapped with one
  micro-batch (Megatron ``--overlap-grad-reduce``, ``--overlap-param-gather``), or per
  micro-batch with ZeRO-3 (all-gather forward and backward, reduce-scatter), overlapped with
  that micro-batch. Exposed time ``x - min(eta_o x, window)``, ``eta_o`` fitted.

Step: ``(m + (p - 1) / v) t_mb + exposed data-parallel + optimizer``, the 1F1B pipeline with
``(p - 1) / v`` micro-batches of fill and drain (Narayanan et al. 2021, arXiv:2104.04473,
Sec. 2.2). For mixtures of experts the search also has DualPipe (DeepSeek-V3,
arXiv:2412.19437, Sec. 3.2.1; ``v = 0`` in the arrays): a bidirectional pipeline whose bubble
is ``(p/2 - 1)(F&B + B - 3W)`` and which overlaps each micro-batch's expert all-to-all with
another's compute, at the price of two copies of the stage's weights and gradients and
``p + 1`` micro-batches in flight. Optimizer: 34 B per locally updated parameter at HBM
speed.

Memory per GPU: ZeRO-1 ``6 + 12 / g`` bytes per parameter (bf16 weights, fp32 gradients,
sharded fp32 master and Adam moments; Megatron-LM distributed-optimizer table), ZeRO-3
``18 / g`` plus two gathered layers; fp8 adds a 1-byte weight copy; activations per layer and
micro-batch (bf16, counting each stored tensor: ``2 (2 d + q + 2 kv + q)`` attention,
``2 (2 d + (u + 1) f)`` MLP per token, over ``t``; selective drops the norm outputs and the
activation output, full keeps ``2 d``; with FlashAttention no ``s^2`` term; cf. Korthikanti
2022 Eq. 2, ``34 s b h``), times the ``min(p, m)`` micro-batches in flight on the first
stage of a 1F1B pipeline (x ``1 + (p-1)/(p v)`` interleaved), plus the logits
``6 T V / t`` bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from estimator.shape import ModelShape
from estimator.training.constants import GLOBAL

REC_NONE, REC_SELECTIVE, REC_FULL = 0, 1, 2
#: Bytes per logit held for the backward pass: bf16 logits and their bf16 gradient (fused,
#: vocabulary-parallel cross-entropy; Megatron's and llm-foundry's kernels).
LOGIT_BYTES = 4.0


@dataclass(frozen=True)
class Work:
    """Per-shape quantities the step model needs (floats, or arrays in the calibration)."""

    s: float  # sequence length
    L: float
    L_moe: float
    L_dense: float
    d: float
    attn_in: float  # width of the fused input projection (q + 2 kv for GQA)
    attn_out: float  # width into the output projection (q)
    kv_gather: float  # K and V values per token per layer gathered by context parallelism
    rope: float  # rotary-embedded values per token per layer
    core_flops: float  # causal attention-core forward FLOPs per token per layer
    head_dim: float
    f: float
    fe: float
    E: float
    k: float
    S: float
    V: float
    u: float  # MLP input projections: 2 gated, 1 plain
    act_bytes: float  # activation-function traffic per MLP width: 6 gated, 4 plain
    heads: float
    params_dense: float  # everything but the routed experts
    params_expert: float  # routed experts
    params_layer_dense: float  # dense weights of one layer (ZeRO-3 gather buffer)
    params_layer_expert: float
    n_active: float
    n_total: float
    is_moe: float  # 1.0 or 0.0


@lru_cache(maxsize=256)
def work_for(shape: ModelShape, seq_len: int) -> Work:
    """The :class:`Work` of ``shape`` at ``seq_len`` (cached: shapes are frozen)."""
    s = float(seq_len)
    d = float(shape.d_model)
    gated = shape.gated_mlp
    if shape.is_mla:
        out_w = float(shape.n_heads * shape.head_width)
        kv_gather = float(shape.n_heads * (2 * shape.head_width + shape.mla_rope_dim))
        rope = float(shape.n_heads * shape.mla_rope_dim + shape.mla_rope_dim)
    else:
        out_w = float(shape.q_dim)
        kv_gather = float(2 * shape.kv_dim)
        rope = float(shape.q_dim + shape.kv_dim)
    attn_in = (shape.attention_params_per_layer - out_w * d) / d
    core = shape.attention_flops_per_token(s, causal=True) / shape.n_layers
    routed = shape.moe_layers * shape.n_experts * shape.mlp_params(shape.expert_width)
    total = shape.total_params
    dense_params = total - routed
    return Work(
        s=s, L=float(shape.n_layers), L_moe=float(shape.moe_layers),
        L_dense=float(shape.dense_layers), d=d, attn_in=attn_in, attn_out=out_w,
        kv_gather=kv_gather, rope=rope, core_flops=core, head_dim=float(shape.head_width),
        f=float(shape.ffn_dim), fe=float(shape.expert_width), E=float(shape.n_experts),
        k=float(shape.experts_per_token), S=float(shape.shared_experts),
        V=float(shape.vocab), u=2.0 if gated else 1.0, act_bytes=6.0 if gated else 4.0,
        heads=float(shape.n_heads), params_dense=dense_params, params_expert=routed,
        params_layer_dense=(dense_params - shape.embedding_params) / shape.n_layers,
        params_layer_expert=routed / max(shape.moe_layers, 1),
        n_active=shape.active_params, n_total=total, is_moe=1.0 if shape.is_moe else 0.0)


@dataclass(frozen=True)
class Fabric:
    """Chip and fabric numbers for the step model (floats or arrays)."""

    peak_bf16: float  # FLOP/s
    gemm_gain: float  # speed-up of the blocks' linear layers at the job precision (1 in bf16)
    low_precision: float  # 1.0 when linear layers run in fp8/fp4 (casts, weight copies)
    hbm_bytes_per_s: float
    capacity_bytes: float
    domain: float
    up_bytes_per_s: float
    out_bytes_per_s: float


@dataclass(frozen=True)
class Coefs:
    """Fitted constants as the step model uses them (floats or arrays)."""

    gemm_eff: float
    w0: float
    mem_eff: float
    comm_eff: float
    overlap: float
    imbalance: float


@dataclass
class Candidates:
    """Candidate layouts, one entry per array element (int-valued float arrays)."""

    tp: np.ndarray
    pp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    dp: np.ndarray
    mb: np.ndarray
    rec: np.ndarray
    zero: np.ndarray
    v: np.ndarray

    def __len__(self) -> int:
        return len(self.tp)

    def take(self, idx) -> Candidates:
        return Candidates(*(getattr(self, f)[idx] for f in _CAND_FIELDS))


_CAND_FIELDS = ("tp", "pp", "cp", "ep", "dp", "mb", "rec", "zero", "v")


@dataclass
class StepArrays:
    """What :func:`evaluate` returns: seconds per step and per component, bytes per GPU."""

    step_s: np.ndarray
    compute_s: np.ndarray
    memory_s: np.ndarray
    tp_s: np.ndarray
    cp_s: np.ndarray
    ep_s: np.ndarray
    pp_s: np.ndarray
    dp_s: np.ndarray
    bubble_s: np.ndarray
    optimizer_s: np.ndarray
    memory_bytes: np.ndarray
    hardware_flops: np.ndarray  # FLOPs executed per step per GPU (recompute included)


def _shard_degrees(cd: Candidates, w_E, domain):
    """Sharding degrees of the dense and expert weights: ``g_d = dp c`` data-parallel ranks
    share the dense weights, ``g_e = dp t c / e`` the experts; hybrid sharding (HSDP, code 4)
    shards only over the ranks inside one scale-up domain and replicates across domains."""
    gd = cd.dp * cd.cp
    ge = np.maximum(cd.dp * cd.tp * cd.cp / cd.ep, 1.0)
    inner = np.maximum(np.floor(domain / cd.tp), 1.0)
    hsdp = cd.zero == 4
    sd = np.where(hsdp, np.minimum(gd, inner), gd)
    se = np.where(hsdp, np.minimum(ge, inner), ge)
    return gd, ge, sd, se


def memory_per_gpu(cd: Candidates, w: Work, low_precision, m, domain=8.0) -> np.ndarray:
    """Bytes per GPU of a layout (module docstring, "Memory per GPU")."""
    t, p, cp, e, b, v = cd.tp, cd.pp, cd.cp, cd.ep, cd.mb, cd.v
    rec, zero = cd.rec, cd.zero
    gd, ge, sd, se = _shard_degrees(cd, w.E, domain)
    pd_loc = w.params_dense / (t * p)
    pe_loc = w.params_expert / (p * e)
    state1 = pd_loc * (4.0 + 12.0 / gd) + pe_loc * (4.0 + 12.0 / ge)
    buf3 = 6.0 * (w.params_layer_dense / t + w.params_layer_expert / e)
    state3 = 16.0 * (pd_loc / sd + pe_loc / se) + buf3
    sharded = zero >= 3
    dual = v == 0  # DualPipe: two copies of the stage's weights and gradients
    state = np.where(sharded, state3, state1) + dual * 4.0 * (pd_loc + pe_loc)
    state = state + low_precision * np.where(sharded, (pd_loc / sd + pe_loc / se),
                                             pd_loc + pe_loc)
    T = b * w.s / cp
    d = w.d
    sel = rec == REC_SELECTIVE
    full = rec == REC_FULL
    # stored values per token and layer (x 2 bytes), before the / t of tensor parallelism
    attn_vals = 2.0 * d + w.attn_in + w.attn_out
    mlp_vals = 2.0 * d + (w.u + 1.0) * w.f
    dense_none = attn_vals + mlp_vals
    dense_sel = dense_none - 2.0 * d - w.f
    # MoE: per GPU the routed copies are T_l k; expressed per token of T before / t
    # the permuted copy of each routed token (none with a single expert)
    moe_mlp = (2.0 * d + w.k * ((w.E > 1) * d + (w.u + 1.0) * w.fe)
               + w.S * (w.u + 1.0) * w.fe)
    moe_none = attn_vals + moe_mlp
    moe_sel = moe_none - 2.0 * d - (w.k + w.S) * w.fe
    per_tok_none = (w.L_dense * dense_none + w.L_moe * moe_none) / w.L
    per_tok_sel = (w.L_dense * dense_sel + w.L_moe * moe_sel) / w.L
    per_tok = np.where(sel, per_tok_sel, np.where(full, d, per_tok_none))
    layer_bytes = 2.0 * T / t * per_tok
    layers_stage = np.ceil(w.L / p)
    inflight = np.where(p > 1, np.minimum(p, m), 1.0)
    inflight = inflight * np.where(v > 1, 1.0 + (p - 1.0) / (p * np.maximum(v, 1.0)), 1.0)
    inflight = np.where(dual, p + 1.0, inflight)
    act = layers_stage * layer_bytes * inflight
    act = act + np.where(full, 2.0 * T / t * np.maximum(dense_none, moe_none * w.is_moe), 0.0)
    logits = LOGIT_BYTES * T * w.V / t
    return state + act + logits


@dataclass
class Geometry:
    """What the step time needs that depends only on the shape, the layouts and the fabric's
    domain size (not on rates or fitted constants): FLOPs, bytes, collective counts and the
    members of each communication group inside one scale-up domain. Computed once per
    candidate set (cached with it); :func:`evaluate` then applies rates."""

    full: np.ndarray
    p: np.ndarray
    v: np.ndarray
    dual: np.ndarray
    zero: np.ndarray
    gemm_flops: np.ndarray  # (10, n): attn in, attn out, up, down, expert up/down, shared
    gemm_inv: np.ndarray  # (10, n): 1/M + 1/N + 1/K  (up/down), router, head
    gemm_bytes_in: np.ndarray  # (10, n): M K + K N elements (operands)
    gemm_bytes_out: np.ndarray  # (10, n): 2 M N bytes (bf16 output)
    low_gemm: np.ndarray  # (10, 1): 1 for the blocks' linear layers (fp8-capable)
    core_flops: np.ndarray
    core_inv: np.ndarray
    n_loc: np.ndarray
    stage_frac: np.ndarray
    mem_fixed: np.ndarray  # memory-bound bytes per micro-batch, not scaled by imbalance
    mem_imb: np.ndarray  # ... scaled by the MoE imbalance
    tp_bytes: np.ndarray
    tp_count: np.ndarray
    cp_bytes: np.ndarray
    cp_count: np.ndarray
    a2a_local: np.ndarray
    a2a_remote: np.ndarray
    a2a_count: np.ndarray
    pp_bytes: np.ndarray
    pp_count: np.ndarray
    z1_bytes: np.ndarray
    dp_count: np.ndarray
    sh_bytes: np.ndarray
    sh_count: np.ndarray
    hs_bytes: np.ndarray
    hs_count: np.ndarray
    opt_params: np.ndarray
    # group placement: (6, n) rows tp, cp, pp, dp, shard, hybrid-replica
    inside: np.ndarray
    nics: np.ndarray
    e_inside: np.ndarray

    def take(self, idx) -> Geometry:
        out = {}
        for f in self.__dataclass_fields__:
            a = getattr(self, f)
            out[f] = a if f == "low_gemm" else (a[..., idx] if a.ndim == 2 else a[idx])
        return Geometry(**out)


def geometry(cd: Candidates, w: Work, low_precision, domain) -> Geometry:
    """The :class:`Geometry` of candidates ``cd`` (module docstring for every term)."""
    g = GLOBAL
    t, p, cp, e, dp, b, v = cd.tp, cd.pp, cd.cp, cd.ep, cd.dp, cd.mb, cd.v
    rec, zero = cd.rec, cd.zero
    dual = v == 0  # DualPipe (DeepSeek-V3 Sec. 3.2.1)
    v = np.maximum(v, 1.0)
    full = (rec == REC_FULL).astype(float)
    sel = (rec == REC_SELECTIVE).astype(float)
    d = w.d
    in_b = np.where(low_precision > 0, 1.0, 2.0)
    T = b * w.s / cp
    Tl = T / t
    # -- the ten matrix multiplies of a layer, forward ------------------------------------------
    Me = np.maximum(Tl * w.k * e / w.E, 1.0)
    sfe = w.S * w.fe
    one = np.ones_like(T)
    M = np.stack(np.broadcast_arrays(T, T, T, T, Me, Me, T, T, Tl, T))
    N = np.stack(np.broadcast_arrays(
        w.attn_in / t, d * one, w.u * w.f / t, d * one, w.u * w.fe * one, d * one,
        np.maximum(w.u * sfe / t, 1.0), d * one, w.E * one, w.V / t))
    K = np.stack(np.broadcast_arrays(
        d * one, w.attn_out / t, d * one, w.f / t, d * one, w.fe * one, d * one,
        np.maximum(sfe / t, 1.0), d * one, d * one))
    low_gemm = np.array([1.0] * 8 + [0.0, 0.0])[:, None]
    gemm_bytes_in = M * K + K * N
    # -- memory-bound bytes per micro-batch on the busiest stage -------------------------------
    common = Tl * (20.0 * d + 4.0 * w.rope)
    dense_mem = common + T * w.act_bytes * w.f / t
    routed = (w.E > 1) * 1.0  # one expert needs no router and no permutation
    moe_mem0 = common + routed * Tl * w.k * 8.0 * d + T * w.act_bytes * sfe / t
    moe_memi = Tl * w.k * w.act_bytes * w.fe
    cast = low_precision * 6.0 * T * (2.0 * d + w.attn_out / t)
    dense_cast = cast + low_precision * 6.0 * T * (d + w.f / t)
    moe_cast = cast + low_precision * 6.0 * Tl * w.k * (d + w.fe)
    dense_sel_b = Tl * 8.0 * d + T * w.act_bytes * w.f / t
    moe_sel_b = Tl * 8.0 * d + Tl * w.k * w.act_bytes * w.fe + T * w.act_bytes * sfe / t
    head_mem = T * w.V / t * g.loss_bytes_per_logit + Tl * d * 6.0
    stage_frac = np.ceil(w.L / p) / w.L  # layers on the busiest stage over all layers
    mem_fixed = (stage_frac * (w.L_dense * ((3.0 + full) * dense_mem + dense_cast
                                            + sel * dense_sel_b)
                               + w.L_moe * ((3.0 + full) * moe_mem0 + moe_cast
                                            + sel * moe_sel_b))
                 + 3.0 * head_mem / p)
    mem_imb = stage_frac * w.L_moe * (3.0 + full) * moe_memi
    # -- communication volumes -------------------------------------------------------------------
    has_shared = (w.S > 0) * 1.0
    coll_bytes = (t - 1.0) / t * T * d * 2.0
    tp_count = np.where(t > 1, stage_frac * (w.L_dense * (8.0 + 4.0 * full) + w.L_moe * (
        4.0 + 2.0 * full + has_shared * (4.0 + 2.0 * full))), 0.0)
    cp_on = (cp > 1) * 1.0
    cp_bytes = cp_on * stage_frac * w.L * (cp - 1.0) * T * w.kv_gather / t * 2.0 * (3.0 + full)
    cp_count = cp_on * stage_frac * w.L * (cp - 1.0) * (3.0 + full)
    # Dispatch (fp8 in low precision, DeepSeek-V3 Sec. 3.3) and combine forward, their
    # gradients backward. A token crosses to each remote domain holding one of its experts
    # once and fans out inside it (node-limited, deduplicated dispatch: DeepSeek-V3 Sec.
    # 3.2.2); with k experts drawn from D domains, (D - 1)(1 - (1 - 1/D)^k) remote domains.
    e_in = np.minimum(e, domain)
    n_dom = np.maximum(e / e_in, 1.0)
    remote = (n_dom - 1.0) * (1.0 - (1.0 - 1.0 / n_dom) ** w.k)
    local = w.k * (e - 1.0) / e
    ep_on = (e > 1) * stage_frac * w.L_moe
    a2a_vals = ep_on * Tl * d * ((in_b + 6.0) + full * (in_b + 2.0))
    pp_on = (p > 1) * 1.0
    pp_mult = pp_on * np.where(dual, 2.0, v)
    gd = dp * cp
    ge = np.maximum(dp * t * cp / e, 1.0)
    inner = np.maximum(np.floor(domain / t), 1.0)
    hsdp = zero == 4
    sd = np.where(hsdp, np.minimum(gd, inner), gd)
    se = np.where(hsdp, np.minimum(ge, inner), ge)
    pd_loc = w.params_dense / (t * p)
    pe_loc = w.params_expert / (p * e)
    gb, pb = g.grad_reduce_bytes, g.param_gather_bytes
    sharded = zero >= 3
    z1 = np.where(sharded, 0.0, ((gd - 1.0) / gd * pd_loc + (ge - 1.0) / ge * pe_loc) * (gb + pb))
    sh = np.where(sharded, ((sd - 1.0) / sd * pd_loc + (se - 1.0) / se * pe_loc)
                  * (2.0 * pb + gb), 0.0)
    rd, re_ = gd / sd, ge / se
    hs = np.where(hsdp, 2.0 * gb * ((rd - 1.0) / rd * pd_loc / sd
                                    + (re_ - 1.0) / re_ * pe_loc / se), 0.0)
    opt_params = pd_loc / np.where(sharded, sd, gd) + pe_loc / np.where(sharded, se, ge)
    # groups: ranks ordered tp, cp, dp (ep folded into them), pp outermost
    stride = np.stack(np.broadcast_arrays(one, t, t * cp * dp, t, t, domain * one))
    size = np.stack(np.broadcast_arrays(t, cp, 2.0 * one, gd, sd, rd))
    inside = stride * size <= domain
    nics = np.minimum(np.maximum(np.floor(domain / stride), 1.0), size)
    return Geometry(
        full=full, p=p, v=v, dual=dual, zero=zero, gemm_flops=2.0 * M * N * K,
        gemm_inv=1.0 / M + 1.0 / N + 1.0 / K, gemm_bytes_in=gemm_bytes_in,
        gemm_bytes_out=2.0 * M * N, low_gemm=low_gemm,
        core_flops=w.core_flops * T / t, core_inv=1.0 / T + 1.0 / w.s + 1.0 / w.head_dim,
        n_loc=w.E / e * one, stage_frac=stage_frac, mem_fixed=mem_fixed, mem_imb=mem_imb,
        tp_bytes=tp_count * coll_bytes, tp_count=tp_count, cp_bytes=cp_bytes,
        cp_count=cp_count, a2a_local=a2a_vals * local, a2a_remote=a2a_vals * remote,
        a2a_count=ep_on * (4.0 + 2.0 * full), pp_bytes=pp_mult * 4.0 * Tl * d,
        pp_count=pp_mult * 2.0, z1_bytes=z1,
        dp_count=np.where(sharded, 0.0, 2.0 * ((gd > 1) | (ge > 1))), sh_bytes=sh,
        sh_count=sharded * 3.0 * stage_frac * w.L * ((sd > 1) | (se > 1)), hs_bytes=hs,
        hs_count=hsdp * 2.0 * ((rd > 1) | (re_ > 1)), opt_params=opt_params,
        inside=inside, nics=nics, e_inside=(e <= domain))


def evaluate(cd: Candidates, m, w: Work, fab: Fabric, c: Coefs, mem=None,
             geo: Geometry | None = None) -> StepArrays:
    """Step time and memory of every candidate with ``m`` micro-batches per step (``mem``:
    its :func:`memory_per_gpu` and ``geo`` its :func:`geometry`, when already computed)."""
    g = GLOBAL
    if geo is None:
        geo = geometry(cd, w, fab.low_precision, fab.domain)
    hbm = fab.hbm_bytes_per_s
    mem_rate = hbm * c.mem_eff
    in_b = 2.0 - fab.low_precision * geo.low_gemm
    rate = fab.peak_bf16 * (1.0 + (fab.gemm_gain - 1.0) * geo.low_gemm)
    eff = c.gemm_eff / (1.0 + c.w0 * geo.gemm_inv)
    g_t = np.maximum(geo.gemm_flops / (rate * eff),
                     (in_b * geo.gemm_bytes_in + geo.gemm_bytes_out) / mem_rate)
    imb = c.imbalance
    attn = g_t[0] + g_t[1]
    dense_mlp = g_t[2] + g_t[3]
    is_moe = w.is_moe
    shared = (g_t[6] + g_t[7]) * (w.S > 0)
    routed = (w.E > 1) * 1.0
    moe_mlp = (geo.n_loc * (g_t[4] + g_t[5]) * imb + shared + routed * g_t[8]) * is_moe
    core = geo.core_flops / (fab.peak_bf16 * c.gemm_eff / (1.0 + c.w0 * geo.core_inv))
    full = geo.full
    sf = geo.stage_frac
    gemm_fwd = w.L_dense * (attn + dense_mlp) + w.L_moe * (attn + moe_mlp)
    comp_mb = sf * ((3.0 + full) * gemm_fwd + (3.5 + full) * w.L * core) + 3.0 * g_t[9] / geo.p
    mem_mb = (geo.mem_fixed + imb * geo.mem_imb) / mem_rate
    gemm_window = sf * 3.0 * gemm_fwd
    fl = geo.gemm_flops
    moe_fl = (geo.n_loc * (fl[4] + fl[5]) + (w.S > 0) * (fl[6] + fl[7])
              + routed * fl[8]) * is_moe
    flops_mb = (sf * ((w.L_dense * (fl[0] + fl[1] + fl[2] + fl[3])
                       + w.L_moe * (fl[0] + fl[1] + moe_fl)) * (3.0 + full)
                      + w.L * geo.core_flops * (3.5 + full)) + 3.0 * fl[9] / geo.p)
    ov = c.overlap
    # achieved bandwidth of each group (tp, cp, pp, dp, shard, replica): the scale-up link
    # inside one domain; across domains each of the k members inside a domain drives its own
    # NIC and a ring crosses the boundary once per channel, so a member sees k NICs' worth
    # (NCCL rings on rail-optimised networks), at most the scale-up link
    up, out = fab.up_bytes_per_s, fab.out_bytes_per_s
    bw = np.where(geo.inside, up, np.minimum(out * geo.nics, up)) * c.comm_eff
    lat = np.where(geo.inside, g.collective_latency_up_s, g.collective_latency_out_s)
    tp_raw = geo.tp_bytes / bw[0] + geo.tp_count * lat[0]
    tp_exp = tp_raw - np.minimum(ov * tp_raw, gemm_window)
    cp_raw = geo.cp_bytes / bw[1] + geo.cp_count * lat[1]
    cp_exp = cp_raw - np.minimum(ov * cp_raw, sf * w.L * core * (3.5 + full))
    a2a_lat = np.where(geo.e_inside, g.collective_latency_up_s, g.collective_latency_out_s)
    ep_raw = (np.maximum(geo.a2a_local / (up * c.comm_eff), geo.a2a_remote / (out * c.comm_eff))
              + geo.a2a_count * a2a_lat)
    dual = geo.dual
    # DualPipe overlaps a micro-batch's all-to-all (and its pipeline sends) with another's
    # compute, by design fully ("both all-to-all and PP communication can be fully hidden",
    # DeepSeek-V3 Sec. 3.2.1): only what exceeds the compute stays exposed
    ep_exp = np.where(dual, np.maximum(ep_raw - comp_mb, 0.0),
                      ep_raw - np.minimum(ov * ep_raw, sf * w.L_moe * 3.0 * shared))
    pp_raw = geo.pp_bytes / bw[2] + geo.pp_count * lat[2]
    pp_exp = np.where(dual, np.maximum(pp_raw - comp_mb, 0.0),
                      pp_raw - np.minimum(ov * pp_raw, comp_mb))
    window = comp_mb + mem_mb
    z3_raw = geo.sh_bytes / bw[4] + geo.sh_count * lat[4]
    z3_exp = z3_raw - np.minimum(ov * z3_raw, window)
    dp_raw = (geo.hs_bytes / bw[5] + geo.hs_count * lat[5]
              + geo.z1_bytes / bw[3] + geo.dp_count * lat[3])
    dp_exp = dp_raw - np.minimum(ov * dp_raw, window)
    opt_s = g.optimizer_bytes_per_param * geo.opt_params / mem_rate
    t_mb = comp_mb + mem_mb + tp_exp + cp_exp + ep_exp + pp_exp + z3_exp
    # 1F1B: (p - 1) / v micro-batches of fill and drain. DualPipe: (p/2 - 1)(F&B + B - 3W)
    # (DeepSeek-V3 Table 2) = (p/2 - 1) x 2/3 of a micro-batch with B = 2F, W = B/2
    p = geo.p
    bubble = np.where(dual, np.maximum(p / 2.0 - 1.0, 0.0) * (2.0 / 3.0),
                      (p - 1.0) / geo.v) * t_mb
    step = m * t_mb + bubble + dp_exp + opt_s
    if mem is None:
        mem = memory_per_gpu(cd, w, fab.low_precision, m, fab.domain)
    return StepArrays(
        step_s=step, compute_s=m * comp_mb, memory_s=m * mem_mb, tp_s=m * tp_exp,
        cp_s=m * cp_exp, ep_s=m * ep_exp, pp_s=m * pp_exp, dp_s=m * z3_exp + dp_exp,
        bubble_s=bubble, optimizer_s=opt_s, memory_bytes=mem,
        hardware_flops=m * flops_mb)


def optimal_batch_tokens(w: Work, shape: ModelShape, tokens: float) -> float:
    """DeepSeek LLM's batch law B_opt = 0.2920 C^0.3271 tokens (arXiv:2401.02954, Sec. 3.1),
    C = M D, M = 6 x non-embedding matrix weights per token + 12 n_layer q_dim l_seq
    (their 72 n_layer d^2 + 12 n_layer d l_seq for a standard dense block; active weights for a
    mixture of experts)."""
    non_emb = shape.matmul_params_per_token - shape.vocab * shape.d_model
    m_flops = 6.0 * non_emb + 12.0 * shape.n_layers * shape.q_dim * w.s
    c = m_flops * float(tokens)
    return GLOBAL.batch_law_coefficient * c ** GLOBAL.batch_law_exponent


def batch_tokens_multiplier(batch_tokens, b_noise: float):
    """Tokens needed at batch ``B`` relative to the plan's, McCandlish et al. 2018
    (arXiv:1812.06162, Eq. 2.11): ``E / E_min = 1 + B / B_noise``, normalised to 1 at
    ``B <= B_noise`` (the plan's tokens are taken to be those of a run at the useful batch;
    smaller batches are not credited). ``B_noise`` is the useful batch (judgement: DeepSeek's
    B_opt)."""
    x = np.asarray(batch_tokens, dtype=float) / b_noise
    return np.where(x > 1.0, (1.0 + x) / 2.0, 1.0)


def ceil_div(a, b):
    return -(-a // b)


def is_pow2(x: int) -> bool:
    return x > 0 and (x & (x - 1)) == 0


def log2i(x: int) -> int:
    return int(math.log2(x))
