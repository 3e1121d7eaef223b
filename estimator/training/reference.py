"""The calibration data of the run model, read into jobs: measured layouts and published runs.

* ``estimator/data/training_layouts.csv`` (a verbatim copy of the project's reference
  compilation): 240 measured configurations. Each row becomes a :class:`LayoutRow`: the
  model shape, the accelerator, a :class:`TrainingJob` with every layout choice the source
  states pinned, and the measured tokens/s per GPU (as reported, or converted from the
  source's own TFLOP/s or MFU with that source's FLOP count, :func:`_measured_tps`).
* ``estimator/data/published_runs.csv``: runs with accelerator-hours; :data:`RUN_SPECS` adds
  what the CSV lacks (shape from the model's paper or config, GPU count and sequence length,
  stated as an assumption where the paper does not give it).

The accelerators of the reference data (:data:`REFERENCE_ACCELERATORS`) use the figures of
``hardware.md``; their scale-out network is the per-GPU figure of the cluster the source
describes, where it does.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

from estimator.shape import ModelShape
from estimator.training.types import Accelerator, TrainingJob

GB = 1e9
GIB = 2.0 ** 30


def _acc(id_, family, bf16, mem, bw, dom, up, out, power, fp8=None, fp4=None) -> Accelerator:
    peaks = {"bf16": bf16 * 1e12}
    if fp8:
        peaks["fp8"] = fp8 * 1e12
    if fp4:
        peaks["fp4"] = fp4 * 1e12
    return Accelerator(id=id_, family=family, peak_flops_per_s=peaks, memory_bytes=mem,
                       memory_bandwidth_bytes_per_s=bw * 1e12, scale_up_domain_chips=dom,
                       scale_up_bytes_per_s=up * GB, scale_out_bytes_per_s=out * GB,
                       power_w=power)


#: Accelerators of the reference data (hardware.md Sec. 1; per direction = half the vendor's
#: bidirectional figure). Scale-out: one 200 Gb/s HDR NIC per A100 (DGX A100 / Selene,
#: Narayanan 2021 Sec. 5.1), one 400 Gb/s NIC per H100/H800/Blackwell GPU (DGX H100;
#: DeepSeek-V3 Sec. 3.2.2 measures ~50 GB/s IB). H800: NVLink 400 GB/s bidirectional (200 per
#: direction; DeepSeek-V3 measures ~160 GB/s). TPU ICI per chip: v5p 1,200 GB/s and v5e 400
#: GB/s bidirectional (Cloud TPU docs); v4 not published (judgement: 6 links, 540 GB/s
#: bidirectional, unverified). TPU data-centre network per chip between slices: not
#: published; 6.25 GB/s (one 200 Gb/s NIC per 4-chip host) is a judgement.
REFERENCE_ACCELERATORS = {
    "a100-80gb": _acc("a100-80gb", "nvidia-ampere", 312, 80 * GB, 2.039, 8, 300, 25, 400),
    "a100-40gb": _acc("a100-40gb", "nvidia-ampere", 312, 40 * GB, 1.555, 8, 300, 25, 400),
    "a800-80gb": _acc("a800-80gb", "nvidia-ampere", 312, 80 * GB, 2.039, 8, 200, 12.5, 400),
    "h100-sxm": _acc("h100-sxm", "nvidia-hopper", 989.5, 80 * GB, 3.35, 8, 450, 50, 700,
                     fp8=1979),
    "h800": _acc("h800", "nvidia-hopper", 989.5, 80 * GB, 3.35, 8, 200, 50, 700, fp8=1979),
    "h200": _acc("h200", "nvidia-hopper", 989.5, 141 * GB, 4.8, 8, 450, 50, 700, fp8=1979),
    "b200": _acc("b200", "nvidia-blackwell", 2250, 180 * GB, 8.0, 8, 900, 50, 1000, fp8=4500,
                 fp4=9000),
    "gb200": _acc("gb200", "nvidia-blackwell", 2500, 186 * GB, 8.0, 72, 900, 50, 1200,
                  fp8=5000, fp4=10000),
    "tpu-v4": _acc("tpu-v4", "google-tpu-v4", 275, 32 * GIB, 1.2, 3072, 270, 6.25, 192),
    "tpu-v5p": _acc("tpu-v5p", "google-tpu", 459, 95 * GB, 2.765, 8960, 600, 6.25, 320),
    "tpu-v5e": _acc("tpu-v5e", "google-tpu", 197, 16 * GB, 0.819, 256, 200, 6.25, 200),
}


def accelerator_for(hardware: str) -> str | None:
    """Reference accelerator id of a CSV hardware string (None: not modelled)."""
    h = hardware.lower()
    if "96gb" in h:  # torchtitan's 500 W HBM2e H100: not a standard part
        return None
    for key, acc in (("a800", "a800-80gb"), ("h800", "h800"), ("h200", "h200"),
                     ("gb200", "gb200"), ("b200", "b200"), ("tpu v4", "tpu-v4"),
                     ("tpu v5p", "tpu-v5p"), ("tpu v5e", "tpu-v5e")):
        if key in h:
            return acc
    if "h100" in h:
        return "h100-sxm"
    if "a100" in h:
        return "a100-40gb" if "40" in h else "a100-80gb"
    return None


def _csv(name: str) -> list[dict[str, str]]:
    text = resources.files("estimator.data").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _f(text: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _i(text: str) -> int | None:
    v = _f(text)
    return None if v is None else int(round(v))


# -- shapes ------------------------------------------------------------------------------------
#: Mixture-of-experts shapes of the layout rows, keyed by source-id prefix. From the models'
#: Hugging Face config.json as recalled by the reference compilation (marked "recalled" in
#: its confidence column); each reproduces the CSV's total and active parameters within 3%.
_MLA = dict(kv_latent_dim=576, q_lora_rank=1536, mla_rope_dim=64, head_dim=128)
MOE_SHAPES = {
    "deepseek_v2": ModelShape(n_layers=60, d_model=5120, n_heads=128, n_kv_heads=128,
                              ffn_dim=12288, vocab=102400, n_experts=160, experts_per_token=6,
                              shared_experts=2, expert_ffn_dim=1536, first_dense_layers=1,
                              **_MLA),
    "dsv3": ModelShape(n_layers=61, d_model=7168, n_heads=128, n_kv_heads=128, ffn_dim=18432,
                       vocab=129280, n_experts=256, experts_per_token=8, shared_experts=1,
                       expert_ffn_dim=2048, first_dense_layers=3, **_MLA),
    "grok1": ModelShape(n_layers=64, d_model=6144, n_heads=48, n_kv_heads=8, ffn_dim=32768,
                        vocab=131072, n_experts=8, experts_per_token=2),
    # Llama 4 Maverick alternates dense and MoE layers; counted as 24 dense then 24 MoE
    "llama4_maverick": ModelShape(n_layers=48, d_model=5120, n_heads=40, n_kv_heads=8,
                                  ffn_dim=16384, vocab=202048, n_experts=128,
                                  experts_per_token=1, shared_experts=1, expert_ffn_dim=8192,
                                  first_dense_layers=24),
    "gptoss120b": ModelShape(n_layers=36, d_model=2880, n_heads=64, n_kv_heads=8,
                             ffn_dim=2880, vocab=201088, head_dim=64, n_experts=128,
                             experts_per_token=4),
    "qwen3_30b": ModelShape(n_layers=48, d_model=2048, n_heads=32, n_kv_heads=4, ffn_dim=768,
                            vocab=151936, head_dim=128, n_experts=128, experts_per_token=8),
    "qwen3_235b": ModelShape(n_layers=94, d_model=4096, n_heads=64, n_kv_heads=4,
                             ffn_dim=1536, vocab=151936, head_dim=128, n_experts=128,
                             experts_per_token=8),
}


def _moe_shape(source_id: str) -> ModelShape | None:
    for key, shape in MOE_SHAPES.items():
        if key in source_id:
            return shape
    return None


def _dense_shape(r: dict[str, str]) -> ModelShape | None:
    L, d, h = _i(r["n_layers"]), _i(r["d_model"]), _i(r["n_heads"])
    if not (L and d and h):
        return None
    kv = _i(r["n_kv_heads"]) or h
    ffn = _i(r["ffn_dim"]) or 4 * d
    vocab = _i(r["vocab"]) or 51200
    sid = r["source_id"]
    # SwiGLU unless the MLP is the classic 4 d (GPT, MPT, BLOOM, Nemotron-4's squared ReLU);
    # PaLM is SwiGLU at 4 d (Chowdhery et al. 2022, Sec. 2)
    gated = ffn != 4 * d or sid.startswith("palm")
    head_dim = 128 if sid.startswith("maxtext") else (d // h)  # MaxText configs: head_dim 128
    tied = False
    if sid.startswith("palm"):
        # PaLM: heads of 256 (48 x 256 = 12,288, not d_model), shared input and output
        # embeddings (Chowdhery et al. 2022, Sec. 2); with them the shape holds the paper's
        # 540.35B parameters (d / h = 384 would give 572B)
        head_dim, tied = 256, True
    return ModelShape(n_layers=L, d_model=d, n_heads=h, n_kv_heads=kv, ffn_dim=ffn,
                      vocab=vocab, head_dim=head_dim, gated_mlp=gated, tied_embeddings=tied)


# -- measured throughput -------------------------------------------------------------------
def megatron_flops_per_token(shape: ModelShape, seq_len: int, recompute: bool) -> float:
    """Megatron's FLOP count per token: Narayanan et al. 2021 Eq. 3,
    ``96 B s l h^2 (1 + s / 6h + V / 16 l h)`` with recompute (``/ (B s)``), or the same
    without recompute, ``72 l h^2 (1 + s / 6h + V / 12 l h)`` (Korthikanti et al. 2022,
    Sec. 6.3); attention counted non-causally."""
    L, h, V, s = shape.n_layers, shape.d_model, shape.vocab, seq_len
    if recompute:
        return 96.0 * L * h * h * (1.0 + s / (6.0 * h) + V / (16.0 * L * h))
    return 72.0 * L * h * h * (1.0 + s / (6.0 * h) + V / (12.0 * L * h))


def maxtext_flops_per_token(shape: ModelShape, seq_len: int) -> float:
    """MaxText's count (``calculate_tflops_training_per_device``): 3 x (2 x weights used in
    multiplies, unembedding included) + 3 x 4 s q_dim per layer (attention non-causal)."""
    return 6.0 * shape.matmul_params_per_token + 12.0 * seq_len * shape.q_dim * shape.n_layers


def _measured_tps(r: dict[str, str], shape: ModelShape, peak_bf16: float) -> tuple[float, str]:
    """Measured tokens/s per GPU and how it was obtained."""
    tps = _f(r["reported_tokens_per_s_per_gpu"])
    if tps:
        return tps, "reported tokens/s"
    s = _i(r["seq_len"]) or 2048
    sid = r["source_id"]
    tflops = _f(r["reported_tflops_per_gpu"])
    mfu = _f(r["reported_mfu"])
    if sid.startswith("maxtext") and tflops:
        return tflops * 1e12 / maxtext_flops_per_token(shape, s), "TFLOP/s / MaxText count"
    if sid.startswith(("bloom", "gptneox")) and tflops:
        return (tflops * 1e12 / megatron_flops_per_token(shape, s, True),
                "TFLOP/s / Narayanan Eq. 3 (with recompute)")
    if tflops:
        return (tflops * 1e12 / megatron_flops_per_token(shape, s, False),
                "TFLOP/s / Megatron count (no recompute)")
    if mfu:
        return (mfu * peak_bf16 / megatron_flops_per_token(shape, s, False),
                "MFU x peak / Megatron count (no recompute)")
    return math.nan, "none"


def _precision(text: str) -> str:
    return "fp8" if "fp8" in text.lower() else "bf16"


#: Megatron-DeepSpeed runs whose TFLOP/s count the recompute forward (Narayanan Eq. 3): they
#: trained with full activation checkpointing (BLOOM Sec. 3.4; GPT-NeoX-20B Sec. 3; MT-NLG).
FULL_RECOMPUTE_SOURCES = ("bloom", "gptneox", "mtnlg")


def _recompute(text: str, source_id: str = "") -> str | None:
    if source_id.startswith(FULL_RECOMPUTE_SOURCES):
        return "full"
    t = text.lower()
    if not t:
        return None
    if "full" in t or "rematerialization" in t:
        return "full"
    if "selective" in t or "minimal" in t or "offloaded" in t:
        return "selective"
    if "none" in t:
        return "none"
    return None


def _zero(r: dict[str, str]) -> int | None:
    sid, notes = r["source_id"], r["notes"]
    if sid.startswith(("llmfoundry", "maxtext", "dgxc_maxtext", "dgxc_paxml", "tt_",
                       "narayanan2021_t2_ZeRO")) or "FSDP" in notes or "FSDP" in r["precision"]:
        return 3
    if "ZeRO-1" in notes or "distributed optimizer" in notes or sid.startswith("deepseek"):
        return 1
    return None


def _virtual(r: dict[str, str]) -> int | None:
    if (_i(r["pp"]) or 1) <= 1:  # a VP count without pipeline stages is meaningless
        return None
    m = re.search(r"VP=(\d+)", r["notes"])
    if m:
        return int(m.group(1))
    m = re.search(r"interleaved PP \((\d+) stages\)", r["notes"])
    if m:
        return int(m.group(1))
    return None


#: Rows left out of the fit, with the reason (they are still shown in the table when they
#: can be modelled).
def _exclusion(r: dict[str, str], shape, acc_id) -> str | None:
    sid = r["source_id"]
    if acc_id is None:
        return "non-standard accelerator (torchtitan's 500 W, 96 GB HBM2e H100)"
    if shape is None:
        return "shape not published"
    if sid.startswith("falcon"):
        return "end-to-end average including outages, not a step-level throughput"
    if sid.startswith("opt"):
        return "'up to' 147 TFLOP/s, no tokens/s"
    if sid.startswith("deepseek"):
        return ("GPU count not published: checked as a published run instead (DeepSeek "
                "publishes GPU-hours per trillion tokens)")
    if sid.startswith("narayanan2021_t2_ZeRO"):
        return ("DeepSpeed ZeRO-3 of 2021, the paper's baseline: throughput falls 3.3x from 384 "
                "to 1,536 GPUs at a fixed batch, its collectives ran at one NIC's bandwidth and "
                "unoverlapped (Narayanan 2021 Sec. 5.4); the model's ZeRO-3 is PyTorch FSDP "
                "and MaxText's")
    if sid.startswith("dgxc_dsv3"):
        return ("an early recipe at 10% MFU, a fifth of the same model on the same chip in "
                "Megatron-Bridge (mb_dsv3_gb200_256)")
    if "strong" in sid:
        return None
    return None


@dataclass(frozen=True)
class LayoutRow:
    """One measured configuration of training_layouts.csv, as a job."""

    source_id: str
    source: str
    family: str
    accelerator: Accelerator
    job: TrainingJob
    measured_tps: float  # tokens/s per GPU
    measured_basis: str
    params_csv: float  # the CSV's N_active (or total), its MFU basis
    reported_mfu_6n: float  # 6 N tps / dense bf16 peak on the CSV's N
    forced_balance: bool  # Megatron-Bridge MoE rows route force-balanced
    excluded: str | None

    @property
    def group(self) -> str:
        """The source of the row (its first citation), the unit of the fit's weights."""
        return self.source.split(",")[0].split("(")[0].strip()[:40]


