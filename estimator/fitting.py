"""Fit a Chinchilla-form scaling law ``L(N, D) = E + A/N^alpha + B/D^beta`` to training runs.

The procedure is Hoffmann et al. 2022 (arXiv:2203.15556, Approach 3, eq. 11 and appendix D.2)
as replicated by Besiroglu et al. 2024 (arXiv:2404.10102; epoch-research/analyzing-chinchilla,
``data_analysis.ipynb`` cell 18):

* parameters ``theta = (a, b, e, alpha, beta)`` with ``A = exp(a)``, ``B = exp(b)``, ``E = exp(e)``;
* prediction ``log L_hat = LSE(a - alpha log N, b - beta log D, e)``;
* objective ``sum_i Huber_delta(log L_i - log L_hat_i)`` with ``delta = 1e-3``, summed (not
  averaged: averaging shrinks the objective by n and makes L-BFGS stop early, the error Epoch
  found in Hoffmann's fit);
* L-BFGS from every point of the grid ``alpha, beta in {0, 0.5, 1, 1.5, 2}``,
  ``e in {-1, -0.5, 0, 0.5, 1}``, ``a, b in {0, 5, ..., 25}`` (4,500 starts); the lowest objective
  wins.

Speed comes from an analytic gradient and a batched L-BFGS written in numpy: all starts advance
together as ``(S, 5)`` arrays, each with its own history and backtracking (Armijo) line search,
and a start leaves the batch when it converges. Internally the exponents act on standardised
``log N`` and ``log D`` (an affine change of variables: the same objective and minima, better
conditioned). The best few distinct end points are then polished with
``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` at tight tolerances.

Bootstrap resamples are integer weights on the runs, so all resamples are refitted together in
the same batched optimizer, each from the full-data optimum and the few best grid starts.

Data: ``estimator/data/epoch_chinchilla_runs.csv`` is a copy of
``shared/reference/epoch_chinchilla_runs.csv``: 245 runs (N, D = C/6N, C, final loss) that
Epoch AI read off Hoffmann et al.'s Figure 4 (``data/svg_extracted_data.csv`` in the public
repository epoch-research/analyzing-chinchilla); ``excluded_by_epoch_top5_loss = 1`` flags the 5
highest-loss runs Epoch drop before fitting, leaving 240.

Pure numpy/scipy; no Qt.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from estimator.errors import FitError
from estimator.laws import PARAM_NAMES, FittedRange, ParametricLaw

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

HUBER_DELTA = 1e-3
"""Huber delta on log-loss residuals (Hoffmann et al. 2022, appendix D.2)."""

HOFFMANN_GRID: dict[str, tuple[float, ...]] = {
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
}
"""Hoffmann et al.'s initialisation grid (4,500 points); internal order a, b, e, alpha, beta."""

THETA_NAMES = ("a", "b", "e", "alpha", "beta")
N_PARAMS = 5

EPOCH_RUNS_RESOURCE = "epoch_chinchilla_runs.csv"
EPOCH_SAMPLES_SEED = 20240417
"""Seed of the bootstrap behind the ``param_samples`` stored in ``epoch-2024.yaml``."""

# Accepted column names (compared after lower-casing and mapping spaces/dashes to '_').
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "params": ("n", "params", "n_params", "parameters", "num_params", "model_params", "nparams"),
    "tokens": ("d", "tokens", "d_tokens", "n_tokens", "num_tokens", "training_tokens",
               "train_tokens"),
    "compute": ("c", "flops", "compute", "c_flop", "c_flops", "flop", "train_flops",
                "compute_flops"),
    "loss": ("loss", "final_loss", "l", "eval_loss", "val_loss", "train_loss"),
}
FLAG_ALIASES = ("excluded_by_epoch_top5_loss", "excluded", "exclude", "outlier", "drop", "skip")
_TRUE_FLAGS = {"1", "true", "yes", "y", "x", "t"}
_FALSE_FLAGS = {"", "0", "false", "no", "n", "f"}


# --------------------------------------------------------------------------------------
# Reading runs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RunsData:
    """Training runs to fit: parameters N, tokens D, compute C (FLOPs) and final loss (nats/token).

    ``lines`` holds each kept run's line number in the source file (1-based, header = line of
    the header). ``skipped`` lists ``(line, reason)`` for rows that could not be used;
    ``excluded`` lists rows dropped on request by the flag column.
    """

    params: np.ndarray
    tokens: np.ndarray
    compute: np.ndarray
    loss: np.ndarray
    lines: np.ndarray
    skipped: tuple[tuple[int, str], ...] = ()
    excluded: tuple[tuple[int, str], ...] = ()
    source: str = "arrays"
    columns: dict[str, str] = field(default_factory=dict)
    tokens_derived: bool = False

    @property
    def n_runs(self) -> int:
        return int(self.params.size)

    def __len__(self) -> int:
        return self.n_runs

    def subset(self, mask: np.ndarray) -> RunsData:
        """The runs where ``mask`` is true (same source, skip and exclusion reports)."""
        m = np.asarray(mask, dtype=bool)
        return RunsData(self.params[m], self.tokens[m], self.compute[m], self.loss[m],
                        self.lines[m], self.skipped, self.excluded, self.source,
                        dict(self.columns), self.tokens_derived)

    def fitted_range(self) -> FittedRange:
        return FittedRange(float(self.params.min()), float(self.params.max()),
                           float(self.tokens.min()), float(self.tokens.max()))


def _norm_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().strip('"').strip().lower())


def _accepted_names(role: str) -> str:
    return ", ".join(COLUMN_ALIASES[role])


