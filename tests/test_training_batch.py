"""Several jobs searched together (plan_training_runs) give exactly the runs each gives alone."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace

import numpy as np
import pytest
from training_hardware import A100_40, H100, TPU_V5P

from estimator.errors import InputError
from estimator.shape import derive_shape
from estimator.training import TrainingJob, plan_training_run
from estimator.training import run as R


def _clear() -> None:
    for fn in (R._grid, R._fitting, R._min_gpus, R._floor):
        fn.cache_clear()


def _alone(job, acc):
    _clear()
    try:
        return plan_training_run(job, acc)
    except InputError as exc:
        return exc


def _same(a, b) -> None:
    if isinstance(a, InputError) or isinstance(b, InputError):
        assert type(a) is type(b) and str(a) == str(b)
        return
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    assert da.keys() == db.keys()
    for k in da:
        x, y = da[k], db[k]
        if isinstance(x, float) and math.isnan(x):
            assert math.isnan(y), k
        else:
            assert x == y, k  # bit for bit: the batch only groups the array work


def _sizes(gpus: int, seq: int = 4096, **kw) -> list[TrainingJob]:
    """A plan and its rate-curve sizes (0.3x, 3x, 10x): what an estimate batches."""
    return [TrainingJob(shape=derive_shape(n, **kw), tokens=20 * n, gpus=gpus, seq_len=seq)
            for n in (7e9, 2.1e9, 2.1e10, 7e10)]


@pytest.mark.parametrize("acc, jobs", [
    (H100, _sizes(1024)),
    (H100, _sizes(96, seq=8192)),  # a count that is not a power of two, long sequences
    (A100_40, _sizes(16)),  # the largest size fits on no layout of 16 GPUs: an error in the list
    (TPU_V5P, _sizes(512)),
    (H100, [replace(j, precision="fp8") for j in _sizes(256)]),
    (H100, [replace(j, global_batch_tokens=4 * 2**20) for j in _sizes(512)]),  # pinned batch
    (H100, [TrainingJob(shape=derive_shape(n, n_experts=64, experts_per_token=6,
                                           active_params=n / 6), tokens=3e11, gpus=512,
                        seq_len=4096) for n in (5e10, 1.5e11, 4.5e11)]),  # mixtures of experts
])
def test_a_batch_gives_each_job_its_own_run(acc, jobs):
    alone = [_alone(j, acc) for j in jobs]
    _clear()
    together = R.plan_training_runs(jobs, acc)
    assert len(together) == len(jobs)
    for a, b in zip(alone, together, strict=True):
        _same(a, b)
    if acc is A100_40:
        assert any(isinstance(x, InputError) for x in together)
        assert any(not isinstance(x, InputError) for x in together)


def test_jobs_that_cannot_share_a_search_are_planned_apart():
    """Different sequence lengths, precisions, pins or dense and MoE shapes in one call."""
    base = _sizes(256)
    mixed = [base[0], replace(base[1], seq_len=8192), replace(base[2], precision="fp8"),
             replace(base[3], tp=8),
             TrainingJob(shape=derive_shape(1.2e11, n_experts=16, experts_per_token=2,
                                            active_params=3e10), tokens=6e11, gpus=256,
                         seq_len=4096)]
    alone = [_alone(j, H100) for j in mixed]
    _clear()
    for a, b in zip(alone, R.plan_training_runs(mixed, H100), strict=True):
        _same(a, b)


def test_a_rate_curve_size_without_a_shape_is_left_out(monkeypatch):
    """An estimate whose training-rate curve meets a model size no shape can take (e.g. too few
    active parameters for its experts) still plans: that size is left out of the curve."""
    import estimator.plan as plan_module
    from estimator.engine import clear_caches, estimate
    from estimator.errors import InputError as Refused
    from estimator.scenario import Scenario

    s = Scenario()
    want = estimate(s)
    real = plan_module.model_shape_of
    small = want.params * 0.5

    def refuse_small(sc, n):
        if n < small:
            raise Refused("no shape of this size", field="params")
        return real(sc, n)

    monkeypatch.setattr(plan_module, "model_shape_of", refuse_small)
    clear_caches()
    got = estimate(s)
    assert got.params == want.params and got.cost_usd == want.cost_usd  # the plan itself
    n = np.array([want.params * 0.3, want.params * 3.0])
    # below the plan the curve is now held flat at the plan's rate; above it is unchanged
    assert got.train_rate_fn(n)[0] == pytest.approx(got.train_rate_fn(np.array([want.params]))[0])
    assert got.train_rate_fn(n)[1] == pytest.approx(want.train_rate_fn(n)[1])


# -- hours only: a rate curve's anchors and an alternative plan's price ------------------------
_HOURS_CASES = [
    (H100, _sizes(1024)),  # every size's reference layout is on fewer GPUs than its own
    (A100_40, _sizes(16)),  # the largest size fits nowhere: an error
    (TPU_V5P, _sizes(512)),
    (H100, [replace(j, precision="fp8") for j in _sizes(256)]),
    (H100, [replace(j, global_batch_tokens=4 * 2**20) for j in _sizes(512)]),
    (H100, [replace(j, mfu=0.41, goodput=0.9) for j in _sizes(512)]),  # pinned factors
    (H100, [TrainingJob(shape=derive_shape(n, n_experts=64, experts_per_token=6,
                                           active_params=n / 6), tokens=3e11, gpus=512,
                        seq_len=4096) for n in (5e10, 1.5e11, 4.5e11)]),
]


@pytest.mark.parametrize("acc, jobs", _HOURS_CASES)
def test_hours_only_jobs_have_their_full_runs_hours(acc, jobs):
    """Hours-only jobs, mixed with a full one in one search, get bit for bit the GPU-hours and
    days of their full runs, and the full job is untouched by the company it keeps."""
    alone = [_alone(j, acc) for j in jobs]
    _clear()
    got = R.plan_training_runs(jobs, acc, hours_only=range(1, len(jobs)))
    _same(alone[0], got[0])
    for a, b in zip(alone[1:], got[1:], strict=True):
        if isinstance(a, InputError):
            assert isinstance(b, InputError) and b.field == "gpus"
            continue
        assert isinstance(b, R.RunHours)
        assert (b.gpu_hours, b.wall_clock_days) == (a.gpu_hours, a.wall_clock_days)


def test_hours_only_skip_the_least_count_and_the_reference(monkeypatch):
    """What only a run's report needs is not searched for an hours-only job: the least GPU
    count that fits is never asked for, and only the job's own GPU count is laid out."""
    jobs = _sizes(1024)
    _clear()

    def no_floor(*a, **k):
        raise AssertionError("the least GPU count was searched")

    monkeypatch.setattr(R, "_min_gpus", no_floor)
    seen = []
    real = R.prepare_many

    def spy(entries, *a, **k):
        seen.extend(counts for _j, counts, _b in entries)
        return real(entries, *a, **k)

    monkeypatch.setattr(R, "prepare_many", spy)
    got = R.plan_training_runs(jobs, H100, hours_only=range(len(jobs)))
    assert all(isinstance(x, R.RunHours) for x in got)
    assert seen == [(1024,)] * len(jobs)


