"""Inputs of the serving model: the accelerator, the request mix, latency targets, precisions.

Frozen dataclasses that check themselves on construction and raise
:class:`estimator.errors.InputError` naming the field. SI units throughout: bytes, seconds,
FLOP/s, tokens. The accelerator is described independently of the hardware-profile file, so
the engine maps a profile onto :class:`ServingAccelerator` once (see ``docs/serving_model.md``,
"Mapping a hardware profile").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from estimator.errors import InputError

#: Calibration families of the serving constants (the chip-family table of
#: ``docs/architecture.md``).
FAMILIES = ("nvidia-ampere", "nvidia-hopper", "nvidia-blackwell", "google-tpu", "amd-cdna",
            "aws-trainium")

#: Precisions of weights and of the KV cache the model knows.
PRECISIONS = ("bf16", "fp16", "fp8", "int8", "int4", "fp4")

#: Bytes per stored value. ``int4`` is 4-bit weights in groups of 128 with one fp16 scale per
#: group (AWQ, Lin et al. 2023, arXiv:2306.00978, Sec. 4; GPTQ, Frantar et al. 2022, use the
#: same group size): 0.5 + 2/128 bytes. ``fp4`` is NVFP4, an E2M1 value with one FP8 (E4M3)
#: scale per 16-value block (NVIDIA, "Introducing NVFP4", 2025): 0.5 + 1/16 bytes.
BYTES_PER_VALUE = MappingProxyType({
    "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5 + 2.0 / 128.0,
    "fp4": 0.5 + 1.0 / 16.0,
})

#: Bit width per precision (for the post-training-quantisation caveat).
BITS = MappingProxyType({"bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4, "fp4": 4})


def _positive(value: object, name: str, *, integer: bool = False, allow_zero: bool = False
              ) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value >= 0 if allow_zero else value > 0
    if ok and integer:
        ok = float(value).is_integer()
    if not ok:
        kind = "a whole number" if integer else "a number"
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be {kind} {bound}, got {value!r}", field=name,
                         value=value, expected=f"{kind} {bound}")
    return float(value)


def check_precision(value: object, name: str) -> str:
    """Return the precision name, or raise an :class:`InputError` listing the known ones."""
    if value not in PRECISIONS:
        raise InputError(f"{name} must be one of {', '.join(PRECISIONS)}, got {value!r}",
                         field=name, value=value, expected=" / ".join(PRECISIONS),
                         hint="fp8 and int8 halve the bytes of bf16; int4 and fp4 quarter them")
    return str(value)


@dataclass(frozen=True, eq=False)
class ServingAccelerator:
    """One chip as the serving model sees it (figures per chip, dense peaks, per direction).

    * ``peak_flops_per_s``: dense tensor throughput in FLOP/s (OP/s for int8) per precision,
      keys among ``bf16, fp16, fp8, fp4, int8``; ``bf16`` is required.
    * ``memory_bytes``: HBM capacity in bytes. Vendors' "80 GB" HBM is 80 GiB (2**30 bytes):
      map a profile's ``memory_gb`` with ``* 2**30``.
    * ``memory_bandwidth_bytes_per_s``: HBM bandwidth, bytes/s (decimal TB/s * 1e12).
    * ``scale_up_domain_chips``: chips one tensor-parallel replica may span (NVLink domain,
      TPU slice); ``scale_up_bytes_per_s``: link bandwidth per chip per direction, bytes/s.
    * ``scale_out_bytes_per_s``: network bandwidth per chip per direction between domains,
      bytes/s; 0 (unknown) keeps every replica inside one domain.
    """

    id: str
    family: str
    peak_flops_per_s: Mapping[str, float]
    memory_bytes: float
    memory_bandwidth_bytes_per_s: float
    scale_up_domain_chips: int
    scale_up_bytes_per_s: float
    scale_out_bytes_per_s: float = 0.0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise InputError(f"accelerator {self.id!r}: family must be one of "
                             f"{', '.join(FAMILIES)}, got {self.family!r}", field="family",
                             value=self.family, expected=" / ".join(FAMILIES))
        if not isinstance(self.peak_flops_per_s, Mapping) or "bf16" not in self.peak_flops_per_s:
            raise InputError(f"accelerator {self.id!r}: peak_flops_per_s needs a 'bf16' entry",
                             field="peak_flops_per_s", value=self.peak_flops_per_s,
                             expected="a mapping precision -> dense FLOP/s with 'bf16'")
        peaks = {}
        for key, v in self.peak_flops_per_s.items():
            if key not in ("bf16", "fp16", "fp8", "fp4", "int8"):
                raise InputError(f"accelerator {self.id!r}: unknown peak precision {key!r}",
                                 field="peak_flops_per_s", value=key,
                                 expected="bf16 / fp16 / fp8 / fp4 / int8")
            peaks[key] = _positive(v, f"peak_flops_per_s.{key}")
        object.__setattr__(self, "peak_flops_per_s", MappingProxyType(peaks))
        _positive(self.memory_bytes, "memory_bytes")
        _positive(self.memory_bandwidth_bytes_per_s, "memory_bandwidth_bytes_per_s")
        _positive(self.scale_up_domain_chips, "scale_up_domain_chips", integer=True)
        _positive(self.scale_up_bytes_per_s, "scale_up_bytes_per_s")
        object.__setattr__(self, "scale_up_domain_chips", int(self.scale_up_domain_chips))
        if isinstance(self.scale_out_bytes_per_s, bool) or not isinstance(
                self.scale_out_bytes_per_s, (int, float)) or not math.isfinite(
                self.scale_out_bytes_per_s) or self.scale_out_bytes_per_s < 0:
            raise InputError(f"accelerator {self.id!r}: scale_out_bytes_per_s must be a number "
                             f">= 0, got {self.scale_out_bytes_per_s!r}",
                             field="scale_out_bytes_per_s", value=self.scale_out_bytes_per_s,
                             expected="a number >= 0 (bytes/s per chip)")

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s for ``precision`` (fp16 falls back to bf16)."""
        if precision == "fp16":
            return self.peak_flops_per_s.get("fp16", self.peak_flops_per_s["bf16"])
        return self.peak_flops_per_s[precision]


