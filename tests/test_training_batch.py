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
