"""Mixtures of experts through the whole engine: inputs and their validation, the shape the
counts imply, training memory against a hand count, the dense case as E = 1, and published
MoE runs planned from a scenario (no shape given) within 25%."""

from __future__ import annotations

import json

import numpy as np
import pytest

from estimator.cli import main
from estimator.engine import estimate
from estimator.errors import InputError
from estimator.scenario import Scenario
from estimator.shape import ModelShape, derive_shape
from estimator.training.model import memory_parts, work_for

#: Mixtral 8x7B (Jiang et al. 2024, arXiv:2401.04088 Table 1): 32 layers, width 4096, 32
#: query heads and 8 KV heads of 128, expert width 14336, 8 experts top-2, vocabulary 32000.
MIXTRAL = ModelShape(n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, ffn_dim=14336,
                     vocab=32000, n_experts=8, experts_per_token=2)

# Hand count of Mixtral's weights.
_EMB = 2 * 32000 * 4096                        # input embedding and untied head
_ATTN = 2 * 4096 * 4096 + 2 * 4096 * 1024      # Q and O; K and V of 8 heads of 128
_EXPERT = 3 * 4096 * 14336                     # gated MLP: up, gate, down
_ROUTER = 4096 * 8
_NORMS = 2 * 4096
MIXTRAL_TOTAL = 32 * (_ATTN + 8 * _EXPERT + _ROUTER + _NORMS) + _EMB + 4096
MIXTRAL_ACTIVE = 32 * (_ATTN + 2 * _EXPERT + _ROUTER + _NORMS) + _EMB + 4096


def test_mixtral_counts_match_a_hand_count():
    assert MIXTRAL_TOTAL == 46_702_792_704  # the 46.7B of the model card
    assert MIXTRAL.total_params == MIXTRAL_TOTAL
    assert MIXTRAL.active_params == MIXTRAL_ACTIVE
    assert MIXTRAL_ACTIVE == pytest.approx(12.9e9, rel=2e-3)


def test_mixtral_training_state_per_gpu_matches_a_hand_count():
    """64 GPUs as TP1 PP1 EP8 DP64, ZeRO-1, bf16: each GPU holds the non-expert weights and
    one eighth of the experts in bf16 with their bf16 gradients (4 B per parameter), and its
    share of the fp32 master weights and Adam moments (12 B per parameter) over the ranks that
    replicate them: 64 for the dense part, 64 / 8 = 8 for each expert. fp8 adds a 1-byte copy of
    every local weight."""
    w = work_for(MIXTRAL, 4096)
    experts = 32 * 8 * _EXPERT
    dense = MIXTRAL_TOTAL - experts
    assert w.params_expert == experts and w.params_dense == dense
    one = np.array([1.0])

    def state(low):
        s, _ = memory_parts(one, one, one, np.array([8.0]), np.array([64.0]), one, one,
                            np.array([1.0]), w, low)
        return float(np.ravel(s)[0])

    hand = dense * (4 + 12 / 64) + experts / 8 * (4 + 12 / 8)
    assert state(0.0) == pytest.approx(hand, rel=1e-12)
    assert hand / 1e9 == pytest.approx(37.73, abs=0.01)
    assert state(1.0) - state(0.0) == pytest.approx(dense + experts / 8, rel=1e-12)


def test_total_and_active_counts_fix_the_shape():
    """Given total and active counts, the derived shape holds both (attention and embeddings
    set the width; the experts' width follows from the difference)."""
    for total, active, e, k, sh in [(671e9, 37e9, 256, 8, 1), (46.7e9, 12.9e9, 8, 2, 0),
                                    (236e9, 21e9, 160, 6, 2)]:
        s = derive_shape(total, n_experts=e, experts_per_token=k, shared_experts=sh,
                         active_params=active)
        assert s.total_params == pytest.approx(total, rel=0.01)
        assert s.active_params == pytest.approx(active, rel=0.01)


def test_counts_no_shape_can_hold_name_the_field():
    """8 of 8 x 7 B-sized experts cannot be active in 2 B: the error names the field."""
    with pytest.raises(InputError) as exc:
        derive_shape(100e9, n_experts=8, experts_per_token=2, active_params=2e9)
    assert exc.value.field == "active_params"
    s = Scenario(mode="model", params=100e9, active_params=2e9, n_experts=8,
                 experts_per_token=2, tokens=1e12)
    with pytest.raises(InputError) as exc:
        estimate(s, with_uncertainty=False)
    assert exc.value.field == "active_params"