def runs_from_arrays(params, tokens=None, loss=None, *, compute=None, source: str = "arrays",
                     min_runs: int = N_PARAMS) -> RunsData:
    """Build :class:`RunsData` from arrays (N, D or C, loss). Raises :class:`FitError` on bad
    values instead of skipping them: arrays come from code, not from a user's file."""
    n = np.atleast_1d(np.asarray(params, dtype=float))
    if loss is None:
        raise FitError(f"{source}: loss values are required")
    y = np.atleast_1d(np.asarray(loss, dtype=float))
    derived = False
    if tokens is None:
        if compute is None:
            raise FitError(f"{source}: give tokens D or compute C (then D = C / (6 N))")
        c = np.atleast_1d(np.asarray(compute, dtype=float))
        d = c / (6.0 * n)
        derived = True
    else:
        d = np.atleast_1d(np.asarray(tokens, dtype=float))
        c = 6.0 * n * d if compute is None else np.atleast_1d(np.asarray(compute, dtype=float))
    if not (n.shape == d.shape == y.shape == c.shape) or n.ndim != 1:
        raise FitError(f"{source}: params, tokens, compute and loss must be 1-D arrays "
                       "of one length")
    for name, arr in (("params", n), ("tokens", d), ("compute", c), ("loss", y)):
        bad = ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise FitError(f"{source}: {name}[{i}] = {arr[i]!r} must be a finite number > 0")
    if n.size < min_runs:
        raise FitError(f"{source}: {n.size} runs is fewer than the {min_runs} parameters "
                       f"(E, A, B, alpha, beta); add runs at more (N, D) points")
    return RunsData(n, d, c, y, np.arange(1, n.size + 1), source=source, tokens_derived=derived)


def _parse_value(raw: str, column: str) -> tuple[float | None, str | None]:
    """(value, None) or (None, reason)."""
    s = raw.strip()
    if s == "":
        return None, f"missing value in column '{column}'"
    try:
        v = float(s.replace("_", ""))
    except ValueError:
        return None, f"non-numeric value {s!r} in column '{column}'"
    if not math.isfinite(v):
        return None, f"non-finite value {s!r} in column '{column}'"
    if v <= 0:
        return None, f"non-positive value {s!r} in column '{column}' (must be > 0)"
    return v, None


def read_runs_csv(path: str | Path, *, exclude_flagged: bool = False,
                  flag_column: str | None = None, min_runs: int = N_PARAMS) -> RunsData:
    """Read training runs from a CSV file (comma, semicolon or tab separated; UTF-8).

    Columns (case-insensitive, spaces/dashes read as '_'): params (``N``, ``params``,
    ``n_params``, ``N_params``, ``parameters``, ...), tokens (``D``, ``tokens``, ``D_tokens``, ...),
    compute in FLOPs (``C``, ``flops``, ``compute``, ``C_flop``, ...) and final loss in
    nats/token (``loss``, ``final_loss``, ...). Tokens may be omitted when compute is given:
    then ``D = C / (6 N)`` (Kaplan et al. 2020, C = 6ND). Blank lines and lines starting with
    ``#`` are ignored.

    Rows with a missing, non-numeric, non-finite or non-positive value are skipped and listed in
    ``RunsData.skipped`` as ``(line number, reason)``. With ``exclude_flagged=True`` rows whose
    flag column (``flag_column``, or one of :data:`FLAG_ALIASES`) is true (1/true/yes/x) are
    dropped and listed in ``RunsData.excluded``; otherwise the flag column is ignored.

    Raises :class:`FitError` naming the file for: a missing or unreadable file, an empty or
    binary file, missing required columns, no usable rows, or fewer runs than parameters.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FitError(f"{p}: runs file not found; check the path (a CSV with columns "
                       "params, tokens or compute, loss)") from None
    except IsADirectoryError:
        raise FitError(f"{p}: is a directory, not a runs CSV file") from None
    except OSError as exc:
        raise FitError(f"{p}: cannot read runs file ({exc.__class__.__name__}: {exc})") from None
    if not raw.strip():
        raise FitError(f"{p}: file is empty; expected a CSV with a header line "
                       "(e.g. 'params,tokens,loss') and one line per run")
    if b"\x00" in raw[:65536]:
        raise FitError(f"{p}: not a text CSV file (binary data); export the runs as CSV "
                       "(UTF-8) with columns params, tokens or compute, loss")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FitError(f"{p}: not UTF-8 text (byte {exc.start}); save the runs as a UTF-8 CSV "
                       "with columns params, tokens or compute, loss") from None
    return _parse_runs_text(text, str(p), exclude_flagged=exclude_flagged,
                            flag_column=flag_column, min_runs=min_runs)


def _parse_runs_text(text: str, where: str, *, exclude_flagged: bool, flag_column: str | None,
                     min_runs: int) -> RunsData:
    lines = text.splitlines()
    content = [(i + 1, ln) for i, ln in enumerate(lines)
               if ln.strip() and not ln.lstrip().startswith("#")]
    if not content:
        raise FitError(f"{where}: file has no header or data lines (only blank or '#' lines)")
    header_line_no, header_text = content[0]
    delim = ","
    for cand in (",", ";", "\t"):
        if cand in header_text:
            delim = cand
            break
    reader = csv.reader(io.StringIO("\n".join(ln for _, ln in content)), delimiter=delim)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise FitError(f"{where}: not a readable CSV file ({exc})") from None
    header = [_norm_header(h) for h in rows[0]]
    col: dict[str, int] = {}
    used: dict[str, str] = {}
    for role, names in COLUMN_ALIASES.items():
        for name in names:  # first alias in priority order wins
            if name in header:
                col[role] = header.index(name)
                used[role] = rows[0][col[role]].strip()
                break
    missing = []
    if "params" not in col:
        missing.append(f"params (one of: {_accepted_names('params')})")
    if "tokens" not in col and "compute" not in col:
        missing.append(f"tokens (one of: {_accepted_names('tokens')}) or compute in FLOPs "
                       f"(one of: {_accepted_names('compute')}; then D = C/(6N))")
    if "loss" not in col:
        missing.append(f"loss (one of: {_accepted_names('loss')})")
    if missing:
        found = ", ".join(repr(h.strip()) for h in rows[0]) or "none"
        raise FitError(f"{where}: missing required column(s): {'; '.join(missing)}. "
                       f"Found columns: {found}. Rename the header line (line {header_line_no}).")
    flag_idx = None
    if exclude_flagged:
        names = (_norm_header(flag_column),) if flag_column else FLAG_ALIASES
        for name in names:
            if name in header:
                flag_idx = header.index(name)
                used["flag"] = rows[0][flag_idx].strip()
                break
        if flag_idx is None:
            raise FitError(f"{where}: exclude_flagged was asked but there is no flag column "
                           f"(accepted: {', '.join(names)}); add one with 1 for runs to drop, "
                           "or do not ask to exclude flagged runs")

    vals: dict[str, list[float]] = {"params": [], "tokens": [], "compute": [], "loss": []}
    kept_lines: list[int] = []
    skipped: list[tuple[int, str]] = []
    excluded: list[tuple[int, str]] = []
    derived_any = False
    for (line_no, _), row in zip(content[1:], rows[1:], strict=False):
        def cell(role: str, _row=row) -> str | None:
            i = col.get(role)
            if i is None:
                return None
            return _row[i] if i < len(_row) else ""

        reason = None
        got: dict[str, float] = {}
        for role in ("params", "tokens", "compute", "loss"):
            s = cell(role)
            if s is None:
                continue
            if role in ("tokens", "compute") and s.strip() == "":
                continue  # one of the two may be blank; checked below
            v, why = _parse_value(s, used[role])
            if why:
                reason = why
                break
            got[role] = v
        if reason is None and "tokens" not in got and "compute" not in got:
            names = " or ".join(repr(used[r]) for r in ("tokens", "compute") if r in used)
            reason = f"missing value in column {names}"
        if reason is not None:
            skipped.append((line_no, reason))
            continue
        if flag_idx is not None:
            flag = (row[flag_idx] if flag_idx < len(row) else "").strip().lower()
            if flag in _TRUE_FLAGS or (flag not in _FALSE_FLAGS and _truthy_number(flag)):
                excluded.append((line_no, f"flagged in column '{used['flag']}' "
                                          f"({row[flag_idx].strip()}); excluded on request"))
                continue
        n_val = got["params"]
        if "tokens" in got:
            d_val = got["tokens"]
            c_val = got.get("compute", 6.0 * n_val * d_val)
        else:
            c_val = got["compute"]
            d_val = c_val / (6.0 * n_val)
            derived_any = True
        if not (0.0 < d_val < math.inf and 0.0 < c_val < math.inf):
            # D = C/(6N) underflowed to 0 or C = 6ND overflowed: not a run anyone trained
            skipped.append((line_no, f"tokens {d_val:.3g} / compute {c_val:.3g} out of range "
                                     "(check the units of params, tokens and compute)"))
            continue
        vals["params"].append(n_val)
        vals["tokens"].append(d_val)
        vals["compute"].append(c_val)
        vals["loss"].append(got["loss"])
        kept_lines.append(line_no)

    n_kept = len(kept_lines)
    if n_kept == 0:
        detail = "; ".join(f"line {ln}: {why}" for ln, why in skipped[:3])
        more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
        what = f"all {len(skipped)} data rows were skipped: {detail}{more}" if skipped else (
            "there are no data rows after the header" if not excluded
            else f"all {len(excluded)} rows are flagged for exclusion")
        raise FitError(f"{where}: no usable runs; {what}. Each run needs params > 0, "
                       "tokens or compute > 0 and loss > 0.")
    if n_kept < min_runs:
        raise FitError(f"{where}: only {n_kept} usable runs, fewer than the {min_runs} parameters "
                       f"(E, A, B, alpha, beta) to fit ({len(skipped)} rows skipped, "
                       f"{len(excluded)} excluded); add runs at more (N, D) points")
    return RunsData(
        params=np.array(vals["params"]), tokens=np.array(vals["tokens"]),
        compute=np.array(vals["compute"]), loss=np.array(vals["loss"]),
        lines=np.array(kept_lines, dtype=int), skipped=tuple(skipped), excluded=tuple(excluded),
        source=where, columns=used, tokens_derived=derived_any,
    )


def _truthy_number(s: str) -> bool:
    try:
        return float(s) != 0.0
    except ValueError:
        return False


def epoch_runs_path() -> Path:
    """Path of the bundled Epoch AI copy of Hoffmann et al.'s Figure 4 runs (245 rows)."""
    return Path(str(resources.files("estimator.data").joinpath(EPOCH_RUNS_RESOURCE)))


