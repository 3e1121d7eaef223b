"""Calibration of the serving constants per chip family against measured serving runs.

Data: ``estimator/data/serving_measurements.csv``, a verbatim copy of
``../shared/reference/serving_measurements.csv`` (MLPerf Inference v4.0-v5.1 result logs,
TensorRT-LLM performance tables v0.6.1-v0.14, NVIDIA NIM 1.8 benchmarks, Splitwise profiles,
a dstack vLLM benchmark; every row names its source file). Read ``serving_refs.md`` section 0
of the reference folder for what each source counts; :func:`interpret` turns each row into a
:class:`Measurement` (or an exclusion with its reason) following it:

* the quantity is **output (generated) tokens/s per chip** for every source; MLPerf and
  TensorRT-LLM v0.14 totals are divided by the chips of the system (TP group);
* MLPerf systems run several tensor-parallel replicas (TP1 or TP2 for Llama 2 70B on NVIDIA);
  the replica is pinned where the submission's config says so, else chosen by the model;
* only the newest MLPerf round per system and benchmark is used (the engine moved 1.5x between
  rounds on the same hardware); the older rounds are excluded, not averaged;
* fitted: offline / max-throughput rows and fixed-batch rows (static batch, fixed concurrency);
  MLPerf Server and Interactive rows (p99 latency bounds under Poisson load), batch-1 latency
  rows, decode-only profiles and third-party vLLM runs are validation only.

Fit (:func:`fit_family`): per family, the three constants of
:class:`~estimator.serving.inputs.ServingConstants` that the data can separate
(``hbm_efficiency``, ``compute_efficiency``, ``step_overhead_s``) minimise the sum of squared
log errors of the predicted output tokens/s per chip (each run counts equally; over- and
under-estimates by the same factor cost the same). A family with fewer than
:data:`MIN_ROWS_FOR_THREE` rows fits one factor scaling both efficiencies of the family with
the most data and keeps its overhead. Leave-one-out (:func:`leave_one_out`): each fitted row
is predicted by the constants fitted without it; the band of a family is the 10th-90th
percentile of the measured/predicted ratios of its LOO predictions (pooled over all families
when a family has fewer than 8 rows).

Run ``python -m estimator.serving.calibration --markdown`` to print the tables of
``docs/serving_model.md`` and ``--yaml`` to print ``estimator/data/serving_constants.yaml``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

import numpy as np

from estimator.errors import EstimatorError
from estimator.serving.inputs import (
    FAMILIES,
    LatencyTargets,
    RequestMix,
    ServingAccelerator,
    ServingConstants,
)
from estimator.serving.plan import plan_serving
from estimator.shape import ModelShape

GIB = 2.0**30

# ---------------------------------------------------------------------------------------------
# Models (shapes from each model's published config.json / model card)
# ---------------------------------------------------------------------------------------------
#: Llama 2 7B/70B (Touvron et al. 2023, arXiv:2307.09288, Table 1 and config.json), Llama 3.1
#: 8B/70B/405B (Llama 3 paper arXiv:2407.21783, Table 3; Llama 3.3 70B has the 3.1 70B
#: shape), Mixtral 8x7B (Jiang et al. 2024, arXiv:2401.04088, Table 1), DeepSeek-R1 (the
#: DeepSeek-V3 architecture, arXiv:2412.19437, Sec. 4.2: 61 layers, d 7168, 128 heads, MLA
#: KV latent 512 + 64 rope, 1 shared + 256 routed experts of width 2048, 8 active, first 3
#: layers dense with width 18432). DeepSeek's MLA projections are counted as 8-KV-head
#: attention (``ModelShape`` approximation), 0.6% more weights than the real 671B.
SHAPES: dict[str, ModelShape] = {
    "llama-2-7b": ModelShape(n_layers=32, d_model=4096, n_heads=32, n_kv_heads=32,
                             ffn_dim=11008, vocab=32000),
    "llama-2-70b": ModelShape(n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8,
                              ffn_dim=28672, vocab=32000),
    "llama-3.1-8b": ModelShape(n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8,
                               ffn_dim=14336, vocab=128256),
    "llama-3.1-70b": ModelShape(n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8,
                                ffn_dim=28672, vocab=128256),
    "llama-3.1-405b": ModelShape(n_layers=126, d_model=16384, n_heads=128, n_kv_heads=8,
                                 ffn_dim=53248, vocab=128256),
    "mixtral-8x7b": ModelShape(n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8,
                               ffn_dim=14336, vocab=32000, n_experts=8, experts_per_token=2),
    "deepseek-r1": ModelShape(n_layers=61, d_model=7168, n_heads=128, n_kv_heads=8,
                              head_dim=128, ffn_dim=18432, vocab=129280, n_experts=256,
                              experts_per_token=8, shared_experts=1, expert_ffn_dim=2048,
                              first_dense_layers=3, kv_latent_dim=576),
}

_MODEL_PATTERNS = (
    (r"llama-2-7b|llama-7b", "llama-2-7b"),
    (r"llama-2-70b|llama-70b", "llama-2-70b"),
    (r"llama-3\.1-8b", "llama-3.1-8b"),
    (r"llama-3\.[13]-70b", "llama-3.1-70b"),
    (r"llama-3\.1-405b", "llama-3.1-405b"),
    (r"mixtral-8x7b", "mixtral-8x7b"),
    (r"deepseek-r1", "deepseek-r1"),
)

# ---------------------------------------------------------------------------------------------
# Accelerators (figures from ../shared/reference/hardware.md and hardware_2026.md)
# ---------------------------------------------------------------------------------------------
#: Per chip: dense peaks, HBM capacity (datasheet GB = GiB), HBM bandwidth, NVLink / Infinity
#: Fabric bandwidth per direction (half the bidirectional figure). A100: [A100-DS] 312 TF bf16,
#: 2.039 TB/s, NVLink3 600 GB/s. H100 SXM: [H100-DS] 989.5 / 1979 TF, 3.35 TB/s, NVLink4 900.
#: H200: [H200-DS] same compute, 141 GB, 4.8 TB/s. B200 (HGX, 1000 W): [BW-DS] 2250 / 4500 /
#: 9000 TF, 180 GB, 8.0 TB/s, NVLink5 1.8 TB/s. GB200 (NVL72, per GPU): 2500 / 5000 / 10000,
#: ~186 GB (derived, less certain), 8 TB/s, 72-GPU NVLink domain. MI300X: [MI300X] 1307.4 /
#: 2614.9 TF, 192 GB, 5.3 TB/s; Infinity Fabric 448 GB/s per direction (from memory,
#: unverified). MI325X (hardware_2026.md, secondary): 1307 / 2615 TF, 256 GB, 6 TB/s, link as
#: MI300X (assumed).
ACCELERATORS: dict[str, ServingAccelerator] = {
    "a100-80gb": ServingAccelerator("a100-80gb", "nvidia-ampere", {"bf16": 312e12},
                                    80 * GIB, 2.039e12, 8, 300e9),
    "h100-sxm": ServingAccelerator("h100-sxm", "nvidia-hopper",
                                   {"bf16": 989.5e12, "fp8": 1979e12}, 80 * GIB, 3.35e12, 8,
                                   450e9),
    "h200": ServingAccelerator("h200", "nvidia-hopper", {"bf16": 989.5e12, "fp8": 1979e12},
                               141 * GIB, 4.8e12, 8, 450e9),
    "b200": ServingAccelerator("b200", "nvidia-blackwell",
                               {"bf16": 2250e12, "fp8": 4500e12, "fp4": 9000e12}, 180 * GIB,
                               8.0e12, 8, 900e9),
    "gb200": ServingAccelerator("gb200", "nvidia-blackwell",
                                {"bf16": 2500e12, "fp8": 5000e12, "fp4": 10000e12}, 186 * GIB,
                                8.0e12, 72, 900e9),
    "mi300x": ServingAccelerator("mi300x", "amd-cdna", {"bf16": 1307.4e12, "fp8": 2614.9e12},
                                 192 * GIB, 5.3e12, 8, 448e9),
    "mi325x": ServingAccelerator("mi325x", "amd-cdna", {"bf16": 1307e12, "fp8": 2615e12},
                                 256 * GIB, 6.0e12, 8, 448e9),
}

_HARDWARE_PATTERNS = (
    (r"^GB200", "gb200"), (r"^B200", "b200"), (r"^H200", "h200"), (r"^H100", "h100-sxm"),
    (r"^A100", "a100-80gb"), (r"MI300X", "mi300x"), (r"MI325X", "mi325x"),
)

#: Mean prompt tokens of the MLPerf datasets, which the result logs do not report (they give
#: output tokens only). Judgements from the datasets' descriptions, NOT verified against the
#: dataset files: OpenOrca (Llama 2 70B; prompts <= 1024 tokens), the Mixtral mix (OpenOrca,
#: GSM8K, MBXP), CNN/DailyMail articles (Llama 3.1 8B), the long-context 405B mix (inputs up to
#: ~20k tokens), the DeepSeek-R1 reasoning mix (inputs <= 3136 tokens). See the sensitivity
#: table in docs/serving_model.md.
DATASET_INPUT_MEANS = {
    "llama-2-70b": 300.0,
    "mixtral-8x7b": 500.0,
    "llama-3.1-8b": 800.0,
    "llama-3.1-405b": 9400.0,
    "deepseek-r1": 800.0,
}

#: MLPerf Server/Interactive latency bounds (p99) per benchmark, from the logs
#: (serving_refs.md section 1): Llama 2 70B Server 2 s / 200 ms, Interactive 450 / 40 ms;
#: 405B 6 s / 175 ms; Llama 3.1 8B 2 s / 100 ms; DeepSeek-R1 2 s / 80 ms; Mixtral as Llama 2.
MLPERF_BOUNDS = {
    ("llama-2-70b", "server"): (2.0, 0.2), ("llama-2-70b", "server-interactive"): (0.45, 0.04),
    ("llama-3.1-405b", "server"): (6.0, 0.175), ("llama-3.1-8b", "server"): (2.0, 0.1),
    ("deepseek-r1", "server"): (2.0, 0.08), ("mixtral-8x7b", "server"): (2.0, 0.2),
}

#: Rows excluded from fit and validation, with the reason.
EXCLUDED = {
    "MLP40-Gaudi2x8-L2-S": "Intel Gaudi2: no chip family in this estimator",
    "MLP40-Gaudi2x8-L2-O": "Intel Gaudi2: no chip family in this estimator",
    "MLP41-NM-4xH100-vLLM-S": "harness-limited (open division, target_qps 5, 367 tok/s/GPU)",
    "MLP40-TPUv5e-x4-GPTJ-O": "reports samples/s only (no token throughput)",
    "MLP40-TPUv5e-x4-GPTJ-S": "reports samples/s only (no token throughput)",
    "MLP40-H100x1-GPTJ-O": "no throughput value in the reference row",
    "TRT061-L70-H100-TP2-bs64-2k2k": "superseded engine: the same run with v0.9.0 is 1.85x "
                                     "faster (TRT09-L70-H100-TP2-bs64-2k2k is used)",
    "NIM180-L31-8B-c1": "hardware, parallelism and lengths unknown (table header lost)",
    "NIM180-L31-8B-c50": "hardware, parallelism and lengths unknown (table header lost)",
    "NIM180-L31-8B-c200": "hardware, parallelism and lengths unknown (table header lost)",
    "NIM130-L31-70B-c50": "hardware, parallelism and lengths unknown (table header lost)",
    "MLP41-B200x1-L2-S": "superseded: preview system of v4.1; v5.0 B200 rows are used",
    "MLP41-B200x1-L2-O": "superseded: preview system of v4.1; v5.0 B200 rows are used",
    "TRT09-MX-A100-TP2-bs32-2k2k": "above the hard roofline: at batch 32 every step reads all 8 "
                                   "experts (46.7 GB per A100 in fp16, >= 22.9 ms at 2.039 "
                                   "TB/s), so <= 699 tok/s/GPU; the row says 801 (precision "
                                   "or parallelism likely mis-recorded)",
}
#: Precision labels the reference marks "recalled, unverified" that the measurements
#: contradict: on the same benchmark B200/H200 is 2.4x (Llama 3.1 8B) and 2.1x (Mixtral),
#: the fp8-to-fp8 compute ratio (4500/1979 = 2.27x), while the fp4-verified Llama 2 70B gives
#: 2.8x; fp4 would allow 4.5x. These rows are taken as fp8.
PRECISION_OVERRIDES = {
    "MLP51-B200x8-L8-O": "fp8", "MLP51-B200x8-L8-S": "fp8",
    "MLP50-B200x8-MX-O": "fp8", "MLP50-B200x8-MX-S": "fp8",
}
#: Older MLPerf rounds of a system and benchmark that a newer round supersedes.
SUPERSEDED = {
    "MLP40-H100x8-L2-S": "MLP50-H100x8-L2-S", "MLP40-H100x8-L2-O": "MLP50-H100x8-L2-O",
    "MLP41-H100x8-L2-S": "MLP50-H100x8-L2-S", "MLP41-H100x8-L2-O": "MLP50-H100x8-L2-O",
    "MLP40-H200x8-L2-S": "MLP50-H200x8-L2-S", "MLP40-H200x8-L2-O": "MLP50-H200x8-L2-O",
    "MLP41-H200x8-L2-S": "MLP50-H200x8-L2-S", "MLP41-H200x8-L2-O": "MLP50-H200x8-L2-O",
}
#: Tensor-parallel replica of MLPerf systems whose config says so (serving_refs.md section 1:
#: v4.1/v5.0 NVIDIA configs: Llama 2 70B at TP2 on H100, TP1 on H200 and B200; Mixtral on B200
#: TP1 per GPU; MLPerf v4.1 MI300X single-GPU system is TP1 by construction).
MLPERF_TP = {
    "MLP50-H100x8-L2-O": 2, "MLP50-H200x8-L2-O": 1, "MLP50-B200x8-L2-O": 1,
    "MLP50-B200x8-MX-O": 1, "MLP41-MI300Xx1-L2-O": 1, "MLP41-MI300Xx1-L2-S": 1,
    "MLP50-H100x8-L2-S": 2, "MLP50-H200x8-L2-S": 1, "MLP50-B200x8-L2-S": 1,
    "MLP50-B200x8-MX-S": 1, "MLP51-H200x8-L8-O": 1, "MLP51-H200x8-L8-S": 1,
}
#: vLLM's default maximum number of sequences in flight (``max_num_seqs`` = 256, vLLM engine
#: arguments); the dstack runs submit 256 prompts at once.
VLLM_MAX_BATCH = 256

#: Below this many fitted rows a family fits two constants and borrows the overhead.
MIN_ROWS_FOR_THREE = 6
#: Below this many rows the band pools the LOO ratios of all families.
MIN_ROWS_FOR_OWN_BAND = 8
#: Families without measurements and the family they borrow from, with the reason.
BORROWED = {
    "google-tpu": ("nvidia-hopper", "no TPU token-throughput measurement in the reference data "
                   "(MLPerf v4.0 TPU v5e GPT-J reports samples/s only); Hopper is the "
                   "contemporary chip with the most data"),
    "aws-trainium": ("nvidia-hopper", "no Trainium serving measurement in the reference data; "
                     "Hopper is the contemporary chip with the most data"),
}
#: Starting point and bounds of the fit: (hbm_efficiency, compute_efficiency, overhead s).
START = (0.7, 0.5, 2e-3)
LOWER = (0.2, 0.05, 0.0)
UPPER = (1.0, 1.0, 0.05)
#: Rounding of the shipped constants.
DECIMALS = {"hbm_efficiency": 3, "compute_efficiency": 3, "step_overhead_ms": 2}


@dataclass(frozen=True)
class Measurement:
    """One measured run, interpreted for the model."""

    source_id: str
    model: str
    accelerator: str
    family: str
    engine: str
    weight_precision: str
    kv_precision: str
    input_tokens: float
    output_tokens: float
    chips_per_replica: int | None
    batch: int | None
    targets: LatencyTargets
    max_batch: int | None
    measured: float
    quantity: str          # output_tps_per_chip | ttft_s | tpot_s
    use: str               # fit | validation
    assumptions: str

    @property
    def shape(self) -> ModelShape:
        return SHAPES[self.model]

    @property
    def mix(self) -> RequestMix:
        return RequestMix(self.input_tokens, self.output_tokens)


def _read_rows() -> list[dict[str, str]]:
    text = resources.files("estimator.data").joinpath("serving_measurements.csv").read_text(
        "utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _match(patterns, text: str) -> str | None:
    for pat, key in patterns:
        if re.search(pat, text, flags=re.IGNORECASE):
            return key
    return None


def _number(text: str) -> float | None:
    m = re.search(r"(\d+(?:\.\d+)?)", text or "")
    return float(m.group(1)) if m else None


def _precision(text: str, default: str) -> str:
    t = (text or "").upper()
    for key in ("FP4", "FP8", "FP16", "BF16", "INT8", "INT4"):
        if t.startswith(key):
            return key.lower()
    return default


def interpret(row: dict[str, str]) -> Measurement | str:
    """The row as a :class:`Measurement`, or the reason it is excluded."""
    sid = row["source_id"]
    if sid in EXCLUDED:
        return EXCLUDED[sid]
    if sid in SUPERSEDED:
        return f"superseded by the newer MLPerf round {SUPERSEDED[sid]} (same system)"
    model = _match(_MODEL_PATTERNS, row["model"])
    acc = _match(_HARDWARE_PATTERNS, row["hardware"])
    if model is None or acc is None:
        return "model or hardware not recognised"
    notes: list[str] = []
    wp = _precision(row["precision_weights"], "fp8")
    if sid in PRECISION_OVERRIDES:
        wp = PRECISION_OVERRIDES[sid]
        notes.append(f"weights {wp}: the recalled fp4 label contradicts the B200/H200 ratio")
    elif "recalled" in row["precision_weights"] or "unverified" in row["precision_weights"]:
        notes.append(f"weights {wp} (recalled)")
    kv_default = "fp8" if wp in ("fp8", "fp4") else "fp16"
    kp = _precision(row["precision_kv"], kv_default)
    if not row["precision_kv"].upper().startswith(("FP", "BF", "INT")):
        notes.append(f"KV {kp} assumed")
    scen = row["scenario"]
    tp_text = row["tp"]
    tp = int(tp_text) if tp_text.isdigit() else MLPERF_TP.get(sid)
    inp = _number(row["input_tokens"])
    out = _number(re.sub(r"^.*mean", "", row["output_tokens"]) if "mean" in row["output_tokens"]
                  else row["output_tokens"])
    engine = row["engine_and_version"]
    batch: int | None = None
    max_batch: int | None = None
    targets = LatencyTargets()
    use, quantity = "fit", "output_tps_per_chip"
    measured = _number(row["output_tokens_per_s_per_chip"])

    if sid.startswith("MLP"):
        inp = DATASET_INPUT_MEANS[model]
        notes.append(f"mean input {inp:.0f} assumed")
        if out is None:
            # MI300X single-GPU rows carry no output length: the benchmark's mean (OpenOrca 293)
            out = 293.0
            notes.append("mean output 293 assumed")
        if scen != "offline":
            use = "validation"
            ttft, tpot = MLPERF_BOUNDS[(model, scen)]
            targets = LatencyTargets(ttft, tpot)
            notes.append(f"p99 bounds {ttft:g} s / {tpot * 1e3:g} ms taken as mean targets")
        if tp is None:
            notes.append("replica chosen by the model")
    elif sid.startswith("TRT09-TTFT"):
        use, quantity = "validation", "ttft_s"
        measured = float(row["ttft_ms"]) / 1e3
        batch, out = 1, 1.0
    elif sid.startswith(("TRT09", "TRT014")):
        if "static batch" in row["batch_or_concurrency"]:
            batch = int(_number(row["batch_or_concurrency"]))
    elif sid.startswith("NIM"):
        conc = int(_number(row["batch_or_concurrency"]))
        if conc >= 100:
            use = "validation"
            notes.append("saturated (TTFT is queueing): compared with the offline maximum")
        else:
            batch = conc
    elif sid.startswith("SPLITWISE"):
        use, quantity = "validation", "tpot_s"
        measured = float(row["tpot_ms"]) / 1e3
        batch = int(_number(row["batch_or_concurrency"]))
        notes.append("decode step at a static batch; engine not stated")
    elif sid.startswith("DSTACK"):
        use = "validation"
        max_batch = VLLM_MAX_BATCH
        notes.append("vLLM, not tuned like the fitted engines; max_num_seqs 256")
        if "ShareGPT" in sid:
            inp, out = 215.0, 121.0
            targets = LatencyTargets()
            notes.append("ShareGPT means; offered load above capacity: offline maximum")
    if inp is None or out is None or measured is None or tp is None and not sid.startswith(
            "MLP") and not sid.startswith("DSTACK"):
        return "lengths, parallelism or throughput missing"
    fam = ACCELERATORS[acc].family
    return Measurement(sid, model, acc, fam, engine, wp, kp, float(inp), float(out), tp, batch,
                       targets, max_batch, float(measured), quantity, use, "; ".join(notes))


@cache
def measurements() -> tuple[Measurement, ...]:
    return tuple(m for m in (interpret(r) for r in _read_rows()) if isinstance(m, Measurement))


def excluded() -> list[tuple[str, str]]:
    """``(source_id, reason)`` of every row neither fitted nor validated."""
    return [(r["source_id"], m) for r in _read_rows() if isinstance(m := interpret(r), str)]


def predict(m: Measurement, k: ServingConstants) -> float:
    """The model's value of the quantity ``m`` measures, with constants ``k``."""
    if m.max_batch is not None:
        k = replace(k, max_batch=m.max_batch)
    plan = plan_serving(m.shape, ACCELERATORS[m.accelerator], m.mix,
                        weight_precision=m.weight_precision, kv_precision=m.kv_precision,
                        targets=m.targets, batch=m.batch, chips_per_replica=m.chips_per_replica,
                        constants=k)
    if m.quantity == "ttft_s":
        return plan.ttft_s
    if m.quantity == "tpot_s":
        return plan.decode_step_s
    return plan.output_tokens_per_s_per_chip


