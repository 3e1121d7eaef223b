"""Calibration of the run model: fit the constants, leave-one-out on published runs, tables.

Step constants (per family: ``gemm_efficiency``, ``gemm_half_width``, ``memory_efficiency``,
``comm_efficiency``, ``comm_overlap``; global: ``fp8_gemm_gain``, ``moe_load_imbalance``) minimise

    sum_rows (w_row log(predicted tokens/s / measured tokens/s))^2 + weak priors

over the measured layouts of ``training_layouts.csv`` (:func:`estimator.training.reference.
layout_rows`, excluded rows listed with their reason), each row predicted with the layout its
source states and the model's best choice of what it does not state. ``w_row = 1 / sqrt(rows
of its source)`` so every source counts about equally (llm-foundry's 50 rows do not outvote
MegaScale's 22). The priors (log-normal, sigma 3: a factor e costs a ninth of one source)
only keep constants the data barely touch (a TPU's communication) near typical values.
Blackwell's 13 rows are nearly all MoE or fp8: only its GEMM ceiling is fitted, the rest is
Hopper's. ``scipy.optimize.least_squares`` (trust-region reflective, bounded).

``campaign_overhead`` is then ``exp(mean log(reported / predicted)) - 1`` over the published
runs (:func:`estimator.training.reference.all_runs`), predicted with full layout search and
the cluster goodput model. Leave-one-out: each run is predicted with the overhead fitted on
the other runs, and with step constants refitted without the layout rows of the same model
(:data:`estimator.training.reference.RUN_LAYOUT_PREFIXES`). The band of a family is
the pooled 10th..90th percentile of the leave-one-out ratios (split-conformal), widened by
the family's RMS log ratio over the pooled one where larger (shrunk with a weight of two
runs); a family with layouts but no published run takes 1.25 x the pooled band (judgement).

``python -m estimator.training.calibration --markdown`` prints the tables of
``docs/run_model.md``; ``--write`` refits and writes ``estimator/data/training_constants.yaml``.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path

import numpy as np

from estimator.training.constants import (
    BORROWED,
    CONSTANTS_FILE,
    PARTIAL_BORROW,
    FamilyConstants,
    GlobalConstants,
    ModelConstants,
    constants_from_dict,
)
from estimator.training.model import (
    Candidates,
    Coefs,
    Fabric,
    Work,
    evaluate,
    geometry,
    optimal_batch_tokens,
    work_for,
)
from estimator.training.reference import (
    HOURS_PAID,
    PUBLISHED_BATCHES,
    RUN_LAYOUT_PREFIXES,
    LayoutRow,
    PublishedRun,
    all_runs,
    layout_rows,
)
from estimator.training.run import (
    fabric_for,
    pins_of,
    plan_training_run,
    prepare,
)
from estimator.training.types import FAMILIES

#: Families whose five step constants are fitted.
FULL_FAMILIES = ("nvidia-ampere", "nvidia-hopper", "google-tpu")
STEP_FIELDS = ("gemm_efficiency", "gemm_half_width", "memory_efficiency", "comm_efficiency",
               "comm_overlap")
GLOBAL_STEP = ("fp8_gemm_gain", "moe_load_imbalance")
#: name -> (lower, upper, prior centre); priors are log-normal with sigma PRIOR_SIGMA.
BOUNDS = {
    "gemm_efficiency": (0.3, 1.0, 0.75),
    "gemm_half_width": (1.0, 3000.0, 128.0),
    "memory_efficiency": (0.2, 1.0, 0.7),
    "comm_efficiency": (0.2, 1.0, 0.7),
    "comm_overlap": (0.01, 0.99, 0.5),
    "fp8_gemm_gain": (0.01, 1.0, 0.5),
    "moe_load_imbalance": (1.0, 4.0, 1.2),
}
PRIOR_SIGMA = 3.0
#: A family with layouts but no published run: band = this x the pooled sigma (judgement).
NO_RUNS_BAND_WIDENING = 1.25
#: Shrinkage weight (in runs) of a family's band towards the pooled sigma.
BAND_SHRINK_RUNS = 2.0
SIGNIFICANT = 4


#: A fitted step parameter: (constant name, family or None for a global one).
Param = tuple[str, "str | None"]


def param_names(families_with_rows=None) -> tuple[Param, ...]:
    """The fitted step parameters: five per full family, the GEMM ceiling of each partial
    family that has rows in the fit (one without rows takes its contemporary's, see
    :data:`estimator.training.constants.PARTIAL_BORROW`), then the global ones."""
    out: list[Param] = []
    for fam in FULL_FAMILIES:
        out += [(f, fam) for f in STEP_FIELDS]
    for fam in PARTIAL_BORROW:
        if families_with_rows is None or fam in families_with_rows:
            out.append(("gemm_efficiency", fam))
    out += [(g, None) for g in GLOBAL_STEP]
    return tuple(out)


def _round(x: float) -> float:
    return float(f"{x:.{SIGNIFICANT}g}")


# -- the stacked evaluation of many rows -------------------------------------------------------
@dataclass
class _Stack:
    """Every fitting candidate of every row, concatenated, with per-candidate row data."""

    rows: list[LayoutRow]
    cand: Candidates
    m: np.ndarray
    bseq: np.ndarray
    seq: np.ndarray
    work: Work
    fab: Fabric  # gemm_gain filled per theta
    fp8_ratio: np.ndarray  # fp8 / bf16 peak where the row runs fp8 (else 1)
    fam: np.ndarray  # family index per candidate
    forced: np.ndarray  # force-balanced MoE routing
    starts: np.ndarray
    counts: np.ndarray
    measured: np.ndarray  # per row
    weight: np.ndarray  # per row
    unfit: list[str]  # rows with no fitting candidate
    geo: object = None


_FAM_INDEX = {f: i for i, f in enumerate(FAMILIES)}


def _build_stack(rows: list[LayoutRow]) -> _Stack:
    parts, keep, unfit = [], [], []
    for r in rows:
        job, acc = r.job, r.accelerator
        w = work_for(job.shape, job.seq_len)
        fab = fabric_for(acc, job.precision, 0.0)  # the fp8 gain is set per theta
        pins = pins_of(job, acc)
        pr = prepare(job, job.gpus, w, fab, optimal_batch_tokens(w, job.shape, job.tokens),
                     pins)
        if pr is None:
            unfit.append(r.source_id)
            continue
        pr = pr.valid_only()
        keep.append(r)
        parts.append((r, w, fab, pr))
    counts = np.array([len(p[3].cand) for p in parts])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

    def cat(get):
        return np.concatenate([np.broadcast_to(np.asarray(get(p), dtype=float), (len(p[3].cand),))
                               for p in parts])

    cand = Candidates(*(cat(lambda p, f=f: getattr(p[3].cand, f))
                        for f in Candidates.__dataclass_fields__))
    work = Work(**{f.name: cat(lambda p, n=f.name: getattr(p[1], n)) for f in fields(Work)})
    fab = Fabric(**{f.name: cat(lambda p, n=f.name: getattr(p[2], n)) for f in fields(Fabric)})

    def fp8_ratio(p):
        acc = p[0].accelerator
        if p[0].job.precision != "fp8":
            return 1.0
        return acc.peak_flops_per_s.get("fp8", acc.peak("bf16")) / acc.peak("bf16")

    groups: dict[str, int] = {}
    for r in keep:
        groups[r.group] = groups.get(r.group, 0) + 1
    return _Stack(
        rows=keep, cand=cand, m=cat(lambda p: p[3].m), bseq=cat(lambda p: p[3].bseq),
        seq=cat(lambda p: p[0].job.seq_len), work=work, fab=fab, fp8_ratio=cat(fp8_ratio),
        fam=cat(lambda p: _FAM_INDEX[p[0].family]).astype(int),
        forced=cat(lambda p: p[0].forced_balance).astype(bool), starts=starts, counts=counts,
        measured=np.array([r.measured_tps for r in keep]),
        weight=np.array([1.0 / math.sqrt(groups[r.group]) for r in keep]), unfit=unfit)


def _theta_to_constants(theta: dict[Param, float]) -> tuple[dict, dict]:
    fam: dict[str, dict[str, float]] = {f: {} for f in FAMILIES}
    glob: dict[str, float] = {}
    for (name, family), v in theta.items():
        if family is None:
            glob[name] = float(v)
        else:
            fam[family][name] = float(v)
    for dst, src in PARTIAL_BORROW.items():
        for f in STEP_FIELDS:
            fam[dst].setdefault(f, fam[src][f])
    return fam, glob


def _predict_stack(st: _Stack, theta: dict[Param, float]) -> np.ndarray:
    """Predicted tokens/s per GPU of every row of the stack."""
    fam, glob = _theta_to_constants(theta)
    tab = {f: np.array([fam[x].get(f, np.nan) for x in FAMILIES]) for f in STEP_FIELDS}
    k = st.fam
    imb = np.where(st.forced, 1.0, glob["moe_load_imbalance"])
    coefs = Coefs(gemm_eff=tab["gemm_efficiency"][k], w0=tab["gemm_half_width"][k],
                  mem_eff=tab["memory_efficiency"][k], comm_eff=tab["comm_efficiency"][k],
                  overlap=tab["comm_overlap"][k], imbalance=imb,
                  )
    gain = 1.0 + glob["fp8_gemm_gain"] * (st.fp8_ratio - 1.0)
    fab = replace(st.fab, gemm_gain=gain)
    if st.geo is None:
        st.geo = geometry(st.cand, st.work, st.fab.low_precision, st.fab.domain)
    steps = evaluate(st.cand, st.m, st.work, fab, coefs, mem=st.m, geo=st.geo).step_s
    n = st.cand.tp * st.cand.pp * st.cand.cp * st.cand.dp
    tps = st.bseq * st.seq / (steps * n)
    # the model's choice per row: the least time per token (the batch is pinned per row)
    best = np.maximum.reduceat(tps, st.starts)
    return best


def _residuals(x: np.ndarray, params: tuple[Param, ...], st: _Stack) -> np.ndarray:
    pred = _predict_stack(st, dict(zip(params, x, strict=True)))
    res = st.weight * np.log(pred / st.measured)
    prior = [(math.log(v) - math.log(BOUNDS[name][2])) / PRIOR_SIGMA
             for (name, _fam), v in zip(params, x, strict=True)]
    return np.concatenate([res, prior])


def _bounds(params: tuple[Param, ...]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([BOUNDS[n][0] for n, _ in params]),
            np.array([BOUNDS[n][1] for n, _ in params]))


def _to_u(x: np.ndarray, params: tuple[Param, ...]) -> np.ndarray:
    """Unbounded coordinates: the logit of each constant's place between its bounds."""
    lo, hi = _bounds(params)
    z = np.clip((np.log(x) - np.log(lo)) / (np.log(hi) - np.log(lo)), 1e-6, 1 - 1e-6)
    return np.log(z / (1.0 - z))


