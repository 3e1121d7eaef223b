"""Bounded work and sane results of the fit: memory flat in the number of runs, a grid on a
subsample that lands on the all-runs optimum, BLAS held to one thread, bounds on seed and
bootstrap count, and degenerate runs reported instead of "fitted". (Timing lives in
benchmarks/bench_fit.py, never here.)"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from estimator import fitting as F
from estimator.cli import main
from estimator.errors import FitError
from estimator.fitting import optimiser, procedure

TRUE = {"E": 1.82, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


def synthetic_runs(n: int, seed: int = 0, noise: float = 0.01) -> F.RunsData:
    """n runs spread over 5e7-1.6e10 params and 3-100 tokens/param, from TRUE with log noise."""
    rng = np.random.default_rng(seed)
    params = np.exp(rng.uniform(np.log(5e7), np.log(1.6e10), n))
    tokens = params * np.exp(rng.uniform(np.log(3), np.log(100), n))
    loss = (TRUE["E"] + TRUE["A"] / params ** TRUE["alpha"] + TRUE["B"] / tokens ** TRUE["beta"])
    return F.runs_from_arrays(params, tokens, loss * np.exp(rng.normal(0, noise, n)),
                              source=f"synthetic-{n}")


def _blas_threads() -> list[int]:
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


# -------------------------------------------------------------------------------------------
# Bounded memory, linear work
# -------------------------------------------------------------------------------------------


def test_objective_memory_is_flat_in_runs():
    """One evaluation of 4,500 starts allocates a bounded block, whatever the number of runs:
    the old code held (3 x 256 x n) temporaries per thread, 600 MB at 100,000 runs."""
    rng = np.random.default_rng(1)
    phi = rng.normal(size=(4500, 5)) * 0.3
    peaks = []
    for n in (2_000, 20_000):
        u, v, y = rng.normal(size=n), rng.normal(size=n), 1 + 0.1 * rng.normal(size=n)
        tracemalloc.start()
        f, g = optimiser.objective_batch(phi, u, v, y, 1e-3)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert f.shape == (4500,) and g.shape == (4500, 5) and np.isfinite(f).any()
    # blocks hold at most BLOCK_ELEMS (start, run) pairs: about five arrays of 0.5 MB per
    # worker thread, plus the (4500, 5) results
    assert peaks[1] < 12e6
    assert peaks[1] < 2.5 * peaks[0] + 4e6


def test_block_rows_bound_elements():
    assert optimiser.block_rows(240) == 256  # the Epoch fit keeps its 256-start blocks
    for n in (1_000, 24_000, 100_000):
        assert optimiser.block_rows(n) * n <= max(optimiser.BLOCK_ELEMS, 2 * n)


def test_fit_of_24000_runs_stays_small():
    """The brief: under 300 MB at 24,000 runs (the old code: 440 MB at 10,000). The traced
    numpy/Python allocations of the fit itself stay far below it."""
    runs = synthetic_runs(24_000, seed=3)
    tracemalloc.start()
    fit = F.fit_law(runs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 120e6
    assert fit.grid_rows == F.GRID_MAX_ROWS < fit.n_runs == 24_000
    assert any("evenly spread" in w for w in fit.warnings)
    # 24,000 runs with 1% noise pin the generating law down closely
    assert fit.alpha == pytest.approx(TRUE["alpha"], abs=0.02)
    assert fit.beta == pytest.approx(TRUE["beta"], abs=0.02)
    assert fit.E == pytest.approx(TRUE["E"], rel=0.02)


def test_bootstrap_memory_is_chunked(monkeypatch):
    runs = synthetic_runs(12_000, seed=4)
    base = F.fit_law(runs)
    # All at once, 60 resamples x 3 starts x 12,000 runs of weights are 17 MB, with counts,
    # draws and their bincount about 40 MB; in chunks of 2**18 weights (2 MB) far less.
    monkeypatch.setattr(procedure, "BOOT_CHUNK_ELEMS", 1 << 18)
    tracemalloc.start()
    bs = F.bootstrap(runs, 60, seed=1, base=base)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6 and bs.samples.shape == (60, 5)


def test_bootstrap_chunking_does_not_change_the_draws(monkeypatch):
    runs = F.epoch_runs()
    base = F.fit_law(runs)
    one = F.bootstrap(runs, 12, seed=5, base=base)
    # force chunks of 2 resamples (3 starts x 240 runs x 2 = 1,440 weights)
    monkeypatch.setattr(procedure, "BOOT_CHUNK_ELEMS", 3 * 240 * 2)
    many = F.bootstrap(runs, 12, seed=5, base=base)
    # the same resamples; BLAS kernels of other block shapes round differently in the last
    # bits, which L-BFGS carries to about 1e-7
    np.testing.assert_allclose(many.samples, one.samples, rtol=1e-5)
    rng, n = np.random.default_rng(5), runs.n_runs
    chunked = np.vstack([rng.integers(0, n, size=(2, n)) for _ in range(6)])
    np.testing.assert_array_equal(chunked, np.random.default_rng(5).integers(0, n, size=(12, n)))


def test_grid_on_a_subsample_finds_the_all_runs_optimum():
    runs = synthetic_runs(1_500, seed=6, noise=0.02)
    full = F.fit_law(runs, grid_max_rows=10**6)
    sub = F.fit_law(runs, grid_max_rows=300)
    assert full.grid_rows == 1_500 and sub.grid_rows == 300
    assert sub.objective == pytest.approx(full.objective, rel=1e-9)
    for k in ("E", "alpha", "beta"):
        assert getattr(sub, k) == pytest.approx(getattr(full, k), rel=1e-4)


def test_grid_subsample_spreads_over_sizes():
    runs = synthetic_runs(5_000, seed=7)
    idx = F.grid_subsample(runs, 500)
    assert idx.size == 500 and np.unique(idx).size == 500
    # the subsample covers the whole range of sizes
    assert runs.params[idx].min() <= np.quantile(runs.params, 0.01)
    assert runs.params[idx].max() >= np.quantile(runs.params, 0.99)
    assert F.grid_subsample(runs, 10_000) is None


def test_blas_held_to_one_thread_during_a_fit_and_restored(monkeypatch):
    before = _blas_threads()
    seen = []
    real = procedure.polish

    def spy(*a, **k):
        seen.append(_blas_threads())
        return real(*a, **k)

    monkeypatch.setattr(procedure, "polish", spy)
    F.fit_law(F.epoch_runs(), grid={k: v[1:3] for k, v in F.HOFFMANN_GRID.items()})
    assert seen and all(t == [1] * len(t) for t in seen)
    assert _blas_threads() == before
    with F.limited_blas():
        with F.limited_blas():  # re-entrant
            assert set(_blas_threads()) <= {1}
        assert set(_blas_threads()) <= {1}
    assert _blas_threads() == before


def test_too_many_rows_is_a_clear_error(monkeypatch):
    from estimator.fitting import runs as runs_mod

    monkeypatch.setattr(runs_mod, "MAX_FIT_ROWS", 1_000)
    with pytest.raises(FitError, match="more than the 1,000 one fit accepts") as e:
        F.fit_law(synthetic_runs(1_001))
    assert e.value.field == "runs" and "average repeated seeds" in str(e.value)


# -------------------------------------------------------------------------------------------
# Bounds on seed and bootstrap count (were internal errors)
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True, "7"])
def test_bad_seed(seed):
    with pytest.raises(FitError, match=r"--seed") as e:
        F.fit_law(F.epoch_runs(), bootstrap_k=5, seed=seed)
    assert e.value.field == "seed"


@pytest.mark.parametrize("k, match", [(1, "at least 2"), (-3, "at least 2"),
                                      (100_000_000, "at most 10,000")])
def test_bad_bootstrap_count(k, match):
    with pytest.raises(FitError, match=match) as e:
        F.fit_law(F.epoch_runs(), bootstrap_k=k)
    assert e.value.field == "bootstrap" and "--bootstrap" in str(e.value)


def test_bootstrap_work_bounded_by_runs():
    runs = synthetic_runs(20_000)
    most = F.MAX_BOOTSTRAP_WORK // 20_000
    with pytest.raises(FitError, match=f"at most {most:,} for 20,000 runs"):
        F.check_bootstrap_k(most + 1, runs.n_runs)
    assert F.check_bootstrap_k(most, runs.n_runs) == most


def test_cli_seed_and_bootstrap_errors_exit_2(capsys):
    path = str(F.epoch_runs_path())
    for argv in (["fit", path, "--seed", "-1"], ["fit", path, "--bootstrap", "100000000"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("estimator: error:") and "internal" not in err
        assert err.count("\n") == 1


# -------------------------------------------------------------------------------------------
# Degenerate runs
# -------------------------------------------------------------------------------------------


def test_forty_identical_runs_are_not_a_fit():
    runs = F.runs_from_arrays([1e9] * 40, [2e10] * 40, [2.5] * 40)
    with pytest.raises(FitError, match="1 distinct model size") as e:
        F.fit_law(runs)
    assert e.value.field == "runs" and "3 or more model sizes" in str(e.value)


def test_two_sizes_are_too_few():
    n = np.repeat([1e8, 1e9], 4)
    d = n * np.tile([5.0, 10.0, 20.0, 40.0], 2)
    loss = TRUE["E"] + TRUE["A"] / n ** 0.35 + TRUE["B"] / d ** 0.37
    with pytest.raises(FitError, match="2 distinct model size"):
        F.fit_law(F.runs_from_arrays(n, d, loss))


def test_too_few_distinct_points():
    # 3 sizes and 3 token counts but only 4 distinct (N, D) points, repeated
    n = np.array([1e8, 1e8, 1e9, 1e10] * 3)
    d = np.array([2e9, 8e9, 2e10, 2e11] * 3)
    loss = TRUE["E"] + TRUE["A"] / n ** 0.35 + TRUE["B"] / d ** 0.37
    with pytest.raises(FitError, match="only 4 distinct"):
        F.fit_law(F.runs_from_arrays(n, d, loss))


def test_constant_loss_is_not_a_fit():
    runs = synthetic_runs(30)
    flat = F.runs_from_arrays(runs.params, runs.tokens, np.full(30, 2.7))
    with pytest.raises(FitError, match="same loss") as e:
        F.fit_law(flat)
    assert e.value.field == "loss"


def test_one_tokens_per_param_ratio_is_warned():
    n = np.geomspace(1e8, 1e10, 8)
    d = 20 * n
    loss = TRUE["E"] + TRUE["A"] / n ** 0.35 + TRUE["B"] / d ** 0.37
    fit = F.fit_law(F.runs_from_arrays(n, d, loss))
    assert any("same tokens per parameter" in w for w in fit.warnings)
    assert fit.to_dict()["warnings"] == list(fit.warnings)
    assert not F.fit_law(F.epoch_runs()).warnings
