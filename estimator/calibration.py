"""Calibration of the default training utilisation against published training runs.

The cost model (issue 3) estimates accelerator-hours as

    gpu_hours = train_flops / (peak_bf16_flops_per_s * train_mfu * train_goodput * 3600)

with ``train_flops = 6 N D`` (Kaplan et al. 2020, arXiv:2001.08361, Sec. 2.1). For every
published run that reports accelerator-hours we compute its *effective utilisation*

    u = 6 N D / (peak_bf16_flops_per_s * reported_hours * 3600),

the share of dense bf16 peak that became useful 6ND FLOPs over all the hours paid for
(restarts, failures and evaluation included).

Fit, per hardware generation (:func:`fit_generation_defaults`):

* ``mfu * goodput`` is the geometric mean of ``u`` over the generation's runs. This minimises
  the sum of squared log errors of the predicted hours: each run counts equally, whatever its
  size, and over- and under-estimates by the same factor cost the same.
* ``goodput`` is the geometric mean of ``u / reported_mfu`` over the runs that report an MFU
  (:data:`REPORTED_MFU`; capped at 1), i.e. the share of paid hours spent in productive
  steps. ``mfu`` is the rest: ``geomean(u) / goodput``. Goodput is a property of the
  cluster and campaign; what varies with model size and parallelism is put into MFU.

Uncertainty: ``ratio = reported_hours / estimated_hours`` with the shipped (rounded) defaults;
:func:`hours_band` is the 10th and 90th percentile of the ratio over all calibration runs,
pooled across generations (per generation there are 1 to 12 runs: too few for percentiles).
The cost model multiplies its ``gpu_hours`` by these factors to get ``gpu_hours_p10`` and
``gpu_hours_p90``.

Which runs:

* A100 ("ampere", 12 runs): LLaMA 7B-65B (Touvron et al. 2023, arXiv:2302.13971, Table 15),
  Llama 2 7B-70B (Llama 2 model card), BLOOM-176B (BigScience 2022, arXiv:2211.05100), MPT-7B
  (MosaicML blog 2023-05-05; hours derived as 440 GPUs x 9.5 days), Pythia 1B/6.9B/12B
  (Biderman et al. 2023, arXiv:2304.01373). A100 40GB and 80GB share the 312 TFLOP/s peak.
* H100 ("hopper", 3 runs): Llama 3 8B and 70B (model card; tokens "15T+", a lower bound,
  so ``u`` is a lower bound), Llama 3.1 405B (model card; Llama 3 paper arXiv:2407.21783).
* TPU v4 (1 run): PaLM 540B (Chowdhery et al. 2022, arXiv:2204.02311; chip-hours derived as
  6144 x 1200 h + 3072 x 336 h and including downtime).
* Not used: Gopher-280B (TPU v3: no profile here, and its 920 h comes from one secondary
  compilation); GPT-3, Chinchilla, OLMo 2 (no accelerator-hours published). See
  :func:`excluded_runs`.

Profiles without published runs borrow a calibrated generation (:data:`PROFILE_CALIBRATION`):
H100 PCIe, H200 and H800 borrow Hopper (same die), B200, GB200, B300 and GB300 borrow Hopper
(same software stack and the nearest NVIDIA generation with data), MI300X, MI325X and MI355X
borrow Hopper (the contemporary GPU with data), TPU v5e/v5p/v6e/TPU7x borrow TPU v4, and
Trainium2 borrows TPU v4 (a judgement: the nearest calibrated architecture). Each profile's
``calibration`` block says so (``tests/test_catalogue.py`` keeps the two in step).

Data: ``estimator/data/published_runs.csv`` is a verbatim copy of
``../shared/reference/published_runs.csv`` (the project's reference compilation; each row
names its source: papers, model cards and blogs cited above).

Run ``python -m estimator.calibration --markdown`` to print the tables in
``docs/calibration.md``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from estimator.costs import SECONDS_PER_HOUR, gpu_hours
from estimator.hardware import HardwareProfile, builtin_profiles

#: Peaks of chips with a published run but no profile, used only to report the run's u.
#: TPU v3: 123 TFLOP/s bf16 per chip (Google Cloud TPU v3 docs, via hardware.md).
REFERENCE_PEAK_TFLOPS = {"TPU v3": 123.0}
#: Decimals the profiles carry for train_mfu and train_goodput.
DEFAULT_DECIMALS = 2

#: Calibration group of every built-in profile. A group is the ``generation`` of the profiles
#: whose runs are fitted; the others borrow it (see the module docstring for why).
PROFILE_CALIBRATION: dict[str, str] = {
    "a100-40gb": "ampere",
    "a100-80gb": "ampere",
    "h100-sxm": "hopper",
    "h100-pcie": "hopper",
    "h200": "hopper",
    "h800": "hopper",
    "b200": "hopper",
    "gb200": "hopper",
    "b300": "hopper",
    "gb300": "hopper",
    "mi300x": "hopper",
    "mi325x": "hopper",
    "mi355x": "hopper",
    "tpu-v4": "tpu-v4",
    "tpu-v5e": "tpu-v4",
    "tpu-v5p": "tpu-v4",
    "tpu-v6e": "tpu-v4",
    "tpu-v7": "tpu-v4",
    "trainium2": "tpu-v4",
}

#: Reported MFU (6ND convention, dense bf16 peak) of the runs that give one, used to split
#: ``u`` into mfu x goodput. run -> (mfu, basis). LLaMA-65B's is computed from its reported
#: throughput in :func:`reported_mfu`.
REPORTED_MFU: dict[str, tuple[float, str]] = {
    "BLOOM-176B": (0.48, "~150 TFLOP/s/GPU of 312 (BigScience 2022, Sec. 3.4)"),
    "Llama-3.1-405B": (0.41, "41% BF16 MFU on 16,384 GPUs, the main configuration "
                             "(Llama 3 paper Table 4; 38-43% across configurations)"),
    "PaLM-540B": (0.457, "45.7% MFU without attention FLOPs, matching 6ND "
                         "(46.2% with attention; Chowdhery et al. 2022, Table 3 / App. B)"),
}


@dataclass(frozen=True)
class PublishedRun:
    """One row of published_runs.csv that reports accelerator-hours on a profiled chip."""

    run: str
    hardware: str  # as written in the CSV
    profile_id: str
    params: float
    tokens: float
    reported_hours: float
    hours_kind: str  # "reported" or "derived (...)"
    reported_throughput: str
    source: str

    @property
    def train_flops(self) -> float:
        """6 N D (Kaplan et al. 2020): training FLOPs."""
        return 6.0 * self.params * self.tokens


@dataclass(frozen=True)
class CalibrationRow:
    """A calibration run: reported hours vs the hours the shipped defaults estimate."""

    run: str
    hardware: str
    profile_id: str
    generation: str
    params: float
    tokens: float
    train_flops: float
    reported_hours: float
    estimated_hours: float
    ratio: float  # reported_hours / estimated_hours
    effective_utilization: float  # u = 6ND / (peak * reported_hours * 3600)


@dataclass(frozen=True)
class GenerationFit:
    """Fitted defaults of one calibration group (unrounded)."""

    generation: str
    runs: tuple[str, ...]
    effective_utilization: float  # geometric mean of u = train_mfu * train_goodput
    train_mfu: float
    train_goodput: float
    goodput_runs: tuple[str, ...]  # runs whose reported MFU set the goodput
    profiles: tuple[str, ...]  # every profile that uses these defaults (incl. borrowers)


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def _read_csv_text() -> str:
    return resources.files("estimator.data").joinpath("published_runs.csv").read_text("utf-8")


def _float(text: str) -> float | None:
    text = (text or "").strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def profile_for_hardware(hardware: str) -> str | None:
    """The built-in profile id for a CSV ``hardware`` cell, or None (no profile)."""
    h = hardware.upper().replace(" ", "")
    if h.startswith("A100"):
        return "a100-40gb" if "40GB" in h else "a100-80gb"
    if h.startswith("H100"):  # Meta's clusters are H100 SXM at 700 W (Llama 3 model card)
        return "h100-sxm"
    if h == "TPUV4":
        return "tpu-v4"
    return None


@cache
def _all_rows() -> tuple[dict[str, str], ...]:
    return tuple(csv.DictReader(io.StringIO(_read_csv_text())))


def published_runs() -> list[PublishedRun]:
    """The calibration runs: rows with accelerator-hours on hardware that has a profile."""
    out = []
    for row in _all_rows():
        hours = _float(row["accel_hours"])
        profile_id = profile_for_hardware(row["hardware"])
        if hours is None or profile_id is None:
            continue
        out.append(PublishedRun(
            run=row["model"],
            hardware=row["hardware"],
            profile_id=profile_id,
            params=float(row["params_total"]),
            tokens=float(row["tokens"]),
            reported_hours=hours,
            hours_kind=row["accel_hours_kind"],
            reported_throughput=row["reported_throughput"],
            source=row["source"],
        ))
    return out


def excluded_runs() -> list[tuple[str, str]]:
    """(run, reason) for every CSV row not used in the calibration."""
    out = []
    for row in _all_rows():
        hours = _float(row["accel_hours"])
        if hours is None:
            out.append((row["model"], f"no accelerator-hours published ({row['hardware']})"))
        elif profile_for_hardware(row["hardware"]) is None:
            reason = (f"{row['hardware']}: no built-in profile ({row['accel_hours_kind']}; "
                      f"confidence {row['confidence']})")
            peak = REFERENCE_PEAK_TFLOPS.get(row["hardware"].strip())
            if peak:
                u = (6.0 * float(row["params_total"]) * float(row["tokens"])
                     / (peak * 1e12 * hours * SECONDS_PER_HOUR))
                reason += f"; for reference u = {u:.3f} against {peak:g} TFLOP/s"
            out.append((row["model"], reason))
    return out


# --------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------


def _geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default method), q in [0, 100]."""
    xs = sorted(values)
    if not xs:
        raise ValueError("percentile of no values")
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def effective_utilization(run: PublishedRun, profile: HardwareProfile) -> float:
    """u = 6ND / (peak_bf16 * reported_hours * 3600): useful share of paid peak."""
    return run.train_flops / (profile.peak_flops_per_s("bf16") * run.reported_hours
                              * SECONDS_PER_HOUR)