def _layout_row(r: dict[str, str]) -> LayoutRow | None:
    sid = r["source_id"]
    acc_id = accelerator_for(r["hardware"])
    shape = _moe_shape(sid) or _dense_shape(r)
    excluded = _exclusion(r, shape, acc_id)
    if shape is None or acc_id is None:
        return None
    acc = REFERENCE_ACCELERATORS[acc_id]
    if acc_id.startswith("tpu-v5") and (m := re.search(r"(\d+)xv5[pe](\d+)", sid)):
        # a multi-slice job: the scale-up domain is one slice (v5p-N has N/2 chips)
        chips = int(m.group(2)) // (2 if "v5p" in sid else 1)
        acc = replace(acc, scale_up_domain_chips=chips)
    if sid.startswith("maxtext_v5e") and "x256" in sid:
        acc = replace(acc, scale_up_domain_chips=256)
    gpus = _i(r["gpus"])
    if not gpus:
        return None
    s = _i(r["seq_len"]) or 2048
    gbt = _f(r["global_batch_tokens"])
    if gbt is None and _f(r["global_batch_seqs"]):
        gbt = _f(r["global_batch_seqs"]) * s
    tp, pp, cp, ep = (_i(r[k]) for k in ("tp", "pp", "cp", "ep"))
    if shape.n_experts == 1:
        ep = None
    mb = _i(r["micro_batch"])
    job = TrainingJob(shape=shape, tokens=1e12, gpus=gpus, seq_len=s,
                      precision=_precision(r["precision"]), tp=tp, pp=pp, cp=cp, ep=ep,
                      micro_batch=mb, recompute=_recompute(r["recompute"], sid),
                      zero_stage=_zero(r), virtual_stages=_virtual(r),
                      global_batch_tokens=gbt)
    peak = acc.peak("bf16")
    tps, basis = _measured_tps(r, shape, peak)
    n_csv = _f(r["params_active"]) or _f(r["params_total"]) or shape.active_params
    if not math.isfinite(tps):
        return None
    return LayoutRow(source_id=sid, source=r["source"], family=acc.family, accelerator=acc,
                     job=job, measured_tps=tps, measured_basis=basis, params_csv=n_csv,
                     reported_mfu_6n=6.0 * n_csv * tps / peak,
                     forced_balance=sid.startswith("mb_") and shape.is_moe,
                     excluded=excluded)


