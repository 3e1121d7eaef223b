"""The cost model: FLOPs -> GPU-hours, dollars, wall-clock, energy, memory, and inference cost.

Formulas (each vectorised over numpy arrays where a plot needs a curve):

* Training FLOPs ``6 N D`` (Kaplan et al. 2020 eq. 2.2, Hoffmann et al. 2022); the exact count
  with attention adds ``6 n_layer n_ctx d_model`` per token (Kaplan eq. 2.2, forward
  ``2N + 2 n_layer n_ctx d_attn`` times 3 for forward + backward).
* ``gpu_hours = train_flops / (peak_flops_per_s * mfu * goodput * 3600)``.
* Memory: 16 bytes/parameter of weights, gradients, fp32 master weights and Adam moments
  (Rajbhandari et al. 2020, ZeRO), fully sharded, plus activations per micro-batch
  (Korthikanti et al. 2022, arXiv:2205.05198, eq. 1: ``s b h (34 + 5 a s / h)`` bytes per layer
  without recomputation; ``2 s b h`` per layer with full recomputation).
* Energy: chip power (TDP) x hours x PUE.
* Decode: ``2 N`` FLOPs per generated token; the rate is the lesser of the compute-bound rate
  and the memory-bandwidth-bound rate (each step reads the weights once per batch and the KV
  cache of every sequence), each derated by the profile's inference utilisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from estimator.errors import InputError
from estimator.fields import ref

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0
TRAIN_BYTES_PER_PARAM = 16.0  # bf16 w + bf16 grad + fp32 master + 2 fp32 Adam moments (ZeRO)
INFERENCE_BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5}
# Share of HBM usable for model state and activations (the rest: CUDA context, allocator
# fragmentation, communication buffers). A common planning figure; not from a paper.
USABLE_MEMORY_FRACTION = 0.9
# Width-to-depth ratio used to derive a model shape from N when none is given. Chinchilla 70B
# (80 layers, d_model 8192, Hoffmann et al. 2022 Table 4) has d_model / n_layer = 102.4.
DEFAULT_ASPECT_RATIO = 102.4


@dataclass(frozen=True)
class ModelShape:
    """Transformer shape: layers, width, heads, and the share of KV heads (GQA)."""

    n_layers: int
    d_model: int
    n_heads: int
    kv_head_fraction: float = 0.125  # 8 KV heads of 64 (Llama 2/3 70B GQA)

    @property
    def non_embedding_params(self) -> float:
        """Kaplan et al. 2020 eq. 2.1: N ~ 12 n_layer d_model^2."""
        return 12.0 * self.n_layers * self.d_model**2


def shape_for_params(params: float, aspect_ratio: float = DEFAULT_ASPECT_RATIO) -> ModelShape:
    """A plausible shape for N parameters: N = 12 L d^2 with d = aspect_ratio * L, heads of 128."""
    if not (params > 0 and math.isfinite(params)):
        raise InputError(f"model size must be positive, got {params!r}")
    n_layers = max(1, round((params / (12.0 * aspect_ratio**2)) ** (1.0 / 3.0)))
    d_model = max(64, int(round(math.sqrt(params / (12.0 * n_layers)) / 64.0)) * 64)
    return ModelShape(n_layers=n_layers, d_model=d_model, n_heads=max(1, d_model // 128))


def train_flops_6nd(params, tokens):
    """Training FLOPs ``6 N D`` (Kaplan et al. 2020 eq. 2.2)."""
    return 6.0 * np.asarray(params, dtype=float) * np.asarray(tokens, dtype=float)


def attention_flops_ratio(params: float, shape: ModelShape, context_tokens: int) -> float:
    """Ratio of the exact training count to 6ND, Kaplan et al. 2020 eq. 2.2:
    (6N + 6 n_layer n_ctx d_model) / 6N per token."""
    return 1.0 + shape.n_layers * context_tokens * shape.d_model / params


def gpu_hours(train_flops, peak_flops_per_s: float, mfu: float, goodput: float):
    """Accelerator-hours: ``train_flops / (peak * mfu * goodput * 3600)``."""
    return np.asarray(train_flops, dtype=float) / (
        peak_flops_per_s * mfu * goodput * SECONDS_PER_HOUR
    )


def wall_clock_days(hours, gpus: int):
    return np.asarray(hours, dtype=float) / (gpus * HOURS_PER_DAY)


def energy_mwh(hours, power_w: float, pue: float):
    """Facility energy in MWh: chip-hours x chip power (W) x PUE / 1e6."""
    return np.asarray(hours, dtype=float) * power_w * pue / 1e6


def activation_bytes_per_gpu(
    shape: ModelShape,
    seq_len: int,
    micro_batch: int,
    recompute: str = "full",
    tensor_parallel: int = 1,
) -> float:
    """Activation memory per GPU for one micro-batch (bf16), Korthikanti et al. 2022 eq. 1-2.

    ``none``: ``L s b h (34 + 5 a s / h)``; ``selective`` (attention recomputed, as with
    FlashAttention): ``34 L s b h``; ``full`` (checkpoint each layer input): ``2 L s b h`` plus
    one layer's working set. Divided by the tensor-parallel degree."""
    s, b, h, a, n_l = seq_len, micro_batch, shape.d_model, shape.n_heads, shape.n_layers
    per_layer_full = s * b * h * (34.0 + 5.0 * a * s / h)
    if recompute == "none":
        total = n_l * per_layer_full
    elif recompute == "selective":
        total = n_l * 34.0 * s * b * h
    elif recompute == "full":
        total = n_l * 2.0 * s * b * h + per_layer_full
    else:
        raise InputError(f"activation recompute must be none, selective or full; got {recompute!r}")
    return total / max(tensor_parallel, 1)