def reported_mfu(run: PublishedRun, profile: HardwareProfile) -> tuple[float, str] | None:
    """The run's reported MFU and its basis, or None. Tokens/s/GPU throughput (LLaMA-65B)
    converts to MFU = 6 N * tokens_per_s / peak_bf16."""
    if run.run in REPORTED_MFU:
        return REPORTED_MFU[run.run]
    m = re.search(r"([\d.]+)\s*tokens/s/GPU", run.reported_throughput)
    if m:
        mfu = 6.0 * run.params * float(m.group(1)) / profile.peak_flops_per_s("bf16")
        return mfu, f"{m.group(1)} tokens/s/GPU x 6N / peak"
    return None


def fit_generation_defaults(
    profiles: Mapping[str, HardwareProfile] | None = None,
) -> dict[str, GenerationFit]:
    """Fitted (unrounded) train_mfu and train_goodput per calibration group.

    Peaks come from ``profiles`` (default: the built-ins); the fit does not depend on the
    profiles' current mfu/goodput.
    """
    profs = dict(profiles) if profiles is not None else builtin_profiles()
    by_gen: dict[str, list[tuple[PublishedRun, float, float | None]]] = {}
    for run in published_runs():
        prof = profs[run.profile_id]
        u = effective_utilization(run, prof)
        rep = reported_mfu(run, prof)
        by_gen.setdefault(PROFILE_CALIBRATION[run.profile_id], []).append(
            (run, u, rep[0] if rep else None))
    fits = {}
    for gen, items in by_gen.items():
        u_all = _geomean([u for _, u, _ in items])
        with_mfu = [(r, u, m) for r, u, m in items if m is not None]
        if not with_mfu:
            raise ValueError(f"calibration group {gen!r} has no run with a reported MFU")
        goodput = min(1.0, _geomean([min(1.0, u / m) for _, u, m in with_mfu]))
        fits[gen] = GenerationFit(
            generation=gen,
            runs=tuple(r.run for r, _, _ in items),
            effective_utilization=u_all,
            train_mfu=u_all / goodput,
            train_goodput=goodput,
            goodput_runs=tuple(r.run for r, _, _ in with_mfu),
            profiles=tuple(p for p, g in PROFILE_CALIBRATION.items() if g == gen),
        )
    return fits


