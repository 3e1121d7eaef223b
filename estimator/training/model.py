"""The step model: time and memory of one optimizer step for arrays of candidate layouts.

Everything here is vectorised with numpy: a :class:`Candidates` holds one entry per layout and
:func:`evaluate` returns arrays of the same length. Shape quantities (:class:`Work`), chip
quantities (:class:`Fabric`) and constants may themselves be arrays of that length, which is how
the calibration evaluates all 240 measured layouts in one call (:func:`geometry`, each
candidate its own structure).

The planner's path is factored (numpy's cost here is per operation, not per element): a
:func:`struct_table` per GPU count and domain holds every factor that depends only on the
parallel degrees; :func:`table_memory` gives the memory as ``state + b x per_sequence`` (linear
in the micro-batch ``b``); :func:`layout_geometry` combines the table with the shape's numbers
per structure, per structure and recompute, and per matrix-shape key (micro-batch tokens,
``t``, ``e``), and :meth:`LayoutGeometry.take` gives the per-candidate :class:`Geometry` of
the candidates that fit. Tests check both paths give the same steps.

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

Memory per GPU: ZeRO-1 ``4 + 12 / g`` bytes per parameter (bf16 weights and gradients,
sharded fp32 master and Adam moments; Megatron-LM's distributed optimizer), ZeRO-3
``16 / g`` plus one gathered layer (6 B per parameter); fp8 adds a 1-byte weight copy;
DualPipe a second copy of weights and gradients (4 B); activations per layer and
micro-batch (bf16, counting each stored tensor: ``2 (2 d + q + 2 kv + q)`` attention,
``2 (2 d + (u + 1) f)`` MLP per token, over ``t``; selective drops the norm outputs and the
activation output, full keeps ``2 d``; with FlashAttention no ``s^2`` term; cf. Korthikanti
2022 Eq. 2, ``34 s b h``), times the ``min(p, m)`` micro-batches in flight on the first
stage of a 1F1B pipeline (x ``1 + (p-1)/(p v)`` interleaved; ``p + 1`` with DualPipe), plus
the logits ``4 T V / t`` bytes (:data:`LOGIT_BYTES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
    batch_flops_per_token: float  # DeepSeek LLM's M (optimal_batch_tokens), at this seq_len
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
        n_active=shape.active_params, n_total=total, is_moe=1.0 if shape.is_moe else 0.0,
        batch_flops_per_token=6.0 * (shape.matmul_params_per_token - shape.vocab * d)
        + 12.0 * shape.n_layers * shape.q_dim * s)


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
    """What :func:`evaluate` returns: seconds per step, per micro-batch components (the
    per-step ones, ``compute_s`` ..., are properties: ``m x`` the component), bytes and
    FLOPs per GPU."""

    step_s: np.ndarray
    m: np.ndarray  # micro-batches per step
    comp_mb: np.ndarray
    mem_mb: np.ndarray
    tp_mb: np.ndarray
    cp_mb: np.ndarray
    ep_mb: np.ndarray
    pp_mb: np.ndarray
    shard_mb: np.ndarray  # ZeRO-3 collectives, per micro-batch
    dp_step: np.ndarray  # ZeRO-1 / hybrid-sharding collectives, per step
    bubble_s: np.ndarray
    optimizer_s: np.ndarray
    memory_bytes: np.ndarray
    flops_mb: np.ndarray  # FLOPs executed per micro-batch per GPU (recompute included)

    compute_s = property(lambda self: self.m * self.comp_mb)
    memory_s = property(lambda self: self.m * self.mem_mb)
    tp_s = property(lambda self: self.m * self.tp_mb)
    cp_s = property(lambda self: self.m * self.cp_mb)
    ep_s = property(lambda self: self.m * self.ep_mb)
    pp_s = property(lambda self: self.m * self.pp_mb)
    dp_s = property(lambda self: self.m * self.shard_mb + self.dp_step)
    #: FLOPs executed per step per GPU
    hardware_flops = property(lambda self: self.m * self.flops_mb)

    def take(self, idx) -> StepArrays:
        out = {}
        for k in self.__dataclass_fields__:
            a = getattr(self, k)
            out[k] = a[idx] if _arr(a) else np.full(len(idx), a)
        return StepArrays(**out)


def _arr(x) -> bool:
    """Whether a shape or fabric number is an array (the calibration) rather than a scalar."""
    return isinstance(x, np.ndarray) and x.ndim > 0


def _shard_degrees(t, cp, e, dp, zero, domain):
    """Sharding degrees of the dense and expert weights: ``g_d = dp c`` data-parallel ranks
    share the dense weights, ``g_e = dp t c / e`` the experts; hybrid sharding (HSDP, code 4)
    shards only over the ranks inside one scale-up domain and replicates across domains."""
    gd = dp * cp
    ge = np.maximum(gd * t / e, 1.0)
    inner = np.maximum(np.floor(domain / t), 1.0)
    hsdp = zero == 4
    sd = np.where(hsdp, np.minimum(gd, inner), gd)
    se = np.where(hsdp, np.minimum(ge, inner), ge)
    return gd, ge, sd, se


def memory_parts(t, p, cp, e, dp, zero, v, m, w: Work, low_precision, domain=8.0):
    """Bytes per GPU of layouts as ``state + b x per_sequence[recompute]``: the model state
    (weights, gradients, optimizer; ZeRO-1 ``4 + 12 / g`` bytes per parameter, ZeRO-3
    ``16 / g`` plus one gathered layer, fp8 a 1-byte weight copy, DualPipe two copies) and,
    per sequence of a micro-batch of ``b``, the activations and logits for each recompute
    option (rows none, selective, full). Activations are linear in ``b``, so the micro-batch
    axis of the search costs no array work (module docstring, "Memory per GPU")."""
    gd, ge, sd, se = _shard_degrees(t, cp, e, dp, zero, domain)
    sharded = zero >= 3
    dual = v == 0  # DualPipe: two copies of the stage's weights and gradients
    pd_loc = w.params_dense / (t * p)
    if _arr(w.params_expert) or w.params_expert > 0:
        pe_loc = w.params_expert / (p * e)
        state1 = pd_loc * (4.0 + 12.0 / gd) + pe_loc * (4.0 + 12.0 / ge)
        own3 = pd_loc / sd + pe_loc / se
        buf3 = 6.0 * (w.params_layer_dense / t + w.params_layer_expert / e)
        local = pd_loc + pe_loc
    else:  # dense: no expert terms
        state1 = pd_loc * (4.0 + 12.0 / gd)
        own3 = pd_loc / sd
        buf3 = (6.0 * w.params_layer_dense) / t
        local = pd_loc
    state = (np.where(sharded, (16.0 + low_precision) * own3 + buf3,
                      state1 + low_precision * local) + dual * 4.0 * local)
    d = w.d
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
    tok = w.s / (cp * t)  # tokens of one sequence on one rank, over t
    # micro-batches in flight on the first 1F1B stage (x 1 + (p-1)/(p v) interleaved;
    # DualPipe p + 1)
    inflight = 1.0 + (p > 1) * (np.minimum(p, m) - 1.0)
    inflight = inflight * (1.0 + (v > 1) * (p - 1.0) / (p * np.maximum(v, 1.0)))
    inflight = np.where(dual, p + 1.0, inflight)
    layers = (2.0 * tok) * np.ceil(w.L / p) * inflight
    logits = (LOGIT_BYTES * w.V) * tok
    per_seq = np.stack(np.broadcast_arrays(per_tok_none, per_tok_sel, d * np.ones_like(layers))
                       ) * layers + logits
    per_seq[2] += (2.0 * np.maximum(dense_none, moe_none * w.is_moe)) * tok
    state = np.broadcast_to(state, per_seq.shape[1:])
    return state, per_seq


def memory_per_gpu(cd: Candidates, w: Work, low_precision, m, domain=8.0) -> np.ndarray:
    """Bytes per GPU of a layout (module docstring, "Memory per GPU"; :func:`memory_parts`)."""
    state, per_seq = memory_parts(cd.tp, cd.pp, cd.cp, cd.ep, cd.dp, cd.zero, cd.v, m, w,
                                  low_precision, domain)
    rec = cd.rec.astype(int)
    return state + cd.mb * np.take_along_axis(per_seq, rec[None, :], axis=0)[0]


#: Which of the ten multiplies split N or K over tensor parallelism, and which run at the
#: low precision (rows: attn in, attn out, MLP up, down, expert up, down, shared up, down,
#: router, head).
_SPLIT_N = np.array([1.0, 0, 1, 0, 0, 0, 1, 0, 0, 1])[:, None]
_SPLIT_K = np.array([0.0, 1, 0, 1, 0, 0, 0, 1, 0, 0])[:, None]
_LOW_GEMM = np.array([1.0] * 8 + [0.0, 0.0])[:, None]
#: Rows of LayoutGeometry.sr (per structure and recompute; the first six per sequence of a
#: micro-batch) and of LayoutGeometry.s (per structure; the first per sequence). The count
#: rows (_SR_TPC, _SR_CPC, _SR_A2C, _S_PPC, _S_C3-5) end as count x latency (s).
_SR_MEM, _SR_IMB, _SR_TPB, _SR_CPB, _SR_A2L, _SR_A2R, _SR_TPC, _SR_CPC, _SR_A2C = range(9)
_S_PPB, _S_PPC, _S_B3, _S_B4, _S_B5, _S_C3, _S_C4, _S_C5, _S_OPT, _S_P, _S_V, _S_DUAL, \
    _S_SF, _S_L, _S_LM = range(15)


def _rows(*vals) -> np.ndarray:
    """A (10, 1) column of per-multiply shape numbers, or (10, n) when they are arrays."""
    if not any(_arr(x) for x in vals):
        return np.array(vals, dtype=float)[:, None]
    return np.stack(np.broadcast_arrays(*vals)).astype(float)


@dataclass
class Geometry:
    """What the step time of each candidate needs that depends only on the shape, the layouts
    and the fabric's domain size (not on rates or fitted constants): per candidate the
    memory-bound bytes and collectives, per structure (``s_idx``) the placement of each
    communication group, per matrix-multiply key (``key``: micro-batch tokens, ``t``, ``e``)
    the FLOPs and bytes of the ten multiplies and of the attention core. Built by
    :meth:`LayoutGeometry.take`; :func:`evaluate` then applies rates."""

    s_idx: np.ndarray  # structure of each candidate (rows of inside / nics / e_inside)
    key: np.ndarray  # matrix-multiply key of each candidate (columns of the gemm tables)
    full: np.ndarray
    p: np.ndarray
    v: np.ndarray
    dual: np.ndarray
    stage_frac: np.ndarray
    mem_fixed: np.ndarray  # memory-bound bytes per micro-batch, not scaled by imbalance
    mem_imb: np.ndarray  # ... scaled by the MoE imbalance
    # collectives per micro-batch (rows 0-2, 4) or per step (3, 5), rows as the groups:
    # tp, cp, pp, dp (ZeRO-1), shard (ZeRO-3 / HSDP inside), replica (HSDP across)
    comm_bytes: np.ndarray  # (6, n)
    comm_lat: np.ndarray  # (6, n): collective latencies, s
    a2a_local: np.ndarray
    a2a_remote: np.ndarray
    a2a_lat: np.ndarray  # all-to-all latencies, s
    opt_params: np.ndarray
    flops_mb: np.ndarray  # FLOPs executed per micro-batch (recompute included)
    # per structure: group placement, rows tp, cp, pp, dp, shard, hybrid-replica
    inside: np.ndarray  # (6, S)
    nics: np.ndarray  # (6, S)
    e_inside: np.ndarray  # (S,)
    # per key
    gemm_flops: np.ndarray  # (10, K)
    gemm_inv: np.ndarray  # (10, K): 1/M + 1/N + 1/K
    gemm_bytes_in: np.ndarray  # (10, K): M K + K N elements (operands)
    gemm_bytes_out: np.ndarray  # (10, K): 2 M N bytes (bf16 output)
    core_flops: np.ndarray  # (K,)
    core_inv: np.ndarray  # (K,)
    n_loc: np.ndarray  # (K,): routed experts per GPU
    #: per key: the shape's dense and MoE layers, whether it has shared experts, routed
    #: experts and is a mixture (arrays when one grid holds several shapes, else scalars)
    key_shape: tuple
    #: per candidate: the shape's layers and MoE layers
    layers: np.ndarray
    moe_layers: np.ndarray
    #: (10, 1): 1 for the blocks' linear layers (fp8-capable)
    low_gemm: np.ndarray = field(default_factory=lambda: _LOW_GEMM)

    _PER_CANDIDATE = ("s_idx", "key", "full", "p", "v", "dual", "stage_frac", "mem_fixed",
                      "mem_imb", "comm_bytes", "comm_lat", "a2a_local", "a2a_remote",
                      "a2a_lat", "opt_params", "flops_mb", "layers", "moe_layers")

    def __len__(self) -> int:
        return len(self.full)

    def take(self, idx) -> Geometry:
        """The candidates ``idx`` (the per-structure and per-key tables are shared)."""
        out = {}
        for f in self.__dataclass_fields__:
            a = getattr(self, f)
            out[f] = (a[..., idx] if a.ndim == 2 else a[idx]) if f in self._PER_CANDIDATE \
                else a
        return Geometry(**out)


@dataclass
class LayoutGeometry:
    """The geometry of a grid of candidates, structure x micro-batch x recompute, factored:
    what is linear in the micro-batch is kept per sequence, what depends on the matrix
    shapes per key (tokens of a micro-batch, ``t``, ``e``: a few dozen), the rest per
    structure. :meth:`take` gives the :class:`Geometry` of any candidates of the grid, so
    one LayoutGeometry serves every chip with the same domain and precision class."""

    mbs: np.ndarray  # (B,) micro-batches of the grid
    fullr: np.ndarray  # (R,) 1 where the recompute option is full
    sr: np.ndarray  # (9, S, R) per structure and recompute (rows _SR_*)
    s: np.ndarray  # (13, S) per structure (rows _S_*)
    kidx: np.ndarray  # (S,) matrix-shape class of each structure (key = kidx x B + b)
    tables: dict  # the per-structure and per-key fields of Geometry

    def take(self, s_idx, b_idx, r_idx) -> Geometry:
        B = len(self.mbs)
        mb = self.mbs[b_idx]
        sr = self.sr[:, s_idx, r_idx]
        st = self.s[:, s_idx]
        n = len(s_idx)
        comm_bytes = np.empty((6, n))
        comm_bytes[0:2] = sr[_SR_TPB:_SR_CPB + 1] * mb
        comm_bytes[2] = st[_S_PPB] * mb
        comm_bytes[3:] = st[_S_B3:_S_B5 + 1]
        tb = self.tables
        comm_lat = np.empty((6, n))  # the count rows hold count x latency
        comm_lat[0:2] = sr[_SR_TPC:_SR_CPC + 1]
        comm_lat[2] = st[_S_PPC]
        comm_lat[3:] = st[_S_C3:_S_C5 + 1]
        a2a_lat = sr[_SR_A2C]
        key = self.kidx[s_idx] * B + b_idx
        full = self.fullr[r_idx]
        p = st[_S_P]
        sf = st[_S_SF]
        flops_mb = (sf * (tb["flops_fwd"][key] * (3.0 + full) + tb["flops_core"][key]
                          * (3.5 + full)) + 3.0 * tb["flops_head"][key] / p)
        return Geometry(
            s_idx=s_idx, key=key, full=full, p=p, v=st[_S_V], dual=st[_S_DUAL] > 0,
            stage_frac=sf, mem_fixed=sr[_SR_MEM] * mb, mem_imb=sr[_SR_IMB] * mb,
            comm_bytes=comm_bytes, comm_lat=comm_lat, a2a_local=sr[_SR_A2L] * mb,
            a2a_remote=sr[_SR_A2R] * mb, a2a_lat=a2a_lat, opt_params=st[_S_OPT],
            flops_mb=flops_mb, layers=st[_S_L], moe_layers=st[_S_LM],
            **{k: v for k, v in tb.items() if not k.startswith("flops_")})


def _col(x):
    """``x`` against a trailing axis: (S,) -> (S, 1); scalars stay scalars."""
    return x[:, None] if _arr(x) else x


#: Rows of a structure table (:func:`struct_table`): the structure, then factors that depend
#: only on it and the domain (shape numbers multiply them later), then group placement.
(_F_T, _F_C, _F_P, _F_V, _F_Z, _F_DP, _F_E, _F_ICT, _F_ICTP, _F_ITP, _F_IPE, _F_TPON,
 _F_TPB, _F_CPF, _F_PPM, _F_B3D, _F_B3E, _F_C3, _F_B4D, _F_B4E, _F_C4, _F_B5D, _F_B5E,
 _F_C5, _F_OD, _F_OE, _F_SD, _F_SE, _F_LD, _F_LE, _F_GD, _F_GE, _F_INFL, _F_DUAL, _F_VV,
 _F_EIN) = range(36)
_F_IN = 36  # 6 rows: inside one domain (tp, cp, pp, dp, shard, replica)
_F_NIC = 42  # 6 rows: NICs a member of the group drives
_F_ROWS = 48


def struct_table(t, c, p, v, zero, dp, e, domain) -> np.ndarray:
    """The (48, S) table of structures ``(t, c, p, v, zero, dp, e)``: every factor of the
    step and memory model that depends only on the parallel degrees and the domain size
    (sharding degrees, collective shares, micro-batches in flight with a full pipeline,
    group placement), so a shape only multiplies them by its numbers. Built once per GPU
    count and domain (cached with the layout menu) and shared by every shape and chip."""
    g = GLOBAL
    t, c, p, v, zero, dp, e = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (
        t, c, p, v, zero, dp, e)))
    S = t.shape[0]
    out = np.empty((_F_ROWS, S))
    out[_F_T], out[_F_C], out[_F_P], out[_F_V], out[_F_Z], out[_F_DP], out[_F_E] = (
        t, c, p, v, zero, dp, e)
    gd, ge, sd, se = _shard_degrees(t, c, e, dp, zero, domain)
    rd, re_ = gd / sd, ge / se
    sh = (zero >= 3) * 1.0
    unsh = 1.0 - sh
    hsdp = (zero == 4) * 1.0
    dual = (v == 0) * 1.0
    vv = np.maximum(v, 1.0)
    itp = 1.0 / (t * p)
    ipe = 1.0 / (p * e)
    gb, pb = g.grad_reduce_bytes, g.param_gather_bytes
    out[_F_ICT] = 1.0 / (c * t)
    out[_F_ICTP] = out[_F_ICT] / p
    out[_F_ITP] = itp
    out[_F_IPE] = ipe
    out[_F_TPON] = t > 1
    out[_F_TPB] = (1.0 - 1.0 / t) * 2.0 / c
    out[_F_CPF] = (c > 1) * (c - 1.0)
    out[_F_PPM] = (p > 1) * np.where(dual > 0, 2.0, vv)
    out[_F_B3D] = unsh * (gb + pb) * (gd - 1.0) / gd * itp
    out[_F_B3E] = unsh * (gb + pb) * (ge - 1.0) / ge * ipe
    out[_F_C3] = unsh * 2.0 * ((gd > 1) | (ge > 1))
    out[_F_B4D] = sh * (2.0 * pb + gb) * (sd - 1.0) / sd * itp
    out[_F_B4E] = sh * (2.0 * pb + gb) * (se - 1.0) / se * ipe
    out[_F_C4] = sh * 3.0 * ((sd > 1) | (se > 1))
    out[_F_B5D] = hsdp * 2.0 * gb * (rd - 1.0) / rd * itp / sd
    out[_F_B5E] = hsdp * 2.0 * gb * (re_ - 1.0) / re_ * ipe / se
    out[_F_C5] = hsdp * 2.0 * ((rd > 1) | (re_ > 1))
    out[_F_OD] = itp / np.where(sh > 0, sd, gd)
    out[_F_OE] = ipe / np.where(sh > 0, se, ge)
    # state per parameter: ZeRO-3 16 / g (+ 1 B fp8 copy), ZeRO-1 4 + 12 / g (+ 1), DualPipe
    # a second copy of weights and gradients (4 B), ZeRO-3's gathered layer (6 B)
    out[_F_SD] = (sh * 16.0 / sd + unsh * (4.0 + 12.0 / gd) + dual * 4.0) * itp
    out[_F_SE] = (sh * 16.0 / se + unsh * (4.0 + 12.0 / ge) + dual * 4.0) * ipe
    out[_F_LD] = (sh / sd + unsh) * itp
    out[_F_LE] = (sh / se + unsh) * ipe
    out[_F_GD] = sh * 6.0 / t
    out[_F_GE] = sh * 6.0 / e
    # micro-batches in flight on the first stage with a full pipeline (min(p, m) = p)
    out[_F_INFL] = np.where(dual > 0, p + 1.0, p * (1.0 + (v > 1) * (p - 1.0) / (p * vv)))
    out[_F_DUAL] = dual
    out[_F_VV] = vv
    out[_F_EIN] = e <= domain
    # groups: ranks ordered tp, cp, dp (ep folded into them), pp outermost
    stride = np.empty((6, S))
    stride[0] = 1.0
    stride[1] = t
    stride[2] = t * c * dp
    stride[3:5] = t
    stride[5] = domain
    size = np.empty((6, S))
    size[0] = t
    size[1] = c
    size[2] = 2.0
    size[3] = gd
    size[4] = sd
    size[5] = rd
    out[_F_IN:_F_IN + 6] = stride * size <= domain
    out[_F_NIC:_F_NIC + 6] = np.minimum(np.maximum(np.floor(domain / stride), 1.0), size)
    return out


def table_memory(tab: np.ndarray, w: Work, low_precision) -> tuple[np.ndarray, np.ndarray]:
    """:func:`memory_parts` from a structure table with a full pipeline in flight
    (``m = p``): ``state`` (S,) and ``per_seq`` (3, S), rows none, selective, full."""
    state = w.params_dense * (tab[_F_SD] + low_precision * tab[_F_LD]) \
        + w.params_layer_dense * tab[_F_GD]
    if _arr(w.params_expert) or w.params_expert > 0:
        state = state + w.params_expert * (tab[_F_SE] + low_precision * tab[_F_LE]) \
            + w.params_layer_expert * tab[_F_GE]
    ptok, extra = _per_token_bytes(w)
    tok = w.s * tab[_F_ICT]
    layers = (2.0 * tok) * np.ceil(w.L / tab[_F_P]) * tab[_F_INFL]
    per_seq = _rows3(*ptok) * layers + (LOGIT_BYTES * w.V) * tok
    per_seq[2] += extra * tok
    return state, per_seq


def _rows3(a, b, c) -> np.ndarray:
    if not (_arr(a) or _arr(b) or _arr(c)):
        return np.array([a, b, c], dtype=float)[:, None]
    return np.stack(np.broadcast_arrays(a, b, c)).astype(float)


def _per_token_bytes(w: Work):
    """Activation bytes per token and layer over ``t`` (none, selective, full: ``x 2``) and
    the full recompute's one-layer working set (module docstring, "Memory per GPU")."""
    d = w.d
    attn_vals = 2.0 * d + w.attn_in + w.attn_out
    dense_none = attn_vals + 2.0 * d + (w.u + 1.0) * w.f
    moe_none = attn_vals + (2.0 * d + w.k * ((w.E > 1) * d + (w.u + 1.0) * w.fe)
                            + w.S * (w.u + 1.0) * w.fe)
    none = (w.L_dense * dense_none + w.L_moe * moe_none) / w.L
    sel = (w.L_dense * (dense_none - 2.0 * d - w.f)
           + w.L_moe * (moe_none - 2.0 * d - (w.k + w.S) * w.fe)) / w.L
    return (none, sel, d * np.ones_like(none) if _arr(none) else d), \
        2.0 * np.maximum(dense_none, moe_none * w.is_moe)