def min_gpus_for_memory(
    params: float, memory_gb: float, activation_bytes: float, recompute: str = "full", *,
    micro_batch: int | None = None, seq_len: int | None = None,
    model_parallel: int | None = None, max_tensor_parallel: int = 8,
) -> int:
    """Least GPUs that hold 16 bytes/param of fully sharded (ZeRO-3/FSDP) model and optimizer
    state beside one micro-batch's activations. Raises when activations alone do not fit,
    advising only changes that would help: a smaller micro-batch or sequence (when above 1),
    more model parallelism (activations split over at most ``max_tensor_parallel`` ways), full
    recompute (when not already)."""
    usable = memory_gb * 1e9 * USABLE_MEMORY_FRACTION
    room = usable - activation_bytes
    if room <= 0:
        fixes = []
        if micro_batch is None or micro_batch > 1:
            fixes.append(f"lower {ref('micro_batch')}")
        if seq_len is None or seq_len > 1:
            fixes.append(f"lower {ref('seq_len')}")
        if model_parallel is None or model_parallel < max_tensor_parallel:
            fixes.append(f"raise {ref('model_parallel')} (activations split up to "
                         f"{max_tensor_parallel} ways)")
        if recompute != "full":
            fixes.append(f"use {ref('recompute')} full")
        fixes.append("choose an accelerator with more memory")
        text = ", ".join(fixes[:-1]) + (" or " if len(fixes) > 1 else "") + fixes[-1]
        raise InputError(
            f"activations of one micro-batch ({activation_bytes / 1e9:.3g} GB) exceed the "
            f"{memory_gb:g} GB accelerator for a {params:.3g}-parameter model: {text}",
            field="micro_batch" if (micro_batch or 2) > 1 else "hardware", hint=text
        )
    return max(1, math.ceil(TRAIN_BYTES_PER_PARAM * params / room))


@dataclass(frozen=True)
class DecodeThroughput:
    """Decode rate per chip and what bounds it (arrays when ``params`` is an array)."""

    tokens_per_s_per_chip: float
    compute_bound_tokens_per_s: float
    memory_bound_tokens_per_s: float
    bound: str  # "compute" or "memory" (of the first element for arrays)
    chips_per_replica: int
    weight_bytes: float
    kv_bytes_per_token: float


def kv_bytes_per_token(
    params,
    shape: ModelShape | None = None,
    bytes_per_value: float = 2.0,
    kv_head_fraction: float = 0.125,
):
    """KV cache per token of context: 2 (K and V) x layers x d_model x KV-head share x bytes.

    Without a shape, layers x d_model follows the derived shape (N = 12 L d^2, d = 102.4 L),
    continuous in N so curves are smooth."""
    if shape is not None:
        return 2.0 * shape.n_layers * shape.d_model * shape.kv_head_fraction * bytes_per_value
    n = np.asarray(params, dtype=float)
    layers = (n / (12.0 * DEFAULT_ASPECT_RATIO**2)) ** (1.0 / 3.0)
    return 2.0 * DEFAULT_ASPECT_RATIO * layers**2 * kv_head_fraction * bytes_per_value