@dataclass(frozen=True)
class RequestMix:
    """Tokens per request: ``input_tokens`` (prompt) and ``output_tokens`` (generated; reasoning
    tokens are generated tokens: give them in ``reasoning_tokens`` or count them in
    ``output_tokens``). Means over a workload are allowed (fractional)."""

    input_tokens: float
    output_tokens: float
    reasoning_tokens: float = 0.0

    def __post_init__(self) -> None:
        _positive(self.input_tokens, "input_tokens")
        _positive(self.output_tokens, "output_tokens")
        _positive(self.reasoning_tokens, "reasoning_tokens", allow_zero=True)
        if self.input_tokens < 1 or self.output_tokens < 1:
            field_name = "input_tokens" if self.input_tokens < 1 else "output_tokens"
            raise InputError(f"{field_name} must be at least 1 token per request",
                             field=field_name, value=getattr(self, field_name),
                             expected="at least 1")

    @property
    def generated_tokens(self) -> float:
        """Tokens the model generates per request: output plus reasoning."""
        return float(self.output_tokens + self.reasoning_tokens)


@dataclass(frozen=True)
class LatencyTargets:
    """Mean time to first token ``ttft_s`` and mean time per output token ``tpot_s`` (seconds);
    ``None`` means no target."""

    ttft_s: float | None = None
    tpot_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("ttft_s", "tpot_s"):
            v = getattr(self, name)
            if v is not None:
                _positive(v, name)

    @property
    def any(self) -> bool:
        return self.ttft_s is not None or self.tpot_s is not None


@dataclass(frozen=True)
class ServingConstants:
    """Efficiency constants of one chip family (fitted, or borrowed from another family) and
    the engine settings the model assumes (judgements, the same for every family).

    Fitted per family (``estimator.serving.calibration``):

    * ``hbm_efficiency``: achieved share of HBM bandwidth when streaming weights and KV cache;
    * ``compute_efficiency``: achieved share of dense peak in matmuls and attention;
    * ``step_overhead_s``: fixed time per engine iteration (scheduling, launches, sampling).

    Shared judgements (see ``docs/serving_model.md``):

    * ``allreduce_latency_s``: fixed latency of one tensor-parallel all-reduce;
    * ``link_efficiency``: achieved share of the scale-up link bandwidth in an all-reduce;
    * ``kv_memory_fraction``: share of the memory left after weights and the runtime reserve
      that the engine gives the KV cache (TensorRT-LLM's ``kv_cache_free_gpu_mem_fraction``
      default 0.9);
    * ``runtime_reserve_bytes`` (per chip: CUDA/XLA context, workspaces; the model adds the
      activations of one ``chunk_tokens`` forward pass) or ``runtime_reserve_fraction`` of
      the chip's memory, whichever is larger, is kept outside weights and KV cache;
    * ``chunk_tokens``: tokens in one engine iteration (TensorRT-LLM ``max_num_tokens`` 8192);
    * ``max_batch``: most sequences in flight (trtllm-bench's runtime maximum, 4096).
    """

    family: str
    hbm_efficiency: float
    compute_efficiency: float
    step_overhead_s: float
    allreduce_latency_s: float = 25e-6
    link_efficiency: float = 0.5
    kv_memory_fraction: float = 0.9
    runtime_reserve_bytes: float = 2**30
    runtime_reserve_fraction: float = 0.08
    chunk_tokens: int = 8192
    max_batch: int = 4096
    borrowed_from: str | None = None
    provenance: str = ""
    band: tuple[float, float] = (1.0, 1.0)
    extra_warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("hbm_efficiency", "compute_efficiency", "kv_memory_fraction",
                     "link_efficiency"):
            v = _positive(getattr(self, name), name)
            if v > 1.0:
                raise InputError(f"{name} is a share and cannot exceed 1, got {v}", field=name,
                                 value=v, expected="0 < value <= 1")
        _positive(self.step_overhead_s, "step_overhead_s", allow_zero=True)
        _positive(self.allreduce_latency_s, "allreduce_latency_s", allow_zero=True)
        _positive(self.runtime_reserve_bytes, "runtime_reserve_bytes", allow_zero=True)
        _positive(self.runtime_reserve_fraction, "runtime_reserve_fraction", allow_zero=True)
        if self.runtime_reserve_fraction >= 1.0:
            raise InputError("runtime_reserve_fraction must be below 1",
                             field="runtime_reserve_fraction",
                             value=self.runtime_reserve_fraction, expected="0 <= value < 1")
        _positive(self.chunk_tokens, "chunk_tokens", integer=True)
        _positive(self.max_batch, "max_batch", integer=True)