def _expert_terms(w: Work):
    """The shape's expert widths and switches: shared-expert width ``S fe``, 1 where tokens
    are routed (more than one expert: a router and a permutation), 1 where there are shared
    experts."""
    return w.S * w.fe, (w.E > 1) * 1.0, (w.S > 0) * 1.0


def _work_at(w: Work, idx) -> Work:
    """``w`` with each array quantity taken at ``idx`` (scalars stay scalars)."""
    return Work(**{f: (v[idx] if _arr(v) else v) for f, v in w.__dict__.items()})


def layout_geometry(tab: np.ndarray, w: Work, low_precision, domain, mbs, recs,
                    mb_s=None, shared_keys: bool = True, group=None) -> LayoutGeometry:
    """The :class:`LayoutGeometry` of the structures of table ``tab``
    (:func:`struct_table`) with micro-batches ``mbs`` and recompute options ``recs``
    (module docstring for every term). ``mb_s`` scales the micro-batch per structure (the
    calibration, where each candidate is its own structure with ``mbs = [1]``);
    ``shared_keys`` groups the structures by matrix shapes; with several model shapes in one
    grid (the shape quantities are arrays over the structures) ``group`` says which shape
    each structure is of, and only structures of one shape share keys. Shape numbers
    (Python floats when planning one shape) are combined before they meet an array: each
    array operation is paid once per structure set."""
    g = GLOBAL
    S = tab.shape[1]
    t, c, p, e = tab[_F_T], tab[_F_C], tab[_F_P], tab[_F_E]
    mbs = np.asarray(mbs, dtype=float)
    B = len(mbs)
    recs = np.asarray(recs, dtype=float)
    fullr = (recs == REC_FULL).astype(float)
    selr = (recs == REC_SELECTIVE).astype(float)
    d, low = w.d, low_precision
    s_unit = w.s if mb_s is None else w.s * mb_s
    Tl1 = s_unit * tab[_F_ICT]  # tokens of one micro-batch sequence on one rank, over t
    sf = np.ceil(w.L / p) * (1.0 / w.L)  # layers on the busiest stage over all layers
    sfe, routed, has_shared = _expert_terms(w)
    moe = bool(np.any(w.is_moe > 0))  # any shape of the grid a mixture
    # -- memory-bound bytes per sequence on the busiest stage, all linear in Tl1 ----------
    # norms, residuals, rotary (20 d + 4 rope), activation function, MoE permutation; fp8
    # casts (3 B per element of each multiply input, forward and backward); the head
    base = 20.0 * d + 4.0 * w.rope
    a_dense = base + w.act_bytes * w.f
    a_moe0 = base + routed * w.k * 8.0 * d + w.act_bytes * sfe
    a_moei = w.k * w.act_bytes * w.fe
    x_fwd = w.L_dense * a_dense + w.L_moe * a_moe0  # x (3 + full)
    x_sel = (w.L_dense * (8.0 * d + w.act_bytes * w.f)
             + w.L_moe * (8.0 * d + a_moei + w.act_bytes * sfe))
    # casts: dense 6 (3 d t + q + f), MoE 6 (2 d t + q + k (d + fe)) per Tl1
    z0 = 6.0 * low * ((w.L_dense + w.L_moe) * w.attn_out + w.L_dense * w.f
                      + w.L_moe * w.k * (d + w.fe))
    z1 = 6.0 * low * d * (3.0 * w.L_dense + 2.0 * w.L_moe)
    head = 3.0 * (w.V * g.loss_bytes_per_logit + 6.0 * d)
    coef = (3.0 + fullr) * _col(x_fwd) + selr * _col(x_sel)  # (R,) or (S, R)
    sr = np.zeros((9, S, len(recs)))
    sfT = sf * Tl1
    sr[_SR_MEM] = sfT[:, None] * (coef + (z0 + z1 * t)[:, None])
    sr[_SR_MEM] += ((s_unit * head) * tab[_F_ICTP])[:, None]
    # -- communication volumes ---------------------------------------------------------------
    tp_per = (_col(w.L_dense) * (8.0 + 4.0 * fullr)
              + _col(w.L_moe) * (4.0 + 2.0 * fullr) * (1.0 + _col(has_shared)))
    sr[_SR_TPC] = (tab[_F_TPON] * sf)[:, None] * tp_per
    sr[_SR_TPB] = sr[_SR_TPC] * ((s_unit * d) * tab[_F_TPB])[:, None]
    sr[_SR_CPC] = (tab[_F_CPF] * sf * w.L)[:, None] * (3.0 + fullr)
    sr[_SR_CPB] = sr[_SR_CPC] * (Tl1 * (2.0 * w.kv_gather))[:, None]
    if moe:
        sr[_SR_IMB] = (sfT * (w.L_moe * a_moei))[:, None] * (3.0 + fullr)
        # Dispatch (fp8 in low precision, DeepSeek-V3 Sec. 3.3) and combine forward, their
        # gradients backward. A token crosses to each remote domain holding one of its
        # experts once and fans out inside it (node-limited, deduplicated dispatch:
        # DeepSeek-V3 Sec. 3.2.2); with k experts drawn from D domains,
        # (D - 1)(1 - (1 - 1/D)^k) remote domains.
        in_b = 2.0 - low  # fp8/fp4 operands: 1 byte
        ep_on = (e > 1) * (sf * w.L_moe)
        n_dom = np.maximum(e / np.minimum(e, domain), 1.0)
        remote = (n_dom - 1.0) * (1.0 - (1.0 - 1.0 / n_dom) ** w.k)
        local = w.k * (e - 1.0) / e
        vals = (ep_on * Tl1 * d)[:, None] * (_col(in_b + 6.0) + fullr * _col(in_b + 2.0))
        sr[_SR_A2L] = vals * local[:, None]
        sr[_SR_A2R] = vals * remote[:, None]
        sr[_SR_A2C] = ep_on[:, None] * (4.0 + 2.0 * fullr)
    ss = np.empty((15, S))
    ss[_S_PPB] = tab[_F_PPM] * (4.0 * d) * Tl1
    ss[_S_PPC] = tab[_F_PPM] * 2.0
    Pd, Pe = w.params_dense, w.params_expert
    if moe:
        ss[_S_B3] = Pd * tab[_F_B3D] + Pe * tab[_F_B3E]
        ss[_S_B4] = Pd * tab[_F_B4D] + Pe * tab[_F_B4E]
        ss[_S_B5] = Pd * tab[_F_B5D] + Pe * tab[_F_B5E]
        ss[_S_OPT] = Pd * tab[_F_OD] + Pe * tab[_F_OE]
    else:
        ss[_S_B3] = Pd * tab[_F_B3D]
        ss[_S_B4] = Pd * tab[_F_B4D]
        ss[_S_B5] = Pd * tab[_F_B5D]
        ss[_S_OPT] = Pd * tab[_F_OD]
    ss[_S_C3] = tab[_F_C3]
    ss[_S_C4] = tab[_F_C4] * sf * w.L
    ss[_S_C5] = tab[_F_C5]
    ss[_S_P] = p
    ss[_S_V] = tab[_F_VV]
    ss[_S_DUAL] = tab[_F_DUAL]
    ss[_S_SF] = sf
    ss[_S_L] = w.L  # the shape's layers (several shapes in one grid: per structure)
    ss[_S_LM] = w.L_moe
    # collective counts -> their latency (s): 10 us inside a domain, 30 us across
    lat_up, lat_out = g.collective_latency_up_s, g.collective_latency_out_s
    lat = np.where(tab[_F_IN:_F_IN + 6] > 0, lat_up, lat_out)
    sr[_SR_TPC] *= lat[0][:, None]
    sr[_SR_CPC] *= lat[1][:, None]
    ss[_S_PPC] *= lat[2]
    ss[_S_C3:_S_C5 + 1] *= lat[3:6]
    if moe:
        sr[_SR_A2C] *= np.where(tab[_F_EIN] > 0, lat_up, lat_out)[:, None]
    # -- matrix-multiply keys: structures with the same (c, t, e) share their multiplies ------
    if shared_keys:
        code = (c * 64.0 + t) * 65536.0 + e
        if group is not None:
            code = code + group * (64.0 * 64.0 * 65536.0)
        uniq, first, kidx = np.unique(code, return_index=True, return_inverse=True)
        kc, kt, ke = (np.repeat(x[first], B) for x in (c, t, e))
        if group is not None:  # several shapes: their numbers per key from here on
            w = _work_at(w, np.repeat(first, B))
            d = w.d
            sfe, routed, has_shared = _expert_terms(w)
        Tk = np.tile(mbs, len(uniq)) * w.s / kc
    else:
        kidx = np.arange(S)
        kt, ke = t, e
        Tk = Tl1 * t * mbs[0]
    inv_kt = 1.0 / kt
    Tlk = Tk * inv_kt
    nk = len(Tk)
    M = np.empty((10, nk))
    M[:] = Tk
    M[4:6] = np.maximum(Tlk * (w.k / w.E) * ke, 1.0)
    M[8] = Tlk
    t_less = (inv_kt - 1.0)[None, :]
    N = _rows(w.attn_in, d, w.u * w.f, d, w.u * w.fe, d, w.u * sfe, d, w.E, w.V) * (
        1.0 + _SPLIT_N * t_less)
    K = _rows(d, w.attn_out, d, w.f, d, w.fe, d, sfe, d, d) * (1.0 + _SPLIT_K * t_less)
    N[6] = np.maximum(N[6], 1.0)
    K[7] = np.maximum(K[7], 1.0)
    MN = M * N
    fl = 2.0 * MN * K
    n_loc = w.E / ke * np.ones(nk)
    core_flops = w.core_flops * Tlk
    if moe:
        moe_fl = (n_loc * (fl[4] + fl[5]) + has_shared * (fl[6] + fl[7])
                  + routed * fl[8]) * w.is_moe
        fwd_fl = w.L_dense * (fl[0] + fl[1] + fl[2] + fl[3]) + w.L_moe * (fl[0] + fl[1] + moe_fl)
    else:
        fwd_fl = w.L_dense * (fl[0] + fl[1] + fl[2] + fl[3])
    tables = dict(
        inside=tab[_F_IN:_F_IN + 6] > 0, nics=tab[_F_NIC:_F_NIC + 6], e_inside=tab[_F_EIN] > 0,
        gemm_flops=fl, gemm_inv=1.0 / M + 1.0 / N + 1.0 / K,
        gemm_bytes_in=K * (M + N), gemm_bytes_out=2.0 * MN,
        core_flops=core_flops, core_inv=1.0 / Tk + (1.0 / w.s + 1.0 / w.head_dim),
        n_loc=n_loc, flops_fwd=fwd_fl, flops_core=w.L * core_flops, flops_head=fl[9],
        key_shape=(w.L_dense, w.L_moe, has_shared, routed, w.is_moe))
    return LayoutGeometry(mbs=mbs, fullr=fullr, sr=sr, s=ss, kidx=kidx, tables=tables)