def _constants(family: str, x: Sequence[float]) -> ServingConstants:
    return ServingConstants(family=family, hbm_efficiency=float(x[0]),
                            compute_efficiency=float(x[1]), step_overhead_s=float(x[2]))


def _log_errors(rows: Sequence[Measurement], k: ServingConstants) -> np.ndarray:
    out = []
    for m in rows:
        try:
            out.append(math.log(predict(m, k) / m.measured))
        except EstimatorError:
            out.append(3.0)  # does not fit / target unreachable at these constants: a big miss
    return np.array(out)


def fitted_rows(family: str) -> list[Measurement]:
    return [m for m in measurements() if m.family == family and m.use == "fit"]


def fit_family(family: str, rows: Sequence[Measurement] | None = None) -> ServingConstants:
    """Least-squares fit of the family's constants on log errors (see the module docstring).

    With at least :data:`MIN_ROWS_FOR_THREE` rows the three constants fit; with fewer, one
    scale factor on the efficiencies of the family with the most data (its overhead kept),
    so a family measured on a single model cannot trade bandwidth against compute."""
    from scipy.optimize import least_squares  # lazy: scipy only for calibration

    rows = list(fitted_rows(family) if rows is None else rows)
    if len(rows) < MIN_ROWS_FOR_THREE:
        ref = reference_constants()

        def scaled(s: float) -> ServingConstants:
            return _constants(family, (min(1.0, ref.hbm_efficiency * s),
                                       min(1.0, ref.compute_efficiency * s),
                                       ref.step_overhead_s))

        res = least_squares(lambda x: _log_errors(rows, scaled(x[0])), [1.0],
                            bounds=([0.2], [3.0]), diff_step=1e-3)
        return scaled(float(res.x[0]))
    return _fit_three(family, rows)


