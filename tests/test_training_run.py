"""The run around the step: batch law, goodput, checkpoints, pins, identities, errors."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, replace

import pytest
from training_hardware import A100_80, H100, MI300X, TRAINIUM2

from estimator.errors import InputError
from estimator.shape import ModelShape, derive_shape
from estimator.training import TrainingJob, default_constants, plan_training_run
from estimator.training.goodput import goodput_for
from estimator.training.model import batch_tokens_multiplier, optimal_batch_tokens, work_for

LLAMA_405B = ModelShape(n_layers=126, d_model=16384, n_heads=128, n_kv_heads=8, ffn_dim=53248,
                        vocab=128256)


def test_deepseek_batch_law_reproduces_their_batches():
    """DeepSeek LLM (arXiv:2401.02954) Table 2: 7B at 2304 x 4096 and 67B at 4608 x 4096
    tokens on 2T tokens; their law gives both within 5%."""
    ds7 = ModelShape(n_layers=30, d_model=4096, n_heads=32, n_kv_heads=32, ffn_dim=11008,
                     vocab=102400)
    ds67 = ModelShape(n_layers=95, d_model=8192, n_heads=64, n_kv_heads=8, ffn_dim=22016,
                      vocab=102400)
    for shape, batch in ((ds7, 2304 * 4096), (ds67, 4608 * 4096)):
        b = optimal_batch_tokens(work_for(shape, 4096), shape, 2e12)
        assert b == pytest.approx(batch, rel=0.05)


def test_batch_multiplier_is_mccandlish_past_the_useful_batch():
    assert batch_tokens_multiplier(1e6, 2e6) == 1.0
    assert batch_tokens_multiplier(2e6, 2e6) == 1.0
    assert batch_tokens_multiplier(6e6, 2e6) == pytest.approx((1 + 3) / 2)


def test_llama3_interruptions_and_goodput():
    """16,384 H100 for 54 days: ~466 interruptions (Llama 3 paper Table 5); Young's interval
    sqrt(2 delta MTBF); goodput near Meta's "higher than 90%" before campaign overhead."""
    g = goodput_for(16384, LLAMA_405B.total_params, 2.19e-5, 0.0)
    assert 54 * 24 / g.job_mtbf_hours == pytest.approx(466, rel=0.01)
    delta = 14 * LLAMA_405B.total_params / 2e12
    assert g.checkpoint_write_s == pytest.approx(delta)
    assert g.checkpoint_interval_s == pytest.approx(math.sqrt(2 * delta * g.job_mtbf_hours * 3600))
    assert 0.85 < g.cluster_goodput < 0.92
    assert goodput_for(16384, LLAMA_405B.total_params, 2.19e-5, 0.2).goodput == pytest.approx(
        g.cluster_goodput / 1.2)
    # more GPUs, more interruptions, lower goodput; slower storage, longer checkpoints
    assert goodput_for(2048, LLAMA_405B.total_params, 2.19e-5, 0.0).goodput > g.goodput
    slow = goodput_for(16384, LLAMA_405B.total_params, 2.19e-5, 0.0, storage_bytes_per_s=1e11)
    assert slow.checkpoint_write_s > g.checkpoint_write_s and slow.goodput < g.goodput


def test_identities_tie_hours_to_mfu_and_goodput():
    job = TrainingJob(shape=derive_shape(70e9), tokens=1.4e12, gpus=1024, seq_len=4096)
    run = plan_training_run(job, H100)
    peak = H100.peak("bf16")
    n = job.shape.active_params
    assert run.gpu_hours == pytest.approx(
        6 * n * run.tokens_trained / (peak * run.predicted_mfu * run.goodput * 3600), rel=1e-12)
    assert run.wall_clock_days == pytest.approx(run.gpu_hours / 1024 / 24, rel=1e-12)
    assert run.tokens_per_s_per_gpu == pytest.approx(
        run.global_batch_tokens / (run.step_time_s * 1024), rel=1e-12)
    assert run.breakdown.total_s == pytest.approx(run.step_time_s, rel=1e-12)
    assert run.expected_interruptions == pytest.approx(
        run.wall_clock_days * 24 / run.job_mtbf_hours, rel=1e-12)
    assert run.gpu_hours_p10 < run.gpu_hours < run.gpu_hours_p90
    with pytest.raises(FrozenInstanceError):
        run.gpu_hours = 1.0


