"""Calibration of the run model: the shipped constants are the fit; measured layouts and
published runs are reproduced (leave-one-out for the runs)."""

from __future__ import annotations

import math
from importlib import resources

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
    """Leave-one-out on 18 published runs (regression guard of docs/run_model.md)."""
    s = C.summary(cal)
    assert s["runs"] == 18
    assert s["median_abs_error"] < 0.2
    assert s["inside_band"] >= 13
    for r in cal.runs:
        assert 0.5 < r.ratio < 2.0, r.run
        assert math.isfinite(r.predicted_hours) and r.predicted_hours > 0


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