def _fit_three(family: str, rows: Sequence[Measurement]) -> ServingConstants:
    from scipy.optimize import least_squares

    res = least_squares(lambda x: _log_errors(rows, _constants(family, x)), START,
                        bounds=(LOWER, UPPER), diff_step=1e-3, x_scale="jac")
    return _constants(family, res.x)


def reference_family() -> str:
    """The family with the most fitted rows (lender of structure to sparse families)."""
    counts = {f: len(fitted_rows(f)) for f in FAMILIES}
    return max(counts, key=counts.get)


@cache
def reference_constants() -> ServingConstants:
    return fit_family(reference_family())


def fitted_families() -> list[str]:
    return [f for f in FAMILIES if fitted_rows(f)]


@cache
def fit_all() -> dict[str, ServingConstants]:
    """Fitted constants of every family with data (unrounded)."""
    return {f: fit_family(f) for f in fitted_families()}


def rounded(k: ServingConstants) -> ServingConstants:
    return replace(k, hbm_efficiency=round(k.hbm_efficiency, DECIMALS["hbm_efficiency"]),
                   compute_efficiency=round(k.compute_efficiency,
                                            DECIMALS["compute_efficiency"]),
                   step_overhead_s=round(k.step_overhead_s * 1e3,
                                         DECIMALS["step_overhead_ms"]) * 1e-3)