def test_mfu_and_goodput_pins_bypass_the_model():
    job = TrainingJob(shape=derive_shape(7e9), tokens=1e12, gpus=256, seq_len=4096)
    free = plan_training_run(job, H100)
    pinned = plan_training_run(replace(job, mfu=0.4, goodput=0.9), H100)
    peak = H100.peak("bf16")
    assert pinned.predicted_mfu == pytest.approx(0.4) and pinned.goodput == 0.9
    assert pinned.mfu_pinned and pinned.goodput_pinned
    assert pinned.gpu_hours == pytest.approx(
        6 * job.shape.active_params * 1e12 / (peak * 0.4 * 0.9 * 3600), rel=1e-12)
    assert pinned.layout == free.layout  # the layout is still the model's choice
    assert pinned.breakdown.total_s == pytest.approx(pinned.step_time_s, rel=1e-12)
    only_goodput = plan_training_run(replace(job, goodput=0.5), H100)
    assert only_goodput.gpu_hours == pytest.approx(free.gpu_hours * free.goodput / 0.5)


def test_borrowed_families_warn_and_widen_the_band():
    job = TrainingJob(shape=derive_shape(7e9), tokens=1e11, gpus=64, seq_len=4096)
    hop = plan_training_run(job, H100)
    for acc in (MI300X, TRAINIUM2):
        run = plan_training_run(job, acc)
        assert run.constants_borrowed_from == "nvidia-hopper"
        assert any("borrowed from nvidia-hopper" in w for w in run.warnings)
        assert run.gpu_hours_p90_factor > hop.gpu_hours_p90_factor
    assert hop.constants_borrowed_from is None and hop.warnings == ()


def test_precision_the_chip_lacks_is_an_input_error():
    job = TrainingJob(shape=derive_shape(7e9), tokens=1e11, gpus=64, precision="fp8")
    with pytest.raises(InputError) as err:
        plan_training_run(job, A100_80)
    assert err.value.field == "precision"


@pytest.mark.parametrize("kw, field", [
    (dict(gpus=0), "gpus"), (dict(tokens=-1.0), "tokens"), (dict(seq_len=1.5), "seq_len"),
    (dict(precision="int4"), "precision"), (dict(recompute="some"), "recompute"),
    (dict(zero_stage=2), "zero_stage"), (dict(mfu=1.5), "mfu"), (dict(goodput=0.0), "goodput"),
    (dict(global_batch_tokens=100.0), "global_batch_tokens"), (dict(ep=3), "ep"),
    (dict(gpus=float("nan")), "gpus")])
def test_bad_jobs_raise_input_errors_naming_the_field(kw, field):
    shape = ModelShape(n_layers=4, d_model=256, n_heads=4, n_kv_heads=4, ffn_dim=1024,
                       n_experts=8, experts_per_token=2)
    base = dict(shape=shape, tokens=1e9, gpus=8, seq_len=1024)
    base.update(kw)
    with pytest.raises(InputError) as err:
        TrainingJob(**base)
    assert err.value.field == field


def test_scaling_efficiency_is_relative_to_one_domain():
    job = TrainingJob(shape=derive_shape(7e9), tokens=1.4e11, gpus=8, seq_len=4096)
    assert plan_training_run(job, H100).scaling_efficiency == 1.0
    big = plan_training_run(replace(job, gpus=4096), H100)
    assert 0.3 < big.scaling_efficiency < 1.0


def test_shipped_constants_cover_every_family():
    c = default_constants()
    for fam in ("nvidia-ampere", "nvidia-hopper", "nvidia-blackwell", "google-tpu",
                "google-tpu-v4", "amd-cdna", "aws-trainium"):
        fc = c.family(fam)
        assert 0 < fc.gemm_efficiency <= 1 and 0 < fc.comm_overlap < 1
        assert fc.band_log_p10 < 0 < fc.band_log_p90


def test_a_job_inside_one_domain_is_its_own_scaling_reference():
    """64 chips of a 4,096-chip TPU v5p slice, or 4 GPUs of an 8-GPU node: efficiency 1 (the
    reference would otherwise be a larger cluster at the same batch)."""
    from training_hardware import TPU_V5P

    job = TrainingJob(shape=derive_shape(7e9), tokens=1.4e11, gpus=64, seq_len=4096)
    assert plan_training_run(job, TPU_V5P).scaling_efficiency == 1.0
    assert plan_training_run(replace(job, gpus=4), H100).scaling_efficiency == 1.0