@cache
def layout_rows() -> tuple[LayoutRow, ...]:
    """Every row of training_layouts.csv the model can express (in file order)."""
    out = []
    for r in _csv("training_layouts.csv"):
        row = _layout_row(r)
        if row is not None:
            out.append(row)
    return tuple(out)


def skipped_layout_rows() -> list[tuple[str, str]]:
    """Rows that cannot be modelled at all, with the reason."""
    have = {row.source_id for row in layout_rows()}
    out = []
    for r in _csv("training_layouts.csv"):
        if r["source_id"] in have:
            continue
        acc_id = accelerator_for(r["hardware"])
        shape = _moe_shape(r["source_id"]) or _dense_shape(r)
        out.append((r["source_id"], _exclusion(r, shape, acc_id) or "no throughput or GPUs"))
    return out


# -- published runs --------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    shape: ModelShape
    gpus: int
    seq_len: int
    accelerator: str
    gpus_source: str  # "published" or the assumption and why
    scale_out_gb_per_s: float | None = None  # the cluster's per-GPU network when published
    network_source: str = ""


def _s(L, d, h, f, V, kv=None, gated=True, head_dim=None, tied=False):
    return ModelShape(n_layers=L, d_model=d, n_heads=h, n_kv_heads=kv or h, ffn_dim=f,
                      vocab=V, gated_mlp=gated, head_dim=head_dim, tied_embeddings=tied)


