"""Inputs and results of the training-run model: frozen, validated, SI units in the names.

* :class:`Accelerator` describes one chip and the cluster fabric around it, independently of the
  hardware-profile file (the lead maps profiles onto it);
* :class:`TrainingJob` is what to train (the shape, tokens, GPUs, sequence length, precision)
  and what the user pins (parallel degrees, micro-batch, recompute, batch, MFU, goodput);
* :class:`Layout`, :class:`StepBreakdown` and :class:`TrainingRun` are what
  :func:`estimator.training.plan_training_run` returns; :class:`GpuSweep` what
  :func:`estimator.training.sweep_gpus` returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from estimator.errors import InputError
from estimator.shape import ModelShape

#: Calibration families (docs/architecture.md, "Chip families"). ``google-tpu`` is TPU v5e/v5p
#: and later (MaxText, 2024); ``google-tpu-v4`` is TPU v4 and its 2022 software (PaLM), a
#: chip generation whose measured efficiency is far from v5p's (docs/run_model.md).
FAMILIES = ("nvidia-ampere", "nvidia-hopper", "nvidia-blackwell", "google-tpu", "google-tpu-v4",
            "amd-cdna", "aws-trainium")
#: Training precisions of the matrix multiplies. fp16 runs at the bf16 rate on every chip here.
PRECISIONS = ("bf16", "fp16", "fp8", "fp4")
#: Activation recomputation: ``none`` stores every activation the backward pass needs;
#: ``selective`` recomputes norms and the MLP activation function (Megatron-Core
#: ``--recompute-modules layernorm,mlp-act``-style, memory-bound work only); ``full``
#: stores each layer's input and re-runs the layer's forward pass (Chen et al. 2016,
#: arXiv:1604.06174; Korthikanti et al. 2022, arXiv:2205.05198, Sec. 5).
RECOMPUTE = ("none", "selective", "full")
#: ZeRO stages searched: 1 = distributed optimizer (optimizer state sharded over data
#: parallel ranks, Megatron-LM's default), 3 = fully sharded weights, gradients and optimizer
#: state (ZeRO-3, Rajbhandari et al. 2020, arXiv:1910.02054; PyTorch FSDP).
ZERO_STAGES = (1, 3)


def _positive(value, name: str, *, whole: bool = False, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if ok and whole:
        ok = float(value) == int(value)
    if not ok:
        kind = "a whole number" if whole else "a number"
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be {kind} {bound}, got {value!r}", field=name,
                         value=value, expected=f"{kind} {bound}")


@dataclass(frozen=True)
class Accelerator:
    """One accelerator and its fabric. Peaks dense, bandwidths per chip and per direction.

    ``peak_flops_per_s`` maps a precision (``bf16``, ``fp8``, ``fp4``; ``fp16`` defaults to
    ``bf16``) to the dense peak in FLOP/s. ``scale_up_domain_chips`` is the number of chips
    joined by the fast link (8 in an HGX node, 72 in a GB200 NVL72 rack, a TPU slice);
    ``scale_up_bytes_per_s`` that link's bandwidth per chip per direction (H100: 450e9),
    ``scale_out_bytes_per_s`` the network between domains per chip per direction (one 400 Gb/s
    NIC per GPU: 50e9). ``family`` selects the calibrated constants (:data:`FAMILIES`).
    """

    id: str
    family: str
    peak_flops_per_s: Mapping[str, float]
    memory_bytes: float
    memory_bandwidth_bytes_per_s: float
    scale_up_domain_chips: int
    scale_up_bytes_per_s: float
    scale_out_bytes_per_s: float
    power_w: float = 0.0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise InputError(f"accelerator family {self.family!r} is not known",
                             field="family", value=self.family,
                             expected="one of " + ", ".join(FAMILIES))
        if "bf16" not in self.peak_flops_per_s:
            raise InputError("peak_flops_per_s must give the dense bf16 peak",
                             field="peak_flops_per_s", value=dict(self.peak_flops_per_s),
                             expected="a mapping with at least 'bf16'")
        for prec, v in self.peak_flops_per_s.items():
            if prec not in PRECISIONS:
                raise InputError(f"peak_flops_per_s has unknown precision {prec!r}",
                                 field="peak_flops_per_s", value=prec,
                                 expected="one of " + ", ".join(PRECISIONS))
            _positive(v, f"peak_flops_per_s.{prec}")
        object.__setattr__(self, "peak_flops_per_s", dict(self.peak_flops_per_s))
        for name in ("memory_bytes", "memory_bandwidth_bytes_per_s", "scale_up_bytes_per_s",
                     "scale_out_bytes_per_s"):
            _positive(getattr(self, name), name)
        _positive(self.scale_up_domain_chips, "scale_up_domain_chips", whole=True)
        _positive(self.power_w, "power_w", allow_zero=True)

    def __hash__(self) -> int:  # the peaks are a dict: hash their items
        return hash((self.id, self.family, tuple(sorted(self.peak_flops_per_s.items())),
                     self.memory_bytes, self.memory_bandwidth_bytes_per_s,
                     self.scale_up_domain_chips, self.scale_up_bytes_per_s,
                     self.scale_out_bytes_per_s, self.power_w))

    def peak(self, precision: str) -> float:
        """Dense peak in FLOP/s at ``precision``; fp16 falls back to bf16. Raises
        :class:`InputError` naming the precisions the chip has."""
        if precision == "fp16" and "fp16" not in self.peak_flops_per_s:
            precision = "bf16"
        if precision not in self.peak_flops_per_s:
            have = ", ".join(p for p in PRECISIONS if p in self.peak_flops_per_s)
            raise InputError(f"accelerator '{self.id}' has no {precision} peak",
                             field="precision", value=precision, expected=f"one of {have}",
                             hint="choose a precision the chip supports")
        return float(self.peak_flops_per_s[precision])


@dataclass(frozen=True)
class TrainingJob:
    """A training run to plan. ``tokens`` are training tokens; ``seq_len`` tokens per sequence.

    Every pin is optional and fixes that choice instead of searching it: parallel degrees
    ``tp``, ``pp``, ``cp`` (context), ``ep`` (expert), ``micro_batch`` (sequences),
    ``recompute`` (:data:`RECOMPUTE`), ``zero_stage`` (1 or 3), ``virtual_stages``
    (interleaved pipeline chunks per GPU), ``global_batch_tokens``. ``mfu`` and ``goodput``
    bypass the model for that factor (``mfu`` against the dense peak at ``precision``).
    ``checkpoint_storage_bytes_per_s`` is the aggregate write bandwidth of checkpoint storage
    (default: :data:`estimator.training.constants.GLOBAL` rule).
    """

    shape: ModelShape
    tokens: float
    gpus: int
    seq_len: int = 4096
    precision: str = "bf16"
    tp: int | None = None
    pp: int | None = None
    cp: int | None = None
    ep: int | None = None
    micro_batch: int | None = None
    recompute: str | None = None
    zero_stage: int | None = None
    virtual_stages: int | None = None
    global_batch_tokens: float | None = None
    mfu: float | None = None
    goodput: float | None = None
    checkpoint_storage_bytes_per_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.shape, ModelShape):
            raise InputError("shape must be an estimator.shape.ModelShape", field="shape",
                             value=type(self.shape).__name__, expected="ModelShape")
        _positive(self.tokens, "tokens")
        _positive(self.gpus, "gpus", whole=True)
        _positive(self.seq_len, "seq_len", whole=True)
        object.__setattr__(self, "gpus", int(self.gpus))
        object.__setattr__(self, "seq_len", int(self.seq_len))
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got "
                             f"{self.precision!r}", field="precision", value=self.precision,
                             expected="one of " + ", ".join(PRECISIONS))
        for name in ("tp", "pp", "cp", "ep", "micro_batch", "virtual_stages"):
            v = getattr(self, name)
            if v is not None:
                _positive(v, name, whole=True)
                object.__setattr__(self, name, int(v))
        if self.recompute is not None and self.recompute not in RECOMPUTE:
            raise InputError(f"recompute must be one of {', '.join(RECOMPUTE)}, got "
                             f"{self.recompute!r}", field="recompute", value=self.recompute,
                             expected="one of " + ", ".join(RECOMPUTE))
        if self.zero_stage is not None and self.zero_stage not in ZERO_STAGES:
            raise InputError(f"zero_stage must be 1 or 3, got {self.zero_stage!r}",
                             field="zero_stage", value=self.zero_stage, expected="1 or 3")
        if self.global_batch_tokens is not None:
            _positive(self.global_batch_tokens, "global_batch_tokens")
            if self.global_batch_tokens < self.seq_len:
                raise InputError(
                    f"global_batch_tokens = {self.global_batch_tokens:g} is less than one "
                    f"sequence of {self.seq_len} tokens", field="global_batch_tokens",
                    value=self.global_batch_tokens, expected=f">= seq_len ({self.seq_len})")
        for name in ("mfu", "goodput"):
            v = getattr(self, name)
            if v is not None:
                _positive(v, name)
                if v > 1:
                    raise InputError(f"{name} is a fraction in (0, 1], got {v!r}", field=name,
                                     value=v, expected="a fraction in (0, 1]")
        if self.checkpoint_storage_bytes_per_s is not None:
            _positive(self.checkpoint_storage_bytes_per_s, "checkpoint_storage_bytes_per_s")
        if self.pp is not None and self.pp > self.shape.n_layers:
            raise InputError(f"pp = {self.pp} exceeds n_layers = {self.shape.n_layers}",
                             field="pp", value=self.pp,
                             expected=f"at most n_layers ({self.shape.n_layers})")
        if self.tp is not None and self.shape.n_heads % self.tp:
            raise InputError(f"tp = {self.tp} must divide n_heads = {self.shape.n_heads}",
                             field="tp", value=self.tp,
                             expected=f"a divisor of n_heads ({self.shape.n_heads})")
        if self.ep is not None and self.shape.n_experts % self.ep:
            raise InputError(f"ep = {self.ep} must divide n_experts = {self.shape.n_experts}",
                             field="ep", value=self.ep,
                             expected=f"a divisor of n_experts ({self.shape.n_experts})")


@dataclass(frozen=True)
class Layout:
    """A parallel layout: ``tp·pp·cp·dp = gpus``; experts spread over ``ep`` ranks carved out
    of the ``tp·cp·dp`` ranks of a pipeline stage (expert-data-parallel degree
    ``tp·cp·dp/ep``). ``micro_batch`` sequences per micro-batch, ``micro_batches`` per step
    per pipeline; ``virtual_stages`` > 1 is the interleaved 1F1B schedule (Narayanan et al.
    2021, arXiv:2104.04473, Sec. 2.2.2)."""

    tp: int
    pp: int
    dp: int
    cp: int
    ep: int
    micro_batch: int
    micro_batches: int
    recompute: str
    zero_stage: int
    virtual_stages: int
    #: ZeRO-3 sharded only inside each scale-up domain, replicated across domains (HSDP)
    hybrid_shard: bool = False
    #: DualPipe schedule (DeepSeek-V3, arXiv:2412.19437, Sec. 3.2.1)
    dualpipe: bool = False

    @property
    def schedule(self) -> str:
        if self.pp == 1:
            return "none"
        if self.dualpipe:
            return "dualpipe"
        return "interleaved-1f1b" if self.virtual_stages > 1 else "1f1b"

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.cp * self.dp


@dataclass(frozen=True)
class StepBreakdown:
    """Where one optimizer step's time goes, in seconds on the critical path. ``compute_s`` is
    matrix-multiply and attention time (recompute included), ``memory_bound_s`` norms,
    activations, loss and casts, ``exposed_*_s`` the communication not hidden behind compute,
    ``bubble_s`` the pipeline fill and drain, ``optimizer_s`` the optimizer update. They add
    up to ``step_time_s`` of the run."""

    compute_s: float
    memory_bound_s: float
    exposed_tp_s: float
    exposed_cp_s: float
    exposed_ep_s: float
    exposed_pp_s: float
    exposed_dp_s: float
    bubble_s: float
    optimizer_s: float

    @property
    def exposed_comm_s(self) -> float:
        return (self.exposed_tp_s + self.exposed_cp_s + self.exposed_ep_s + self.exposed_pp_s
                + self.exposed_dp_s)

    @property
    def total_s(self) -> float:
        return (self.compute_s + self.memory_bound_s + self.exposed_comm_s + self.bubble_s
                + self.optimizer_s)


@dataclass(frozen=True)
class TrainingRun:
    """The plan of a training run on a cluster (see :func:`plan_training_run`).

    Identities: ``tokens_per_s_per_gpu = global_batch_tokens / (step_time_s · gpus)``;
    ``predicted_mfu = 6 · N_active · tokens_per_s_per_gpu / peak(precision)``;
    ``gpu_hours = 6 · N_active · tokens_trained / (peak · mfu · goodput · 3600)``, where
    ``tokens_trained = tokens · batch_tokens_multiplier`` (1 unless the batch had to exceed the
    useful batch); ``wall_clock_days = gpu_hours / gpus / 24``.
    """

    layout: Layout
    global_batch_tokens: float
    optimal_batch_tokens: float
    batch_tokens_multiplier: float
    step_time_s: float
    breakdown: StepBreakdown
    tokens_per_s_per_gpu: float
    predicted_mfu: float
    hardware_flops_utilization: float
    goodput: float
    expected_interruptions: float
    job_mtbf_hours: float
    checkpoint_interval_s: float
    checkpoint_write_s: float
    tokens_trained: float
    train_flops: float
    gpu_hours: float
    wall_clock_days: float
    scaling_efficiency: float
    min_gpus_for_memory: int
    max_useful_gpus: int
    memory_per_gpu_bytes: float
    memory_capacity_bytes: float
    gpu_hours_p10_factor: float
    gpu_hours_p90_factor: float
    constants_family: str
    constants_borrowed_from: str | None
    mfu_pinned: bool
    goodput_pinned: bool
    warnings: tuple[str, ...] = field(default=())

    @property
    def gpu_hours_p10(self) -> float:
        return self.gpu_hours * self.gpu_hours_p10_factor

    @property
    def gpu_hours_p90(self) -> float:
        return self.gpu_hours * self.gpu_hours_p90_factor


@dataclass(frozen=True)
class GpuSweep:
    """Days and GPU-hours against the number of GPUs (one entry per requested count).

    ``fits`` is False where no layout fits in memory (then the other entries are NaN: a chart
    leaves a gap; no user-facing number is NaN). ``max_useful_gpus`` is the useful-batch
    ceiling of :class:`TrainingRun`; past it ``batch_tokens_multiplier`` > 1 and the days stop
    falling."""

    gpus: np.ndarray
    fits: np.ndarray
    wall_clock_days: np.ndarray
    gpu_hours: np.ndarray
    tokens_per_s_per_gpu: np.ndarray
    predicted_mfu: np.ndarray
    goodput: np.ndarray
    global_batch_tokens: np.ndarray
    batch_tokens_multiplier: np.ndarray
    step_time_s: np.ndarray
    max_useful_gpus: int
    min_gpus_for_memory: int
