"""The serving roofline, vectorised: step times, memory and throughput of a replica.

Everything here broadcasts over numpy arrays of replica size ``tp`` (chips per replica) and
batch ``b`` (sequences in flight), and over the model counts of :class:`ModelCounts` (arrays
too, for :func:`estimator.serving.curves.output_cost_curve`). Units: bytes, seconds, FLOP/s.
The formulas, with their sources, are in ``docs/serving_model.md``; in short:

Decode step of a replica of ``T`` chips at batch ``b``, mean context ``c = I + O/2`` (each
kernel is bounded by its own roofline, Williams et al. 2009; kernels run one after another):

    t_dec = max(W_d / BW, 2·(M - M_e)·b / P)                 # dense matmuls: read or compute
          + max(W_e·(1 - (1 - K/E)**b) / BW, 2·M_e·b / P)     # routed experts the batch touches
          + b·max(c·kv / BW, 4·c·q·L / P_att)                 # attention: read KV, or compute
          + [T>1]·2L·(alpha + 2(T-1)/T · b·d·2 / link)        # two ring all-reduces per layer
          + tau                                               # fixed per-iteration overhead

with ``BW`` and ``P`` the replica's bandwidth and peak times the fitted efficiencies, ``M`` the
weights one token multiplies (``ModelShape.matmul_params_per_token``), ``M_e`` its routed-expert
part, ``W_d`` the dense weight bytes (16-bit output projection included) and ``W_e`` all routed
experts' bytes: a mixture of experts reads the ``E·(1 - (1 - K/E)**b)`` distinct experts per
layer its ``b`` tokens touch (each token picks K of E uniformly).

Prefill of one request, counted in the throughput (iterations of ``C`` tokens read the weights
once, shared by their tokens; only the last prompt token is unembedded):

    t_pf = max(2·(M - M_e - V·d)·I + 2·V·d) / P, (I/C)·W_d / BW)
         + max(2·M_e·I / P, (I/C)·W_e·touched(C) / BW) + I·kv / BW + 2·I²·q·L / P_att
         + [T>1]·2L·((I/C)·alpha + 2(T-1)/T · I·d·2 / link) + (I/C)·tau

A mixture of experts too large for one scale-up domain is served by a replica spanning
several domains (DeepSeek-V3 Sec. 3.4; SGLang's data-parallel attention): ``G`` attention
groups of ``T`` tensor-parallel chips (``groups``), ``N = G·T`` chips. Each group holds its own
copy of attention and the dense layers and its own ``b/G`` sequences; the routed experts are
spread over all ``N`` chips (expert parallelism), so their bytes, reads and FLOPs divide by
``N``; every layer adds a dispatch and a combine all-to-all (``d`` values of 16 bits each way
per send), not overlapped with compute: a token is sent once to each other domain that holds
one of its ``K`` experts, ``(n-1)·(1 - (1 - 1/n)^K)`` of the ``n = N/D`` domains on average
under uniform routing (``D`` chips per domain; forwarded inside the domain, as DeepEP does),
over the scale-out network, and ``K·(D - T)/N`` times to other groups of its own domain over
the scale-up link. With ``G = 1`` every formula above is unchanged.

Continuous batching (Orca, Yu et al. 2022; Sarathi-Serve, Agrawal et al. 2024, arXiv
2403.02310): in steady state a replica with ``b`` sequences in flight completes ``b`` requests
every ``b·t_pf + (O-1)·t_dec`` seconds: every prefill of a new request delays the decode steps
of the batch. Hence the output rate, TPOT, and TTFT (prefill alone plus an M/D/1 wait behind
other requests' prefills plus one decode step of the running batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from estimator.serving.inputs import RequestMix, ServingAccelerator, ServingConstants
from estimator.serving.precision import ResolvedPrecision
from estimator.shape import ModelShape

#: Bytes per activation value exchanged in tensor-parallel all-reduces (bf16).
ACTIVATION_BYTES = 2.0
#: Logit bytes per sequence-vocabulary entry (fp32 logits).
LOGIT_BYTES = 4.0
#: Bytes per value of an expert-parallel all-to-all, dispatch plus combine: 16 bits each way
#: (DeepSeek-V3 dispatches in fp8, Sec. 3.4: 1 + 2 bytes; 2 + 2 is the general case).
ALL_TO_ALL_BYTES = 4.0


#: Names of the time components (what a share of the serving time is spent on).
COMPONENTS = ("weights_bandwidth", "kv_bandwidth", "compute", "interconnect", "overhead")


@dataclass(frozen=True)
class ModelCounts:
    """What the serving model needs from a shape; floats, or numpy arrays for a size sweep.

    ``always_params``: weights every step reads (attention, norms, dense MLPs, shared experts,
    routers); ``expert_params``: one routed expert of one MoE layer; ``routed_params``: all
    routed experts of all layers; ``unembedding_params``: the output projection (kept in 16
    bits); ``input_embedding_params``: the lookup table (resident, not multiplied);
    ``kv_per_layer_values``: KV values per token per layer without replication; ``mla``:
    multi-head latent attention (its latent cache is replicated on every tensor-parallel chip).
    """

    n_layers: Any
    d_model: Any
    q_dim: Any
    n_heads: Any
    n_kv_heads: Any
    head_width: Any
    mla: bool
    kv_latent_dim: Any
    always_params: Any
    routed_params: Any
    n_experts: Any
    experts_per_token: Any
    input_embedding_params: Any
    unembedding_params: Any
    matmul_params: Any
    ffn_width: Any

    @classmethod
    def from_shape(cls, shape: ModelShape) -> ModelCounts:
        routed = (shape.moe_layers * shape.n_experts * shape.mlp_params(shape.expert_width)
                  if shape.is_moe else 0.0)
        vd = float(shape.vocab * shape.d_model)
        ffn = max(shape.ffn_dim, (shape.experts_per_token + shape.shared_experts)
                  * shape.expert_width if shape.is_moe else shape.ffn_dim)
        return cls(
            n_layers=float(shape.n_layers), d_model=float(shape.d_model),
            q_dim=float(shape.q_dim), n_heads=float(shape.n_heads),
            n_kv_heads=float(shape.n_kv_heads), head_width=float(shape.head_width),
            mla=shape.kv_latent_dim is not None,
            kv_latent_dim=float(shape.kv_latent_dim or 0),
            always_params=shape.non_embedding_params - routed, routed_params=float(routed),
            n_experts=float(shape.n_experts if shape.is_moe else 1),
            experts_per_token=float(shape.experts_per_token if shape.is_moe else 1),
            input_embedding_params=0.0 if shape.tied_embeddings else vd,
            unembedding_params=vd, matmul_params=shape.matmul_params_per_token,
            ffn_width=float(ffn))

    def kv_values_per_token_replica(self, tp: Any) -> Any:
        """KV values stored per token by a replica of ``tp`` chips, all layers: grouped-query
        heads are sharded over the chips and replicated once there are more chips than KV
        heads; a latent (MLA) cache is replicated on every chip."""
        if self.mla:
            return self.n_layers * self.kv_latent_dim * tp
        return self.n_layers * 2.0 * self.head_width * np.maximum(self.n_kv_heads, tp)


def expected_distinct_experts(n_experts: Any, experts_per_token: Any, tokens: Any) -> Any:
    """Expected number of distinct routed experts a layer uses for ``tokens`` tokens when each
    token picks ``experts_per_token`` of ``n_experts`` uniformly: ``E·(1 - (1 - K/E)**b)``
    (each expert is missed by one token with probability ``1 - K/E``, by all ``b`` independent
    tokens with its ``b``-th power). Equals ``K`` at one token and tends to ``E``."""
    e = np.asarray(n_experts, dtype=float)
    miss = 1.0 - np.asarray(experts_per_token, dtype=float) / e
    return e * (1.0 - np.power(miss, np.asarray(tokens, dtype=float)))


@dataclass(frozen=True)
class Roofline:
    """Arrays (broadcast over tp and batch) of one evaluation; seconds, bytes, tokens/s."""

    tp: Any
    batch: Any
    kv_capacity_batch: Any
    kv_room_fraction: Any
    weights_bytes_per_chip: Any
    kv_bytes_per_token: Any
    decode_step_s: Any
    prefill_s: Any
    prefill_alone_s: Any
    turnover_s: Any
    output_tokens_per_s_per_chip: Any
    input_tokens_per_s_per_chip: Any
    requests_per_s_per_replica: Any
    ttft_s: Any
    tpot_s: Any
    chip_s_per_input_token: Any
    chip_s_per_output_token: Any
    shares: dict[str, Any]
    distinct_experts: Any
    groups: Any = 1.0
    chips: Any = None


@dataclass(frozen=True)
class ReplicaTerms:
    """What does not depend on the batch, for replicas of ``tp`` chips (arrays over ``tp``):
    memory, prefill times, and the coefficients of the decode step ``t_dec(b)``.

    Decode step: ``max(w_dense, b·c_dense) + max(w_experts·touched(b), b·c_experts)
    + max(b·kv_read, b·attn) + comm + b·comm_per_token + overhead`` (seconds)."""

    tp: Any
    kv_capacity_batch: Any
    kv_room_fraction: Any
    weights_bytes_per_chip: Any
    kv_bytes_per_token: Any
    groups: Any
    chips: Any
    w_dense: Any
    c_dense: Any
    w_experts: Any
    c_experts: Any
    kv_read: Any
    attn: Any
    comm: Any
    comm_per_token: Any
    overhead: float
    prefill_s: Any
    prefill_alone_s: Any
    prefill_parts: dict[str, Any]
    moe: bool
    n_experts: float
    experts_per_token: float
    input_tokens: float
    output_tokens: float

    def _map(self, fn) -> ReplicaTerms:
        def f(v):
            return fn(v) if isinstance(v, np.ndarray) and v.ndim else v

        out = {name: f(getattr(self, name)) for name in self.__dataclass_fields__}
        out["prefill_parts"] = {key: f(v) for key, v in self.prefill_parts.items()}
        return ReplicaTerms(**out)

    def take(self, index: Any) -> ReplicaTerms:
        """The replica sizes at ``index`` (boolean mask or integers) of 1-D terms."""
        return self._map(lambda v: v[index])

    def column(self) -> ReplicaTerms:
        """1-D terms as columns, to broadcast against a (replica, batch) grid."""
        return self._map(lambda v: v[:, None])


def replica_terms(counts: ModelCounts, acc: ServingAccelerator, k: ServingConstants,
                  prec: ResolvedPrecision, mix: RequestMix, tp: Any,
                  groups: Any = 1.0) -> ReplicaTerms:
    """Memory, prefill and decode coefficients of replicas of ``groups`` attention groups of
    ``tp`` tensor-parallel chips each (see the module docstring for the formulas; ``groups``
    above 1 for a mixture of experts spread over several domains). ``kv_bytes_per_token`` is
    per group."""
    T = np.asarray(tp, dtype=float)
    G = np.asarray(groups, dtype=float)
    N = T * G                               # chips per replica
    L, d = counts.n_layers, counts.d_model
    I = float(mix.input_tokens)
    O = float(mix.generated_tokens)
    ctx = I + 0.5 * O                      # mean context of a sequence over its decode steps
    C = float(k.chunk_tokens)
    bw = T * acc.memory_bandwidth_bytes_per_s * k.hbm_efficiency          # per replica
    p_mm = T * acc.peak(prec.matmul_peak_key) * k.compute_efficiency
    p_att = T * acc.peak(prec.attention_peak_key) * k.compute_efficiency
    link = acc.scale_up_bytes_per_s * k.link_efficiency
    tau, alpha = k.step_overhead_s, k.allreduce_latency_s
    wb, kvb = prec.weight_bytes, prec.kv_bytes
    # two all-reduces per layer (after attention and after the MLP), ring: 2(T-1)/T of the
    # message crosses each chip's link (Patarasuk & Yuan 2009; Shoeybi et al. 2019, Sec. 3)
    n_ar = 2.0 * L * (T > 1.0)
    ring = 2.0 * (T - 1.0) / T * d * ACTIVATION_BYTES / link      # seconds per token
    moe = bool(np.any(np.asarray(counts.routed_params) > 0))
    # expert-parallel all-to-all between groups (dispatch + combine per layer; every layer is
    # counted as an MoE layer): bytes per token to other domains and inside the group's own
    multi = G > 1.0
    D = float(acc.scale_up_domain_chips)
    n_dom = np.maximum(N / D, 1.0)
    K = counts.experts_per_token
    # a token crosses the network once per other domain holding one of its K experts (the
    # runtime forwards it inside the domain over the scale-up link: DeepEP's normal kernels;
    # expected distinct other domains under uniform routing), and once per expert on another
    # group of its own domain
    off_sends = (n_dom - 1.0) * (1.0 - np.power(1.0 - 1.0 / n_dom, K)) * multi
    in_sends = K * np.maximum(np.minimum(D, N) - T, 0.0) / N * multi
    out_link = max(acc.scale_out_bytes_per_s, 1.0) * k.link_efficiency
    a2a_s_per_chip = (L * d * ALL_TO_ALL_BYTES * (off_sends / out_link + in_sends / link)
                      if moe else 0.0 * G)    # seconds per token through one chip's links
    n_a2a = 2.0 * L * multi

    # -- memory: weights sharded over the replica; what is left holds the KV cache ----------
    lm_bytes = counts.unembedding_params * 2.0          # output projection kept in 16 bits
    dense_bytes = counts.always_params * wb + lm_bytes
    expert_bytes = counts.routed_params * wb
    # per chip: the domain's copy of the dense part over its T chips, the experts over all N
    per_chip = (dense_bytes + counts.input_embedding_params * 2.0) / T + expert_bytes / N
    kv_rep = counts.kv_values_per_token_replica(T) * kvb          # bytes per token, domain
    act = C * (4.0 * d + 2.0 * counts.ffn_width / T) * ACTIVATION_BYTES
    reserve = np.maximum(k.runtime_reserve_bytes + act,
                         k.runtime_reserve_fraction * acc.memory_bytes)
    free = np.maximum(acc.memory_bytes - per_chip - reserve, 0.0)
    # TensorRT-LLM's default scheduler (GUARANTEED_NO_EVICT) reserves a request's whole
    # sequence, prompt plus generated tokens, when it admits it. Each domain holds its own.
    kv_cap = G * np.floor(free * k.kv_memory_fraction * T / kv_rep / (I + O))

    # -- decode coefficients ------------------------------------------------------------------
    # per sequence of the replica's batch: each domain runs b/G of them in parallel
    routed_active = counts.routed_params * counts.experts_per_token / counts.n_experts
    c_dense = 2.0 * (counts.matmul_params - routed_active) / (p_mm * G)
    c_experts = 2.0 * routed_active / (p_mm * G)
    kv_read = ctx * kv_rep / (bw * G)
    attn = 4.0 * ctx * counts.q_dim * L / (p_att * G)
    a2a_token = a2a_s_per_chip / N                  # replica seconds per token, all chips

    # -- prefill, throughput accounting: chunks of C tokens share one read of the weights ----
    # an iteration runs one chunk per domain: G chunks share one read of the experts
    touched_c = _touched(counts, G * C) if moe else 0.0
    # only the last prompt token goes through the output projection
    f_d = 2.0 * ((counts.matmul_params - routed_active - counts.unembedding_params) * I
                 + counts.unembedding_params)
    f_e = 2.0 * routed_active * I
    share = I / C
    pf = {
        "dense_read": share * dense_bytes / (bw * G), "dense_compute": f_d / (p_mm * G),
        "experts_read": share * expert_bytes * touched_c / (bw * G * G),
        "experts_compute": f_e / (p_mm * G),
        "kv_write": I * kv_rep / (bw * G),                 # writing the prompt's KV cache
        "attention": 2.0 * I * I * counts.q_dim * L / (p_att * G),  # causal half of 4·I²·q·L
        "comm": (n_ar * (share * alpha + I * ring) + n_a2a * share * alpha) / G
                + I * a2a_token,
        "overhead": share * tau / G + 0.0 * T,
    }
    t_pf = (np.maximum(pf["dense_read"], pf["dense_compute"])
            + np.maximum(pf["experts_read"], pf["experts_compute"])
            + pf["kv_write"] + pf["attention"] + pf["comm"] + pf["overhead"])

    # -- prefill alone (TTFT): the prompt in ceil(I/C) iterations of its own ------------------
    # alone, the prompt runs in one domain; its experts are spread over all N chips, its
    # all-to-all leaves through that domain's T chips
    n_ch = float(math.ceil(I / C))
    touched_1 = _touched(counts, min(I, C)) if moe else 0.0
    t_pf1 = (np.maximum(f_d / p_mm, n_ch * dense_bytes / bw)
             + np.maximum(f_e / (p_mm * G), n_ch * expert_bytes * touched_1 / (bw * G))
             + I * kv_rep / bw + 2.0 * I * I * counts.q_dim * L / p_att
             + n_ar * (n_ch * alpha + I * ring)
             + n_a2a * n_ch * alpha + I * a2a_s_per_chip / T + n_ch * tau)
    return ReplicaTerms(
        T, kv_cap, free / acc.memory_bytes, per_chip, kv_rep, G, N, dense_bytes / bw, c_dense,
        expert_bytes / (bw * G), c_experts, kv_read, attn, n_ar * alpha + n_a2a * alpha,
        n_ar * ring / G + a2a_token, tau, t_pf, t_pf1, pf, moe, float(np.max(counts.n_experts)),
        float(np.max(counts.experts_per_token)), I, O)


def kv_capacity_batch(counts: ModelCounts, acc: ServingAccelerator, k: ServingConstants,
                      prec: ResolvedPrecision, mix: RequestMix, tp: Any,
                      groups: Any = 1.0) -> Any:
    """Largest batch whose KV cache a replica of ``groups`` x ``tp`` chips holds (0: the
    model does not fit)."""
    return replica_terms(counts, acc, k, prec, mix, tp, groups).kv_capacity_batch


def at_batch(r: ReplicaTerms, batch: Any, with_shares: bool = True) -> Roofline:
    """The replica ``r`` at batch ``batch`` (broadcast against ``r.tp``)."""
    b = np.asarray(batch, dtype=float)
    I, O = r.input_tokens, r.output_tokens
    q = 1.0 - r.experts_per_token / r.n_experts
    touched = (1.0 - np.power(q, b)) if r.moe else 0.0
    dense = np.maximum(r.w_dense, b * r.c_dense)
    experts = np.maximum(r.w_experts * touched, b * r.c_experts) if r.moe else 0.0
    attention = b * np.maximum(r.kv_read, r.attn)
    t_dec = dense + experts + attention + r.comm + b * r.comm_per_token + r.overhead

    # -- continuous batching steady state -----------------------------------------------------
    steps = max(O - 1.0, 0.0)
    turn = b * r.prefill_s + steps * t_dec
    out_chip = b * O / (turn * r.chips)
    tpot = turn / steps if steps > 0 else np.zeros_like(turn)
    # share of time the replica spends on prefills, seen by a new request (none at batch 1)
    rho = np.maximum(b - 1.0, 0.0) * r.prefill_s / turn
    wait = rho / (2.0 * (1.0 - rho)) * r.prefill_s    # M/D/1 mean wait (Pollaczek-Khinchine)
    ttft = r.prefill_alone_s + wait + (b > 1.0) * t_dec
    distinct = r.n_experts * touched if r.moe else np.ones_like(b)
    shares: dict[str, Any] = {}
    if with_shares:
        shares = _shares(r, b, steps, touched)
    return Roofline(r.tp, b, r.kv_capacity_batch, r.kv_room_fraction,
                    r.weights_bytes_per_chip, r.kv_bytes_per_token, t_dec, r.prefill_s,
                    r.prefill_alone_s, turn, out_chip, b * I / (turn * r.chips), b / turn, ttft,
                    tpot, r.chips * r.prefill_s / I, r.chips * steps * t_dec / (b * O), shares,
                    distinct, r.groups, r.chips)


def _shares(r: ReplicaTerms, b: Any, steps: float, touched: Any) -> dict[str, Any]:
    """Where a request's chip time goes: its prefill plus its share of the decode steps."""
    per = steps / b
    zero = np.zeros(np.broadcast(r.tp, b).shape)

    def pick(mem, comp):
        return np.where(mem >= comp, mem, 0.0), np.where(mem >= comp, 0.0, comp)

    wd, cd = pick(r.w_dense + zero, b * r.c_dense)
    we, ce = pick(r.w_experts * touched + zero, b * r.c_experts)
    kvm, kvc = pick(b * r.kv_read, b * r.attn)
    pf = r.prefill_parts
    pwd, pcd = pick(pf["dense_read"], pf["dense_compute"])
    pwe, pce = pick(pf["experts_read"], pf["experts_compute"])
    shares = {
        "weights_bandwidth": zero + per * (wd + we) + pwd + pwe,
        "kv_bandwidth": zero + per * kvm + pf["kv_write"],
        "compute": zero + per * (cd + ce + kvc) + pcd + pce + pf["attention"],
        "interconnect": zero + per * (r.comm + b * r.comm_per_token) + pf["comm"],
        "overhead": zero + per * r.overhead + pf["overhead"],
    }
    total = sum(shares.values())
    return {key: v / total for key, v in shares.items()}


def evaluate(counts: ModelCounts, acc: ServingAccelerator, k: ServingConstants,
             prec: ResolvedPrecision, mix: RequestMix, tp: Any, batch: Any,
             with_shares: bool = True, groups: Any = 1.0) -> Roofline:
    """The roofline of a replica of ``groups`` x ``tp`` chips at batch ``batch``
    (broadcastable arrays); ``with_shares=False`` skips the breakdown of the time (``shares``
    is then empty)."""
    return at_batch(replica_terms(counts, acc, k, prec, mix, tp, groups), batch, with_shares)


def _touched(counts: ModelCounts, tokens: Any) -> Any:
    """Share of a layer's routed experts that ``tokens`` tokens touch (uniform routing)."""
    return 1.0 - np.power(1.0 - counts.experts_per_token / counts.n_experts, tokens)