def test_an_hours_only_job_that_fits_nowhere_says_so():
    job = replace(_sizes(16)[3], gpus=8)  # 70B on eight 40 GB A100s
    got = R.plan_training_runs([job], A100_40, hours_only=[0])[0]
    assert isinstance(got, InputError) and got.field == "gpus"
    assert "fits on 8 accelerators of 40 GB" in str(got)
    pinned = R.plan_training_runs([replace(job, tp=16)], A100_40, hours_only=[0])[0]
    assert isinstance(pinned, InputError) and "pinned tp x pp x cp = 16" in str(pinned)


def test_training_hours_is_the_stage_s_gpu_hours():
    """The engine prices an alternative plan and a rate anchor with training_hours: the
    training stage's GPU-hours (the plan's N counted), whether the full run is kept or not."""
    from estimator.allocation import Allocation
    from estimator.catalogue import default_catalogue
    from estimator.engine import clear_caches
    from estimator.plan import model_shape_of
    from estimator.scenario import Scenario
    from estimator.training.stage import training_hours, training_stage

    s = Scenario(gpus=512)
    prof = default_catalogue().profile(s.hardware)
    for n in (1.3e9, 3.7e10):
        a = Allocation(params=n, tokens=20 * n, train_flops=120 * n * n, loss=2.2)
        shape = model_shape_of(s, n)
        clear_caches()
        cold = training_hours(s, a, shape, prof)
        full = training_stage(s, a, shape, prof).gpu_hours
        assert cold == full
        assert training_hours(s, a, shape, prof) == full  # from the kept full run
