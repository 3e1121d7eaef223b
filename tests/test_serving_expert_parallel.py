"""A mixture of experts served across several scale-up domains (expert parallelism with
data-parallel attention groups): the formulas of estimator/serving/roofline.py checked by hand
on a toy shape, the single-domain case unchanged, and the DeepSeek-V3-sized case end to end."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from estimator.engine import estimate
from estimator.errors import InputError
from estimator.scenario import Scenario
from estimator.serving import RequestMix, ServingAccelerator, ServingConstants, plan_serving
from estimator.serving.plan import sweep_batch
from estimator.serving.precision import resolve_precision
from estimator.serving.roofline import ALL_TO_ALL_BYTES, ModelCounts, evaluate
from estimator.shape import ModelShape

# 2 chips per domain, 1 GB each: a toy chip on which the toy MoE does not fit in one domain
CHIP = ServingAccelerator("toy", "nvidia-hopper", {"bf16": 1e12}, 1e9, 1e11, 2, 1e10,
                          scale_out_bytes_per_s=1e9)
IDEAL = ServingConstants("nvidia-hopper", hbm_efficiency=1.0, compute_efficiency=1.0,
                         step_overhead_s=0.0, allreduce_latency_s=1e-5, link_efficiency=1.0,
                         kv_memory_fraction=1.0, runtime_reserve_bytes=0.0,
                         runtime_reserve_fraction=0.0)
TOY = ModelShape(n_layers=2, d_model=256, n_heads=4, n_kv_heads=2, ffn_dim=512, vocab=1000,
                 head_dim=64, n_experts=160, experts_per_token=2, expert_ffn_dim=4096)


def test_decode_step_and_memory_by_hand():
    """T = 1 chip per attention group, G = 4 groups: N = 4 chips over 2 domains."""
    c = ModelCounts.from_shape(TOY)
    prec = resolve_precision(CHIP, "bf16", "bf16")
    mix = RequestMix(100, 11)
    T, G, N, b = 1.0, 4.0, 4.0, 8.0
    ev = evaluate(c, CHIP, IDEAL, prec, mix, T, b, with_shares=False, groups=G)
    L, d, K, E = 2, 256, 2, 160
    dense_bytes = c.always_params * 2 + 1000 * 256 * 2
    expert_bytes = c.routed_params * 2
    # memory: each group holds the dense part (and the input embedding), the experts split 4 ways
    per_chip = (dense_bytes + c.input_embedding_params * 2) / T + expert_bytes / N
    assert float(ev.weights_bytes_per_chip) == pytest.approx(per_chip, rel=1e-12)
    # decode step: each group reads its dense copy, b/G sequences per group
    ctx = 100 + 11 / 2
    kv_tok = L * 2 * 64 * 2 * 2          # 2 KV heads of 64, K and V, 2 bytes (T=1: no sharding)
    routed_active = c.routed_params * K / E
    dense_t = max(dense_bytes / 1e11, (b / G) * 2 * (c.matmul_params - routed_active) / 1e12)
    touched = 1 - (1 - K / E) ** b
    expert_t = max(expert_bytes * touched / (N * 1e11), b * 2 * routed_active / (N * 1e12))
    attn_t = (b / G) * max(ctx * kv_tok / 1e11, 4 * ctx * 256 * L / 1e12)
    # all-to-all: 2 domains -> each token goes to the other domain with prob 1-(1/2)^2 = 3/4;
    # inside its domain to the other group (1 of 4 chips) for each of its K experts
    off, inside = (2 - 1) * (1 - 0.5**K), K * (2 - 1) / 4
    a2a_per_chip = L * d * ALL_TO_ALL_BYTES * (off / 1e9 + inside / 1e10)
    comm = 2 * L * 1e-5 + b * a2a_per_chip / N
    assert float(ev.decode_step_s) == pytest.approx(dense_t + expert_t + attn_t + comm, rel=1e-12)
    # throughput per chip counts all N chips
    turn = b * float(ev.prefill_s) + 10 * float(ev.decode_step_s)
    assert float(ev.output_tokens_per_s_per_chip) == pytest.approx(b * 11 / (turn * N), rel=1e-12)


def test_one_group_is_the_single_domain_model():
    c = ModelCounts.from_shape(TOY)
    prec = resolve_precision(CHIP, "bf16", "bf16")
    mix = RequestMix(300, 40)
    a = evaluate(c, CHIP, IDEAL, prec, mix, 2.0, 5.0)
    b = evaluate(c, CHIP, IDEAL, prec, mix, 2.0, 5.0, groups=1.0)
    for name in ("decode_step_s", "prefill_s", "prefill_alone_s", "output_tokens_per_s_per_chip",
                 "ttft_s", "kv_capacity_batch", "weights_bytes_per_chip"):
        assert float(getattr(a, name)) == float(getattr(b, name))


def test_a_moe_too_big_for_a_domain_is_served_across_domains():
    p = plan_serving(TOY, CHIP, RequestMix(100, 11), constants=IDEAL)
    assert p.chips_per_replica > CHIP.scale_up_domain_chips
    assert p.chips_per_replica == p.tensor_parallel * p.attention_groups
    assert any("scale-up domains" in w for w in p.warnings)
    # no scale-out network known: the same model fits nowhere, and says so
    with pytest.raises(InputError) as e:
        plan_serving(TOY, replace(CHIP, scale_out_bytes_per_s=0.0), RequestMix(100, 11),
                     constants=IDEAL)
    assert e.value.hint and "scale-up domain" in e.value.hint


def test_pinned_multi_domain_replica_and_bad_pins():
    p = plan_serving(TOY, CHIP, RequestMix(100, 11), constants=IDEAL, chips_per_replica=8)
    assert p.chips_per_replica == 8 and p.attention_groups * p.tensor_parallel == 8
    with pytest.raises(InputError) as e:
        plan_serving(TOY, CHIP, RequestMix(100, 11), constants=IDEAL, chips_per_replica=3)
    assert e.value.field == "chips_per_replica" and "whole domains" in str(e.value)
    sweep = sweep_batch(TOY, CHIP, RequestMix(100, 11), constants=IDEAL, chips_per_replica=8)
    assert sweep.chips_per_replica == 8 and sweep.fits.any()


def test_dense_model_too_big_for_a_domain_still_fits_nowhere():
    dense = ModelShape(n_layers=2, d_model=256, n_heads=4, n_kv_heads=2, ffn_dim=400_000,
                       vocab=1000, head_dim=64)
    with pytest.raises(InputError) as e:
        plan_serving(dense, CHIP, RequestMix(100, 11), constants=IDEAL)
    assert "pipeline parallelism across domains is not modelled" in e.value.hint


def test_deepseek_v3_on_h800_is_served_across_nodes():
    """671 B total / 37 B active does not fit on one 8 x 80 GB H800 node in fp8 (671 GB of
    weights): the replica spans nodes, and the estimate has a serving cost."""
    s = Scenario(mode="model", params=671e9, active_params=37e9, n_experts=256,
                 experts_per_token=8, shared_experts=1, tokens=14.8e12, hardware="h800",
                 gpus=2048, precision="fp8", inference_precision="fp8", n_layers=61,
                 d_model=7168, n_heads=128)
    e = estimate(s, with_uncertainty=False)
    p = e.serving.plan
    assert p is not None and p.chips_per_replica >= 16 and p.chips_per_replica % 8 == 0
    assert math.isfinite(e.cost_per_million_output_tokens_usd)
    assert e.cost_per_million_output_tokens_usd > 0 and e.lifetime_inference_cost_usd > 0
