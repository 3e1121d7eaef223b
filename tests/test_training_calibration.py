"""Calibration of the run model: the shipped constants are the fit; measured layouts and
published runs are reproduced (leave-one-out for the runs)."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pytest

from estimator.training import calibration as C
from estimator.training.reference import layout_rows


@pytest.fixture(scope="module")
def cal():
    return C.calibrate()


def test_shipped_constants_equal_the_fit(cal):
    shipped = resources.files("estimator.data").joinpath("training_constants.yaml").read_text()
    assert shipped == C.constants_yaml(cal), (
        "run `python -m estimator.training.calibration --write` and commit the file")


def test_narayanan_megatron_rows_within_15_percent(cal):
    """Narayanan et al. 2021 Tables 1-2 (PTD-P rows; the ZeRO-3 baseline is excluded, with its
    reason) reproduce within 15%."""
    rows = [(r, p) for r, p in cal.rows if r.source_id.startswith("narayanan2021")
            and r.excluded is None]
    assert len(rows) == 16
    for r, p in rows:
        assert abs(p / r.measured_tps - 1.0) < 0.15, r.source_id


def test_measured_layouts_are_reproduced(cal):
    s = C.summary(cal)
    assert s["layout_rows"] >= 200
    assert s["layout_median_abs_error"] < 0.12
    assert s["layout_rms_log"] < 0.2


def test_fp8_speedup_matches_the_dgxc_pairs(cal):
    """NVIDIA dgxc recipes, same layout in bf16 and fp8 (training_refs.md 1.7: 1.25-1.53x on
    dense models): the model's end-to-end ratio is within 12% of each measured one."""
    pred = {r.source_id: (r.measured_tps, p) for r, p in cal.rows}
    pairs = [k for k in pred if k.startswith("dgxc_") and "_fp8_" in k
             and k.replace("_fp8_", "_bf16_") in pred and "grok" not in k
             and "maverick" not in k]
    assert len(pairs) >= 15
    for k in pairs:
        m8, p8 = pred[k]
        m16, p16 = pred[k.replace("_fp8_", "_bf16_")]
        assert 1.2 < p8 / p16 < 1.6
        assert p8 / p16 == pytest.approx(m8 / m16, rel=0.12), k


def test_published_runs_leave_one_out(cal):
    """Leave-one-out on 18 published runs against issue 11's targets (docs/run_model.md):
    median |error| of GPU-hours <= 15%, worst <= 50%, >= 80% inside the P10..P90 band fitted
    without the run."""
    s = C.summary(cal)
    assert s["runs"] == 18
    assert s["median_abs_error"] <= 0.15
    assert s["worst_abs_error"] <= 0.5
    assert s["inside_band"] >= 0.8 * s["runs"]
    for r in cal.runs:
        assert math.isfinite(r.predicted_hours) and r.predicted_hours > 0
        assert r.p10_without < 1.0 < r.p90_without


def test_conformal_band_is_the_n_plus_one_rule():
    """floor(0.1 (n+1))-th and ceil(0.9 (n+1))-th smallest: with 18 residuals the extremes,
    with 29 the 3rd and the 27th."""
    xs = np.linspace(-1.0, 1.0, 18)
    assert C.conformal_band(xs[::-1]) == (xs[0], xs[-1])
    ys = np.arange(29.0)
    assert C.conformal_band(ys) == (2.0, 26.0)


def test_hours_counted_by_the_source_decide_the_comparison():
    """LLaMA-1's Table 15 converts throughput into hours (65B: 1.4T / 380 tokens/s within
    0.1%): compared with productive hours, and left out of the campaign overhead's fit."""
    from estimator.training.reference import HOURS_COMPUTE, HOURS_PAID, all_runs

    runs = {r.run: r for r in all_runs()}
    assert runs["LLaMA-65B"].hours_basis == HOURS_COMPUTE
    assert 1.4e12 / 380 / 3600 == pytest.approx(runs["LLaMA-65B"].reported_hours, rel=2e-3)
    assert runs["Llama-3.1-405B"].hours_basis == HOURS_PAID
    assert runs["PaLM-540B"].hours_basis == HOURS_PAID
    consts = C.calibrate().constants
    paid_only = [r for r in all_runs() if r.hours_basis == HOURS_PAID]
    zero = C._constants(dict(C.calibrate().theta), 0.0, {}, C.least_recompute(C.fit_rows()))
    assert C._campaign(all_runs(), zero) == pytest.approx(C._campaign(paid_only, zero))
    assert consts.globals.campaign_overhead > 0


