"""Results of a fit (:class:`FitResult`, :class:`BootstrapResult`, :class:`HoldoutResult`) and
saving a fitted law as YAML with its provenance.

Units: losses in nats/token, N in parameters, D in tokens, compute in FLOPs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from estimator.errors import FitError
from estimator.fitting.optimiser import HUBER_DELTA
from estimator.laws import PARAM_NAMES, FittedRange, ParametricLaw


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
    the point fit; ``grid_rows`` the runs the grid of starts ran on (all of them up to
    :data:`~estimator.fitting.procedure.GRID_MAX_ROWS`, then a spread subsample whose best ends
    are refitted on all runs). Bootstrap fields (``stderr``, ``intervals``, ``samples``,
    ``derived``) and ``holdout`` are None unless asked for.
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
    grid_rows: int = 0
    warnings: tuple[str, ...] = ()

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
            "grid_rows": self.grid_rows,
            "warnings": list(self.warnings),
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



def theta_to_constants(theta: np.ndarray) -> dict[str, float]:
    """(a, b, e, alpha, beta) -> {E, A, B, alpha, beta}; FitError if a coefficient overflows."""
    a, b, e, al, be = (float(t) for t in theta)
    try:
        return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": al, "beta": be}
    except OverflowError:
        raise FitError(
            "the fit diverged (a coefficient grew beyond floating point): the runs do not "
            "pin down L = E + A/N^alpha + B/D^beta; add runs that vary N and D independently"
        ) from None