def epoch_runs(exclude_flagged: bool = True) -> RunsData:
    """The Epoch runs; by default without the 5 highest-loss runs Epoch drop (240 left)."""
    return read_runs_csv(epoch_runs_path(), exclude_flagged=exclude_flagged)


# --------------------------------------------------------------------------------------
# Objective
# --------------------------------------------------------------------------------------


_BLOCK_ROWS = 256
_POOL: ThreadPoolExecutor | None = None
_POOL_WORKERS = 0


def set_threads(n: int | None) -> None:
    """Worker threads for batched objective evaluation (default: CPU count, at most 8).
    ``1`` evaluates in the calling thread only."""
    global _POOL, _POOL_WORKERS
    n = max(1, min(8, os.cpu_count() or 1)) if n is None else max(1, int(n))
    if n != _POOL_WORKERS:
        if _POOL is not None:
            _POOL.shutdown(wait=True)
        _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fit") if n > 1 else None
        _POOL_WORKERS = n


def _pool() -> ThreadPoolExecutor | None:
    if _POOL_WORKERS == 0:
        set_threads(None)
    return _POOL


def _objective_batch(phi: np.ndarray, u: np.ndarray, v: np.ndarray, y: np.ndarray,
                     delta: float, w: np.ndarray | None = None):
    """Huber objective and gradient for a batch of parameter rows.

    ``phi`` is (S, 5) = (a, b, e, alpha, beta) acting on abscissae ``u`` (for N) and ``v``
    (for D): ``log L_hat = LSE(a - alpha u, b - beta v, e)``. ``w`` is None or (S, n) weights.
    Returns f (S,) and g (S, 5); non-finite objectives come back as +inf.

    Fast path: shift the log-sum-exp by ``e`` (``log L_hat = e + log(1 + e^(x1-e) + e^(x2-e))``)
    and build the (S, n) arrays with small matrix products (numpy's broadcasting of (S, 1)
    columns against (n,) rows is several times slower than BLAS here). Rows that overflow are
    recomputed with the max-shifted log-sum-exp.
    """
    S = phi.shape[0]
    if S > _BLOCK_ROWS:
        # Blocks of rows keep the (rows, n) temporaries in cache; numpy releases the GIL in
        # its loops, so blocks run in parallel threads.
        starts = range(0, S, _BLOCK_ROWS)

        def one(lo):
            hi = min(S, lo + _BLOCK_ROWS)
            return _objective_batch(phi[lo:hi], u, v, y, delta, None if w is None else w[lo:hi])

        pool = _pool()
        parts = list(pool.map(one, starts)) if pool is not None else [one(lo) for lo in starts]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    f, g = _objective_fast(phi, u, v, y, delta, w)
    bad = ~np.isfinite(f)
    if bad.any():
        rows = np.flatnonzero(bad)
        fs, gs = _objective_stable(phi[rows], u, v, y, delta, None if w is None else w[rows])
        f[rows], g[rows] = fs, gs
    return f, g