_LLAMA1_GPUS = ("assumed 2,048: the LLaMA paper gives 2,048 A100-80GB for the 65B model "
                "(Sec. 2.4) and no count for the smaller ones")
_LLAMA2_GPUS = ("assumed 2,048 as for LLaMA; the Llama 2 paper (Sec. 2.2.1) gives no count")
_LLAMA3_GPUS = ("assumed 16,384: the Llama 3 paper trains on up to 16K H100 (Sec. 3.3.1) "
                "and gives no count for 8B and 70B")
_RSC = (25.0, "200 Gb/s per GPU (Llama 2 paper Sec. 2.2.1: RSC InfiniBand and production "
              "RoCE at 200 Gbps)")
#: Shapes (papers' tables / HF configs), GPU counts and sequence lengths of the published runs.
RUN_SPECS = {
    "LLaMA-7B": RunSpec(_s(32, 4096, 32, 11008, 32000), 2048, 2048, "a100-80gb", _LLAMA1_GPUS,
                        *_RSC),
    "LLaMA-13B": RunSpec(_s(40, 5120, 40, 13824, 32000), 2048, 2048, "a100-80gb",
                         _LLAMA1_GPUS, *_RSC),
    "LLaMA-33B": RunSpec(_s(60, 6656, 52, 17920, 32000), 2048, 2048, "a100-80gb",
                         _LLAMA1_GPUS, *_RSC),
    "LLaMA-65B": RunSpec(_s(80, 8192, 64, 22016, 32000), 2048, 2048, "a100-80gb",
                         "published (Sec. 2.4)", *_RSC),
    "Llama-2-7B": RunSpec(_s(32, 4096, 32, 11008, 32000), 2048, 4096, "a100-80gb",
                          _LLAMA2_GPUS, *_RSC),
    "Llama-2-13B": RunSpec(_s(40, 5120, 40, 13824, 32000), 2048, 4096, "a100-80gb",
                           _LLAMA2_GPUS, *_RSC),
    "Llama-2-70B": RunSpec(_s(80, 8192, 64, 28672, 32000, kv=8), 2048, 4096, "a100-80gb",
                           _LLAMA2_GPUS, *_RSC),
    "Llama-3-8B": RunSpec(_s(32, 4096, 32, 14336, 128256, kv=8), 16384, 8192, "h100-sxm",
                          _LLAMA3_GPUS),
    "Llama-3-70B": RunSpec(_s(80, 8192, 64, 28672, 128256, kv=8), 16384, 8192, "h100-sxm",
                           _LLAMA3_GPUS),
    "Llama-3.1-405B": RunSpec(_s(126, 16384, 128, 53248, 128256, kv=8), 16384, 8192,
                              "h100-sxm", "published (Table 4)"),
    "BLOOM-176B": RunSpec(_s(70, 14336, 112, 57344, 250880, gated=False), 384, 2048,
                          "a100-80gb", "published (Sec. 3.4)", 6.25,
                          "Jean Zay: 4 x 100 Gb/s Omni-Path per 8-GPU node (BLOOM Sec. 3.4)"),
    "MPT-7B": RunSpec(_s(32, 4096, 32, 16384, 50432, gated=False), 440, 2048, "a100-40gb",
                      "published (blog)"),
    "PaLM-540B": RunSpec(_s(118, 18432, 48, 73728, 256000, kv=1, head_dim=256, tied=True),
                         6144, 2048, "tpu-v4", "published (Sec. 4)"),
    "Pythia-1B": RunSpec(_s(16, 2048, 8, 8192, 50304, gated=False), 64, 2048, "a100-40gb",
                         "published", 6.25, "AWS p4d: 400 Gb/s EFA per 8-GPU node"),
    "Pythia-6.9B": RunSpec(_s(32, 4096, 32, 16384, 50304, gated=False), 128, 2048,
                           "a100-40gb", "published", 6.25,
                           "AWS p4d: 400 Gb/s EFA per 8-GPU node"),
    "Pythia-12B": RunSpec(_s(36, 5120, 40, 20480, 50304, gated=False), 256, 2048,
                          "a100-40gb", "published", 6.25,
                          "AWS p4d: 400 Gb/s EFA per 8-GPU node"),
}