def rounded_defaults(decimals: int = DEFAULT_DECIMALS) -> dict[str, tuple[float, float]]:
    """{profile id: (train_mfu, train_goodput)} the built-in YAML files should carry."""
    fits = fit_generation_defaults()
    return {pid: (round(fits[g].train_mfu, decimals), round(fits[g].train_goodput, decimals))
            for pid, g in PROFILE_CALIBRATION.items()}


def calibration_table(
    profiles: Mapping[str, HardwareProfile] | None = None,
) -> list[CalibrationRow]:
    """Each calibration run with reported hours, hours estimated with the profiles' defaults
    (default: the shipped built-ins) and ratio = reported / estimated."""
    profs = dict(profiles) if profiles is not None else builtin_profiles()
    rows = []
    for run in published_runs():
        prof = profs[run.profile_id]
        # the cost model's own formula, so the calibration and the estimates cannot drift
        est = float(gpu_hours(run.train_flops, prof.peak_flops_per_s("bf16"), prof.train_mfu,
                              prof.train_goodput))
        rows.append(CalibrationRow(
            run=run.run,
            hardware=run.hardware,
            profile_id=run.profile_id,
            generation=PROFILE_CALIBRATION[run.profile_id],
            params=run.params,
            tokens=run.tokens,
            train_flops=run.train_flops,
            reported_hours=run.reported_hours,
            estimated_hours=est,
            ratio=run.reported_hours / est,
            effective_utilization=effective_utilization(run, prof),
        ))
    return rows


