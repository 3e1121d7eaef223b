"""The fit procedure: Hoffmann et al.'s grid of L-BFGS starts, bootstrap, holdout validation,
intervals of derived quantities, and the built-in epoch-2024 parameter samples.

The procedure is Hoffmann et al. 2022 (arXiv:2203.15556, Approach 3, eq. 11 and appendix D.2)
as replicated by Besiroglu et al. 2024 (arXiv:2404.10102; epoch-research/analyzing-chinchilla,
``data_analysis.ipynb`` cell 18): summed Huber(delta = 1e-3) on log-loss residuals
(:mod:`estimator.fitting.optimiser`), L-BFGS from every point of the grid
``alpha, beta in {0, 0.5, 1, 1.5, 2}``, ``e in {-1, -0.5, 0, 0.5, 1}``,
``a, b in {0, 5, ..., 25}`` (4,500 starts); the lowest objective wins, and the best few distinct
end points are polished with scipy L-BFGS-B at tight tolerances.

Bounded work. Above :data:`GRID_MAX_ROWS` runs the grid runs on an evenly spread subsample of
that many runs (its job is only to find the basin); the best :data:`GRID_KEEP` distinct ends are
then refitted on all runs and polished, so the optimum is the all-runs optimum. Time is then
linear in the number of runs, and memory flat (the optimiser evaluates in bounded blocks). Fits
refuse more than :data:`~estimator.fitting.runs.MAX_FIT_ROWS` runs, more than
:data:`MAX_BOOTSTRAP` resamples or more than :data:`MAX_BOOTSTRAP_WORK` resample-runs, with the
fix in the message.

Bootstrap resamples are integer weights on the runs, so resamples are refitted together in the
same batched optimiser, in chunks of bounded memory, each from the full-data optimum and the few
best grid starts. :func:`fit_many` fits many loss vectors over one set of (N, D) at once (the
ladder's simulations).
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from estimator.errors import FitError
from estimator.fitting.optimiser import (
    HUBER_DELTA,
    N_PARAMS,
    THETA_NAMES,
    Frame,
    RowFrame,
    batched_lbfgs,
    distinct_best,
    limited_blas,
    polish,
)
from estimator.fitting.results import (
    BootstrapResult,
    FitResult,
    HoldoutResult,
    theta_to_constants,
)
from estimator.fitting.runs import (
    RunsData,
    check_fittable,
    epoch_runs,
    fit_warnings,
    read_runs_csv,
)
from estimator.laws import PARAM_NAMES, FittedRange, ParametricLaw

HOFFMANN_GRID: dict[str, tuple[float, ...]] = {
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
}
"""Hoffmann et al.'s initialisation grid (4,500 points); internal order a, b, e, alpha, beta."""

EPOCH_SAMPLES_SEED = 20240417
"""Seed of the bootstrap behind the ``param_samples`` stored in ``epoch-2024.yaml``."""

GRID_MAX_ROWS = 1_000
"""Runs the grid of starts is run on; above it, an evenly spread subsample (see module doc)."""
GRID_KEEP = 8
"""Distinct best grid ends refitted on all runs when the grid ran on a subsample."""
MAX_BOOTSTRAP = 10_000
"""Most bootstrap resamples (Epoch used 4,000; P10-P90 settle by a few hundred)."""
MAX_BOOTSTRAP_WORK = 50_000_000
"""Most resamples x runs in one bootstrap: about a minute of refits on 2 cores (measured in
benchmarks/bench_fit.py)."""
MAX_SEED = 2**32 - 1
BOOT_CHUNK_ELEMS = 1 << 22
"""(refit row, run) weights held at once in a bootstrap: 4M doubles, 32 MB."""