#: What a published accelerator-hour figure counts. ``paid``: accelerators x elapsed time of
#: the campaign (restarts, downtime, evaluations included), what the model's ``gpu_hours``
#: are. ``compute``: derived by the source from its measured throughput (tokens / tokens per
#: second), so step time only: compared with the model's productive hours
#: (``gpu_hours x goodput``). A run is ``compute`` only where the source shows the derivation.
HOURS_PAID, HOURS_COMPUTE = "paid", "compute"
_LLAMA1_HOURS = ("LLaMA (arXiv:2302.13971) Sec. 2.4: 65B 'processes around 380 tokens/sec/GPU "
                 "on 2048 GPU ... training over ... 1.4T tokens takes approximately 21 days'; "
                 "Table 15's 1,022,362 GPU-hours for 65B equal 1.4T / 380 tokens/s within "
                 "0.1%, so the table converts throughput into hours; the 7B-33B rows of the "
                 "same table are taken to be converted the same way (assumption)")
HOURS_BASIS = {
    "LLaMA-7B": (HOURS_COMPUTE, _LLAMA1_HOURS),
    "LLaMA-13B": (HOURS_COMPUTE, _LLAMA1_HOURS),
    "LLaMA-33B": (HOURS_COMPUTE, _LLAMA1_HOURS),
    "LLaMA-65B": (HOURS_COMPUTE, _LLAMA1_HOURS),
}