def _from_u(u: np.ndarray, params: tuple[Param, ...]) -> np.ndarray:
    lo, hi = _bounds(params)
    z = 1.0 / (1.0 + np.exp(-u))
    return np.exp(np.log(lo) + z * (np.log(hi) - np.log(lo)))


def fit_step(rows: list[LayoutRow], start: dict[Param, float] | None = None
             ) -> tuple[dict[Param, float], _Stack]:
    """Fitted step parameters on ``rows`` (a partial family without rows gets none: it takes
    its contemporary's): least squares in the logit of each constant's (log) place between
    its bounds, so every coordinate has the same scale. The fit starts at the priors'
    centres unless ``start`` is given (not the shipped file: the fit must not depend on what
    it wrote last)."""
    from scipy.optimize import least_squares  # lazy: the estimate path never fits

    st = _build_stack(rows)
    params = param_names({r.family for r in st.rows})
    x0 = np.array([(start or {}).get(p, BOUNDS[p[0]][2]) for p in params])
    sol = least_squares(lambda u: _residuals(_from_u(u, params), params, st),
                        _to_u(x0, params), method="trf", diff_step=1e-3, xtol=1e-10,
                        ftol=1e-12, gtol=1e-10, max_nfev=2000)
    return dict(zip(params, (float(v) for v in _from_u(sol.x, params)), strict=True)), st