def grid_starts(grid: dict[str, tuple[float, ...]] | None = None) -> np.ndarray:
    """All grid points as an (S, 5) array of (a, b, e, alpha, beta); default Hoffmann's 4,500."""
    g = HOFFMANN_GRID if grid is None else grid
    missing = [k for k in THETA_NAMES if k not in g]
    if missing:
        raise FitError(f"fit grid: missing axis {missing}; give values for {list(THETA_NAMES)}")
    axes = [np.asarray(g[k], dtype=float).ravel() for k in THETA_NAMES]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def _as_runs(runs: RunsData | str | Path, exclude_flagged: bool = False) -> RunsData:
    if isinstance(runs, RunsData):
        if runs.n_runs < N_PARAMS:
            raise FitError(f"{runs.source}: {runs.n_runs} runs is fewer than the {N_PARAMS} "
                           "parameters (E, A, B, alpha, beta); add runs at more (N, D) points")
        return runs
    return read_runs_csv(runs, exclude_flagged=exclude_flagged)


def check_seed(seed: Any) -> int:
    """The bootstrap seed as an int in [0, 2**32 - 1], or FitError naming ``--seed``."""
    ok = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    if not ok or not (0 <= int(seed) <= MAX_SEED):
        raise FitError(f"the bootstrap seed (--seed) must be a whole number from 0 to {MAX_SEED}, "
                       f"got {seed!r}; use e.g. --seed 0", field="seed", value=seed,
                       expected=f"0 to {MAX_SEED}", hint="--seed 0")
    return int(seed)