def _objective_fast(phi, u, v, y, delta, w):
    S, n = phi.shape[0], u.size
    basis = np.empty((4, n))
    basis[0] = 1.0
    basis[1], basis[2], basis[3] = u, v, y
    coef = np.zeros((3 * S, 4))
    e = phi[:, 2]
    coef[:S, 0] = phi[:, 0] - e
    coef[:S, 1] = -phi[:, 3]
    coef[S:2 * S, 0] = phi[:, 1] - e
    coef[S:2 * S, 2] = -phi[:, 4]
    coef[2 * S:, 0] = -e
    coef[2 * S:, 3] = 1.0
    big = coef @ basis  # rows: x1 - e, x2 - e, log L - e
    e1, e2, r = big[:S], big[S:2 * S], big[2 * S:]
    with np.errstate(all="ignore"):
        np.exp(e1, out=e1)
        np.exp(e2, out=e2)
        z = e1 + e2
        z += 1.0
        r -= np.log(z)  # residual log L - log L_hat
        psi = np.clip(r, -delta, delta)
        # Huber: psi (r - psi/2) is r^2/2 inside [-delta, delta], delta(|r| - delta/2) outside.
        h = r
        h -= 0.5 * psi
        h *= psi
        if w is not None:
            h *= w
            psi *= w
        f = h.sum(axis=1)
        q = psi
        q /= z
        np.negative(q, out=q)  # dHuber/dlogLhat, times d(log L_hat)/d(.) below
        e1 *= q
        e2 *= q
        g = np.empty((S, N_PARAMS))
        g1 = e1 @ basis[:2].T
        g2 = e2 @ basis[[0, 2]].T
        g[:, 0] = g1[:, 0]
        g[:, 3] = -g1[:, 1]
        g[:, 1] = g2[:, 0]
        g[:, 4] = -g2[:, 1]
        g[:, 2] = q.sum(axis=1)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    if bad.any():
        f[bad] = np.inf
        g[bad] = 0.0
    return f, g


def _objective_stable(phi, u, v, y, delta, w):
    a, b, e = phi[:, 0:1], phi[:, 1:2], phi[:, 2:3]
    al, be = phi[:, 3:4], phi[:, 4:5]
    with np.errstate(all="ignore"):
        x1 = a - al * u
        x2 = b - be * v
        m = np.maximum(np.maximum(x1, x2), e)
        e1 = np.exp(x1 - m)
        e2 = np.exp(x2 - m)
        e3 = np.exp(e - m)
        z = e1 + e2 + e3
        r = y - (m + np.log(z))
        psi = np.clip(r, -delta, delta)
        h = psi * (r - 0.5 * psi)
        if w is not None:
            h = h * w
            psi = psi * w
        f = h.sum(axis=1)
        q = -psi / z
        g = np.stack([(q * e1).sum(1), (q * e2).sum(1), (q * e3).sum(1),
                      -((q * e1) @ u), -((q * e2) @ v)], axis=1)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    if bad.any():
        f[bad] = np.inf
        g[bad] = 0.0
    return f, g


def huber_objective(theta, params, tokens, loss, delta: float = HUBER_DELTA,
                    weights=None) -> tuple[float, np.ndarray]:
    """Hoffmann's objective ``sum_i Huber_delta(log L_i - LSE(a - alpha log N_i,
    b - beta log D_i, e))`` and its analytic gradient with respect to
    ``theta = (a, b, e, alpha, beta)``. ``weights`` (optional) multiply each run's term."""
    th = np.asarray(theta, dtype=float).reshape(1, N_PARAMS)
    w = None if weights is None else np.asarray(weights, dtype=float).reshape(1, -1)
    f, g = _objective_batch(th, np.log(np.asarray(params, dtype=float)),
                            np.log(np.asarray(tokens, dtype=float)),
                            np.log(np.asarray(loss, dtype=float)), delta, w)
    return float(f[0]), g[0]