def fit_rows(exclude_prefixes: tuple[str, ...] = ()) -> list[LayoutRow]:
    """The layout rows used in the fit (not excluded, not of the given models)."""
    return [r for r in layout_rows() if r.excluded is None
            and not r.source_id.startswith(exclude_prefixes or ("\0",))]


def batch_ratios() -> list[tuple[str, float, float]]:
    """(run, published batch, DeepSeek B_opt) of :data:`PUBLISHED_BATCHES`, tokens."""
    out = []
    for run, shape, tokens, seq, batch, _src in PUBLISHED_BATCHES:
        out.append((run, batch, optimal_batch_tokens(work_for(shape, seq), shape, tokens)))
    return out


def fit_batch_fraction() -> float:
    """Geometric mean of published batch / B_opt."""
    logs = [math.log(b / opt) for _r, b, opt in batch_ratios()]
    return _round(math.exp(sum(logs) / len(logs)))


def least_recompute(rows) -> dict[str, str]:
    """Per family with rows, ``full`` when every one of its rows states full recompute (its
    software was never measured without it), else ``none`` (the search tries every option)."""
    out: dict[str, str] = {}
    for r in rows:
        full = r.job.recompute == "full"
        out[r.family] = "full" if full and out.get(r.family, "full") == "full" else "none"
    return out