@dataclass(frozen=True)
class PublishedRun:
    run: str
    job: TrainingJob
    accelerator: Accelerator
    reported_hours: float
    hours_kind: str
    spec: RunSpec
    params_csv: float

    @property
    def family(self) -> str:
        return self.accelerator.family

    @property
    def hours_basis(self) -> str:
        """:data:`HOURS_PAID` or :data:`HOURS_COMPUTE` (:data:`HOURS_BASIS`)."""
        return HOURS_BASIS.get(self.run, (HOURS_PAID, ""))[0]


@cache
def published_runs() -> tuple[PublishedRun, ...]:
    """Published runs with accelerator-hours on a modelled chip (order of the CSV)."""
    out = []
    for r in _csv("published_runs.csv"):
        spec = RUN_SPECS.get(r["model"])
        hours = _f(r["accel_hours"])
        if spec is None or not hours:
            continue
        acc = REFERENCE_ACCELERATORS[spec.accelerator]
        if spec.scale_out_gb_per_s is not None:
            acc = replace(acc, scale_out_bytes_per_s=spec.scale_out_gb_per_s * GB)
        job = TrainingJob(shape=spec.shape, tokens=float(r["tokens"]), gpus=spec.gpus,
                          seq_len=spec.seq_len, precision="bf16")
        out.append(PublishedRun(run=r["model"], job=job, accelerator=acc,
                                reported_hours=hours, hours_kind=r["accel_hours_kind"],
                                spec=spec,
                                params_csv=float(r["params_active"] or r["params_total"])))
    return tuple(out)