def check_bootstrap_k(k: Any, n_runs: int) -> int:
    """The number of bootstrap resamples, within :data:`MAX_BOOTSTRAP` and
    :data:`MAX_BOOTSTRAP_WORK`, or FitError naming ``--bootstrap``."""
    ok = isinstance(k, (int, np.integer)) and not isinstance(k, bool)
    most = max(2, min(MAX_BOOTSTRAP, MAX_BOOTSTRAP_WORK // max(1, n_runs)))
    if not ok or int(k) < 2:
        raise FitError(f"bootstrap (--bootstrap): need at least 2 resamples, got {k!r}; "
                       "200 is plenty for P10-P90 bands", field="bootstrap", value=k,
                       expected=f"2 to {most}", hint="--bootstrap 200")
    if int(k) > most:
        why = (f"at most {MAX_BOOTSTRAP:,}" if most == MAX_BOOTSTRAP else
               f"at most {most:,} for {n_runs:,} runs (resamples x runs <= "
               f"{MAX_BOOTSTRAP_WORK:,.0f}, about a minute of refits)")
        raise FitError(f"bootstrap (--bootstrap): {int(k):,} resamples is too many; use {why}; "
                       "200-1,000 give stable P10-P90 bands", field="bootstrap", value=k,
                       expected=f"2 to {most}", hint=f"--bootstrap {min(most, 1000)}")
    return int(k)


def grid_subsample(runs: RunsData, max_rows: int) -> np.ndarray | None:
    """Indices of an evenly spread subsample of ``max_rows`` runs (runs sorted by N, then D:
    every size and the spread of tokens within sizes stay represented), or None if the runs
    are no more than ``max_rows``. Deterministic."""
    n = runs.n_runs
    if n <= max_rows:
        return None
    order = np.lexsort((runs.tokens, runs.params))
    pick = np.unique(np.round(np.linspace(0, n - 1, max_rows)).astype(int))
    return np.sort(order[pick])


def _minimise_grid(runs: RunsData, starts_theta: np.ndarray, delta: float, n_polish: int,
                   grid_max_rows: int):
    """Batched L-BFGS from every start, then polish the best few distinct end points."""
    frame = Frame.from_runs(runs)
    sub = grid_subsample(runs, grid_max_rows)
    gframe = frame if sub is None else Frame.from_runs(runs.subset(np.isin(
        np.arange(runs.n_runs), sub)))
    phi0 = gframe.to_phi(starts_theta)
    # Stop a start when its objective falls by less than 1e-6 relative twice in a row: stricter
    # than scipy L-BFGS-B's default (absolute 2.2e-9 when the objective is below 1).
    x, f, _ = batched_lbfgs(phi0, gframe, delta, max_iter=400, ftol=1e-6, patience=2,
                            chunk=max(1, starts_theta.shape[0]))
    if not np.any(np.isfinite(f)):
        raise FitError(f"{runs.source}: the fit failed from every start (non-finite objective); "
                       "check that losses are in nats/token and N, D are counts")
    order = np.argsort(f, kind="stable")
    n_at_best_grid = None
    if sub is not None:
        # The grid found the basins on the subsample; refit its best ends on all runs.
        keep = distinct_best(x, f, GRID_KEEP)
        phi_full = frame.to_phi(gframe.to_theta(x[keep]))
        x, f, _ = batched_lbfgs(phi_full, frame, delta, max_iter=400, ftol=1e-6, patience=2,
                                chunk=max(1, keep.size))
        n_at_best_grid = 0
    best_rows = distinct_best(x, f, max(1, n_polish))
    best_phi, best_f = x[best_rows[0]].copy(), float(f[best_rows[0]])
    for i in best_rows:
        p, fp = polish(x[i], frame, delta)
        if fp < best_f:
            best_phi, best_f = p, fp
    theta_best = frame.to_theta(best_phi)[0]
    # Starts whose end reached the best objective (on the subsample: those refitted).
    n_at_best = int(np.sum(f <= best_f * (1 + 1e-6) + 1e-15))
    if n_at_best_grid is not None:
        n_at_best = max(1, n_at_best)
    # Best grid starts for bootstrap refits: lowest end objective, fewest iterations first.
    return theta_best, best_f, starts_theta[order[:8]], n_at_best


def fit_law(runs: RunsData | str | Path, *, delta: float = HUBER_DELTA,
            grid: dict[str, tuple[float, ...]] | None = None, n_polish: int = 4,
            bootstrap_k: int = 0, seed: int = 0, holdout_above: float | None = None,
            budget_flops: float | None = None, target_loss: float | None = None,
            ci: float = 0.95, exclude_flagged: bool = False,
            grid_max_rows: int = GRID_MAX_ROWS) -> FitResult:
    """Fit ``L = E + A/N^alpha + B/D^beta`` to runs (a :class:`RunsData` or a CSV path) by
    Hoffmann et al.'s procedure (see the module docstring): summed Huber(``delta``) on log-loss
    residuals, L-BFGS from every point of ``grid`` (default :data:`HOFFMANN_GRID`, 4,500
    starts), best objective wins, polished with scipy L-BFGS-B.

    ``bootstrap_k > 0`` adds :func:`bootstrap` refits (``seed``) giving ``stderr``,
    ``intervals`` (level ``ci``), ``samples`` and, if ``budget_flops`` and/or ``target_loss``
    (nats/token) are given, ``derived`` intervals of N*, D* and the compute to reach the
    target. ``holdout_above`` (FLOPs) adds :func:`holdout_validation`.

    Raises :class:`FitError` for runs that cannot determine the law
    (:func:`~estimator.fitting.runs.check_fittable`), a seed outside [0, 2**32 - 1], a
    bootstrap count outside [2, :data:`MAX_BOOTSTRAP`] (or too much work for the runs).
    """
    data = _as_runs(runs, exclude_flagged)
    if not (delta > 0 and math.isfinite(delta)):
        raise FitError(f"fit: Huber delta must be a finite number > 0, got {delta!r}")
    check_fittable(data)
    seed = check_seed(seed)
    if bootstrap_k:
        check_bootstrap_k(bootstrap_k, data.n_runs)
        if not (0 < ci < 1):
            raise FitError(f"bootstrap: ci must be in (0, 1), got {ci}", field="ci", value=ci)
    with limited_blas():
        t0 = time.perf_counter()
        starts = grid_starts(grid)
        theta, obj, best_starts, n_at_best = _minimise_grid(data, starts, delta, n_polish,
                                                            grid_max_rows)
        seconds = time.perf_counter() - t0
        if not (np.all(np.isfinite(theta)) and theta[3] > 0 and theta[4] > 0):
            raise FitError(
                f"{data.source}: the best fit has non-positive exponents (alpha {theta[3]:.3g}, "
                f"beta {theta[4]:.3g}), so loss would not fall with more parameters or data: "
                "the runs do not determine a scaling law; add runs that vary N and D "
                "independently over a wider range")
        warnings: list[str] = list(fit_warnings(data))
        grid_rows = min(data.n_runs, grid_max_rows)
        if grid_rows < data.n_runs:
            warnings.append(f"{data.n_runs:,} runs: the grid of {starts.shape[0]:,} starts ran on "
                            f"an evenly spread {grid_rows:,}; its best {GRID_KEEP} ends were "
                            "refitted on all runs")
        result = FitResult(
            **theta_to_constants(theta), objective=obj, n_runs=data.n_runs,
            n_skipped=len(data.skipped), skipped=tuple(data.skipped),
            n_starts=int(starts.shape[0]), fitted_range=data.fitted_range(), seconds=seconds,
            delta=delta, n_excluded=len(data.excluded), excluded=tuple(data.excluded),
            source=data.source, fit_date=_dt.date.today().isoformat(), n_at_best=n_at_best,
            best_starts=tuple(tuple(float(x) for x in row) for row in best_starts),
            grid_rows=grid_rows, warnings=tuple(warnings),
        )
        extra: dict[str, Any] = {}
        if bootstrap_k:
            bs = bootstrap(data, bootstrap_k, seed, delta=delta, base=result, ci=ci)
            extra.update(stderr=bs.stderr, intervals=bs.intervals, samples=bs.samples,
                         n_bootstrap=bs.k, bootstrap_seed=bs.seed, n_bootstrap_failed=bs.n_failed,
                         bootstrap_seconds=bs.seconds, ci=ci)
            if budget_flops is not None or target_loss is not None:
                extra["derived"] = derived_intervals(result.constants(), bs.samples,
                                                     budget_flops=budget_flops,
                                                     target_loss=target_loss, ci=ci)
        if holdout_above is not None:
            extra["holdout"] = holdout_validation(data, holdout_above, delta=delta, grid=grid)
    if extra:
        result = replace(result, **extra)
    return result


def bootstrap(runs: RunsData | str | Path, k: int, seed: int = 0, *, delta: float = HUBER_DELTA,
              base: FitResult | None = None, n_grid_starts: int | None = None,
              ci: float = 0.95,
              max_iter: int = 400) -> BootstrapResult:
    """Nonparametric bootstrap over runs: ``k`` resamples with replacement (numpy
    ``default_rng(seed)``; same seed, same result), each refitted by the same objective from
    the full-data optimum and the ``n_grid_starts`` best grid starts of ``base`` (fitted here
    if not given; default 2, or none above :data:`GRID_MAX_ROWS` runs, where a resample's
    optimum is a small step from the full-data one and extra starts only triple the work).
    Resamples are optimised together (resamples are integer weights), in chunks
    of at most :data:`BOOT_CHUNK_ELEMS` weights (the draws are the same whatever the chunking).
    """
    data = _as_runs(runs)
    k = check_bootstrap_k(k, data.n_runs)
    seed = check_seed(seed)
    if not (0 < ci < 1):
        raise FitError(f"bootstrap: ci must be in (0, 1), got {ci}", field="ci", value=ci)
    with limited_blas():
        if base is None:
            base = fit_law(data, delta=delta)
        t0 = time.perf_counter()
        n = data.n_runs
        rng = np.random.default_rng(seed)
        if n_grid_starts is None:
            n_grid_starts = 2 if n <= GRID_MAX_ROWS else 0
        starts = [base.theta] + [np.asarray(s) for s in base.best_starts[:n_grid_starts]]
        s = len(starts)
        frame = Frame.from_runs(data)
        phi_starts = frame.to_phi(np.array(starts))
        per_chunk = max(1, BOOT_CHUNK_ELEMS // (s * n))
        phi_parts, f_parts = [], []
        for lo in range(0, k, per_chunk):
            kc = min(per_chunk, k - lo)
            # Drawn chunk by chunk from one stream: the same draws as one (k, n) call.
            draws = rng.integers(0, n, size=(kc, n))
            counts = np.bincount((np.arange(kc)[:, None] * n + draws).ravel(),
                                 minlength=kc * n).reshape(kc, n).astype(float)
            del draws
            phi0 = np.tile(phi_starts, (kc, 1))
            w = np.repeat(counts, s, axis=0)
            x, f, _ = batched_lbfgs(phi0, frame, delta, w, max_iter=max_iter, ftol=1e-10,
                                    patience=3, chunk=max(1, kc * s))
            del w
            f = f.reshape(kc, s)
            best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
            rows = np.arange(kc) * s + best
            phi_best, f_best = x[rows], f[np.arange(kc), best]
            # Second pass from each resample's best with fresh history, to settle Huber's kinks.
            x2, f2, _ = batched_lbfgs(phi_best, frame, delta, counts, max_iter=200, ftol=1e-12,
                                      patience=3, chunk=max(1, kc))
            better = f2 < f_best
            phi_best[better], f_best[better] = x2[better], f2[better]
            phi_parts.append(phi_best)
            f_parts.append(f_best)
        phi_best = np.concatenate(phi_parts)
        f_best = np.concatenate(f_parts)
    theta = frame.to_theta(phi_best)
    ok = (np.isfinite(f_best) & np.all(np.isfinite(theta), axis=1)
          & np.all(np.abs(theta[:, :3]) < 700, axis=1))
    t_ok = theta[ok]  # diverged refits (|a|, |b| or |e| >= 700) would overflow exp
    samples = np.column_stack([np.exp(t_ok[:, 2]), np.exp(t_ok[:, 0]), np.exp(t_ok[:, 1]),
                               t_ok[:, 3], t_ok[:, 4]])
    if samples.shape[0] < 2:
        raise FitError(f"{data.source}: bootstrap failed: fewer than 2 of {k} refits converged")
    stderr, intervals = _summaries(samples, ci)
    return BootstrapResult(samples=samples, objectives=f_best[ok], stderr=stderr,
                           intervals=intervals, k=k, seed=int(seed), n_failed=int((~ok).sum()),
                           ci=ci, seconds=time.perf_counter() - t0)


def fit_many(params, tokens, log_loss, starts_theta, *, delta: float = HUBER_DELTA,
             max_iter: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Fit many loss vectors over one set of runs at once (the ladder's simulated ladders).

    ``params``, ``tokens``: (n,) shared by every fit; ``log_loss``: (M, n) log losses, one fit
    per row; ``starts_theta``: (S, 5) starts (a, b, e, alpha, beta) used for every fit. See
    :func:`fit_many_sets`. Returns ``theta`` (M, 5) and objectives (M,)."""
    return fit_many_sets([(params, tokens, log_loss)], [starts_theta], delta=delta,
                         max_iter=max_iter)[0]


def fit_many_sets(sets, starts, *, delta: float = HUBER_DELTA,
                  max_iter: int = 400) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fit many loss vectors over several sets of runs in one batch.

    ``sets``: a list of ``(params (n_i,), tokens (n_i,), log_loss (M_i, n_i))``; ``starts``:
    one (S, 5) array of starts (a, b, e, alpha, beta) per set, the same S for all. Every fit
    runs the batched L-BFGS from its S starts (the grid's stopping rule), keeps the best, then a
    second pass from it with fresh history at tight tolerance (as :func:`bootstrap` does); each
    set keeps its own standardisation (:class:`~estimator.fitting.optimiser.RowFrame`; shorter
    sets are padded with zero-weight runs). No scipy polish: the constants agree with
    :func:`fit_law` to about 1e-5 (the ladder's fidelity check measures it). Returns one
    ``(theta (M_i, 5), objective (M_i,))`` per set, objective inf where every start failed.
    """
    frames, ys, sts = [], [], []
    for (n, d, y), st in zip(sets, starts, strict=True):
        frames.append(Frame(n, d))
        ys.append(np.atleast_2d(np.asarray(y, dtype=float)))
        sts.append(np.atleast_2d(np.asarray(st, dtype=float)))
    S = sts[0].shape[0]
    if any(st.shape != (S, N_PARAMS) for st in sts):
        raise ValueError("fit_many_sets: every set needs (S, 5) starts with the same S")
    ms = [y.shape[0] for y in ys]
    n_max = max(f.u.size for f in frames)

    def stack(rows_per_fit: int):
        total = sum(m * rows_per_fit for m in ms)
        Y = np.zeros((total, n_max))
        W = np.zeros((total, n_max))
        lo = 0
        for y in ys:
            r = y.shape[0] * rows_per_fit
            Y[lo:lo + r, :y.shape[1]] = np.repeat(y, rows_per_fit, axis=0)
            W[lo:lo + r, :y.shape[1]] = 1.0
            lo += r
        return Y, W

    with limited_blas():
        rf1 = RowFrame(frames, [m * S for m in ms])
        phi0 = np.concatenate([np.tile(f.to_phi(st), (m, 1))
                               for f, st, m in zip(frames, sts, ms, strict=True)])
        Y1, W1 = stack(S)
        x, f, _ = batched_lbfgs(phi0, rf1, delta, W1, y=Y1, max_iter=max_iter, ftol=1e-6,
                                patience=2, chunk=max(1, phi0.shape[0]))
        M = sum(ms)
        f = f.reshape(M, S)
        best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
        rows = np.arange(M) * S + best
        phi_best, f_best = x[rows], f[np.arange(M), best]
        rf2 = RowFrame(frames, ms)
        Y2, W2 = stack(1)
        x2, f2, _ = batched_lbfgs(phi_best, rf2, delta, W2, y=Y2, max_iter=200, ftol=1e-12,
                                  patience=3, chunk=max(1, M))
        better = f2 < f_best
        phi_best[better], f_best[better] = x2[better], f2[better]
        theta = rf2.to_theta(phi_best)
    out, lo = [], 0
    for m in ms:
        out.append((theta[lo:lo + m], f_best[lo:lo + m]))
        lo += m
    return out


def _summaries(samples: np.ndarray, ci: float):
    lo_q, hi_q = 100 * (1 - ci) / 2, 100 * (1 + ci) / 2
    sd = samples.std(axis=0, ddof=1)
    lo = np.percentile(samples, lo_q, axis=0)
    hi = np.percentile(samples, hi_q, axis=0)
    stderr = {name: float(sd[i]) for i, name in enumerate(PARAM_NAMES)}
    intervals = {name: [float(lo[i]), float(hi[i])] for i, name in enumerate(PARAM_NAMES)}
    return stderr, intervals


# --------------------------------------------------------------------------------------
# Derived quantities
# --------------------------------------------------------------------------------------


def compute_for_target_loss(E, A, B, alpha, beta, target_loss):
    """Least training compute (FLOPs, C = 6ND) that reaches ``target_loss`` (nats/token) at the
    compute-optimal allocation of ``L = E + A/N^alpha + B/D^beta``; inf where target <= E.

    At the optimum of Hoffmann et al. 2022 eq. 4, ``alpha A N^-alpha = beta B D^-beta``, so
    ``A N^-alpha = (L - E) beta/(alpha+beta)`` and ``B D^-beta = (L - E) alpha/(alpha+beta)``.
    Vectorised over the constants.
    """
    E, A, B, al, be = (np.asarray(x, dtype=float) for x in (E, A, B, alpha, beta))
    gap = np.asarray(target_loss, dtype=float) - E
    with np.errstate(all="ignore"):
        s = al + be
        log_n = (np.log(A) - np.log(gap * be / s)) / al
        log_d = (np.log(B) - np.log(gap * al / s)) / be
        c = 6.0 * np.exp(log_n + log_d)
    c = np.where(gap > 0, c, np.inf)
    return c if c.ndim else float(c)


def _interval(values: np.ndarray, point: float, ci: float) -> dict[str, Any]:
    lo_q, hi_q = 100 * (1 - ci) / 2, 100 * (1 + ci) / 2
    finite = values[np.isfinite(values)]

    def num(x):
        return float(x) if np.isfinite(x) else None

    # inf (unreachable) sorts last; percentiles that touch it are reported as None.
    big = np.finfo(float).max
    capped = np.where(np.isfinite(values), values, big)

    def pct(q):
        if not values.size:
            return None
        with np.errstate(all="ignore"):
            x = float(np.percentile(capped, q))
        return x if x < big / 4 else None

    out: dict[str, Any] = {
        "point": num(point),
        "p50": pct(50),
        "lo": pct(lo_q),
        "hi": pct(hi_q),
        "stderr_log10": float(np.std(np.log10(finite), ddof=1)) if finite.size > 1 else None,
    }
    return out


def derived_intervals(constants: dict[str, float], samples: np.ndarray, *,
                      budget_flops: float | None = None, target_loss: float | None = None,
                      ci: float = 0.95) -> dict[str, Any]:
    """Point values and percentile intervals (level ``ci``) of N* and D* at ``budget_flops``
    (closed form, :meth:`ParametricLaw.optimal_allocation_closed_form`) and of the compute to
    reach ``target_loss`` (:func:`compute_for_target_loss`), over parameter ``samples``
    ((K, 5), E, A, B, alpha, beta). Infinite values (target <= E) are reported as None with
    the fraction unreachable. Keys: budget_flops, params_opt, tokens_opt, target_loss,
    compute_for_loss_flops, unreachable_fraction."""
    s = np.asarray(samples, dtype=float)
    out: dict[str, Any] = {"ci": ci}
    point_law = _plain_law(constants)
    if budget_flops is not None:
        c = float(budget_flops)
        if not (c > 0 and math.isfinite(c)):
            raise FitError(f"derived: budget_flops must be a number > 0, got {budget_flops!r}")
        n_pt, d_pt = point_law.optimal_allocation_closed_form(c)
        # The same closed form with (K,) arrays of constants: all samples at once.
        ns, ds = replace(point_law, E=s[:, 0], A=s[:, 1], B=s[:, 2], alpha=s[:, 3],
                         beta=s[:, 4]).optimal_allocation_closed_form(c)
        out["budget_flops"] = c
        out["params_opt"] = _interval(ns, float(n_pt), ci)
        out["tokens_opt"] = _interval(ds, float(d_pt), ci)
    if target_loss is not None:
        t = float(target_loss)
        c_pt = compute_for_target_loss(*(constants[k] for k in PARAM_NAMES), t)
        cs = compute_for_target_loss(s[:, 0], s[:, 1], s[:, 2], s[:, 3], s[:, 4], t)
        out["target_loss"] = t
        out["compute_for_loss_flops"] = _interval(cs, float(c_pt), ci)
        out["unreachable_fraction"] = float(np.mean(~np.isfinite(cs)))
    return out


def _plain_law(constants: dict[str, float]) -> ParametricLaw:
    return ParametricLaw(id="fit", name="fit", citation="fit", dataset="fit",
                         fitted_range=FittedRange(1.0, 1.0, 1.0, 1.0), **constants)


# --------------------------------------------------------------------------------------
# Holdout validation
# --------------------------------------------------------------------------------------


def holdout_validation(runs: RunsData | str | Path, holdout_above: float, *,
                       delta: float = HUBER_DELTA,
                       grid: dict[str, tuple[float, ...]] | None = None) -> HoldoutResult:
    """Fit on runs with compute <= ``holdout_above`` (FLOPs), predict the larger-compute runs
    and report the loss errors (nats/token and relative)."""
    data = _as_runs(runs)
    c = float(holdout_above)
    if not (c > 0 and math.isfinite(c)):
        raise FitError(f"holdout: holdout_above must be a compute in FLOPs > 0, "
                       f"got {holdout_above!r}")
    train = data.compute <= c
    n_tr, n_ho = int(train.sum()), int((~train).sum())
    if n_ho == 0:
        raise FitError(f"{data.source}: no runs above holdout_above={c:.3g} FLOPs to hold out "
                       f"(largest run: {data.compute.max():.3g} FLOPs); choose a smaller value")
    if n_tr < N_PARAMS:
        raise FitError(f"{data.source}: only {n_tr} runs at or below holdout_above={c:.3g} FLOPs, "
                       f"fewer than the {N_PARAMS} parameters; choose a larger value")
    fit = fit_law(data.subset(train), delta=delta, grid=grid)
    ho = data.subset(~train)
    pred = fit.predict(ho.params, ho.tokens)
    err = pred - ho.loss
    rel = np.abs(err) / ho.loss
    predictions = tuple(
        {"line": int(ln), "params": float(n), "tokens": float(d), "compute_flops": float(cc),
         "loss": float(lo), "predicted": float(p), "error": float(e), "rel_error": float(r)}
        for ln, n, d, cc, lo, p, e, r in zip(ho.lines, ho.params, ho.tokens, ho.compute, ho.loss,
                                              pred, err, rel, strict=True))
    return HoldoutResult(holdout_above_flops=c, n_train=n_tr, n_holdout=n_ho,
                         constants=fit.constants(), objective=fit.objective,
                         mean_abs_error=float(np.mean(np.abs(err))),
                         max_rel_error=float(rel.max()), mean_rel_error=float(rel.mean()),
                         predictions=predictions)


# --------------------------------------------------------------------------------------
# Built-in uncertainty for epoch-2024
# --------------------------------------------------------------------------------------


def epoch_param_samples(k: int = 200, seed: int = EPOCH_SAMPLES_SEED, *,
                        centre: dict[str, float] | None = None, base: FitResult | None = None):
    """Bootstrap parameter samples for the built-in ``epoch-2024`` law.

    Refits Hoffmann's procedure (this module) on ``k`` resamples of Epoch's 240 runs (seed
    ``seed``), then shifts the cloud so that its centre, our full-data optimum, lands on
    ``centre`` (default: the constants of ``epoch-2024.yaml``): the shift is made in
    (log E, log A, log B, alpha, beta), where the optimisation happens. Returns
    ``(samples (k', 5) rounded to 6 significant digits, note)``.
    """
    runs = epoch_runs(exclude_flagged=True)
    if base is None:
        base = fit_law(runs)
    bs = bootstrap(runs, k, seed, base=base)
    if centre is None:
        from estimator.laws import get_law

        centre = get_law("epoch-2024").constants()
    s = bs.samples
    shift_log = np.array([math.log(centre[p]) - math.log(getattr(base, p))
                          for p in ("E", "A", "B")])
    shift_lin = np.array([centre[p] - getattr(base, p) for p in ("alpha", "beta")])
    out = np.column_stack([s[:, :3] * np.exp(shift_log), s[:, 3:] + shift_lin])
    out = np.array([[float(f"{x:.6g}") for x in row] for row in out])
    note = (f"{len(out)} bootstrap samples made by this project (estimator.fitting."
            f"epoch_param_samples, k={k}, seed={seed}): Hoffmann et al.'s procedure (summed "
            f"Huber delta=1e-3 on log loss, L-BFGS) refitted on resamples with replacement of "
            f"Epoch AI's 240 runs (epoch_chinchilla_runs.csv less the 5 flagged), each from "
            f"the full-data optimum and the 2 best of the 4,500 grid starts; then shifted in "
            f"(log E, log A, "
            f"log B, alpha, beta) by (file constants - our full-data fit) so they centre on "
            f"this file's point estimate. The stderr key holds Epoch's published standard "
            f"errors (4,000 bootstraps), not these samples'.")
    return out, note