def test_tpu_v4_is_its_own_family_and_palm_is_checked_without_it():
    """TPU v4's GEMM ceiling comes from PaLM's one layout row, its other constants and its
    failure rate from Ampere (its contemporary); every v4 row rematerialises, so the search
    does; in PaLM's leave-one-out the row is gone and the family is Ampere's throughout."""
    from estimator.training.constants import FAILURE_RATE_PER_GPU_HOUR

    c = C.calibrate().constants
    v4, amp, v5 = (c.family(f) for f in ("google-tpu-v4", "nvidia-ampere", "google-tpu"))
    assert v4.gemm_efficiency not in (amp.gemm_efficiency, v5.gemm_efficiency)
    assert v4.memory_efficiency == amp.memory_efficiency
    assert v4.least_recompute == "full" and v5.least_recompute == "none"
    assert FAILURE_RATE_PER_GPU_HOUR["google-tpu-v4"] == FAILURE_RATE_PER_GPU_HOUR["nvidia-ampere"]
    theta, _ = C.fit_step(C.fit_rows(("palm",)))
    assert ("gemm_efficiency", "google-tpu-v4") not in theta
    loo = C._constants(theta, 0.0, {}, C.least_recompute(C.fit_rows(("palm",))))
    v4_loo, amp_loo = loo.family("google-tpu-v4"), loo.family("nvidia-ampere")
    assert v4_loo.gemm_efficiency == amp_loo.gemm_efficiency
    assert loo.family("google-tpu-v4").least_recompute == "none"
    palm = [r for r in layout_rows() if r.source_id == "palm_540b"][0]
    assert palm.job.shape.total_params == pytest.approx(540.35e9, rel=1e-3)


def test_deepseek_v3_not_fitted():
    """DeepSeek-V3 (671B / 37B active, 2,048 H800, fp8, 14.8T tokens, 4,096 tokens): 2.664M
    GPU-hours of pre-training (arXiv:2412.19437 Table 1); the model within 15%."""
    from estimator.training import plan_training_run
    from estimator.training.reference import MOE_SHAPES, REFERENCE_ACCELERATORS
    from estimator.training.types import TrainingJob

    job = TrainingJob(shape=MOE_SHAPES["dsv3"], tokens=14.8e12, gpus=2048, seq_len=4096,
                      precision="fp8")
    run = plan_training_run(job, REFERENCE_ACCELERATORS["h800"], C.calibrate().constants)
    assert 2.664e6 / run.gpu_hours == pytest.approx(1.0, abs=0.15)


def test_deepseek_runs_on_h800(cal):
    """DeepSeek-V2 (MoE, 172.8K GPU-h per T tokens) and DeepSeek 67B (300.6K) within 25%
    leave-one-out."""
    got = {r.run: r for r in cal.runs}
    for name in ("DeepSeek-V2", "DeepSeek-67B"):
        assert abs(got[name].ratio - 1.0) < 0.25


def test_every_excluded_row_says_why():
    for r in layout_rows():
        assert r.excluded is None or len(r.excluded) > 20


def test_docs_tables_are_current(cal):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "run_model.md").read_text()
    assert C.markdown(cal) in doc, "regenerate with python -m estimator.training.calibration "\
                                   "--markdown and paste into docs/run_model.md"


def test_calibration_doc_carries_the_current_training_tables(cal):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "calibration.md").read_text()
    begin, end = "<!-- BEGIN TRAINING GENERATED -->\n", "\n<!-- END TRAINING GENERATED -->"
    assert doc.split(begin, 1)[1].split(end, 1)[0].strip() == C.markdown(cal).strip(), \
        "regenerate with python -m estimator.training.calibration --markdown"