#: Layout rows of the same model as a published run (left out with it in leave-one-out).
RUN_LAYOUT_PREFIXES = {
    "BLOOM-176B": ("bloom",),
    "PaLM-540B": ("palm",),
    "Llama-3.1-405B": ("dgxc_l31_405b", "mb_l31_405b"),
    "Llama-3-70B": ("dgxc_l31_70b", "mb_l3_70b", "nemo2407_LLAMA3-70B"),
    "Llama-3-8B": ("dgxc_l31_8b", "mb_l3_8b", "nemo2407_LLAMA3-8B"),
    "Llama-2-70B": ("nemo2407_LLAMA2-70B", "dgxc_maxtext_llama2_70b"),
    "Llama-2-7B": ("nemo2407_LLAMA2-7B",),
    "Llama-2-13B": ("nemo2407_LLAMA2-13B",),
    "MPT-7B": ("llmfoundry_a100_40gb_7b", "llmfoundry_a100_80gb_7b",
               "llmfoundry_h100_80gb_7b"),
    "DeepSeek-V2": ("deepseek_v2",),
    "DeepSeek-67B": ("deepseek_67b",),
}


#: DeepSeek's published cost per trillion tokens on H800 (training_refs.md Sec. 1.11):
#: DeepSeek-V2 172.8K GPU-hours per 1T tokens, 8.1T tokens (arXiv:2405.04434, Sec. 3.1);
#: DeepSeek 67B 300.6K per 1T, 2.0T tokens (DeepSeek LLM, arXiv:2401.02954; quoted in V2).
#: GPU counts are not published: 2,048 H800 (the cluster DeepSeek-V3 reports) is assumed.
_DS_GPUS = ("assumed 2,048: not published; DeepSeek-V3 (arXiv:2412.19437, Sec. 3.1) reports "
            "a cluster of 2,048 H800")