@dataclass(frozen=True)
class LooRow:
    measurement: Measurement
    predicted_in_sample: float
    predicted_loo: float

    @property
    def ratio(self) -> float:
        """Measured / leave-one-out prediction."""
        return self.measurement.measured / self.predicted_loo


@cache
def leave_one_out(family: str) -> tuple[LooRow, ...]:
    """Each fitted row of ``family`` predicted by the constants fitted without it."""
    rows = fitted_rows(family)
    full = fit_all()[family]
    out = []
    for i, m in enumerate(rows):
        rest = rows[:i] + rows[i + 1:]
        # a family keeps its fit structure (three constants, or one scale) when a row is left
        # out, so the LOO error measures the constants, not a change of structure
        k = (fit_family(family, rest) if len(rows) < MIN_ROWS_FOR_THREE
             else _fit_three(family, rest))
        out.append(LooRow(m, _safe_predict(m, full), _safe_predict(m, k)))
    return tuple(out)


def _safe_predict(m: Measurement, k: ServingConstants) -> float:
    try:
        return predict(m, k)
    except EstimatorError:
        return float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


@cache
def bands() -> dict[str, tuple[float, float]]:
    """P10-P90 of measured / LOO-predicted per fitted family (pooled below 8 rows)."""
    ratios = {f: [r.ratio for r in leave_one_out(f) if math.isfinite(r.ratio)]
              for f in fitted_families()}
    pooled = [x for v in ratios.values() for x in v]
    out = {}
    for f, v in ratios.items():
        src = v if len(v) >= MIN_ROWS_FOR_OWN_BAND else pooled
        out[f] = (round(percentile(src, 10), 2), round(percentile(src, 90), 2))
    return out