def _constants(theta: dict[Param, float], campaign: float, sigmas: dict[str, tuple],
               least: dict[str, str], batch_fraction: float | None = None) -> ModelConstants:
    fam, glob = _theta_to_constants(theta)
    bf = fit_batch_fraction() if batch_fraction is None else batch_fraction
    data = {"global": {**glob, "campaign_overhead": campaign, "batch_practice_fraction": bf},
            "families": {f: {**fam[f], "band_log_p10": sigmas.get(f, (-0.1, 0.1))[0],
                             "band_log_p90": sigmas.get(f, (-0.1, 0.1))[1],
                             "least_recompute": least.get(f, "none")}
                         for f in FAMILIES if f not in BORROWED}}
    return constants_from_dict(data)


# -- published runs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunCheck:
    run: str
    family: str
    reported_hours: float
    predicted_hours: float  # leave-one-out
    ratio: float  # reported / predicted
    p10_factor: float  # the shipped band of the family (every run's residual in it)
    p90_factor: float
    p10_without: float  # the same band fitted without this run's residual
    p90_without: float
    predicted_mfu: float
    reported_mfu_u: float  # 6 N D / (peak hours): the effective utilisation of the hours
    layout: str
    gpus: int
    gpus_source: str
    hours_basis: str  # what the published figure counts (reference.HOURS_BASIS)

    @property
    def inside(self) -> bool:
        """Inside the band fitted without this run (the coverage a new run would see)."""
        return self.p10_without <= self.ratio <= self.p90_without

    @property
    def inside_shipped(self) -> bool:
        return self.p10_factor <= self.ratio <= self.p90_factor


def _run_hours(run: PublishedRun, consts: ModelConstants):
    """The plan of a published run and the hours comparable with its figure: paid hours, or
    productive hours (``gpu_hours x goodput``) when the figure counts step time only."""
    plan = plan_training_run(run.job, run.accelerator, consts)
    hours = plan.gpu_hours if run.hours_basis == HOURS_PAID else plan.gpu_hours * plan.goodput
    return plan, hours


def _campaign(runs, consts_no_campaign: ModelConstants) -> float:
    """``exp(mean log(reported / predicted)) - 1`` over the runs whose figure counts paid
    hours (the overhead is what such a figure holds beyond the step and the failures)."""
    logs = [math.log(r.reported_hours / _run_hours(r, consts_no_campaign)[1])
            for r in runs if r.hours_basis == HOURS_PAID]
    return math.exp(sum(logs) / len(logs)) - 1.0 if logs else 0.0


@dataclass(frozen=True)
class Calibration:
    theta: tuple[tuple[Param, float], ...]
    constants: ModelConstants
    runs: tuple[RunCheck, ...]
    rows: tuple[tuple[LayoutRow, float], ...]  # (row, predicted tokens/s), every modelled row
    unfit_rows: tuple[str, ...]


def _layout_str(plan) -> str:
    L = plan.layout
    z = "HSDP" if L.hybrid_shard else f"Z{L.zero_stage}"
    return (f"TP{L.tp} PP{L.pp}" + (f"x{L.virtual_stages}" if L.virtual_stages > 1 else "")
            + (" DualPipe" if L.dualpipe else "")
            + (f" CP{L.cp}" if L.cp > 1 else "") + (f" EP{L.ep}" if L.ep > 1 else "")
            + f" DP{L.dp} {z} mb{L.micro_batch} {L.recompute}")