def geometry(cd: Candidates, w: Work, low_precision, domain) -> Geometry:
    """The :class:`Geometry` of candidates ``cd`` (each its own structure: the general path,
    where the shape, the fabric and the constants may be arrays of the candidates' length)."""
    tab = struct_table(cd.tp, cd.cp, cd.pp, cd.v, cd.zero, cd.dp, cd.ep, domain)
    lg = layout_geometry(tab, w, low_precision, domain, mbs=[1.0], recs=[0, 1, 2],
                         mb_s=cd.mb, shared_keys=False)
    n = len(cd)
    return lg.take(np.arange(n), np.zeros(n, dtype=int), cd.rec.astype(int))


def evaluate(cd: Candidates, m, w: Work, fab: Fabric, c: Coefs, mem=None,
             geo: Geometry | None = None) -> StepArrays:
    """Step time and memory of every candidate with ``m`` micro-batches per step (``mem``:
    its :func:`memory_per_gpu` and ``geo`` its :func:`geometry`, when already computed)."""
    g = GLOBAL
    if geo is None:
        geo = geometry(cd, w, fab.low_precision, fab.domain)
    mem_rate = fab.hbm_bytes_per_s * c.mem_eff
    # the shape's numbers per matrix-multiply key and per candidate (a grid may hold several
    # shapes: layout_geometry)
    L_dense, L_moe, has_shared, routed, is_moe = geo.key_shape
    moe = bool(np.any(is_moe > 0))
    # -- per matrix-multiply key: max(FLOPs / (R eta), bytes / (B_hbm eta_m)) ------------------
    in_b = 2.0 - fab.low_precision * geo.low_gemm
    rate = fab.peak_bf16 * (1.0 + (fab.gemm_gain - 1.0) * geo.low_gemm)
    g_t = np.maximum(geo.gemm_flops * ((1.0 + c.w0 * geo.gemm_inv) / (rate * c.gemm_eff)),
                     (in_b * geo.gemm_bytes_in + geo.gemm_bytes_out) / mem_rate)
    imb = c.imbalance
    attn = g_t[0] + g_t[1]
    key = geo.key
    if moe:
        shared_k = (g_t[6] + g_t[7]) * has_shared
        moe_mlp = (geo.n_loc * (g_t[4] + g_t[5]) * imb + shared_k + routed * g_t[8]) * is_moe
        gemm_fwd = (L_dense * (attn + g_t[2] + g_t[3]) + L_moe * (attn + moe_mlp))[key]
    else:
        gemm_fwd = (L_dense * (attn + g_t[2] + g_t[3]))[key]
    head = g_t[9][key]
    core = (geo.core_flops * ((1.0 + c.w0 * geo.core_inv) / (fab.peak_bf16 * c.gemm_eff)))[key]
    # -- per candidate ----------------------------------------------------------------------
    full = geo.full
    sf = geo.stage_frac
    p = geo.p
    core_win = (sf * geo.layers) * core * (3.5 + full)
    gemm_window = sf * 3.0 * gemm_fwd
    comp_mb = gemm_window + sf * full * gemm_fwd + core_win + 3.0 * head / p
    mem_mb = (geo.mem_fixed + imb * geo.mem_imb) / mem_rate if moe else geo.mem_fixed / mem_rate
    ov = c.overlap
    # achieved bandwidth of each group (tp, cp, pp, dp, shard, replica): the scale-up link
    # inside one domain; across domains each of the k members inside a domain drives its own
    # NIC and a ring crosses the boundary once per channel, so a member sees k NICs' worth
    # (NCCL rings on rail-optimised networks), at most the scale-up link
    up, out = fab.up_bytes_per_s, fab.out_bytes_per_s
    bw = np.where(geo.inside, up, np.minimum(out * geo.nics, up)) * c.comm_eff
    raw = geo.comm_bytes / bw[:, geo.s_idx] + geo.comm_lat
    window = comp_mb + mem_mb
    win = np.empty_like(raw)
    win[0] = gemm_window
    win[1] = core_win
    win[2] = comp_mb
    win[3:] = window
    # ZeRO-1 (row 3) and hybrid sharding (row 5) never both move bytes: their exposures add
    exp = raw - np.minimum(ov * raw, win)
    dual = geo.dual
    any_dual = moe and bool(dual.any())
    if moe:
        ep_raw = (np.maximum(geo.a2a_local / (up * c.comm_eff),
                             geo.a2a_remote / (out * c.comm_eff)) + geo.a2a_lat)
        ep_exp = ep_raw - np.minimum(ov * ep_raw, (sf * geo.moe_layers * 3.0) * shared_k[key])
        if any_dual:
            # DualPipe overlaps a micro-batch's all-to-all (and its pipeline sends) with
            # another's compute, by design fully ("both all-to-all and PP communication can
            # be fully hidden", DeepSeek-V3 Sec. 3.2.1): only what exceeds the compute stays
            ep_exp = np.where(dual, np.maximum(ep_raw - comp_mb, 0.0), ep_exp)
    else:
        ep_exp = np.zeros_like(comp_mb)
    pp_exp = np.where(dual, np.maximum(raw[2] - comp_mb, 0.0), exp[2]) if any_dual else exp[2]
    dp_exp = exp[3] + exp[5]
    opt_s = (g.optimizer_bytes_per_param / mem_rate) * geo.opt_params
    t_mb = comp_mb + mem_mb + exp[0] + exp[1] + pp_exp + exp[4]
    if moe:
        t_mb = t_mb + ep_exp
    # 1F1B: (p - 1) / v micro-batches of fill and drain. DualPipe: (p/2 - 1)(F&B + B - 3W)
    # (DeepSeek-V3 Table 2) = (p/2 - 1) x 2/3 of a micro-batch with B = 2F, W = B/2
    fill = (p - 1.0) / geo.v
    if any_dual:
        fill = np.where(dual, np.maximum(p / 2.0 - 1.0, 0.0) * (2.0 / 3.0), fill)
    bubble = fill * t_mb
    step = m * t_mb + bubble + dp_exp + opt_s
    if mem is None:
        mem = memory_per_gpu(cd, w, fab.low_precision, m, fab.domain)
    return StepArrays(
        step_s=step, m=m, comp_mb=comp_mb, mem_mb=mem_mb, tp_mb=exp[0], cp_mb=exp[1],
        ep_mb=ep_exp, pp_mb=pp_exp, shard_mb=exp[4], dp_step=dp_exp, bubble_s=bubble,
        optimizer_s=opt_s, memory_bytes=mem, flops_mb=geo.flops_mb)


def optimal_batch_tokens(w: Work, shape: ModelShape, tokens: float) -> float:
    """DeepSeek LLM's batch law B_opt = 0.2920 C^0.3271 tokens (arXiv:2401.02954, Sec. 3.1),
    C = M D, M = 6 x non-embedding matrix weights per token + 12 n_layer q_dim l_seq
    (their 72 n_layer d^2 + 12 n_layer d l_seq for a standard dense block; active weights for a
    mixture of experts)."""
    c = w.batch_flops_per_token * float(tokens)
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