class _Frame:
    """Affine change of variables: exponents act on standardised log N, log D.

    ``a - alpha log N = (a - alpha mu_N) - (alpha s_N) u`` with ``u = (log N - mu_N)/s_N``.
    """

    def __init__(self, runs: RunsData):
        ln_n, ln_d = np.log(runs.params), np.log(runs.tokens)
        self.mu_n, self.mu_d = float(ln_n.mean()), float(ln_d.mean())
        self.s_n = float(ln_n.std()) or 1.0
        self.s_d = float(ln_d.std()) or 1.0
        self.u = (ln_n - self.mu_n) / self.s_n
        self.v = (ln_d - self.mu_d) / self.s_d
        self.y = np.log(runs.loss)

    def to_phi(self, theta: np.ndarray) -> np.ndarray:
        t = np.atleast_2d(np.asarray(theta, dtype=float))
        phi = t.copy()
        phi[:, 0] = t[:, 0] - t[:, 3] * self.mu_n
        phi[:, 1] = t[:, 1] - t[:, 4] * self.mu_d
        phi[:, 3] = t[:, 3] * self.s_n
        phi[:, 4] = t[:, 4] * self.s_d
        return phi

    def to_theta(self, phi: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(np.asarray(phi, dtype=float))
        t = p.copy()
        t[:, 3] = p[:, 3] / self.s_n
        t[:, 4] = p[:, 4] / self.s_d
        t[:, 0] = p[:, 0] + t[:, 3] * self.mu_n
        t[:, 1] = p[:, 1] + t[:, 4] * self.mu_d
        return t


# --------------------------------------------------------------------------------------
# Batched L-BFGS
# --------------------------------------------------------------------------------------


def _batched_lbfgs(phi0: np.ndarray, frame: _Frame, delta: float, w: np.ndarray | None = None,
                   *, memory: int = 10, max_iter: int = 400, gtol: float = 1e-11,
                   ftol: float = 1e-11, patience: int = 3, chunk: int = 1024):
    """Minimise the objective from every row of ``phi0`` at once (in chunks of rows).

    Each row keeps its own L-BFGS history (``memory`` pairs) and backtracking Armijo line
    search. A row stops when its gradient's max-norm is below ``gtol``, when its relative
    decrease stays below ``ftol`` for ``patience`` iterations, when the line search fails from
    steepest descent, or at ``max_iter``. Returns (phi (S, 5), f (S,), iterations (S,)).
    """
    phi0 = np.asarray(phi0, dtype=float)
    S = phi0.shape[0]
    out_x = phi0.copy()
    out_f = np.full(S, np.inf)
    out_it = np.zeros(S, dtype=int)
    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        wc = None if w is None else w[lo:hi]
        x, f, it = _lbfgs_chunk(phi0[lo:hi], frame, delta, wc, memory, max_iter, gtol, ftol,
                                patience)
        out_x[lo:hi], out_f[lo:hi], out_it[lo:hi] = x, f, it
    return out_x, out_f, out_it


def _lbfgs_chunk(phi0, frame, delta, w, m, max_iter, gtol, ftol, patience):
    u, v, y = frame.u, frame.v, frame.y
    S = phi0.shape[0]
    X_out = phi0.copy()
    F_out = np.full(S, np.inf)
    it_out = np.zeros(S, dtype=int)

    def ev(xs, rows):
        return _objective_batch(xs, u, v, y, delta, None if w is None else w[rows])

    idx = np.arange(S)
    x = phi0.copy()
    f, g = ev(x, idx)
    ok = np.isfinite(f)
    X_out[~ok], F_out[~ok] = x[~ok], f[~ok]
    idx, x, f, g = idx[ok], x[ok], f[ok], g[ok]
    A = idx.size
    Sh = np.zeros((m, A, N_PARAMS))
    Yh = np.zeros((m, A, N_PARAMS))
    rho = np.zeros((m, A))
    gnorm = np.sqrt((g * g).sum(1))
    gamma = 1.0 / np.maximum(gnorm, 1e-300)
    stall = np.zeros(A, dtype=int)
    c1 = 1e-4
    for k in range(max_iter):
        if idx.size == 0:
            break
        # Two-loop recursion, all rows at once (rho = 0 marks an empty/rejected slot).
        q = g.copy()
        alph = np.zeros((m, idx.size))
        order = [(k - 1 - j) % m for j in range(m)]  # newest first
        for j in order:
            alph[j] = rho[j] * (Sh[j] * q).sum(1)
            q -= alph[j][:, None] * Yh[j]
        r = gamma[:, None] * q
        for j in reversed(order):
            bj = rho[j] * (Yh[j] * r).sum(1)
            r += Sh[j] * (alph[j] - bj)[:, None]
        p = -r
        gp = (g * p).sum(1)
        nondesc = ~(gp < 0) | ~np.isfinite(gp)
        if nondesc.any():  # reset to scaled steepest descent
            rho[:, nondesc] = 0.0
            p[nondesc] = -gamma[nondesc, None] * g[nondesc]
            gp[nondesc] = (g[nondesc] * p[nondesc]).sum(1)
        has_hist = np.any(rho != 0.0, axis=0)

        # Backtracking line search (Armijo), only re-evaluating rows still pending.
        t = np.ones(idx.size)
        xn = x + p
        fn, gn = ev(xn, idx)
        accepted = fn <= f + c1 * t * gp
        pending = np.flatnonzero(~accepted)
        for _ in range(40):
            if pending.size == 0:
                break
            t[pending] *= 0.5
            xp = x[pending] + t[pending, None] * p[pending]
            fp, gpn = ev(xp, idx[pending])
            xn[pending], fn[pending], gn[pending] = xp, fp, gpn
            okp = fp <= f[pending] + c1 * t[pending] * gp[pending]
            accepted[pending[okp]] = True
            pending = pending[~okp]
        failed = ~accepted
        # Rows whose line search failed: keep x; reset history, or stop if already steepest.
        xn[failed], fn[failed], gn[failed] = x[failed], f[failed], g[failed]

        s_vec = xn - x
        y_vec = gn - g
        sy = (s_vec * y_vec).sum(1)
        yy = (y_vec * y_vec).sum(1)
        valid = accepted & (sy > 1e-10 * np.sqrt((s_vec * s_vec).sum(1) * yy)) & (yy > 0)
        slot = k % m
        Sh[slot] = np.where(valid[:, None], s_vec, 0.0)
        Yh[slot] = np.where(valid[:, None], y_vec, 0.0)
        rho[slot] = np.where(valid, 1.0 / np.where(valid, sy, 1.0), 0.0)
        gamma = np.where(valid, sy / np.where(valid, yy, 1.0), gamma)
        if failed.any():
            rho[:, failed] = 0.0

        dec = f - fn
        small = accepted & (dec <= ftol * np.maximum(np.abs(fn), 1e-300))
        stall = np.where(small, stall + 1, 0)
        x, f, g = xn, fn, gn
        gmax = np.abs(g).max(1)
        done = (gmax <= gtol) | (stall >= patience) | (failed & ~has_hist) | (k == max_iter - 1)
        if done.any():
            d = np.flatnonzero(done)
            X_out[idx[d]], F_out[idx[d]], it_out[idx[d]] = x[d], f[d], k + 1
            keep = ~done
            idx, x, f, g = idx[keep], x[keep], f[keep], g[keep]
            Sh, Yh, rho = Sh[:, keep], Yh[:, keep], rho[:, keep]
            gamma, stall = gamma[keep], stall[keep]
    if idx.size:
        X_out[idx], F_out[idx], it_out[idx] = x, f, max_iter
    return X_out, F_out, it_out


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HoldoutResult:
    """Fit on runs with compute <= ``holdout_above_flops``, predict the larger runs.

    Errors are on the final loss in nats/token: ``mean_abs_error`` is mean |L_hat - L|,
    ``max_rel_error`` / ``mean_rel_error`` are of |L_hat - L| / L. ``predictions`` holds one dict
    per held-out run: line, params, tokens, compute_flops, loss, predicted, error, rel_error.
    """

    holdout_above_flops: float
    n_train: int
    n_holdout: int
    constants: dict[str, float]
    objective: float
    mean_abs_error: float
    max_rel_error: float
    mean_rel_error: float
    predictions: tuple[dict[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "holdout_above_flops": self.holdout_above_flops,
            "n_train": self.n_train,
            "n_holdout": self.n_holdout,
            "constants": dict(self.constants),
            "objective": self.objective,
            "mean_abs_error": self.mean_abs_error,
            "max_rel_error": self.max_rel_error,
            "mean_rel_error": self.mean_rel_error,
            "predictions": [dict(p) for p in self.predictions],
        }


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Bootstrap over runs: ``samples`` is (K, 5) in :data:`estimator.laws.PARAM_NAMES` order
    (E, A, B, alpha, beta); ``stderr`` the sample standard deviations; ``intervals`` the
    percentile intervals at level ``ci`` as ``[lo, hi]`` per parameter."""

    samples: np.ndarray
    objectives: np.ndarray
    stderr: dict[str, float]
    intervals: dict[str, list[float]]
    k: int
    seed: int
    n_failed: int
    ci: float
    seconds: float


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted ``L = E + A/N^alpha + B/D^beta`` (nats/token; N parameters, D tokens).

    ``objective`` is Hoffmann's summed Huber objective at the optimum; ``n_starts`` the number
    of L-BFGS starts; ``fitted_range`` the (N, D) box of the runs used; ``seconds`` wall time of
    the point fit. Bootstrap fields (``stderr``, ``intervals``, ``samples``, ``derived``) and
    ``holdout`` are None unless asked for.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float
    n_runs: int
    n_skipped: int
    skipped: tuple[tuple[int, str], ...]
    n_starts: int
    fitted_range: FittedRange
    seconds: float
    delta: float = HUBER_DELTA
    n_excluded: int = 0
    excluded: tuple[tuple[int, str], ...] = ()
    source: str = "arrays"
    fit_date: str = ""
    n_at_best: int = 0
    best_starts: tuple[tuple[float, ...], ...] = ()
    stderr: dict[str, float] | None = None
    intervals: dict[str, list[float]] | None = None
    samples: np.ndarray | None = None
    n_bootstrap: int = 0
    bootstrap_seed: int | None = None
    n_bootstrap_failed: int = 0
    bootstrap_seconds: float = 0.0
    ci: float = 0.95
    derived: dict[str, Any] | None = None
    holdout: HoldoutResult | None = None

    # -- views -----------------------------------------------------------------------------
    def constants(self) -> dict[str, float]:
        return {"E": self.E, "A": self.A, "B": self.B, "alpha": self.alpha, "beta": self.beta}

    @property
    def theta(self) -> np.ndarray:
        """Internal parameters (a, b, e, alpha, beta) = (log A, log B, log E, alpha, beta)."""
        return np.array([math.log(self.A), math.log(self.B), math.log(self.E), self.alpha,
                         self.beta])

    def predict(self, params, tokens):
        """Predicted loss (nats/token) at N params and D tokens."""
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        return self.E + self.A * n ** (-self.alpha) + self.B * d ** (-self.beta)

    def to_dict(self, include_samples: bool = False) -> dict[str, Any]:
        """JSON-ready: E, A, B, alpha, beta, objective, n_runs, n_skipped, skipped, ...; with
        a bootstrap also n_bootstrap, bootstrap_seed, stderr, intervals ([lo, hi] per
        parameter), ci and derived; with a holdout, holdout."""
        fr = self.fitted_range
        d: dict[str, Any] = {
            **self.constants(),
            "objective": self.objective,
            "n_runs": self.n_runs,
            "n_skipped": self.n_skipped,
            "skipped": [[ln, why] for ln, why in self.skipped],
            "n_excluded": self.n_excluded,
            "excluded": [[ln, why] for ln, why in self.excluded],
            "n_starts": self.n_starts,
            "n_at_best": self.n_at_best,
            "huber_delta": self.delta,
            "fitted_range": {"params": [fr.params_min, fr.params_max],
                             "tokens": [fr.tokens_min, fr.tokens_max]},
            "source": self.source,
            "fit_date": self.fit_date,
            "seconds": self.seconds,
        }
        if self.samples is not None:
            d.update({
                "n_bootstrap": self.n_bootstrap,
                "bootstrap_seed": self.bootstrap_seed,
                "n_bootstrap_failed": self.n_bootstrap_failed,
                "bootstrap_seconds": self.bootstrap_seconds,
                "ci": self.ci,
                "stderr": dict(self.stderr or {}),
                "intervals": {k: list(v) for k, v in (self.intervals or {}).items()},
            })
            if self.derived is not None:
                d["derived"] = self.derived
            if include_samples:
                d["samples"] = {"columns": list(PARAM_NAMES), "values": self.samples.tolist()}
        if self.holdout is not None:
            d["holdout"] = self.holdout.to_dict()
        return d

    def fit_block(self) -> dict[str, Any]:
        """Provenance of the fit, for a law file's top-level ``fit:`` key."""
        b: dict[str, Any] = {
            "date": self.fit_date,
            "data": self.source,
            "n_runs": self.n_runs,
            "n_skipped": self.n_skipped,
            "n_excluded": self.n_excluded,
            "procedure": "Hoffmann et al. 2022 Approach 3 as replicated by Besiroglu et al. 2024: "
                         f"summed Huber(delta={self.delta:g}) on log-loss residuals, L-BFGS from "
                         f"{self.n_starts} grid starts, best objective",
            "objective": self.objective,
        }
        if self.samples is not None:
            b["bootstrap"] = {"k": self.n_bootstrap, "seed": self.bootstrap_seed,
                              "failed": self.n_bootstrap_failed}
        return b

    def to_law(self, id: str, name: str | None = None, *, citation: str | None = None,
               dataset: str | None = None, notes: str | None = None,
               max_samples: int | None = None) -> ParametricLaw:
        """The fit as a :class:`ParametricLaw` carrying the data's fitted range, the fit date
        (in ``notes``), a citation describing the fit, and the bootstrap samples as
        ``param_samples`` (rows with an exponent outside (0.001, 3] are dropped: the law
        loader rejects them). Validated by :func:`estimator.laws.law_from_dict`."""
        from estimator.laws import law_from_dict

        fr = self.fitted_range
        procedure = (f"Hoffmann et al. 2022 (arXiv:2203.15556) Approach 3 procedure as replicated "
                     f"by Besiroglu et al. 2024 (arXiv:2404.10102): summed Huber loss "
                     f"(delta={self.delta:g}) on log-loss residuals, L-BFGS from {self.n_starts} "
                     f"grid starts, best objective {self.objective:.8g}")
        cite = citation or (f"Fitted with estimator.fitting on {self.fit_date} from {self.n_runs} "
                            f"runs in {self.source} ({self.n_skipped} rows skipped, "
                            f"{self.n_excluded} excluded). {procedure}.")
        note_parts = [notes.strip()] if notes else []
        note_parts.append(f"Fit date {self.fit_date}; {self.n_runs} runs from {self.source}; "
                          f"objective {self.objective:.8g}.")
        data: dict[str, Any] = {
            "id": id,
            "name": name or id,
            "form": "parametric",
            "constants": self.constants(),
            "citation": cite,
            "dataset": dataset or f"user runs ({self.source})",
            "fitted_range": {"params": [fr.params_min, fr.params_max],
                             "tokens": [fr.tokens_min, fr.tokens_max]},
            "comparable": True,
        }
        if self.samples is not None:
            s = self.samples
            ok = (np.all(np.isfinite(s), axis=1) & (s[:, 0] >= 0) & (s[:, 0] <= 20)
                  & (s[:, 3] > 1e-3) & (s[:, 3] <= 3) & (s[:, 4] > 1e-3) & (s[:, 4] <= 3))
            s = s[ok]
            if max_samples is not None:
                s = s[:max_samples]
            if len(s) >= 2:
                dropped = int((~ok).sum())
                data["stderr"] = {k: float(v) for k, v in (self.stderr or {}).items()}
                data["param_samples"] = {
                    "columns": list(PARAM_NAMES),
                    "note": (f"{len(s)} bootstrap refits over runs (seed {self.bootstrap_seed}, "
                             f"{self.n_bootstrap} resamples, {dropped} dropped for exponents "
                             f"outside (0.001, 3]) of the same procedure"),
                    "values": s.tolist(),
                }
                note_parts.append(f"Uncertainty: {self.n_bootstrap} bootstrap refits "
                                  f"(seed {self.bootstrap_seed}).")
        data["notes"] = " ".join(note_parts)
        law = law_from_dict(data, where=f"fit of {self.source}")
        return law

    def law_dict(self, id: str, name: str | None = None, **kwargs) -> dict[str, Any]:
        """:meth:`to_law` as plain data plus the ``fit:`` provenance block."""
        d = self.to_law(id, name, **kwargs).to_dict()
        d["fit"] = self.fit_block()
        return d


def save_fitted_law(result: FitResult, path: str | Path, id: str, name: str | None = None,
                    **kwargs) -> None:
    """Write the fitted law as YAML with its ``fit:`` block (atomic). Loads back with
    :func:`estimator.laws.load_law_file`."""
    import yaml

    from estimator.fileio import atomic_write_text

    try:
        atomic_write_text(Path(path), yaml.safe_dump(result.law_dict(id, name, **kwargs),
                                                     sort_keys=False))
    except OSError as exc:
        raise FitError(f"{path}: cannot save the law ({exc.strerror or exc}); choose another "
                       "folder or free some disk space") from None


# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------


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


def _polish(phi: np.ndarray, frame: _Frame, delta: float, w: np.ndarray | None = None):
    """scipy L-BFGS-B (analytic gradient) from one point at tight tolerances."""
    from scipy.optimize import minimize

    wrow = None if w is None else w.reshape(1, -1)

    def fun(x):
        f, g = _objective_fast(x.reshape(1, -1), frame.u, frame.v, frame.y, delta, wrow)
        if not np.isfinite(f[0]):
            f, g = _objective_stable(x.reshape(1, -1), frame.u, frame.v, frame.y, delta, wrow)
        return float(f[0]), g[0]

    res = minimize(fun, phi, jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "maxcor": 20, "ftol": 1e-15, "gtol": 1e-12,
                            "maxls": 50})
    return np.asarray(res.x, dtype=float), float(res.fun)


def _distinct_best(phi: np.ndarray, f: np.ndarray, k: int) -> np.ndarray:
    """Indices of up to k lowest-objective rows whose end points differ (rel 1e-4)."""
    order = np.argsort(f, kind="stable")
    chosen: list[int] = []
    for i in order:
        if not np.isfinite(f[i]) or len(chosen) >= k:
            break
        if all(np.max(np.abs(phi[i] - phi[j]) / (1.0 + np.abs(phi[j]))) > 1e-4 for j in chosen):
            chosen.append(int(i))
    return np.array(chosen, dtype=int)


def _minimise_grid(runs: RunsData, starts_theta: np.ndarray, delta: float, n_polish: int):
    """Batched L-BFGS from every start, then polish the best few distinct end points."""
    frame = _Frame(runs)
    phi0 = frame.to_phi(starts_theta)
    # Stop a start when its objective falls by less than 1e-6 relative twice in a row: stricter
    # than scipy L-BFGS-B's default (absolute 2.2e-9 when the objective is below 1).
    x, f, _ = _batched_lbfgs(phi0, frame, delta, max_iter=400, ftol=1e-6, patience=2,
                             chunk=max(1, starts_theta.shape[0]))
    if not np.any(np.isfinite(f)):
        raise FitError(f"{runs.source}: the fit failed from every start (non-finite objective); "
                       "check that losses are in nats/token and N, D are counts")
    best_rows = _distinct_best(x, f, max(1, n_polish))
    best_phi, best_f = x[best_rows[0]].copy(), float(f[best_rows[0]])
    for i in best_rows:
        p, fp = _polish(x[i], frame, delta)
        if fp < best_f:
            best_phi, best_f = p, fp
    # Best grid starts for bootstrap refits: lowest end objective, fewest iterations first.
    order = np.argsort(f, kind="stable")
    theta_best = frame.to_theta(best_phi)[0]
    n_at_best = int(np.sum(f <= best_f * (1 + 1e-6) + 1e-15))
    return theta_best, best_f, starts_theta[order[:8]], n_at_best


def _theta_to_constants(theta: np.ndarray) -> dict[str, float]:
    a, b, e, al, be = (float(t) for t in theta)
    try:
        return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": al, "beta": be}
    except OverflowError:
        raise FitError(
            "the fit diverged (a coefficient grew beyond floating point): the runs do not "
            "pin down L = E + A/N^alpha + B/D^beta; add runs that vary N and D independently"
        ) from None


def fit_law(runs: RunsData | str | Path, *, delta: float = HUBER_DELTA,
            grid: dict[str, tuple[float, ...]] | None = None, n_polish: int = 4,
            bootstrap_k: int = 0, seed: int = 0, holdout_above: float | None = None,
            budget_flops: float | None = None, target_loss: float | None = None,
            ci: float = 0.95, exclude_flagged: bool = False) -> FitResult:
    """Fit ``L = E + A/N^alpha + B/D^beta`` to runs (a :class:`RunsData` or a CSV path) by
    Hoffmann et al.'s procedure (see the module docstring): summed Huber(``delta``) on log-loss
    residuals, L-BFGS from every point of ``grid`` (default :data:`HOFFMANN_GRID`, 4,500
    starts), best objective wins, polished with scipy L-BFGS-B.

    ``bootstrap_k > 0`` adds :func:`bootstrap` refits (``seed``) giving ``stderr``,
    ``intervals`` (level ``ci``), ``samples`` and, if ``budget_flops`` and/or ``target_loss``
    (nats/token) are given, ``derived`` intervals of N*, D* and the compute to reach the
    target. ``holdout_above`` (FLOPs) adds :func:`holdout_validation`.
    """
    data = _as_runs(runs, exclude_flagged)
    if not (delta > 0 and math.isfinite(delta)):
        raise FitError(f"fit: Huber delta must be a finite number > 0, got {delta!r}")
    t0 = time.perf_counter()
    starts = grid_starts(grid)
    theta, obj, best_starts, n_at_best = _minimise_grid(data, starts, delta, n_polish)
    seconds = time.perf_counter() - t0
    if not (np.all(np.isfinite(theta)) and theta[3] > 0 and theta[4] > 0):
        raise FitError(
            f"{data.source}: the best fit has non-positive exponents (alpha {theta[3]:.3g}, "
            f"beta {theta[4]:.3g}), so loss would not fall with more parameters or data: the "
            "runs do not determine a scaling law; add runs that vary N and D independently "
            "over a wider range")
    result = FitResult(
        **_theta_to_constants(theta), objective=obj, n_runs=data.n_runs,
        n_skipped=len(data.skipped), skipped=tuple(data.skipped), n_starts=int(starts.shape[0]),
        fitted_range=data.fitted_range(), seconds=seconds, delta=delta,
        n_excluded=len(data.excluded), excluded=tuple(data.excluded), source=data.source,
        fit_date=_dt.date.today().isoformat(), n_at_best=n_at_best,
        best_starts=tuple(tuple(float(x) for x in row) for row in best_starts),
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
              base: FitResult | None = None, n_grid_starts: int = 2, ci: float = 0.95,
              max_iter: int = 400) -> BootstrapResult:
    """Nonparametric bootstrap over runs: ``k`` resamples with replacement (numpy
    ``default_rng(seed)``; same seed, same result), each refitted by the same objective from
    the full-data optimum and the ``n_grid_starts`` best grid starts of ``base`` (fitted here
    if not given). All resamples are optimised together (resamples are integer weights).
    """
    data = _as_runs(runs)
    k = int(k)
    if k < 2:
        raise FitError(f"bootstrap: need at least 2 resamples, got {k}")
    if not (0 < ci < 1):
        raise FitError(f"bootstrap: ci must be in (0, 1), got {ci}")
    if base is None:
        base = fit_law(data, delta=delta)
    t0 = time.perf_counter()
    n = data.n_runs
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(k, n))
    counts = np.bincount((np.arange(k)[:, None] * n + draws).ravel(), minlength=k * n)
    counts = counts.reshape(k, n).astype(float)
    starts = [base.theta] + [np.asarray(s) for s in base.best_starts[:n_grid_starts]]
    s = len(starts)
    frame = _Frame(data)
    phi_starts = frame.to_phi(np.array(starts))
    phi0 = np.tile(phi_starts, (k, 1))
    w = np.repeat(counts, s, axis=0)
    x, f, _ = _batched_lbfgs(phi0, frame, delta, w, max_iter=max_iter, ftol=1e-10,
                             patience=3, chunk=max(1, k * s))
    f = f.reshape(k, s)
    best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
    rows = np.arange(k) * s + best
    phi_best, f_best = x[rows], f[np.arange(k), best]
    # Second pass from each resample's best with fresh history, to settle the kinks of Huber.
    x2, f2, _ = _batched_lbfgs(phi_best, frame, delta, counts, max_iter=200, ftol=1e-12,
                               patience=3, chunk=max(1, k))
    better = f2 < f_best
    phi_best[better], f_best[better] = x2[better], f2[better]
    theta = frame.to_theta(phi_best)
    ok = (np.isfinite(f_best) & np.all(np.isfinite(theta), axis=1)
          & np.all(np.abs(theta[:, :3]) < 700, axis=1))
    samples = np.column_stack([np.exp(theta[:, 2]), np.exp(theta[:, 0]), np.exp(theta[:, 1]),
                               theta[:, 3], theta[:, 4]])[ok]
    if samples.shape[0] < 2:
        raise FitError(f"{data.source}: bootstrap failed: fewer than 2 of {k} refits converged")
    stderr, intervals = _summaries(samples, ci)
    return BootstrapResult(samples=samples, objectives=f_best[ok], stderr=stderr,
                           intervals=intervals, k=k, seed=int(seed), n_failed=int((~ok).sum()),
                           ci=ci, seconds=time.perf_counter() - t0)


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
