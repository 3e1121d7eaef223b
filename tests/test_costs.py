"""Cost model formulas checked against hand computations."""

import math

import numpy as np
import pytest

from estimator import costs
from estimator.errors import InputError


def test_gpu_hours_cost_days_energy_by_hand():
    flops = 6 * 70e9 * 1.4e12  # 5.88e23
    peak = 989.5e12
    hours = costs.gpu_hours(flops, peak, 0.4, 0.9)
    assert hours == pytest.approx(5.88e23 / (989.5e12 * 0.4 * 0.9 * 3600), rel=1e-12)
    assert costs.wall_clock_days(hours, 1024) == pytest.approx(hours / 1024 / 24)
    assert costs.energy_mwh(hours, 700, 1.2) == pytest.approx(hours * 700 * 1.2 / 1e6)


def test_attention_flops_ratio_kaplan_eq_2_2():
    shape = costs.ModelShape(n_layers=80, d_model=8192, n_heads=64)
    n = shape.non_embedding_params
    assert n == 12 * 80 * 8192**2
    # (6N + 6 n_layer n_ctx d_model) / 6N
    assert costs.attention_flops_ratio(n, shape, 2048) == pytest.approx(1 + 80 * 2048 * 8192 / n)
    # Hoffmann et al. Table A4 reports 6ND within ~10% of the exact count at these sizes
    assert 1.0 < costs.attention_flops_ratio(n, shape, 2048) < 1.1


def test_shape_for_params_is_consistent():
    shape = costs.shape_for_params(70e9)
    assert shape.non_embedding_params == pytest.approx(70e9, rel=0.05)
    assert 60 <= shape.n_layers <= 100
    with pytest.raises(InputError):
        costs.shape_for_params(-1)


def test_activation_memory_korthikanti():
    shape = costs.ModelShape(n_layers=10, d_model=1024, n_heads=8)
    s, b, h, a, L = 2048, 2, 1024, 8, 10
    none = costs.activation_bytes_per_gpu(shape, s, b, "none")
    assert none == pytest.approx(L * s * b * h * (34 + 5 * a * s / h))
    assert costs.activation_bytes_per_gpu(shape, s, b, "selective") == pytest.approx(
        34 * L * s * b * h
    )
    full = costs.activation_bytes_per_gpu(shape, s, b, "full")
    assert full == pytest.approx(2 * L * s * b * h + s * b * h * (34 + 5 * a * s / h))
    assert costs.activation_bytes_per_gpu(shape, s, b, "full", tensor_parallel=4) == pytest.approx(
        full / 4
    )
    with pytest.raises(InputError, match="recompute"):
        costs.activation_bytes_per_gpu(shape, s, b, "sometimes")


def test_min_gpus_for_memory_16_bytes_per_param():
    # 70e9 params x 16 B = 1120 GB; 80 GB x 0.9 = 72 GB usable, less 2 GB activations = 70 GB
    assert costs.min_gpus_for_memory(70e9, 80, 2e9) == math.ceil(1120e9 / 70e9)
    assert costs.min_gpus_for_memory(1e6, 80, 0) == 1
    with pytest.raises(InputError, match="micro-batch"):
        costs.min_gpus_for_memory(70e9, 80, 100e9)


def test_decode_throughput_memory_and_compute_bounds():
    n = 7e9
    shape = costs.ModelShape(n_layers=32, d_model=4096, n_heads=32, kv_head_fraction=0.25)
    kv = 2 * 32 * 4096 * 0.25 * 2
    dec = costs.decode_throughput(
        n,
        peak_flops_per_s=989.5e12,
        memory_bandwidth_tb_per_s=3.35,
        memory_gb=80,
        utilization=0.5,
        batch=8,
        context_tokens=1000,
        shape=shape,
    )
    step = 2 * n + 8 * 1000 * kv
    assert dec.kv_bytes_per_token == pytest.approx(kv)
    assert dec.memory_bound_tokens_per_s == pytest.approx(8 * 3.35e12 * 0.5 / step)
    assert dec.compute_bound_tokens_per_s == pytest.approx(989.5e12 * 0.5 / (2 * n))
    assert dec.bound == "memory"
    assert dec.tokens_per_s_per_chip == pytest.approx(dec.memory_bound_tokens_per_s)
    # a huge batch makes decode compute-bound only if KV traffic stays small: tiny context
    big = costs.decode_throughput(
        n,
        peak_flops_per_s=989.5e12,
        memory_bandwidth_tb_per_s=3.35,
        memory_gb=80,
        utilization=0.5,
        batch=4096,
        context_tokens=1,
        shape=shape,
    )
    assert big.bound == "compute"
    # fp8 weights halve weight bytes
    fp8 = costs.decode_throughput(
        n,
        peak_flops_per_s=1979e12,
        memory_bandwidth_tb_per_s=3.35,
        memory_gb=80,
        utilization=0.5,
        batch=1,
        context_tokens=1,
        weight_precision="fp8",
        shape=shape,
    )
    assert fp8.weight_bytes == pytest.approx(n)
    # a 400B model in bf16 needs several 80 GB chips
    large = costs.decode_throughput(
        400e9,
        peak_flops_per_s=989.5e12,
        memory_bandwidth_tb_per_s=3.35,
        memory_gb=80,
        utilization=0.5,
    )
    assert large.chips_per_replica >= math.ceil(800e9 / 72e9)


def test_decode_vectorised_matches_scalar():
    ns = np.array([1e9, 1e10, 1e11])
    kw = dict(
        peak_flops_per_s=989.5e12, memory_bandwidth_tb_per_s=3.35, memory_gb=80, utilization=0.5
    )
    vec = costs.decode_throughput(ns, **kw).tokens_per_s_per_chip
    for i, n in enumerate(ns):
        assert vec[i] == pytest.approx(
            costs.decode_throughput(float(n), **kw).tokens_per_s_per_chip
        )


def test_cost_per_million_tokens():
    # $2.50/h at 1000 tokens/s: 3.6 M tokens per hour -> $0.694 per M
    assert costs.cost_per_million_tokens(2.5, 1000) == pytest.approx(2.5 / 3.6)