def hours_band(rows: Sequence[CalibrationRow] | None = None) -> tuple[float, float]:
    """(p10, p90) of reported/estimated hours over all calibration runs: multiply an
    estimate's gpu_hours by these to get gpu_hours_p10 and gpu_hours_p90."""
    ratios = [r.ratio for r in (rows if rows is not None else calibration_table())]
    return percentile(ratios, 10.0), percentile(ratios, 90.0)


#: :func:`hours_band` of the shipped defaults, rounded outwards to 2 decimals (a test keeps
#: it in step). A constant so an estimate need not read the CSV.
HOURS_BAND: tuple[float, float] = (0.76, 1.33)


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _fmt_hours(h: float) -> str:
    return f"{h:,.0f}"


def markdown() -> str:
    """The generated tables of docs/calibration.md (fits, runs, band, excluded runs)."""
    fits = fit_generation_defaults()
    rows = calibration_table()
    profs = builtin_profiles()
    lines = ["### Fitted defaults per generation", "",
             "| generation | runs | geomean u | goodput (from) | mfu | shipped mfu | "
             "shipped goodput | profiles using it |",
             "|---|---|---|---|---|---|---|---|"]
    for gen, f in fits.items():
        ref = profs[f.profiles[0]]
        lines.append(
            f"| {gen} | {len(f.runs)} | {f.effective_utilization:.3f} | {f.train_goodput:.3f} "
            f"({', '.join(f.goodput_runs)}) | {f.train_mfu:.3f} | {ref.train_mfu:.2f} | "
            f"{ref.train_goodput:.2f} | {', '.join(f.profiles)} |")
    lines += ["", "### Runs: reported vs estimated accelerator-hours", "",
              "Estimated with the shipped defaults: `6ND / (peak_bf16 * mfu * goodput * 3600)`.",
              "",
              "| run | hardware | profile | params | tokens | u | reported hours | "
              "estimated hours | ratio |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.run} | {r.hardware} | {r.profile_id} | {r.params / 1e9:.1f}B | "
            f"{r.tokens / 1e12:.2f}T | "
            f"{r.effective_utilization:.3f} | {_fmt_hours(r.reported_hours)} | "
            f"{_fmt_hours(r.estimated_hours)} | {r.ratio:.2f} |")
    p10, p90 = hours_band(rows)
    ratios = [r.ratio for r in rows]
    lines += ["", "### Uncertainty band", "",
              f"Ratio reported / estimated over {len(rows)} runs: min {min(ratios):.2f}, "
              f"p10 **{p10:.3f}**, median {percentile(ratios, 50):.2f}, p90 **{p90:.3f}**, "
              f"max {max(ratios):.2f}.",
              f"Shipped `HOURS_BAND = {HOURS_BAND}` (rounded outwards).", "",
              "### Runs not used", "",
              "| run | reason |", "|---|---|"]
    for run, reason in excluded_runs():
        lines.append(f"| {run} | {reason} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m estimator.calibration",
                                     description="Calibration of default MFU and goodput.")
    parser.add_argument("--markdown", action="store_true",
                        help="print the generated tables of docs/calibration.md")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown())
        return 0
    for gen, f in fit_generation_defaults().items():
        print(f"{gen:8s} mfu={f.train_mfu:.4f} goodput={f.train_goodput:.4f} "
              f"u={f.effective_utilization:.4f} runs={len(f.runs)}")
    p10, p90 = hours_band()
    print(f"hours band p10={p10:.4f} p90={p90:.4f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
