"""The shape of a transformer, dense or mixture-of-experts, and what follows from it.

One frozen :class:`ModelShape` is shared by every model that needs more than the parameter count:
the training-run model (FLOPs per layer, memory, parallel layouts), serving (KV cache, weight
bytes, prefill and decode FLOPs) and mixture-of-experts accounting (total against active
parameters). :func:`derive_shape` builds a plausible shape from a parameter count when the user
gives none, and fills in whatever part of the shape the user leaves out.

Parameter counts (per layer, ``d`` = d_model, ``h`` = n_heads, ``g`` = n_kv_heads, ``k`` =
head_dim, ``f`` = ffn_dim; biases and norm gains, ~2d per layer, are counted but negligible):

* attention: ``d·h·k`` (Q) + ``2·d·g·k`` (K, V) + ``h·k·d`` (O); with grouped-query attention
  ``g < h`` (Ainslie et al. 2023, arXiv:2305.13245);
* MLP of one expert: ``3·d·f`` with a gated unit (SwiGLU, Shazeer 2020, arXiv:2002.05202), else
  ``2·d·f``;
* a mixture-of-experts layer holds ``n_experts`` routed and ``shared_experts`` always-on experts of
  ``expert_ffn_dim`` each plus a router ``d·n_experts``; a token uses ``experts_per_token`` routed
  experts and every shared one (Shazeer et al. 2017; Fedus et al. 2021; DeepSeek-V2,
  arXiv:2405.04434);
* embeddings ``V·d``, and a separate unembedding ``V·d`` unless tied.

FLOPs per token follow Kaplan et al. 2020 (arXiv:2001.08361, Table 1): ``2`` per weight used in a
matmul in the forward pass, and attention scores and values ``2·2·n_ctx·h·k`` per layer, halved
with a causal mask when the kernel skips the masked half (FlashAttention does). Backward is twice
the forward (Kaplan et al. 2020, Sec. 2.1), so training is 3x forward; recomputation adds forward
work, which the run model counts, not this module.

Pure Python: no numpy, no Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from estimator.errors import InputError
from estimator.fields import ref

#: Width-to-depth ratio of a derived shape: Chinchilla 70B, 80 layers of d_model 8192
#: (Hoffmann et al. 2022, Table 4) has d_model / n_layers = 102.4.
DEFAULT_ASPECT_RATIO = 102.4
#: Head width of a derived shape (Llama 2/3, Chinchilla 70B: 128).
DEFAULT_HEAD_DIM = 128
#: Query heads per KV head of a derived shape: Llama 2 70B and Llama 3 8B-405B use 8 KV heads
#: with 32-128 query heads (their model cards); 8 query heads per KV head is the usual ratio.
DEFAULT_QUERIES_PER_KV_HEAD = 8
#: Gated MLP width of a derived shape as a multiple of d_model: Llama 3 8B 14336 / 4096 = 3.5,
#: Llama 2 70B 28672 / 8192 = 3.5 (model cards); rounded to a multiple of 256.
DEFAULT_FFN_MULTIPLE = 3.5
#: Vocabulary of a derived shape: the 32,000-token SentencePiece vocabulary of the Chinchilla
#: models (Hoffmann et al. 2022, Sec. 3), whose runs the built-in laws were fitted on.
DEFAULT_VOCAB = 32_000


@dataclass(frozen=True)
class ModelShape:
    """A decoder-only transformer. Dense when ``n_experts == 1`` and ``shared_experts == 0``.

    Units: counts of layers, dimensions, heads, experts and tokens. ``expert_ffn_dim`` defaults to
    ``ffn_dim``. ``first_dense_layers`` of an MoE model use a dense MLP of ``ffn_dim``
    (DeepSeek-V3 has 3). ``kv_latent_dim``, when set, is the per-token, per-layer KV cache width
    of multi-head latent attention (DeepSeek-V2: kv_lora_rank 512 + rope dim 64 = 576); attention
    weights are then counted as for grouped-query attention with the given heads, an
    approximation (MLA's low-rank projections hold fewer weights), unless ``mla_rope_dim`` is
    given: then the weights and attention FLOPs follow multi-head latent attention exactly
    (DeepSeek-V2, arXiv:2405.04434, Sec. 2.1): queries through an optional low-rank
    ``q_lora_rank`` (``d·r_q + r_q·h·(k + r)``, else ``d·h·(k + r)``), keys and values through
    the latent (``d·c + (c − r)·h·2k`` with ``c = kv_latent_dim``, ``r = mla_rope_dim``), output
    ``h·k·d``; scores use ``k + r`` per head, values ``k``. DeepSeek-V2/V3: ``q_lora_rank``
    1536, ``kv_latent_dim`` 576, ``mla_rope_dim`` 64, ``head_dim`` 128.
    """

    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    ffn_dim: int
    vocab: int = DEFAULT_VOCAB
    head_dim: int | None = None
    gated_mlp: bool = True
    tied_embeddings: bool = False
    n_experts: int = 1
    experts_per_token: int = 1
    shared_experts: int = 0
    expert_ffn_dim: int | None = None
    first_dense_layers: int = 0
    kv_latent_dim: int | None = None
    q_lora_rank: int | None = None
    mla_rope_dim: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_layers", "d_model", "n_heads", "n_kv_heads", "ffn_dim", "vocab",
                     "n_experts", "experts_per_token"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be a whole number of at least 1, got {v!r}",
                                 field=name, value=v, expected="a whole number >= 1")
        if self.n_kv_heads > self.n_heads or self.n_heads % self.n_kv_heads:
            raise InputError(
                f"n_kv_heads = {self.n_kv_heads} must divide n_heads = {self.n_heads}",
                field="n_kv_heads", value=self.n_kv_heads,
                expected=f"a divisor of n_heads ({self.n_heads})",
                hint="grouped-query attention shares each KV head among a whole number of "
                     "query heads")
        if self.experts_per_token > self.n_experts:
            raise InputError(
                f"experts_per_token = {self.experts_per_token} exceeds n_experts = "
                f"{self.n_experts}", field="experts_per_token", value=self.experts_per_token,
                expected=f"at most n_experts ({self.n_experts})")
        if self.shared_experts < 0 or self.first_dense_layers < 0:
            raise InputError("shared_experts and first_dense_layers cannot be negative",
                             field="shared_experts" if self.shared_experts < 0
                             else "first_dense_layers")
        for name in ("q_lora_rank", "mla_rope_dim"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise InputError(f"{name} must be a whole number of at least 1, got {v!r}",
                                 field=name, value=v, expected="a whole number >= 1")
        if self.mla_rope_dim is not None and (self.kv_latent_dim is None
                                              or self.kv_latent_dim <= self.mla_rope_dim):
            raise InputError("mla_rope_dim needs kv_latent_dim (latent + rope width) larger "
                             "than it", field="kv_latent_dim", value=self.kv_latent_dim,
                             expected=f"a whole number > mla_rope_dim ({self.mla_rope_dim})")
        if self.first_dense_layers > self.n_layers:
            raise InputError(f"first_dense_layers = {self.first_dense_layers} exceeds n_layers "
                             f"= {self.n_layers}", field="first_dense_layers",
                             value=self.first_dense_layers)

    # -- derived dimensions ------------------------------------------------------------------
    @property
    def head_width(self) -> int:
        """Per-head width: ``head_dim`` or ``d_model // n_heads``."""
        return self.head_dim if self.head_dim is not None else max(1, self.d_model // self.n_heads)

    @property
    def q_dim(self) -> int:
        """Width of all query heads together, ``n_heads · head_dim``."""
        return self.n_heads * self.head_width

    @property
    def kv_dim(self) -> int:
        """Width of the keys (or the values) of all KV heads, ``n_kv_heads · head_dim``."""
        return self.n_kv_heads * self.head_width

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1 or self.shared_experts > 0

    @property
    def moe_layers(self) -> int:
        return self.n_layers - self.first_dense_layers if self.is_moe else 0

    @property
    def dense_layers(self) -> int:
        return self.n_layers - self.moe_layers

    @property
    def expert_width(self) -> int:
        return self.expert_ffn_dim if self.expert_ffn_dim is not None else self.ffn_dim

    # -- parameters ----------------------------------------------------------------------------
    @property
    def is_mla(self) -> bool:
        """Multi-head latent attention counted exactly (``mla_rope_dim`` given)."""
        return self.mla_rope_dim is not None

    @property
    def attention_params_per_layer(self) -> float:
        d = self.d_model
        if self.is_mla:
            h, k, r, c = self.n_heads, self.head_width, self.mla_rope_dim, self.kv_latent_dim
            rq = self.q_lora_rank
            q = d * rq + rq * h * (k + r) if rq else d * h * (k + r)
            kv = d * c + (c - r) * h * 2 * k
            return float(q + kv + h * k * d)
        return float(d * self.q_dim + 2 * d * self.kv_dim + self.q_dim * d)

    def mlp_params(self, width: int) -> float:
        """Weights of one MLP (one expert) of hidden ``width``."""
        return float((3 if self.gated_mlp else 2) * self.d_model * width)

    @property
    def router_params_per_layer(self) -> float:
        return float(self.d_model * self.n_experts) if self.is_moe else 0.0

    @property
    def norm_params_per_layer(self) -> float:
        return 2.0 * self.d_model

    @property
    def embedding_params(self) -> float:
        """Input embedding plus (untied) output projection, ``V·d`` each."""
        return float(self.vocab * self.d_model * (1 if self.tied_embeddings else 2))

    def _mlp_layer_params(self, experts_used: float) -> float:
        """MLP weights of all layers when each MoE layer holds ``experts_used`` routed experts."""
        dense = self.dense_layers * self.mlp_params(self.ffn_dim)
        moe = self.moe_layers * (
            (experts_used + self.shared_experts) * self.mlp_params(self.expert_width)
            + self.router_params_per_layer)
        return dense + moe

    @property
    def non_embedding_params(self) -> float:
        """Every weight outside the embeddings (all experts), the final norm's gain included."""
        return (self.n_layers * (self.attention_params_per_layer + self.norm_params_per_layer)
                + self.d_model + self._mlp_layer_params(self.n_experts))

    @property
    def total_params(self) -> float:
        """Every weight the model stores: what memory, checkpoints and serving weights hold."""
        return self.non_embedding_params + self.embedding_params

    @property
    def active_non_embedding_params(self) -> float:
        """Weights outside the embeddings that one token uses (``experts_per_token`` routed
        experts plus the shared ones, and the router)."""
        return (self.n_layers * (self.attention_params_per_layer + self.norm_params_per_layer)
                + self.d_model + self._mlp_layer_params(self.experts_per_token))

    @property
    def active_params(self) -> float:
        """Weights one token uses, embeddings included (equal to ``total_params`` when dense)."""
        return self.active_non_embedding_params + self.embedding_params

    # -- FLOPs -----------------------------------------------------------------------------------
    @property
    def matmul_params_per_token(self) -> float:
        """Weights one token multiplies in the forward pass: active non-embedding weights (norm
        gains, the final one too, excluded) plus the unembedding (the input embedding is a
        lookup)."""
        return (self.active_non_embedding_params - self.n_layers * self.norm_params_per_layer
                - self.d_model + self.vocab * self.d_model)

    def attention_flops_per_token(self, context_tokens: float, causal: bool = True) -> float:
        """Forward FLOPs of attention scores (QK^T) and values (AV) per token, all layers:
        ``2 · 2 · n_ctx · q_dim`` per layer, halved with a causal mask (Kaplan et al. 2020,
        Table 1, counts the full square); with exact MLA ``2 · n_ctx · h · (2k + r)``."""
        if self.is_mla:
            per_layer = 2.0 * float(context_tokens) * self.n_heads * (
                2 * self.head_width + self.mla_rope_dim)
        else:
            per_layer = 4.0 * float(context_tokens) * self.q_dim
        return self.n_layers * per_layer * (0.5 if causal else 1.0)

    def forward_flops_per_token(self, context_tokens: float, causal: bool = True) -> float:
        """Forward FLOPs per token: ``2 ·`` matmul weights plus attention."""
        return 2.0 * self.matmul_params_per_token + self.attention_flops_per_token(
            context_tokens, causal)

    def train_flops_per_token(self, seq_len: float, causal: bool = True) -> float:
        """Forward + backward FLOPs per training token (3x forward, Kaplan et al. 2020 Sec.
        2.1), no recomputation; the attention context of a training token averages over its
        sequence, which the causal halving accounts for."""
        return 3.0 * self.forward_flops_per_token(seq_len, causal)

    # -- serving ---------------------------------------------------------------------------------
    def kv_values_per_token(self) -> float:
        """KV-cache values stored per token of context, all layers: ``2 · kv_dim`` per layer, or
        ``kv_latent_dim`` with multi-head latent attention."""
        per_layer = self.kv_latent_dim if self.kv_latent_dim is not None else 2 * self.kv_dim
        return float(self.n_layers * per_layer)

    def kv_bytes_per_token(self, bytes_per_value: float = 2.0) -> float:
        """KV-cache bytes per token of context (2 bytes per value in bf16/fp16, 1 in fp8)."""
        return self.kv_values_per_token() * bytes_per_value

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out.update(total_params=self.total_params, active_params=self.active_params)
        return out


def _round_to(x: float, multiple: int) -> int:
    return max(multiple, int(round(x / multiple)) * multiple)


def derive_shape(
    params: float,
    *,
    n_layers: int | None = None,
    d_model: int | None = None,
    n_heads: int | None = None,
    n_kv_heads: int | None = None,
    ffn_dim: int | None = None,
    vocab: int | None = None,
    n_experts: int = 1,
    experts_per_token: int = 1,
    shared_experts: int = 0,
    expert_ffn_dim: int | None = None,
    active_params: float | None = None,
    aspect_ratio: float = DEFAULT_ASPECT_RATIO,
) -> ModelShape:
    """A plausible shape whose ``total_params`` is close to ``params`` (within a few percent for
    models above ~100 M parameters; rounding of widths to multiples of 128 limits it below).

    Whatever the caller fixes is kept; the rest follows the defaults above: depth from the
    aspect ratio ``d_model / n_layers``, heads of 128, 8 query heads per KV head, a gated MLP of
    3.5 d_model, the Chinchilla vocabulary. For a mixture of experts give ``n_experts`` and
    ``experts_per_token`` (and ``shared_experts``); with ``active_params`` the expert width is
    solved so the active count matches too, else experts have ``ffn_dim``.
    """
    if not (isinstance(params, (int, float)) and math.isfinite(params) and params > 0):
        raise InputError(f"model size must be a positive number, got {params!r}", field="params",
                         value=params, expected="a positive number of parameters")
    v = vocab or DEFAULT_VOCAB
    moe = n_experts > 1 or shared_experts > 0
    # Per-layer weights as a multiple of d^2 for the default proportions (dense MLP): Q and O
    # 2 d^2, K and V 2 d^2 / 8, gated MLP 3 * 3.5 d^2.
    k_attn = 2.0 + 2.0 / DEFAULT_QUERIES_PER_KV_HEAD
    k_mlp = 3.0 * DEFAULT_FFN_MULTIPLE
    if moe:
        k_mlp *= (n_experts + shared_experts)
    k = k_attn + k_mlp

    def solve(d_fixed: int | None, l_fixed: int | None, params: float, k: float
              ) -> tuple[int, int]:
        # N = L k d^2 + 2 V d; with d = aspect * L unless one of them is fixed.
        if d_fixed is not None and l_fixed is not None:
            return l_fixed, d_fixed
        if d_fixed is not None:
            non_emb = max(params - 2.0 * v * d_fixed, 0.1 * params)
            return max(1, round(non_emb / (k * d_fixed**2))), d_fixed
        if l_fixed is not None:
            # k L d^2 + 2 V d - N = 0
            a, b = k * l_fixed, 2.0 * v
            d = (-b + math.sqrt(b * b + 4 * a * params)) / (2 * a)
            return l_fixed, _round_to(d, DEFAULT_HEAD_DIM)
        # d = aspect L: k aspect^2 L^3 + 2 V aspect L = N, solved by Newton from the no-vocab root
        lay = (params / (k * aspect_ratio**2)) ** (1.0 / 3.0)
        for _ in range(30):
            f = k * aspect_ratio**2 * lay**3 + 2.0 * v * aspect_ratio * lay - params
            df = 3.0 * k * aspect_ratio**2 * lay**2 + 2.0 * v * aspect_ratio
            lay = max(lay - f / df, 1e-3)
        n_l = max(1, round(lay))
        non_emb = max(params - 2.0 * v * aspect_ratio * n_l, 0.1 * params)
        d = math.sqrt(non_emb / (k * n_l))
        # wide models: whole groups of 8 heads of 128, so KV heads divide the query heads
        step = 1024 if d >= 4096 else (DEFAULT_HEAD_DIM if d >= DEFAULT_HEAD_DIM else 64)
        d_r = _round_to(d, step)
        # re-solve the depth for the rounded width so the count stays close to N
        n_l = max(1, round(max(params - 2.0 * v * d_r, 0.1 * params) / (k * d_r**2)))
        return n_l, d_r

    lu = None
    if (moe and active_params is not None and expert_ffn_dim is None
            and n_experts > experts_per_token):
        # Total and active counts together fix the experts: T - A = L_moe (E - K) w, with w one
        # expert's weights in one layer; what the active count keeps beyond its K + S experts
        # is attention and embeddings, which set the width and depth.
        lu = (params - active_params) / (n_experts - experts_per_token)
        non_expert = active_params - (experts_per_token + shared_experts) * lu
        if non_expert < 0.01 * active_params:
            least = (experts_per_token + shared_experts) / (n_experts + shared_experts) * params
            raise InputError(
                f"{ref('active_params')} = {active_params:.3g} is too small for "
                f"{experts_per_token + shared_experts} of {n_experts + shared_experts} experts "
                f"active in a {params:.3g}-parameter model", field="active_params",
                value=active_params,
                expected=f"more than {least:.3g} (the active experts alone), or fewer "
                         f"experts_per_token")
        k = k_attn
        params_for_dims = non_expert
    else:
        params_for_dims = params
    n_l, d = solve(d_model, n_layers, params_for_dims, k)
    heads = n_heads or max(1, d // DEFAULT_HEAD_DIM)
    kv = n_kv_heads or max(1, heads // DEFAULT_QUERIES_PER_KV_HEAD)
    while heads % kv:
        kv -= 1
    head_dim = max(1, d // heads)
    ffn = ffn_dim or _round_to(DEFAULT_FFN_MULTIPLE * d, 256 if d >= 256 else 64)
    shape = ModelShape(n_layers=n_l, d_model=d, n_heads=heads, n_kv_heads=kv, ffn_dim=ffn,
                       vocab=v, head_dim=head_dim, n_experts=n_experts,
                       experts_per_token=experts_per_token, shared_experts=shared_experts,
                       expert_ffn_dim=expert_ffn_dim)
    if moe and expert_ffn_dim is None:
        # Solve the expert width so total (and, if given, active) parameters match.
        fixed = shape.total_params - shape.moe_layers * (
            (n_experts + shared_experts) * shape.mlp_params(shape.expert_width))
        per_unit = shape.moe_layers * (n_experts + shared_experts) * 3.0 * d
        if lu is not None:
            per_unit = shape.moe_layers * (n_experts - experts_per_token) * 3.0 * d
            target, fixed = params - active_params, 0.0
        elif active_params is not None:
            # use the active count: N_act = fixed + L (K + S) 3 d f
            per_unit = shape.moe_layers * (experts_per_token + shared_experts) * 3.0 * d
            target = active_params
        else:
            target = params
        if per_unit > 0 and target > fixed:
            shape = replace(shape, expert_ffn_dim=max(64, int(round((target - fixed) / per_unit))))
    return shape