EXTRA_RUNS = (
    ("DeepSeek-V2", MOE_SHAPES["deepseek_v2"], 8.1e12, 172.8e3 * 8.1, 21e9,
     "derived (172.8K GPU-h per T tokens x 8.1T)"),
    ("DeepSeek-67B", _s(95, 8192, 64, 22016, 102400, kv=8), 2.0e12, 300.6e3 * 2.0, 67e9,
     "derived (300.6K GPU-h per T tokens x 2.0T)"),
)


@cache
def all_runs() -> tuple[PublishedRun, ...]:
    """:func:`published_runs` and DeepSeek's two H800 runs (:data:`EXTRA_RUNS`)."""
    out = list(published_runs())
    acc = REFERENCE_ACCELERATORS["h800"]
    for name, shape, tokens, hours, params, kind in EXTRA_RUNS:
        spec = RunSpec(shape, 2048, 4096, "h800", _DS_GPUS)
        job = TrainingJob(shape=shape, tokens=tokens, gpus=2048, seq_len=4096)
        out.append(PublishedRun(run=name, job=job, accelerator=acc, reported_hours=hours,
                                hours_kind=kind, spec=spec, params_csv=params))
    return tuple(out)


#: Global batches of published runs (tokens), for the planned-batch fraction: (run, shape,
#: training tokens, sequence length, batch tokens, source).
PUBLISHED_BATCHES = (
    ("Llama-3.1-405B", RUN_SPECS["Llama-3.1-405B"].shape, 15.6e12, 8192, 16.0e6,
     "16M tokens at every stage, arXiv:2407.21783 Table 4 (training_refs.md 4.5)"),
    ("DeepSeek-V3", MOE_SHAPES["dsv3"], 14.8e12, 4096, 15360 * 4096,
     "3072 -> 15360 sequences x 4096, arXiv:2412.19437 Sec. 4.2 (training_refs.md 4.5)"),
    ("DeepSeek-V2", MOE_SHAPES["deepseek_v2"], 8.1e12, 4096, 9216 * 4096,
     "2304 -> 9216 sequences x 4096, arXiv:2405.04434 Sec. 3.1 (training_refs.md 4.5)"),
    ("DeepSeek-67B", _s(95, 8192, 64, 22016, 102400, kv=8), 2.0e12, 4096, 4608 * 4096,
     "4608 sequences x 4096, arXiv:2401.02954 Table 2 (training_refs.md 4.1)"),
    ("DeepSeek-7B", _s(30, 4096, 32, 11008, 102400), 2.0e12, 4096, 2304 * 4096,
     "2304 sequences x 4096, arXiv:2401.02954 Table 2 (training_refs.md 4.1)"),
    ("PaLM-540B", RUN_SPECS["PaLM-540B"].shape, 780e9, 2048, 2048 * 2048,
     "512 -> 1024 -> 2048 sequences x 2048, arXiv:2204.02311 Table 1 (training_refs.md 4.5)"),
    ("BLOOM-176B", RUN_SPECS["BLOOM-176B"].shape, 366e9, 2048, 2048 * 2048,
     "2048 sequences x 2048 (training_layouts.csv bloom_176b)"),
    ("OPT-175B", _s(96, 12288, 96, 49152, 50272, gated=False), 180e9, 2048, 2.0e6,
     "2M tokens, arXiv:2205.01068 Table 1 (training_layouts.csv opt_175b)"),
    ("LLaMA-65B", RUN_SPECS["LLaMA-65B"].shape, 1.4e12, 2048, 4.0e6,
     "4M tokens, arXiv:2302.13971 Table 2"),
    ("Llama-2-70B", RUN_SPECS["Llama-2-70B"].shape, 2.0e12, 4096, 4.0e6,
     "4M tokens, Llama 2 paper (arXiv:2307.09288) Table 1"),
    ("Pythia-12B", RUN_SPECS["Pythia-12B"].shape, 299.9e9, 2048, 1024 * 2048,
     "1024 sequences x 2048, arXiv:2304.01373 Sec. 2"),
)
