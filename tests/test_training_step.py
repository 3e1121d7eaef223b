"""The step model against hand computations, and its MoE/dense and precision limits."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from estimator.shape import ModelShape
from estimator.training import Accelerator, TrainingJob, plan_training_run
from estimator.training.constants import GLOBAL, constants_from_dict
from estimator.training.model import (
    Candidates,
    Coefs,
    Fabric,
    evaluate,
    memory_per_gpu,
    work_for,
)

# A toy chip and toy constants, so every number below is computed by hand.
TOY = Accelerator(id="toy", family="nvidia-hopper", peak_flops_per_s={"bf16": 100e12},
                  memory_bytes=80e9, memory_bandwidth_bytes_per_s=1e12,
                  scale_up_domain_chips=8, scale_up_bytes_per_s=100e9,
                  scale_out_bytes_per_s=10e9)
E_MAX, W0, MEM_EFF, COMM_EFF, OVERLAP = 0.5, 100.0, 0.8, 0.7, 0.5


def toy_constants(**glob):
    fam = dict(gemm_efficiency=E_MAX, gemm_half_width=W0, memory_efficiency=MEM_EFF,
               comm_efficiency=COMM_EFF, comm_overlap=OVERLAP, band_log_p10=-0.1,
               band_log_p90=0.1)
    g = dict(fp8_gemm_gain=0.5, moe_load_imbalance=1.0, campaign_overhead=0.0,
             batch_practice_fraction=1.0)
    g.update(glob)
    return constants_from_dict({"global": g, "families": {
        f: dict(fam) for f in ("nvidia-ampere", "nvidia-hopper", "nvidia-blackwell",
                               "google-tpu", "google-tpu-v4")}})


SMALL = ModelShape(n_layers=2, d_model=256, n_heads=4, n_kv_heads=4, ffn_dim=1024, vocab=1000,
                   gated_mlp=False)


def _gemm(M, N, K, peak=100e12):
    eff = E_MAX / (1.0 + W0 * (1 / M + 1 / N + 1 / K))
    return max(2 * M * N * K / (peak * eff), (2 * (M * K + K * N) + 2 * M * N) / (1e12 * MEM_EFF))


def test_one_gpu_step_equals_the_hand_computation():
    """One GPU, one sequence of 128 tokens: matrix multiplies, attention, memory-bound work and
    the optimizer, each written out from the formulas in estimator.training.model."""
    job = TrainingJob(shape=SMALL, tokens=1e9, gpus=1, seq_len=128, tp=1, pp=1, cp=1,
                      micro_batch=1, recompute="none", zero_stage=1, global_batch_tokens=128)
    run = plan_training_run(job, TOY, toy_constants())
    T, d, f, V, s, L = 128, 256, 1024, 1000, 128, 2
    gemm_fwd = _gemm(T, 3 * d, d) + _gemm(T, d, d) + _gemm(T, f, d) + _gemm(T, d, f)
    core_flops = 4 * T * (s / 2) * d  # causal: each token sees s/2 keys on average
    core = core_flops / (100e12 * E_MAX / (1 + W0 * (1 / T + 1 / s + 1 / 64)))
    compute = L * (3 * gemm_fwd + 3.5 * core) + 3 * _gemm(T, V, d)
    layer_bytes = T * (20 * d + 4 * (d + d)) + T * 4 * f  # norms, residual, rotary, GeLU
    head_bytes = T * V * GLOBAL.loss_bytes_per_logit + T * d * 6
    memory = (L * 3 * layer_bytes + 3 * head_bytes) / (1e12 * MEM_EFF)
    optimizer = GLOBAL.optimizer_bytes_per_param * SMALL.total_params / (1e12 * MEM_EFF)
    assert run.breakdown.compute_s == pytest.approx(compute, rel=1e-12)
    assert run.breakdown.memory_bound_s == pytest.approx(memory, rel=1e-12)
    assert run.breakdown.optimizer_s == pytest.approx(optimizer, rel=1e-12)
    assert run.breakdown.exposed_comm_s == 0.0 and run.breakdown.bubble_s == 0.0
    assert run.step_time_s == pytest.approx(compute + memory + optimizer, rel=1e-12)
    assert run.tokens_per_s_per_gpu == pytest.approx(128 / run.step_time_s, rel=1e-12)


def test_tensor_parallel_collectives_equal_the_hand_computation():
    """tp = 2 inside the domain: 8 all-gathers/reduce-scatters per layer of (t-1)/t T d bf16
    values at the scale-up link, overlapped up to the layer's multiplies."""
    job = TrainingJob(shape=SMALL, tokens=1e9, gpus=2, seq_len=128, tp=2, pp=1, cp=1,
                      micro_batch=1, recompute="none", zero_stage=1, global_batch_tokens=128)
    run = plan_training_run(job, TOY, toy_constants())
    T, d, f = 128, 256, 1024
    per_coll = 0.5 * T * d * 2 / (100e9 * COMM_EFF) + GLOBAL.collective_latency_up_s
    raw = 2 * 8 * per_coll
    window = 2 * 3 * (_gemm(T, 3 * d / 2, d) + _gemm(T, d, d / 2) + _gemm(T, f / 2, d)
                      + _gemm(T, d, f / 2))
    assert run.breakdown.exposed_tp_s == pytest.approx(raw - min(OVERLAP * raw, window),
                                                       rel=1e-12)


