"""Constants of the training-run model: a few fitted per chip family, the rest sourced.

Fitted (``python -m estimator.training.calibration --write`` recomputes them and writes
``estimator/data/training_constants.yaml``; ``tests/test_training_calibration.py`` checks the
shipped file equals the fit):

* per family, on the measured layouts of ``training_layouts.csv`` (step level):
  ``gemm_efficiency`` (the matrix-multiply ceiling as a share of dense peak),
  ``gemm_half_width`` (the matrix width at which a multiply runs at half that ceiling: small
  widths run far below peak), ``memory_efficiency`` (achieved share of HBM bandwidth in
  memory-bound kernels), ``comm_efficiency`` (achieved share of link bandwidth in collectives)
  and ``comm_overlap`` (share of overlappable communication hidden behind compute);
* global: ``fp8_gemm_gain`` (share of the nominal fp8-over-bf16 peak ratio that fp8 matrix
  multiplies realise, on NVIDIA's dgxc bf16/fp8 pairs), ``moe_load_imbalance`` (time of the
  busiest expert over the balanced ideal: load imbalance and grouped-GEMM inefficiency;
  Megatron-Bridge's force-balanced rows use 1), and ``campaign_overhead`` (the share of paid
  time that published runs lose beyond failures and checkpoints: evaluations, stalls,
  loss-spike rollbacks), fitted on ``published_runs.csv``; ``batch_practice_fraction``, the global
  batch labs actually train with as a share of DeepSeek's B_opt (the geometric mean over the
  published batches of :data:`estimator.training.reference.PUBLISHED_BATCHES`).

Sourced or judged (each says which):

* job-killing interruption rate per GPU-hour, per family (:data:`FAILURE_RATE_PER_GPU_HOUR`);
* restart cost, checkpoint size, storage bandwidth, collective latencies (:data:`GLOBAL`).

Families without published data borrow another's fitted constants (:data:`BORROWED`, with
the reason) and get a wider band (:data:`BORROWED_BAND_WIDENING`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from types import MappingProxyType

from estimator.errors import InputError
from estimator.training.types import FAMILIES, RECOMPUTE
from estimator.yamlio import load_yaml_text

CONSTANTS_FILE = "training_constants.yaml"


@dataclass(frozen=True)
class FamilyConstants:
    """The fitted step-model constants of one chip family (see the module docstring)."""

    family: str
    gemm_efficiency: float
    gemm_half_width: float
    memory_efficiency: float
    comm_efficiency: float
    comm_overlap: float
    #: log of the 10th and 90th percentile of the GPU-hours ratio reported / predicted
    #: (leave-one-out residuals of the published runs; see estimator.training.calibration)
    band_log_p10: float
    band_log_p90: float
    #: the least activation recompute the layout search considers (``none``: every option):
    #: ``full`` for a family whose every measured layout rematerialises fully (its software
    #: is not credited with what it was never measured doing; TPU v4: PaLM)
    least_recompute: str = "none"
    #: the family whose fitted constants these are, when borrowed (None when fitted)
    borrowed_from: str | None = None


@dataclass(frozen=True)
class GlobalConstants:
    """Constants shared by every family: four fitted (module docstring), the rest sourced."""

    fp8_gemm_gain: float
    moe_load_imbalance: float
    campaign_overhead: float
    #: planned global batch as a share of DeepSeek's B_opt (the batch labs use)
    batch_practice_fraction: float


@dataclass(frozen=True)
class ModelConstants:
    """Everything :func:`estimator.training.plan_training_run` needs besides the job."""

    families: MappingProxyType  # family -> FamilyConstants (every family in FAMILIES)
    globals: GlobalConstants

    def family(self, family: str) -> FamilyConstants:
        return self.families[family]

    @property
    def key(self) -> tuple:
        """Every constant as a hashable tuple (for caches)."""
        return (tuple(sorted(self.families.items())), self.globals)


#: Job-killing interruptions per GPU-hour (the job-level rate is this times the GPU count,
#: the modelling hint of training_refs.md Sec. 2).
#: Hopper: Llama 3 405B, 466 interruptions (419 unexpected + 47 planned) in a 54-day snapshot
#: on 16,384 H100 (Llama 3 paper, arXiv:2407.21783, Sec. 3.3.4, Table 5):
#: 466 / (54 * 24 * 16384) = 2.19e-5.
#: Ampere: OPT-175B, "at least 35 manual restarts" and "70+ automatic restarts" in about two
#: months on 992 A100 (Zhang et al. 2022, arXiv:2205.01068, Sec. 2.5): 105 / (60 * 24 * 992)
#: = 7.4e-5. (Kokolis et al. 2024 measure a 7.9 h MTTF for 1,024-GPU A100 jobs, 1.2e-4, all
#: causes; secondary summaries only, so not used.)
#: Other families: no published statistics; they borrow the contemporary family with data
#: (:data:`CONTEMPORARY`): Hopper for the 2023-and-later chips, Ampere for TPU v4 (2021-22).
#: Judgement, not a measurement.
FAILURE_RATE_PER_GPU_HOUR = MappingProxyType({
    "nvidia-ampere": 7.4e-5,
    "nvidia-hopper": 2.19e-5,
    "nvidia-blackwell": 2.19e-5,
    "google-tpu": 2.19e-5,
    "google-tpu-v4": 7.4e-5,
    "amd-cdna": 2.19e-5,
    "aws-trainium": 2.19e-5,
})

#: The contemporary family with the most data, for each family (the one whose constants it
#: takes where it has none of its own): the constants mostly measure the software of a chip's
#: era (kernels, collectives, overlap), which goes with the year more than with the vendor.
#: TPU v4 (2021-22, PaLM's T5X/Pathways) -> Ampere (2020-22, Megatron-LM 2021-22);
#: Blackwell, AMD CDNA 3, Trainium 2 (2024-25) -> Hopper. Judgement.
CONTEMPORARY = MappingProxyType({
    "nvidia-blackwell": "nvidia-hopper",
    "google-tpu-v4": "nvidia-ampere",
    "amd-cdna": "nvidia-hopper",
    "aws-trainium": "nvidia-hopper",
})

#: Families that borrow fitted step constants, with the reason. Their band is widened.
BORROWED = MappingProxyType({
    "amd-cdna": ("nvidia-hopper", "no published MI300-class layouts or runs in the reference "
                 "data; Hopper is the contemporary GPU with the most data (matrix engines, "
                 "HBM3 and a scale-up fabric of 8 like an HGX node)"),
    "aws-trainium": ("nvidia-hopper", "no published Trainium layouts or runs; Hopper is the "
                     "contemporary accelerator with the most data"),
})
#: Band widening of a borrowed family: the log-band is multiplied by this (judgement: a
#: borrowed family's ceiling can differ by about as much again as the fitted residuals).
BORROWED_BAND_WIDENING = 1.5
#: Families fitted with fewer step constants: only the GEMM ceiling is fitted on their own
#: rows, the rest is the contemporary family's (:data:`CONTEMPORARY`). Blackwell's 13 layouts
#: are nearly all MoE or fp8 rows; TPU v4 has one, PaLM's (a family whose rows are all left
#: out, as in PaLM's leave-one-out, takes the ceiling too).
PARTIAL_BORROW = MappingProxyType({"nvidia-blackwell": "nvidia-hopper",
                                   "google-tpu-v4": "nvidia-ampere"})
#: Families whose frameworks train without pipeline parallelism, so the search does not use it
#: unless the job pins ``pp``: TPUs shard with FSDP and tensor parallelism over the ICI torus
#: (PaLM "without pipeline parallelism", arXiv:2204.02311 Sec. 4; every MaxText v5p/v5e
#: configuration in training_refs.md 1.10).
NO_PIPELINE_FAMILIES = frozenset({"google-tpu", "google-tpu-v4"})

#: Hardware generations whose calibration family is not their vendor family (the profile
#: files' ``generation`` -> the run model's family; see :func:`family_for`).
GENERATION_FAMILY = MappingProxyType({"tpu-v4": "google-tpu-v4"})


def constants_status(family: str) -> str:
    """Where the run model's constants for calibration ``family`` come from, in words:
    ``fitted (f)``, ``partly fitted (f; the rest g's)`` (:data:`PARTIAL_BORROW`) or
    ``borrowed from g`` (:data:`BORROWED`)."""
    if family in BORROWED:
        return f"borrowed from {BORROWED[family][0]}"
    if family in PARTIAL_BORROW:
        return f"partly fitted ({family}; the rest {PARTIAL_BORROW[family]}'s)"
    return f"fitted ({family})"


def family_for(family: str, generation: str | None = None) -> str:
    """The run model's calibration family of a chip: ``family`` unless its ``generation`` has
    its own (TPU v4: ``google-tpu-v4``, fitted apart from v5e/v5p; :data:`GENERATION_FAMILY`)."""
    return GENERATION_FAMILY.get((generation or "").lower(), family)


@dataclass(frozen=True)
class _Global:
    """Sourced constants and judgements (not fitted)."""

    #: Share of HBM usable for model state and activations: frameworks run to ~95% of HBM
    #: (llm-foundry's 1B model at micro-batch 20 without recompute on an 80 GB H100 needs
    #: ~74 GB by this model's count; judgement, above estimator.costs' planning 0.9).
    usable_memory_fraction: float = 0.95
    #: Downtime of one interruption, s: detection and diagnosis within 10 minutes, then restart
    #: and reload (MegaScale, arXiv:2402.15627, Sec. 6.3; Kokolis et al. 2024 assume 5 min
    #: restart). 15 minutes: judgement from those two.
    restart_s: float = 900.0
    #: Checkpoint bytes per parameter: bf16 weights (2) + fp32 master weights and Adam moments
    #: (12) (Rajbhandari et al. 2020, arXiv:1910.02054, Sec. 3).
    checkpoint_bytes_per_param: float = 14.0
    #: Default checkpoint write bandwidth per GPU, B/s, and its cap for the whole job: Meta's
    #: Tectonic sustains ~2 TB/s for 16K GPUs (Llama 3 paper Sec. 3.3.1; recalled, unverified).
    #: 1 GB/s per GPU below the cap is a judgement.
    checkpoint_bytes_per_s_per_gpu: float = 1e9
    checkpoint_bytes_per_s_cap: float = 2e12
    #: Latency of one collective, s: within the scale-up domain and across it (NCCL small
    #: message latencies, judgement).
    collective_latency_up_s: float = 10e-6
    collective_latency_out_s: float = 30e-6
    #: Bytes moved per logit element in the loss (bf16 logits written and read, fp32 softmax
    #: and gradient): judgement.
    loss_bytes_per_logit: float = 12.0
    #: Bytes per parameter of the gradient reduce-scatter and of the weight all-gather: bf16
    #: (Megatron-Core and PyTorch FSDP mixed-precision defaults; Llama 3 reduces in fp32,
    #: arXiv:2407.21783 Sec. 3.3.2, which doubles the gradient share: judgement).
    grad_reduce_bytes: float = 2.0
    param_gather_bytes: float = 2.0
    #: Adam update traffic per parameter: read fp32 master, m, v, grad (16), write master, m, v
    #: (12) and the bf16 copy (2): 30 B, plus the gradient-norm read (4).
    optimizer_bytes_per_param: float = 34.0
    #: DeepSeek LLM (arXiv:2401.02954, Sec. 3.1) B_opt = 0.2920 C^0.3271 tokens, C = M D with
    #: M non-embedding FLOPs per token (72 n_layer d^2 + 12 n_layer d l_seq).
    batch_law_coefficient: float = 0.2920
    batch_law_exponent: float = 0.3271


GLOBAL = _Global()


def _data_text() -> str:
    return resources.files("estimator.data").joinpath(CONSTANTS_FILE).read_text("utf-8")


def constants_from_dict(data: dict) -> ModelConstants:
    """Build :class:`ModelConstants` from the YAML mapping (see ``training_constants.yaml``)."""
    where = CONSTANTS_FILE
    try:
        fam_data = data["families"]
        glob = GlobalConstants(**{f.name: float(data["global"][f.name])
                                  for f in fields(GlobalConstants)})
        fams = {}
        for fam in FAMILIES:
            if fam in BORROWED:
                continue
            entry = fam_data[fam]
            least = str(entry.get("least_recompute", "none"))
            if least not in RECOMPUTE:
                raise ValueError(f"{fam}.least_recompute = {least!r}")
            fams[fam] = FamilyConstants(
                family=fam, borrowed_from=None, least_recompute=least,
                **{f.name: float(entry[f.name]) for f in fields(FamilyConstants)
                   if f.name not in ("family", "borrowed_from", "least_recompute")})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{where}: missing or invalid constant ({exc})",
                         field="constants") from None
    for fam, (src, _why) in BORROWED.items():
        base = fams[src]
        fams[fam] = FamilyConstants(
            family=fam, gemm_efficiency=base.gemm_efficiency,
            gemm_half_width=base.gemm_half_width, memory_efficiency=base.memory_efficiency,
            comm_efficiency=base.comm_efficiency, comm_overlap=base.comm_overlap,
            band_log_p10=base.band_log_p10 * BORROWED_BAND_WIDENING,
            band_log_p90=base.band_log_p90 * BORROWED_BAND_WIDENING,
            least_recompute=base.least_recompute, borrowed_from=src)
    return ModelConstants(families=MappingProxyType(fams), globals=glob)


@cache
def default_constants() -> ModelConstants:
    """The shipped, fitted constants (loaded once)."""
    data = load_yaml_text(_data_text(), CONSTANTS_FILE, InputError, "constants file")
    return constants_from_dict(data)
