"""Layout search: memory, errors, pins, the GPU sweep and its monotonicity."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from training_hardware import A100_40, ALL, GB200, H100, MI300X, TPU_V5P

from estimator.errors import InputError
from estimator.shape import ModelShape, derive_shape
from estimator.training import TrainingJob, plan_training_run, sweep_gpus
from estimator.training.constants import GLOBAL
from estimator.training.model import Candidates, memory_per_gpu, work_for


def _layout_memory(run, job, acc) -> float:
    """Bytes per GPU of the chosen layout, recomputed from the layout alone."""
    L = run.layout
    v = 0.0 if L.dualpipe else float(L.virtual_stages)
    zero = 4.0 if L.hybrid_shard else float(L.zero_stage)
    one = lambda x: np.array([float(x)])  # noqa: E731
    cd = Candidates(tp=one(L.tp), pp=one(L.pp), cp=one(L.cp), ep=one(L.ep), dp=one(L.dp),
                    mb=one(L.micro_batch), rec=one(["none", "selective", "full"].index(
                        L.recompute)), zero=one(zero), v=one(v))
    low = 1.0 if job.precision in ("fp8", "fp4") else 0.0
    return float(memory_per_gpu(cd, work_for(job.shape, job.seq_len), low, one(L.pp),
                                float(acc.scale_up_domain_chips))[0])


@settings(max_examples=60, deadline=None)
@given(params=st.floats(1e8, 2e12), gpus=st.sampled_from([8, 24, 64, 256, 1000, 2048, 12288]),
       seq=st.sampled_from([2048, 4096, 8192, 32768]), acc=st.sampled_from(ALL))
def test_the_chosen_layout_fits_in_memory(params, gpus, seq, acc):
    job = TrainingJob(shape=derive_shape(params), tokens=20 * params, gpus=gpus, seq_len=seq)
    try:
        run = plan_training_run(job, acc)
    except InputError as err:
        assert err.field == "gpus"
        return
    L = run.layout
    assert L.tp * L.pp * L.cp * L.dp == gpus
    capacity = acc.memory_bytes * GLOBAL.usable_memory_fraction
    assert run.memory_per_gpu_bytes <= capacity
    assert _layout_memory(run, job, acc) == pytest.approx(run.memory_per_gpu_bytes, rel=1e-12)
    assert run.min_gpus_for_memory <= gpus
    for x in (run.gpu_hours, run.wall_clock_days, run.step_time_s, run.goodput):
        assert np.isfinite(x) and x > 0


def test_too_few_gpus_names_the_least_that_fit():
    job = TrainingJob(shape=derive_shape(70e9), tokens=1.4e12, gpus=4, seq_len=4096)
    with pytest.raises(InputError) as err:
        plan_training_run(job, H100)
    need = int(err.value.expected.split(">=")[1])
    assert err.value.field == "gpus" and str(need) in str(err.value)
    run = plan_training_run(replace(job, gpus=need), H100)
    assert run.min_gpus_for_memory == need
    with pytest.raises(InputError):
        plan_training_run(replace(job, gpus=need - 1 if need <= 8 else need - 8), H100)


def test_pins_are_respected_and_unreachable_pins_raise():
    job = TrainingJob(shape=derive_shape(70e9), tokens=1.4e12, gpus=512, seq_len=4096, tp=4,
                      pp=4, micro_batch=1, recompute="selective", virtual_stages=2)
    L = plan_training_run(job, H100).layout
    assert (L.tp, L.pp, L.micro_batch, L.recompute, L.virtual_stages) == (4, 4, 1, "selective",
                                                                          2)
    with pytest.raises(InputError):  # 5 does not divide 512
        plan_training_run(replace(job, tp=None, pp=5), H100)


def test_tpus_train_without_pipeline_parallelism_unless_pinned():
    job = TrainingJob(shape=derive_shape(400e9), tokens=8e12, gpus=2048, seq_len=4096)
    assert plan_training_run(job, TPU_V5P).layout.pp == 1
    assert plan_training_run(replace(job, pp=4), TPU_V5P).layout.pp == 4


def test_long_context_uses_context_parallelism():
    job = TrainingJob(shape=derive_shape(8e9), tokens=1e11, gpus=64, seq_len=131072)
    assert plan_training_run(job, H100).layout.cp > 1


@pytest.mark.parametrize("params, acc", [(1e9, H100), (7e9, H100), (70e9, H100),
                                         (405e9, H100), (13e9, A100_40), (70e9, TPU_V5P),
                                         (400e9, GB200), (70e9, MI300X)])
def test_more_gpus_never_slower_unless_communication_or_failures_say_why(params, acc):
    """Doubling the GPUs: the run gets shorter, or its useful throughput fell and the plan's
    exposed communication plus bubble took a larger share of the step, or its goodput fell
    (more GPUs, more interruptions), or the batch went past the useful batch."""
    job = TrainingJob(shape=derive_shape(params), tokens=20 * params, gpus=8, seq_len=4096)
    counts = [n for n in 2 ** np.arange(0, 18) if n >= 8 or params < 5e9]
    prev = None
    for n in counts:
        try:
            run = plan_training_run(replace(job, gpus=int(n)), acc)
        except InputError:
            continue
        if prev is not None and run.wall_clock_days > prev.wall_clock_days * (1 + 1e-9):
            useful = run.tokens_per_s_per_gpu * n / run.batch_tokens_multiplier
            useful_prev = prev.tokens_per_s_per_gpu * (n // 2) / prev.batch_tokens_multiplier
            bd, bp = run.breakdown, prev.breakdown
            comm = (bd.exposed_comm_s + bd.bubble_s) / run.step_time_s
            comm_prev = (bp.exposed_comm_s + bp.bubble_s) / prev.step_time_s
            assert (useful < useful_prev and comm > comm_prev) or run.goodput < prev.goodput \
                or run.batch_tokens_multiplier > prev.batch_tokens_multiplier, (n, run, prev)
        prev = run


def test_past_the_useful_batch_more_gpus_do_not_shorten_the_run():
    """A 1B model: past max_useful_gpus the batch exceeds B_opt, the token multiplier grows and
    the days stop falling while the GPU-hours climb."""
    job = TrainingJob(shape=derive_shape(1e9), tokens=20e9, gpus=8, seq_len=4096)
    sw = sweep_gpus(job, H100, 2 ** np.arange(3, 15))
    assert sw.max_useful_gpus < 4096
    past = sw.gpus > 2 * sw.max_useful_gpus
    assert (sw.batch_tokens_multiplier[past] > 1).all()
    before = sw.gpus <= sw.max_useful_gpus // 2
    assert (sw.batch_tokens_multiplier[before] == 1).all()
    # doubling GPUs below the ceiling nearly halves the days; above it, by far less
    d = sw.wall_clock_days
    ratio = d[1:] / d[:-1]
    assert ratio[before[1:]].max() < 0.6
    assert ratio[past[1:]].min() > 0.75
    assert sw.gpu_hours[-1] > 3 * sw.gpu_hours[0]


def test_sweep_matches_plan():
    job = TrainingJob(shape=derive_shape(30e9), tokens=6e11, gpus=64, seq_len=4096)
    counts = [32, 64, 100, 512, 2048]
    sw = sweep_gpus(job, H100, counts)
    for i, n in enumerate(counts):
        run = plan_training_run(replace(job, gpus=n), H100)
        assert sw.fits[i]
        assert sw.wall_clock_days[i] == pytest.approx(run.wall_clock_days, rel=1e-12)
        assert sw.gpu_hours[i] == pytest.approx(run.gpu_hours, rel=1e-12)
        assert sw.predicted_mfu[i] == pytest.approx(run.predicted_mfu, rel=1e-12)
    small = sweep_gpus(job, H100, [1, 2])
    assert not small.fits.any() and np.isnan(small.gpu_hours).all()
    assert small.min_gpus_for_memory > 2


def test_moe_uses_expert_parallelism():
    shape = ModelShape(n_layers=24, d_model=2048, n_heads=16, n_kv_heads=4, ffn_dim=5632,
                       vocab=50000, n_experts=64, experts_per_token=8, expert_ffn_dim=1024)
    run = plan_training_run(TrainingJob(shape=shape, tokens=1e12, gpus=64, seq_len=4096), H100)
    assert run.layout.ep > 1


@pytest.mark.parametrize("kw, field", [(dict(tp=3), "tp"), (dict(tp=4, pp=3), "gpus"),
                                       (dict(pp=256), "pp"), (dict(cp=3), "cp")])
def test_impossible_pins_name_the_pin(kw, field):
    with pytest.raises(InputError) as err:
        job = TrainingJob(shape=derive_shape(70e9), tokens=1e12, gpus=1024, seq_len=4096, **kw)
        plan_training_run(job, H100)
    assert err.value.field == field


# -- the fast paths equal the reference computations ---------------------------------------------
def _pins(**kw):
    from estimator.training.search import Pins

    return Pins(**kw)


MOE = ModelShape(n_layers=24, d_model=2048, n_heads=16, n_kv_heads=4, ffn_dim=5632, vocab=50000,
                 n_experts=64, experts_per_token=8, expert_ffn_dim=1024, shared_experts=1,
                 first_dense_layers=1)


@pytest.mark.parametrize("shape, seq, pins, low", [
    (derive_shape(7e9), 4096, {}, 0.0), (derive_shape(70e9), 8192, {}, 1.0),
    (MOE, 4096, {}, 0.0), (derive_shape(30e9), 4096, dict(recompute=0, micro_batch=2), 0.0),
    (derive_shape(30e9), 4096, dict(virtual_stages=2, zero_stage=1), 0.0)])
def test_memory_floor_is_the_memory_count_affine_in_dp(shape, seq, pins, low):
    """The floor's ``a + b / dp`` equals memory_per_gpu of the same layout (least micro-batch,
    least-memory recompute, a full pipeline in flight) at dp = 1, 3 and 7 multiples of q_e."""
    from estimator.training.search import memory_floor

    p = _pins(**pins)
    w = work_for(shape, seq)
    rows, a, b, q_e = memory_floor(w, shape.n_layers, shape.n_heads, shape.n_experts, seq, 8,
                                   p, low)
    assert len(rows) > 10
    recs = [p.recompute] if p.recompute is not None else [0, 1, 2]
    mb = p.micro_batch or 1
    for k in (1, 3, 7):
        dp = q_e * k
        t, c, pp, v, z, e = rows.T
        mems = [memory_per_gpu(Candidates(tp=t, pp=pp, cp=c, ep=e, dp=dp, mb=np.full(len(t), mb),
                                          rec=np.full(len(t), float(r)), zero=z, v=v),
                               w, low, pp, 8.0) for r in recs]
        np.testing.assert_allclose(a + b / dp, np.min(mems, axis=0), rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(params=st.floats(3e8, 2e12), seq=st.sampled_from([2048, 8192, 32768]),
       acc=st.sampled_from(ALL), moe=st.booleans())
def test_least_gpu_count_fits_and_one_fewer_does_not(params, seq, acc, moe):
    """The closed-form least GPU count (every count up to a domain, then whole domains) is
    the least at which the plan finds a layout."""
    shape = derive_shape(params, n_experts=16, experts_per_token=2,
                         active_params=params / 4) if moe else derive_shape(params)
    job = TrainingJob(shape=shape, tokens=20 * params, gpus=1, seq_len=seq)
    try:
        plan_training_run(job, acc)
        return
    except InputError as err:
        if ">=" not in str(err.expected):
            return
        need = int(err.expected.split(">=")[1])
    run = plan_training_run(replace(job, gpus=need), acc)
    assert run.min_gpus_for_memory == need
    dom = acc.scale_up_domain_chips
    prev = need - 1 if need <= dom else need - dom
    if prev >= 1:
        with pytest.raises(InputError):
            plan_training_run(replace(job, gpus=prev), acc)


@pytest.mark.parametrize("shape, gpus, acc, prec", [
    (derive_shape(7e9), 64, H100, "bf16"), (derive_shape(70e9), 1024, H100, "fp8"),
    (MOE, 128, H100, "bf16"), (derive_shape(30e9), 256, TPU_V5P, "bf16"),
    (MOE, 64, GB200, "fp8")])
def test_factored_geometry_equals_the_per_candidate_path(shape, gpus, acc, prec):
    """The plan's grid (structures x micro-batch x recompute, geometry shared per key and per
    structure) gives every fitting candidate the step time and memory the per-candidate
    reference path (each candidate its own structure) gives it."""
    from estimator.training import run as R
    from estimator.training.model import evaluate, geometry

    job = TrainingJob(shape=shape, tokens=1e12, gpus=gpus, seq_len=4096, precision=prec)
    c = R.default_constants()
    fab = R.fabric_for(acc, prec, c.globals.fp8_gemm_gain)
    pins = R.pins_of(job, acc, c)
    w = work_for(shape, 4096)
    pr = R.prepare(job, gpus, w, fab, R.optimal_batch_tokens(w, shape, 1e12), pins)
    assert pr is not None and len(pr.cand) > 20
    coefs = R.coefs_for(acc, c)
    fast = evaluate(pr.cand, pr.m, w, fab, coefs, mem=pr.mem, geo=pr.geo)
    ref = evaluate(pr.cand, pr.m, w, fab, coefs, geo=geometry(pr.cand, w, fab.low_precision,
                                                                fab.domain))
    for f in ("step_s", "compute_s", "memory_s", "tp_s", "ep_s", "pp_s", "dp_s", "bubble_s",
              "hardware_flops"):
        np.testing.assert_allclose(getattr(fast, f), getattr(ref, f), rtol=1e-9, atol=1e-15)
    # the plan's memory is the bound with a full pipeline in flight (m = p)
    np.testing.assert_allclose(pr.mem, memory_per_gpu(pr.cand, w, fab.low_precision, pr.cand.pp,
                                                      fab.domain), rtol=1e-12)


@pytest.mark.parametrize("pins", [dict(), dict(global_batch_tokens=3e6), dict(tp=2, pp=2),
                                  dict(precision="fp8", recompute="selective")])
def test_sweep_in_one_pass_matches_plan_per_count(pins):
    """sweep_gpus evaluates every count in one pass (one grid): each count equals its own
    plan, pinned batches and degrees included; counts where nothing fits are NaN."""
    job = TrainingJob(shape=derive_shape(13e9), tokens=3e11, gpus=64, seq_len=4096, **pins)
    counts = [1, 8, 24, 64, 64, 100, 512, 4096]
    sw = sweep_gpus(job, H100, counts)
    for i, n in enumerate(counts):
        try:
            run = plan_training_run(replace(job, gpus=n), H100)
        except InputError:
            assert not sw.fits[i] and np.isnan(sw.gpu_hours[i])
            continue
        assert sw.fits[i]
        assert sw.step_time_s[i] == pytest.approx(run.step_time_s, rel=1e-12)
        assert sw.gpu_hours[i] == pytest.approx(run.gpu_hours, rel=1e-12)
        assert sw.global_batch_tokens[i] == run.global_batch_tokens