@pytest.mark.parametrize("fields, field", [
    (dict(mode="model", tokens=1e12,
          params=10e9, active_params=20e9, n_experts=8, experts_per_token=2),
     "active_params"),
    (dict(mode="model", tokens=1e12,
          params=10e9, active_params=2e9, n_experts=8, experts_per_token=9),
     "experts_per_token"),
    (dict(mode="model", tokens=1e12,
          params=10e9, n_experts=8, experts_per_token=2), "active_params"),
    (dict(mode="model", tokens=1e12,
          params=10e9, active_params=2e9), "active_params"),
    (dict(mode="loss", target_loss=2.2, params=10e9, n_experts=8, experts_per_token=2),
     "params"),
    (dict(mode="model", tokens=1e12,
          params=10e9, active_params=2e9, n_experts=8), "experts_per_token"),
])
def test_inconsistent_counts_are_refused_with_the_field(fields, field):
    with pytest.raises(InputError) as exc:
        Scenario(**fields).validated()
    assert exc.value.field == field


def test_cli_names_the_flag(capsys):
    code = main(["estimate", "--params", "10e9", "--active-params", "20e9", "--experts", "8",
                 "--experts-per-token", "2", "--tokens", "1e12"])
    err = capsys.readouterr().err
    assert code != 0 and "--active-params" in err and "Traceback" not in err


def _numbers(est) -> dict:
    d = est.to_dict()
    d.pop("inputs")
    return d


def test_dense_is_the_one_expert_case_through_the_engine():
    """E = 1, K = 1 is the dense model: every number of the estimate within 1e-9."""
    for base in (dict(mode="model", params=7e9, tokens=2e12, gpus=256),
                 dict(mode="loss", target_loss=2.1, gpus=512, inference_tokens_per_day=1e11)):
        a = _numbers(estimate(Scenario(**base), with_uncertainty=False))
        b = _numbers(estimate(Scenario(**base, n_experts=1, experts_per_token=1),
                              with_uncertainty=False))
        assert a.keys() == b.keys()
        for key, va in a.items():
            if isinstance(va, float):
                assert b[key] == pytest.approx(va, rel=1e-9, abs=1e-300), key
            else:
                assert b[key] == va, key


def test_given_moe_model_keeps_its_total_and_plans_on_its_active_size():
    s = Scenario(mode="model", params=236e9, active_params=21e9, n_experts=160,
                 experts_per_token=6, shared_experts=2, tokens=1e12, hardware="h800",
                 gpus=1024)
    est = estimate(s, with_uncertainty=False)
    assert est.total_params == 236e9
    assert est.params == 21e9
    assert est.train_flops_6nd == pytest.approx(6 * 21e9 * 1e12, rel=1e-12)
    d = est.to_dict()
    assert d["total_params"] == 236e9 and d["params"] == 21e9


def test_planned_moe_splits_the_dense_mlp_into_experts():
    """In loss mode the law's N is the active size; the plan's shape has E experts of which
    K + S are active, so its active count is the plan's and its total several times more."""
    s = Scenario(mode="loss", target_loss=2.2, n_experts=64, experts_per_token=6,
                 shared_experts=2, law="ludziejewski-2025", gpus=1024)
    est = estimate(s, with_uncertainty=False)
    shape = est.plan.model_shape
    assert shape.n_experts == 64 and shape.experts_per_token == 6
    assert shape.active_params == pytest.approx(est.params, rel=0.03)
    assert est.total_params > 4 * est.params
    assert est.total_params == pytest.approx(
        shape.total_params * est.params / shape.active_params, rel=1e-12)


@pytest.mark.parametrize("fields, published_gpu_hours, source", [
    # DeepSeek-V3 (arXiv:2412.19437 Table 1): 2.664M H800 GPU-hours of pre-training on 14.8T
    # tokens, 2,048 GPUs, fp8 mixed precision.
    (dict(params=671e9, active_params=37e9, n_experts=256, experts_per_token=8,
          shared_experts=1, tokens=14.8e12, gpus=2048, precision="fp8"), 2.664e6, "DeepSeek-V3"),
    # DeepSeek-V2 (arXiv:2405.04434 Sec. 3.2.3): 172.8K H800 GPU-hours per trillion tokens;
    # GPU count not published (1,024 assumed), bf16.
    (dict(params=236e9, active_params=21e9, n_experts=160, experts_per_token=6,
          shared_experts=2, tokens=1e12, gpus=1024), 172.8e3, "DeepSeek-V2"),
])
def test_published_moe_runs_from_a_scenario_within_25_percent(fields, published_gpu_hours,
                                                               source):
    """From a scenario alone (counts, tokens, GPUs; the shape derived), GPU-hours within 25%."""
    est = estimate(Scenario(mode="model", hardware="h800", **fields), with_uncertainty=False)
    assert est.gpu_hours / published_gpu_hours == pytest.approx(1.0, abs=0.25), source


def test_report_and_json_show_total_and_active(capsys, tmp_path):
    args = ["estimate", "--params", "46.7e9", "--active-params", "12.9e9", "--experts", "8",
            "--experts-per-token", "2", "--tokens", "2e12", "--gpus", "256"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Active parameters" in out and "Total parameters" in out
    assert "46.7 B" in out and "12.9 B" in out
    assert main(args + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["total_params"] == 46.7e9 and d["params"] == 12.9e9
    assert d["inputs"]["n_experts"] == 8