def test_full_recompute_adds_a_forward():
    """Full recompute re-runs each layer's forward: multiply time x 4/3 exactly (Korthikanti
    et al. 2022: +33% FLOPs)."""
    base = TrainingJob(shape=SMALL, tokens=1e9, gpus=1, seq_len=128, tp=1, pp=1, cp=1,
                       micro_batch=1, zero_stage=1, global_batch_tokens=128)
    c = toy_constants()
    none = plan_training_run(replace(base, recompute="none"), TOY, c)
    full = plan_training_run(replace(base, recompute="full"), TOY, c)
    T, d, f, V = 128, 256, 1024, 1000
    head = 3 * _gemm(T, V, d)
    layers_none = none.breakdown.compute_s - head
    layers_full = full.breakdown.compute_s - head
    gemm_fwd = _gemm(T, 3 * d, d) + _gemm(T, d, d) + _gemm(T, f, d) + _gemm(T, d, f)
    core = layers_none / 2 - 3 * gemm_fwd  # 3.5 x attention core per layer
    assert layers_full == pytest.approx(layers_none + 2 * (gemm_fwd + core / 3.5), rel=1e-12)
    assert full.memory_per_gpu_bytes < none.memory_per_gpu_bytes


def _moe_as_dense_work(shape):
    w = work_for(shape, 512)
    return replace(w, L_moe=w.L, L_dense=0.0, is_moe=1.0, E=1.0, k=1.0, S=0.0, fe=w.f,
                   params_expert=0.0)