def conformal_band(logs) -> tuple[float, float]:
    """The split-conformal central 80% band of ``n`` leave-one-out log ratios with its
    small-sample correction (Vovk et al. 2005; Lei et al. 2018, arXiv:1604.04173, Sec. 2):
    the ``floor(0.1 (n + 1))``-th and ``ceil(0.9 (n + 1))``-th smallest, so a new run
    exchangeable with them falls below / above each with probability at most 10% (the plain
    10th and 90th percentiles reach 80% only on average and undercover at small ``n``). With
    18 runs these are the smallest and the largest (expected coverage 17/19)."""
    xs = np.sort(np.asarray(logs, dtype=float))
    n = xs.size
    lo = min(max(math.floor(0.1 * (n + 1)), 1), n)
    hi = min(max(math.ceil(0.9 * (n + 1)), 1), n)
    return float(xs[lo - 1]), float(xs[hi - 1])


def _bands(loo_logs: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    """Per family (log P10, log P90) of the GPU-hours ratio reported / predicted: the pooled
    :func:`conformal_band` of the leave-one-out log ratios, widened for a family whose RMS log
    ratio (shrunk towards the pool's with a weight of two runs) exceeds the pool's, never
    narrowed (a handful of runs cannot show a family is more predictable); families with
    layouts but no published run take 1.25 x the pooled band (judgement)."""
    every = np.array([x for v in loo_logs.values() for x in v])
    q10, q90 = conformal_band(every)
    pooled = math.sqrt(float(np.mean(every ** 2)))
    out = {}
    for fam in FAMILIES:
        if fam in BORROWED:
            continue
        xs = loo_logs.get(fam, [])
        if xs:
            sigma = math.sqrt((sum(x * x for x in xs) + BAND_SHRINK_RUNS * pooled ** 2)
                              / (len(xs) + BAND_SHRINK_RUNS))
            scale = max(sigma / pooled, 1.0)  # never narrower than the pool
        else:
            scale = NO_RUNS_BAND_WIDENING
        out[fam] = (_round(min(q10, -0.01) * scale), _round(max(q90, 0.01) * scale))
    return out


def _without(loo_logs: dict[str, list[float]], fam: str, x: float) -> dict[str, list[float]]:
    """``loo_logs`` without one occurrence of ``x`` in family ``fam``."""
    out = {k: list(v) for k, v in loo_logs.items()}
    out[fam].remove(x)
    return out


@cache
def calibrate(loo: bool = True) -> Calibration:
    """Fit every constant; with ``loo`` also the leave-one-out run checks and bands."""
    theta, stack = fit_step(fit_rows())
    theta = {k: _round(v) for k, v in theta.items()}
    least = least_recompute(fit_rows())
    base0 = _constants(theta, 0.0, {}, least)
    runs = all_runs()
    campaign = _round(_campaign(runs, base0))
    base = _constants(theta, campaign, {}, least)
    loo_logs: dict[str, list[float]] = {}
    loo_pred: dict[str, tuple[float, object]] = {}
    if loo:
        for r in runs:
            prefixes = RUN_LAYOUT_PREFIXES.get(r.run, ())
            dropped = [x for x in fit_rows() if x.source_id.startswith(prefixes)] \
                if prefixes else []
            if dropped:
                th, _ = fit_step(fit_rows(prefixes), start=theta)
                lr = least_recompute(fit_rows(prefixes))
            else:
                th, lr = theta, least
            c0 = _constants(th, 0.0, {}, lr)
            others = [o for o in runs if o.run != r.run]
            camp = _campaign(others, c0)
            plan, hours = _run_hours(r, _constants(th, camp, {}, lr))
            loo_pred[r.run] = (hours, plan)
            loo_logs.setdefault(r.family, []).append(math.log(r.reported_hours / hours))
        sigmas = _bands(loo_logs)
    else:
        sigmas = {f: (base.family(f).band_log_p10, base.family(f).band_log_p90)
                  for f in FAMILIES if f not in BORROWED}
    consts = _constants(theta, campaign, sigmas, least)
    checks = []
    for r in runs:
        hours, plan = loo_pred.get(r.run, (None, None))
        if plan is None:
            plan, hours = _run_hours(r, consts)
        ratio = r.reported_hours / hours
        fc = consts.family(r.family)
        if loo:  # the band fitted without this run: an honest coverage check
            lo, hi = _bands(_without(loo_logs, r.family, math.log(ratio)))[r.family]
        else:
            lo, hi = fc.band_log_p10, fc.band_log_p90
        peak = r.accelerator.peak("bf16")
        u = 6.0 * r.params_csv * r.job.tokens / (peak * r.reported_hours * 3600.0)
        checks.append(RunCheck(run=r.run, family=r.family, reported_hours=r.reported_hours,
                               predicted_hours=hours, ratio=ratio,
                               p10_factor=math.exp(fc.band_log_p10),
                               p90_factor=math.exp(fc.band_log_p90),
                               p10_without=math.exp(lo), p90_without=math.exp(hi),
                               predicted_mfu=plan.predicted_mfu, reported_mfu_u=u,
                               layout=_layout_str(plan), gpus=r.job.gpus,
                               gpus_source=r.spec.gpus_source, hours_basis=r.hours_basis))
    # every modelled layout row, predicted with the fitted constants
    all_rows = [r for r in layout_rows()]
    st_all = _build_stack(all_rows)
    pred = _predict_stack(st_all, theta)
    rows = tuple(zip(st_all.rows, (float(x) for x in pred), strict=True))
    return Calibration(theta=tuple(sorted(theta.items(), key=str)), constants=consts,
                       runs=tuple(checks), rows=rows,
                       unfit_rows=tuple(st_all.unfit))


# -- constants file -------------------------------------------------------------------------
def constants_yaml(cal: Calibration) -> str:
    """The text of ``training_constants.yaml`` for a calibration."""
    c = cal.constants
    lines = ["# Fitted constants of the training-run model (estimator.training).",
             "# Generated by: python -m estimator.training.calibration --write",
             "# Do not edit by hand: tests/test_training_calibration.py checks this file",
             "# equals the fit. See docs/run_model.md for what each constant means.",
             "global:"]
    for f in fields(GlobalConstants):
        lines.append(f"  {f.name}: {_round(getattr(c.globals, f.name))!r}")
    lines.append("families:")
    for fam in FAMILIES:
        if fam in BORROWED:
            continue
        fc = c.family(fam)
        lines.append(f"  {fam}:")
        for f in fields(FamilyConstants):
            if f.name in ("family", "borrowed_from", "least_recompute"):
                continue
            lines.append(f"    {f.name}: {_round(getattr(fc, f.name))!r}")
        if fc.least_recompute != "none":
            lines.append(f"    least_recompute: {fc.least_recompute}")
    return "\n".join(lines) + "\n"


def write_constants(path: Path | None = None) -> Path:
    from estimator.fileio import atomic_write_text

    cal = calibrate()
    if path is None:
        path = Path(__file__).resolve().parent.parent / "data" / CONSTANTS_FILE
    atomic_write_text(path, constants_yaml(cal))
    return path


# -- tables ----------------------------------------------------------------------------------
def _fmt_h(h: float) -> str:
    return f"{h / 1e6:.3g}M" if h >= 1e6 else f"{h / 1e3:.3g}K"


def summary(cal: Calibration) -> dict[str, float]:
    ratios = [c.ratio for c in cal.runs]
    errs = sorted(abs(x - 1.0) for x in ratios)
    n = len(errs)
    med = errs[n // 2] if n % 2 else 0.5 * (errs[n // 2 - 1] + errs[n // 2])
    inside = sum(c.inside for c in cal.runs)
    inside_shipped = sum(c.inside_shipped for c in cal.runs)
    fitted = [(r, p) for r, p in cal.rows if r.excluded is None]
    lr = np.array([math.log(p / r.measured_tps) for r, p in fitted])
    nara = [abs(p / r.measured_tps - 1.0) for r, p in cal.rows
            if r.source_id.startswith("narayanan2021_t1")]
    return {"runs": n, "median_abs_error": med, "worst_abs_error": errs[-1],
            "inside_band": inside, "inside_shipped": inside_shipped,
            "layout_rows": len(fitted),
            "layout_median_abs_error": float(np.median(np.abs(np.exp(lr) - 1.0))),
            "layout_rms_log": float(np.sqrt(np.mean(lr ** 2))),
            "narayanan_worst_abs_error": max(nara) if nara else math.nan}


def markdown(cal: Calibration | None = None) -> str:
    cal = cal or calibrate()
    c = cal.constants
    s = summary(cal)
    out = ["### Fitted constants", "",
           "| family | GEMM ceiling | half width | HBM efficiency | link efficiency | overlap "
           "| P10..P90 factor | source |",
           "|---|---|---|---|---|---|---|---|"]
    for fam in FAMILIES:
        fc = c.family(fam)
        how = (f"borrowed from {fc.borrowed_from}" if fc.borrowed_from else
               f"GEMM ceiling fitted, rest {PARTIAL_BORROW[fam]}'s" if fam in PARTIAL_BORROW
               else "fitted")
        out.append(f"| {fam} | {fc.gemm_efficiency:.3g} | {fc.gemm_half_width:.3g} | "
                   f"{fc.memory_efficiency:.3g} | {fc.comm_efficiency:.3g} | "
                   f"{fc.comm_overlap:.3g} | "
                   f"{math.exp(fc.band_log_p10):.2f}..{math.exp(fc.band_log_p90):.2f} | {how} |")
    g = c.globals
    out += ["", f"Global: fp8 GEMM gain {g.fp8_gemm_gain:.3g} (fp8 linear layers run "
                f"{1 + g.fp8_gemm_gain:.3g}x bf16 on a chip with 2x the fp8 peak), MoE load "
                f"imbalance {g.moe_load_imbalance:.3g}, campaign overhead "
                f"{g.campaign_overhead:.3g}.", "",
            "### Published runs, leave-one-out", "",
            f"Median |error| {s['median_abs_error']:.1%}, worst {s['worst_abs_error']:.1%}; "
            f"{int(s['inside_band'])} of {s['runs']} inside the P10..P90 band fitted without "
            f"them ({int(s['inside_shipped'])} inside the shipped band). Hours counted: "
            "`paid` (accelerators x elapsed time, compared with `gpu_hours`) or `compute` "
            "(converted from throughput by the source, compared with `gpu_hours x goodput`).",
            "",
            "| run | family | GPUs | reported GPU-h | hours counted | predicted | "
            "reported / predicted | band without the run | inside | predicted MFU | "
            "hours' 6ND utilisation | layout chosen |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in cal.runs:
        out.append(f"| {r.run} | {r.family} | {r.gpus:,} | {_fmt_h(r.reported_hours)} | "
                   f"{r.hours_basis} | {_fmt_h(r.predicted_hours)} | {r.ratio:.2f} | "
                   f"{r.p10_without:.2f}..{r.p90_without:.2f} | "
                   f"{'yes' if r.inside else 'no'} | {r.predicted_mfu:.1%} | "
                   f"{r.reported_mfu_u:.1%} | {r.layout} |")
    out += ["", "### Measured layouts", "",
            f"{s['layout_rows']} rows in the fit: median |error| of tokens/s "
            f"{s['layout_median_abs_error']:.1%}, RMS log error {s['layout_rms_log']:.3f}; "
            f"Narayanan et al. 2021 Table 1 worst |error| "
            f"{s['narayanan_worst_abs_error']:.1%}. MFU on the 6 N tokens/s / dense bf16 "
            "peak basis (the CSV's N).", "",
            "| row | family | GPUs | precision | measured tok/s/GPU | predicted | ratio | "
            "measured MFU | predicted MFU | in fit |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r, p in cal.rows:
        peak = r.accelerator.peak("bf16")
        mfu_p = 6.0 * r.params_csv * p / peak
        out.append(f"| {r.source_id} | {r.family} | {r.job.gpus} | {r.job.precision} | "
                   f"{r.measured_tps:,.0f} | {p:,.0f} | {p / r.measured_tps:.2f} | "
                   f"{r.reported_mfu_6n:.1%} | {mfu_p:.1%} | "
                   f"{'yes' if r.excluded is None else 'no: ' + r.excluded} |")
    if cal.unfit_rows:
        out += ["", "Rows whose stated layout does not fit the model's memory count (not "
                    "fitted): " + ", ".join(cal.unfit_rows) + "."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m estimator.training.calibration",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print the docs tables")
    ap.add_argument("--write", action="store_true", help="refit and write the constants file")
    args = ap.parse_args(argv)
    if args.write:
        print(f"wrote {write_constants()}")
    if args.markdown or not args.write:
        sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