def shipped_table() -> dict[str, ServingConstants]:
    """What ``serving_constants.yaml`` holds: rounded fits and bands (borrowing not resolved)."""
    b = bands()
    return {f: replace(rounded(k), band=b[f]) for f, k in fit_all().items()}


def _sources(family: str) -> str:
    kinds = sorted({m.source_id.split("-")[0] for m in fitted_rows(family)})
    names = {"MLP50": "MLPerf v5.0", "MLP51": "MLPerf v5.1", "MLP41": "MLPerf v4.1",
             "TRT014": "TensorRT-LLM v0.14", "TRT09": "TensorRT-LLM v0.9",
             "NIM180": "NIM 1.8"}
    return ", ".join(names.get(x, x) for x in kinds)


def _fit_kind(family: str) -> str:
    if len(fitted_rows(family)) >= MIN_ROWS_FOR_THREE:
        return "three constants"
    ref = reference_constants()
    scale = fit_all()[family].hbm_efficiency / ref.hbm_efficiency
    return f"one scale ({scale:.3f}) on the efficiencies of {reference_family()}"


def yaml_text() -> str:
    """The text of ``estimator/data/serving_constants.yaml``."""
    d = ServingConstants("shared", 1.0, 1.0, 0.0)
    lines = [
        "# Serving constants per chip family. Written by",
        "#   python -m estimator.serving.calibration --yaml",
        "# from estimator/data/serving_measurements.csv; docs/serving_model.md explains the",
        "# fit and lists every row with its leave-one-out error. Do not edit by hand: a test",
        "# checks this file equals what the fit computes.",
        "schema_version: 1",
        "# Engine-level judgements shared by every family (not fitted; docs/serving_model.md):",
        "shared:",
        "  # one tensor-parallel all-reduce: fixed latency, and the achieved share of the",
        "  # per-direction link bandwidth (nccl-tests bus bandwidth of mid-size messages)",
        f"  allreduce_latency_us: {d.allreduce_latency_s * 1e6:g}",
        f"  link_efficiency: {d.link_efficiency:g}",
        "  # KV pool: this share of the memory left after weights and the runtime reserve",
        "  # (TensorRT-LLM kv_cache_free_gpu_mem_fraction default 0.9)",
        f"  kv_memory_fraction: {d.kv_memory_fraction:g}",
        "  # runtime reserve per chip: the larger of this share of HBM and 1 GiB plus the",
        "  # activations of one chunk",
        f"  runtime_reserve_fraction: {d.runtime_reserve_fraction:g}",
        f"  runtime_reserve_gib: {d.runtime_reserve_bytes / GIB:g}",
        "  # tokens per engine iteration (max_num_tokens) and sequences in flight (max batch)",
        f"  chunk_tokens: {d.chunk_tokens}",
        f"  max_batch: {d.max_batch}",
        "families:",
    ]
    for f, k in shipped_table().items():
        lines.append(
            f"  {f}: {{hbm_efficiency: {k.hbm_efficiency:g}, compute_efficiency: "
            f"{k.compute_efficiency:g}, step_overhead_ms: {k.step_overhead_s * 1e3:g}, "
            f"band: [{k.band[0]:g}, {k.band[1]:g}], rows: {len(fitted_rows(f))}, "
            f"fit: \"{_fit_kind(f)}\", sources: \"{_sources(f)}\"}}")
    lines.append("borrowed:")
    for f in FAMILIES:
        if f in BORROWED:
            lender, reason = BORROWED[f]
            lines.append(f"  {f}: {{from: {lender}, reason: \"{reason}\"}}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown tables for docs/serving_model.md
# ---------------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.3g}"


def summary(rows: Sequence[LooRow]) -> tuple[float, float]:
    errs = [abs(r.ratio - 1.0) for r in rows if math.isfinite(r.ratio)]
    return (float(np.median(errs)) if errs else float("nan"),
            float(np.max(errs)) if errs else float("nan"))


def validation_rows() -> list[tuple[Measurement, float]]:
    table = load_shipped()
    out = []
    for m in measurements():
        if m.use != "validation":
            continue
        out.append((m, _safe_predict(m, table[m.family])))
    return out


def load_shipped() -> dict[str, ServingConstants]:
    from estimator.serving.constants import load_constants
    return load_constants()


#: The full max-throughput table of TensorRT-LLM v0.14.0 (docs/source/performance/
#: perf-overview.md of the fork arthurrasmusson/TensorRT-LLM@e00d4e65, the copy
#: serving_refs.md cites for the TRT014 rows): Llama 3.1 8B/70B/405B and Mixtral 8x7B on
#: H200 and H100 (fp8, fp16) and A100 (fp16), nine input/output lengths, TP 1-8, output
#: tokens/s of the TP group. Transcribed to ``estimator/data/trtllm_v014_perf_overview.csv``;
#: 16 of its 273 cells are the TRT014 rows of the calibration set, the rest are not fitted.
V014_FILE = "trtllm_v014_perf_overview.csv"


@dataclass(frozen=True)
class V014Row:
    model: str
    accelerator: str
    precision: str
    input_tokens: float
    output_tokens: float
    tp: int
    measured: float        # output tokens/s per chip
    predicted: float

    @property
    def ratio(self) -> float:
        return self.measured / self.predicted


@cache
def v014_validation() -> tuple[V014Row, ...]:
    """Every cell of the v0.14 table predicted with the shipped constants (not fitted)."""
    text = resources.files("estimator.data").joinpath(V014_FILE).read_text("utf-8")
    table = load_shipped()
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        acc = ACCELERATORS[r["hardware"]]
        tp = int(r["tp"])
        m = Measurement("v014", r["model"], r["hardware"], acc.family, "TensorRT-LLM v0.14",
                        r["precision"], r["precision"], float(r["input_tokens"]),
                        float(r["output_tokens"]), tp, None, LatencyTargets(), None,
                        float(r["output_tokens_per_s_total"]) / tp, "output_tps_per_chip",
                        "validation", "")
        out.append(V014Row(r["model"], r["hardware"], r["precision"], m.input_tokens,
                           m.output_tokens, tp, m.measured, _safe_predict(m, table[acc.family])))
    return tuple(out)


def _v014_markdown(w) -> None:
    rows = [r for r in v014_validation() if math.isfinite(r.predicted)]
    errs = np.array([abs(r.ratio - 1.0) for r in rows])
    w(f"{len(rows)} cells (of {len(v014_validation())} predicted); median |error| "
      f"{np.median(errs):.0%}, 90th percentile {np.percentile(errs, 90):.0%}, worst "
      f"{errs.max():.0%}; geometric-mean measured/predicted "
      f"{math.exp(np.mean([math.log(r.ratio) for r in rows])):.2f}.\n\n")
    w("| model | accelerator | precision | cells | median abs. error | worst | geo-mean "
      "measured/predicted |\n|---|---|---|---|---|---|---|\n")
    groups: dict[tuple[str, str, str], list[V014Row]] = {}
    for r in rows:
        groups.setdefault((r.model, r.accelerator, r.precision), []).append(r)
    for (model, acc, prec), g in groups.items():
        e = [abs(r.ratio - 1.0) for r in g]
        gm = math.exp(np.mean([math.log(r.ratio) for r in g]))
        w(f"| {model} | {acc} | {prec} | {len(g)} | {np.median(e):.0%} | {max(e):.0%} | "
          f"{gm:.2f} |\n")
    w("\nThe ten worst cells:\n\n| model | accelerator | precision | TP | in/out | measured "
      "| predicted | ratio |\n|---|---|---|---|---|---|---|---|\n")
    for r in sorted(rows, key=lambda r: -abs(math.log(r.ratio)))[:10]:
        w(f"| {r.model} | {r.accelerator} | {r.precision} | {r.tp} | {r.input_tokens:.0f}/"
          f"{r.output_tokens:.0f} | {_fmt(r.measured)} | {_fmt(r.predicted)} | "
          f"{r.ratio:.2f} |\n")


def markdown() -> str:
    out = io.StringIO()
    w = out.write
    table = shipped_table()
    w("### Fitted constants per family\n\n")
    w("| family | hbm_efficiency | compute_efficiency | step_overhead (ms) | rows | LOO median "
      "abs. error | LOO worst | band P10-P90 (measured/predicted) |\n|---|---|---|---|---|---|---|"
      "---|\n")
    for f, k in table.items():
        med, worst = summary(leave_one_out(f))
        w(f"| {f} | {k.hbm_efficiency:g} | {k.compute_efficiency:g} | "
          f"{k.step_overhead_s * 1e3:g} | {len(fitted_rows(f))} | {med:.0%} | {worst:.0%} | "
          f"{k.band[0]:g}-{k.band[1]:g} |\n")
    for f, (lender, _reason) in BORROWED.items():
        w(f"| {f} | borrowed from {lender} | | | 0 | | | widened |\n")
    allrows = [r for f in table for r in leave_one_out(f)]
    med, worst = summary(allrows)
    w(f"\nAll fitted rows: {len(allrows)}; leave-one-out median |error| {med:.0%}, worst "
      f"{worst:.0%}.\n\n")
    w("### Leave-one-out, per measurement (output tokens/s per chip)\n\n")
    w("| row | family | model | chips/replica | in/out | precision | measured | fitted | "
      "LOO | measured/LOO | assumptions |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
    for f in table:
        for r in leave_one_out(f):
            m = r.measurement
            tp = m.chips_per_replica or "auto"
            b = f", batch {m.batch}" if m.batch else ""
            w(f"| {m.source_id} | {f} | {m.model} | {tp} | {m.input_tokens:.0f}/"
              f"{m.output_tokens:.0f}{b} | {m.weight_precision}/{m.kv_precision} | "
              f"{_fmt(m.measured)} | {_fmt(r.predicted_in_sample)} | {_fmt(r.predicted_loo)} | "
              f"{r.ratio:.2f} | {m.assumptions} |\n")
    w("\n### Validation rows (not fitted; shipped constants)\n\n")
    w("| row | quantity | model | accelerator | in/out | measured | predicted | "
      "measured/predicted | notes |\n|---|---|---|---|---|---|---|---|---|\n")
    for m, p in validation_rows():
        unit = {"output_tps_per_chip": "out tok/s/chip", "ttft_s": "TTFT s (batch 1)",
                "tpot_s": "decode step s"}[m.quantity]
        ratio = m.measured / p if math.isfinite(p) else float("nan")
        w(f"| {m.source_id} | {unit} | {m.model} | {m.accelerator} | {m.input_tokens:.0f}/"
          f"{m.output_tokens:.0f}{f', batch {m.batch}' if m.batch else ''} | {_fmt(m.measured)}"
          f" | {_fmt(p)} | {ratio:.2f} | {m.assumptions} |\n")
    w("\n### Out-of-sample: the whole TensorRT-LLM v0.14 max-throughput table\n\n")
    _v014_markdown(w)
    w("\n### Excluded rows\n\n| row | reason |\n|---|---|\n")
    for sid, reason in excluded():
        w(f"| {sid} | {reason} |\n")
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m estimator.serving.calibration",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the doc tables")
    parser.add_argument("--yaml", action="store_true", help="print serving_constants.yaml")
    args = parser.parse_args(argv)
    if args.yaml:
        sys.stdout.write(yaml_text())
    if args.markdown or not args.yaml:
        sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