def decode_throughput(
    params,
    *,
    peak_flops_per_s: float,
    memory_bandwidth_tb_per_s: float,
    memory_gb: float,
    utilization: float,
    weight_precision: str = "bf16",
    batch: int = 64,
    context_tokens: int = 2048,
    shape: ModelShape | None = None,
) -> DecodeThroughput:
    """Tokens per second per chip when decoding a batch of ``batch`` sequences.

    Compute-bound: ``peak * util / (2N)``. Memory-bound: a decode step reads the weights once and
    the KV cache of each sequence (``context_tokens`` on average), so a replica of k chips makes
    ``batch`` tokens per ``(W + batch * ctx * kv) / (k * bandwidth * util)`` seconds, i.e.
    ``batch * bandwidth * util / (W + batch * ctx * kv)`` tokens/s per chip. The replica spans
    the fewest chips whose memory holds weights and KV cache. Vectorised over ``params``."""
    if weight_precision not in INFERENCE_BYTES_PER_PARAM:
        raise InputError(
            f"inference precision must be one of {list(INFERENCE_BYTES_PER_PARAM)}, "
            f"got {weight_precision!r}"
        )
    if batch < 1 or context_tokens < 1:
        raise InputError("inference batch and context must be at least 1")
    if np.ndim(params) == 0:  # scalar fast path: the same arithmetic without array overhead
        n = float(params)
        w_bytes = INFERENCE_BYTES_PER_PARAM[weight_precision] * n
        if shape is not None:
            kv = kv_bytes_per_token(n, shape)
        else:
            layers = (n / (12.0 * DEFAULT_ASPECT_RATIO**2)) ** (1.0 / 3.0)
            kv = 2.0 * DEFAULT_ASPECT_RATIO * layers**2 * 0.125 * 2.0
        step_bytes = w_bytes + batch * context_tokens * kv
        chips = max(1, math.ceil(step_bytes / (memory_gb * 1e9 * USABLE_MEMORY_FRACTION)))
        compute_rate = peak_flops_per_s * utilization / (2.0 * n)
        memory_rate = batch * memory_bandwidth_tb_per_s * 1e12 * utilization / step_bytes
        return DecodeThroughput(
            min(compute_rate, memory_rate),
            compute_rate,
            memory_rate,
            "compute" if compute_rate <= memory_rate else "memory",
            chips,
            w_bytes,
            float(kv),
        )
    n = np.asarray(params, dtype=float)
    w_bytes = INFERENCE_BYTES_PER_PARAM[weight_precision] * n
    kv = kv_bytes_per_token(n, shape)  # KV cache kept in bf16
    step_bytes = w_bytes + batch * context_tokens * kv
    chips = np.maximum(1.0, np.ceil(step_bytes / (memory_gb * 1e9 * USABLE_MEMORY_FRACTION)))
    compute_rate = peak_flops_per_s * utilization / (2.0 * n)
    memory_rate = batch * memory_bandwidth_tb_per_s * 1e12 * utilization / step_bytes
    rate = np.minimum(compute_rate, memory_rate)
    first = np.ravel(compute_rate)[0] <= np.ravel(memory_rate)[0]

    def out(x):
        return x if np.ndim(x) else float(x)

    return DecodeThroughput(
        out(rate),
        out(compute_rate),
        out(memory_rate),
        "compute" if first else "memory",
        int(np.ravel(chips)[0]) if np.ndim(chips) else int(chips),
        out(w_bytes),
        out(kv),
    )


def cost_per_million_tokens(price_usd_per_hour: float, tokens_per_s_per_chip):
    """Dollars per million generated tokens for one chip at the given decode rate."""
    return (
        price_usd_per_hour
        / (np.asarray(tokens_per_s_per_chip, dtype=float) * SECONDS_PER_HOUR)
        * 1e6
    )


# --------------------------------------------------------------------------------------
# Stage 4 of an estimate: dollars, energy, CO2 and lifetime totals
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostsResult:
    """Dollars (USD), energy (MWh), emissions (tonnes CO2e) and the lifetime totals."""

    cost_usd: float
    energy_mwh: float
    co2_tonnes: float | None
    lifetime_inference_tokens: float
    lifetime_inference_cost_usd: float | None
    lifetime_total_cost_usd: float | None


def costs_stage(gpu_hours: float, price_usd_per_hour: float, power_w: float, pue: float,
                grid_kg_co2_per_kwh: float | None, lifetime_inference_tokens: float,
                cost_per_million_tokens_usd: float | None,
                peak_to_mean: float = 1.0) -> CostsResult:
    """Stage 4: training dollars are GPU-hours x price; energy is chip power x hours x PUE
    (facility energy); CO2 is energy x grid intensity (kg/kWh = t/MWh); lifetime inference is
    output tokens x all-in cost per output token x peak-to-mean (the serving fleet is sized,
    and paid, for the peak). With serving unavailable and demand, lifetime costs are None."""
    cost = gpu_hours * price_usd_per_hour
    energy = float(energy_mwh(gpu_hours, power_w, pue))
    co2 = energy * grid_kg_co2_per_kwh if grid_kg_co2_per_kwh is not None else None
    if lifetime_inference_tokens <= 0:
        lifetime_inf: float | None = 0.0
    elif cost_per_million_tokens_usd is None:
        lifetime_inf = None
    else:
        lifetime_inf = lifetime_inference_tokens * cost_per_million_tokens_usd / 1e6 * peak_to_mean
    return CostsResult(cost_usd=cost, energy_mwh=energy, co2_tonnes=co2,
                       lifetime_inference_tokens=lifetime_inference_tokens,
                       lifetime_inference_cost_usd=lifetime_inf,
                       lifetime_total_cost_usd=(None if lifetime_inf is None
                                                else cost + lifetime_inf))
