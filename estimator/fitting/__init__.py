"""Fit a Chinchilla-form scaling law ``L(N, D) = E + A/N^alpha + B/D^beta`` to training runs.

Three parts (import the public names from here):

* :mod:`estimator.fitting.runs`: reading runs (CSV parsing, :class:`RunsData`, the bundled Epoch
  runs) and the checks that runs can determine the law;
* :mod:`estimator.fitting.optimiser`: Hoffmann et al.'s objective and the batched L-BFGS;
* :mod:`estimator.fitting.procedure`: the fit (grid of starts, bootstrap, holdout, derived
  intervals, the epoch-2024 samples), with :mod:`estimator.fitting.results` holding the result
  types and saving a fitted law.

The procedure is Hoffmann et al. 2022 (arXiv:2203.15556, Approach 3) as replicated by
Besiroglu et al. 2024 (arXiv:2404.10102); it reproduces Epoch's replication on
``estimator/data/epoch_chinchilla_runs.csv`` (docs/calibration.md, tests/test_fitting.py).
Pure numpy/scipy; no Qt.
"""

from estimator.fitting.optimiser import (
    BLOCK_ELEMS,
    HUBER_DELTA,
    N_PARAMS,
    THETA_NAMES,
    Frame,
    RowFrame,
    batched_lbfgs,
    huber_objective,
    limited_blas,
    objective_batch,
    set_threads,
    threads,
)
from estimator.fitting.procedure import (
    EPOCH_SAMPLES_SEED,
    GRID_MAX_ROWS,
    HOFFMANN_GRID,
    MAX_BOOTSTRAP,
    MAX_BOOTSTRAP_WORK,
    MAX_SEED,
    bootstrap,
    check_bootstrap_k,
    check_seed,
    compute_for_target_loss,
    derived_intervals,
    epoch_param_samples,
    fit_law,
    fit_many,
    fit_many_sets,
    grid_starts,
    grid_subsample,
    holdout_validation,
)
from estimator.fitting.results import (
    BootstrapResult,
    FitResult,
    HoldoutResult,
    save_fitted_law,
    theta_to_constants,
)
from estimator.fitting.runs import (
    COLUMN_ALIASES,
    EPOCH_RUNS_RESOURCE,
    FLAG_ALIASES,
    MAX_FIT_ROWS,
    MIN_DISTINCT,
    RunsData,
    check_fittable,
    epoch_runs,
    epoch_runs_path,
    fit_warnings,
    read_header,
    read_runs_csv,
    runs_from_arrays,
)

__all__ = [
    "BLOCK_ELEMS",
    "COLUMN_ALIASES",
    "EPOCH_RUNS_RESOURCE",
    "EPOCH_SAMPLES_SEED",
    "FLAG_ALIASES",
    "GRID_MAX_ROWS",
    "HOFFMANN_GRID",
    "HUBER_DELTA",
    "MAX_BOOTSTRAP",
    "MAX_BOOTSTRAP_WORK",
    "MAX_FIT_ROWS",
    "MAX_SEED",
    "MIN_DISTINCT",
    "N_PARAMS",
    "THETA_NAMES",
    "BootstrapResult",
    "FitResult",
    "Frame",
    "RowFrame",
    "HoldoutResult",
    "RunsData",
    "batched_lbfgs",
    "bootstrap",
    "check_bootstrap_k",
    "check_fittable",
    "check_seed",
    "compute_for_target_loss",
    "derived_intervals",
    "epoch_param_samples",
    "epoch_runs",
    "epoch_runs_path",
    "fit_law",
    "fit_many",
    "fit_many_sets",
    "fit_warnings",
    "grid_starts",
    "grid_subsample",
    "holdout_validation",
    "huber_objective",
    "limited_blas",
    "objective_batch",
    "read_header",
    "read_runs_csv",
    "runs_from_arrays",
    "save_fitted_law",
    "set_threads",
    "theta_to_constants",
    "threads",
]
