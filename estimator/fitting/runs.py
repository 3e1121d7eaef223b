"""Reading training runs to fit: CSV parsing, :class:`RunsData`, the bundled Epoch runs, and the
checks that a set of runs can determine ``L = E + A/N^alpha + B/D^beta`` at all.

Data: ``estimator/data/epoch_chinchilla_runs.csv`` is a copy of
``shared/reference/epoch_chinchilla_runs.csv``: 245 runs (N, D = C/6N, C, final loss) that
Epoch AI read off Hoffmann et al.'s Figure 4 (``data/svg_extracted_data.csv`` in the public
repository epoch-research/analyzing-chinchilla); ``excluded_by_epoch_top5_loss = 1`` flags the 5
highest-loss runs Epoch drop before fitting, leaving 240.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from estimator.errors import FitError
from estimator.laws import PARAM_NAMES, FittedRange

N_PARAMS = len(PARAM_NAMES)
"""Parameters of the law (E, A, B, alpha, beta): the fewest runs a fit can use."""

MAX_FIT_ROWS = 100_000
"""Most runs one fit accepts. Published scaling studies have hundreds of runs (Hoffmann et al.
2022: over 400); beyond this a file is almost surely per-step logs or per-seed duplicates, and
the fit would take minutes for no gain in precision (a judgement)."""

MIN_DISTINCT = 3
"""Distinct model sizes and distinct token counts a fit needs: with two sizes, A and alpha
trade off exactly along one curve (two points fix only A (N1^-a - N2^-a))."""

EPOCH_RUNS_RESOURCE = "epoch_chinchilla_runs.csv"

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



def _n_distinct(x: np.ndarray, rel: float = 1e-6) -> int:
    """Distinct values of a positive array, treating values within ``rel`` (relative) as one."""
    s = np.sort(np.log(np.asarray(x, dtype=float)))
    return int(1 + np.count_nonzero(np.diff(s) > rel)) if s.size else 0


def check_fittable(runs: RunsData) -> None:
    """Raise :class:`FitError` when the runs cannot determine ``E + A/N^alpha + B/D^beta``.

    A fit of such runs "succeeds" numerically but its constants mean nothing, so it is an
    error: fewer than :data:`MIN_DISTINCT` distinct sizes N or token counts D; fewer distinct
    (N, D) points than the 5 parameters; or every loss equal (nothing to fit). Runs that fit but
    poorly (one tokens-per-parameter ratio) get :func:`fit_warnings` instead.
    """
    where = runs.source
    if runs.n_runs > MAX_FIT_ROWS:
        raise FitError(
            f"{where}: {runs.n_runs:,} runs is more than the {MAX_FIT_ROWS:,} one fit accepts; "
            "a scaling-law fit needs one row per training run (final loss), so average repeated "
            "seeds or keep only final-step rows", field="runs", value=runs.n_runs,
            expected=f"at most {MAX_FIT_ROWS:,} runs", hint="aggregate or subsample the rows")
    n_sizes, n_tokens = _n_distinct(runs.params), _n_distinct(runs.tokens)
    pairs = np.unique(np.round(np.column_stack([np.log(runs.params), np.log(runs.tokens)]), 9),
                      axis=0).shape[0]
    fix = ("train runs at 3 or more model sizes, each with 2 or more token counts "
           "(e.g. 5, 20 and 80 tokens per parameter)")
    if n_sizes < MIN_DISTINCT or n_tokens < MIN_DISTINCT:
        raise FitError(
            f"{where}: the runs have {n_sizes} distinct model size(s) and {n_tokens} distinct "
            f"token count(s); a fit of L = E + A/N^alpha + B/D^beta needs at least "
            f"{MIN_DISTINCT} of each; {fix}", field="runs", value=(n_sizes, n_tokens),
            expected=f">= {MIN_DISTINCT} distinct N and D", hint=fix)
    if pairs < N_PARAMS:
        raise FitError(
            f"{where}: only {pairs} distinct (N, D) points among {runs.n_runs} runs, fewer than "
            f"the {N_PARAMS} parameters; {fix}", field="runs", value=pairs,
            expected=f">= {N_PARAMS} distinct (N, D) points", hint=fix)
    if float(np.ptp(np.log(runs.loss))) <= 1e-12:
        raise FitError(
            f"{where}: every run has the same loss ({runs.loss[0]:.6g}); there is nothing to "
            "fit; check that the loss column holds each run's final loss", field="loss",
            value=float(runs.loss[0]), expected="losses that vary with N and D")


def fit_warnings(runs: RunsData) -> tuple[str, ...]:
    """Warnings about runs that can be fitted but pin the law down poorly: one
    tokens-per-parameter ratio for every run (D = kN: the N and D terms move together, so A and
    B, alpha and beta trade off; Hoffmann et al. 2022 vary D at each N, their Figure 2)."""
    out: list[str] = []
    ratio = np.log(runs.tokens) - np.log(runs.params)
    if runs.n_runs and float(np.ptp(ratio)) < 0.01:
        k = float(ratio.mean())
        out.append(f"every run has about the same tokens per parameter (10^{k / math.log(10):.2f})"
                   ": D moves with N, so the fit cannot separate A/N^alpha from B/D^beta well; "
                   "add runs with several tokens per parameter at each size")
    return tuple(out)


def read_header(path: str | Path) -> list[str]:
    """The normalised column names of a runs CSV (lower case, spaces/dashes as '_'), or []
    when the file has no header line. Raises :class:`FitError` as :func:`read_runs_csv`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FitError(f"{p}: cannot read runs file ({exc.__class__.__name__}); check the path "
                       "(a UTF-8 CSV with columns params, tokens or compute, loss)") from None
    for ln in text.splitlines():
        if ln.strip() and not ln.lstrip().startswith("#"):
            delim = next((c for c in (",", ";", "\t") if c in ln), ",")
            return [_norm_header(h) for h in next(csv.reader([ln], delimiter=delim))]
    return []