def test_dense_is_the_one_expert_case_exactly():
    """A mixture-of-experts layer with one expert, top-1, no shared expert runs the same
    multiplies, memory-bound work and memory as a dense layer (no router, no permutation)."""
    shape = ModelShape(n_layers=4, d_model=512, n_heads=8, n_kv_heads=8, ffn_dim=2048,
                       vocab=2000)
    dense = work_for(shape, 512)
    moe = _moe_as_dense_work(shape)
    one = np.ones(3)
    cd = Candidates(tp=one, pp=np.array([1.0, 2.0, 1.0]), cp=one, ep=one,
                    dp=np.array([4.0, 2.0, 4.0]), mb=np.array([1.0, 2.0, 4.0]),
                    rec=np.array([0.0, 1.0, 2.0]), zero=np.array([1.0, 1.0, 3.0]), v=one)
    fab = Fabric(peak_bf16=989.5e12, gemm_gain=1.0, low_precision=0.0, hbm_bytes_per_s=3.35e12,
                 capacity_bytes=76e9, domain=8.0, up_bytes_per_s=450e9, out_bytes_per_s=50e9)
    coefs = Coefs(gemm_eff=0.65, w0=140.0, mem_eff=0.7, comm_eff=0.7, overlap=0.5,
                  imbalance=1.0)
    m = np.array([4.0, 4.0, 2.0])
    a = evaluate(cd, m, dense, fab, coefs)
    b = evaluate(cd, m, moe, fab, coefs)
    for field in ("step_s", "compute_s", "memory_s", "dp_s", "bubble_s", "hardware_flops"):
        np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=1e-12)
    np.testing.assert_allclose(memory_per_gpu(cd, moe, 0.0, m), memory_per_gpu(cd, dense, 0.0, m),
                               rtol=1e-12)
    # and at the shape level a one-expert model is dense
    assert not replace(shape, n_experts=1, experts_per_token=1).is_moe


def test_moe_flops_follow_the_active_experts():
    """Doubling the routed experts (same top-k) adds only the router's FLOPs (3 x 2 T d dE per
    layer) and raises memory (every expert's weights and optimizer state are held)."""
    base = dict(n_layers=8, d_model=1024, n_heads=8, n_kv_heads=8, ffn_dim=4096, vocab=8000,
                expert_ffn_dim=1024, experts_per_token=2)
    s8, s16 = ModelShape(n_experts=8, **base), ModelShape(n_experts=16, **base)
    c = toy_constants()
    acc = replace(TOY, memory_bytes=1e12)
    runs = [plan_training_run(TrainingJob(shape=s, tokens=1e9, gpus=8, seq_len=1024, tp=1,
                                          pp=1, cp=1, ep=8, micro_batch=1, recompute="none",
                                          zero_stage=1, global_batch_tokens=8 * 1024), acc, c)
            for s in (s8, s16)]
    flops = [r.hardware_flops_utilization * r.step_time_s * 100e12 for r in runs]
    router = 8 * 3 * 2 * 1024 * 1024 * (16 - 8)
    assert flops[1] - flops[0] == pytest.approx(router, rel=1e-6)
    assert runs[1].memory_per_gpu_bytes > runs[0].memory_per_gpu_bytes


def test_fp8_speedup_is_the_fitted_gemm_gain_not_the_peak_ratio():
    """fp8 linear layers run 1 + gain (peak_fp8 / peak_bf16 - 1) faster; end to end the
    speed-up is below that, and the plan warns."""
    from estimator.training.run import gemm_gain

    c = toy_constants(fp8_gemm_gain=0.5)
    acc = replace(TOY, peak_flops_per_s={"bf16": 100e12, "fp8": 200e12})
    assert gemm_gain(acc, "fp8", 0.5) == pytest.approx(1.5)
    job = TrainingJob(shape=SMALL, tokens=1e9, gpus=1, seq_len=128, tp=1, pp=1, cp=1,
                      micro_batch=1, recompute="none", zero_stage=1, global_batch_tokens=128)
    b16 = plan_training_run(job, acc, c)
    b8 = plan_training_run(replace(job, precision="fp8"), acc, c)
    speedup = b8.tokens_per_s_per_gpu / b16.tokens_per_s_per_gpu
    assert 1.0 < speedup < 1.5
    assert any("does not give 2x" in w for w in b8.warnings)
    # MFU of an fp8 run is against the fp8 peak (what --mfu means at that precision)
    assert b8.predicted_mfu == pytest.approx(
        6 * SMALL.active_params * b8.tokens_per_s_per_gpu / 200e12, rel=1e-12)


def test_causal_attention_counts_half_the_square():
    w = work_for(SMALL, 2048)
    assert w.core_flops == pytest.approx(4 * 2048 * SMALL.q_dim / 2)
    assert math.isclose(work_for(SMALL, 4096).core_flops, 2 * w.core_flops)
