"""Calibration of the serving constants (estimator.serving.calibration): data, fit, LOO, doc."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest

from estimator.serving import calibration as cal
from estimator.serving import constants as shipped
from estimator.serving.inputs import FAMILIES

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_CSV = ROOT.parent / "shared" / "reference" / "serving_measurements.csv"
DATA = ROOT / "estimator" / "data"


def test_csv_is_a_verbatim_copy_of_the_reference():
    if not REFERENCE_CSV.exists():
        pytest.skip("reference folder not present")
    assert (DATA / "serving_measurements.csv").read_bytes() == REFERENCE_CSV.read_bytes()


def test_every_row_is_fitted_validated_or_excluded_with_a_reason():
    rows = list(csv.DictReader(io.StringIO((DATA / "serving_measurements.csv").read_text())))
    used = {m.source_id for m in cal.measurements()}
    excluded = dict(cal.excluded())
    assert used | set(excluded) == {r["source_id"] for r in rows}
    assert not used & set(excluded)
    assert all(len(reason) > 15 for reason in excluded.values())
    # superseded MLPerf rounds are dropped, the newest kept
    assert "MLP41-H100x8-L2-O" in excluded and "MLP50-H100x8-L2-O" in used
    # the fitted quantity is output tokens/s per chip everywhere
    for m in cal.measurements():
        if m.use == "fit":
            assert m.quantity == "output_tps_per_chip"
            row = next(r for r in rows if r["source_id"] == m.source_id)
            assert m.measured == pytest.approx(float(row["output_tokens_per_s_per_chip"]))


def test_fit_families_and_borrowers_cover_every_family():
    fitted = set(cal.fitted_families())
    assert fitted == {"nvidia-ampere", "nvidia-hopper", "nvidia-blackwell", "amd-cdna"}
    assert fitted | set(cal.BORROWED) == set(FAMILIES)
    for lender, reason in cal.BORROWED.values():
        assert lender in fitted and reason


def test_shipped_constants_equal_the_fit():
    table = shipped.load_constants()
    for fam, k in cal.fit_all().items():
        r = cal.rounded(k)
        assert table[fam].hbm_efficiency == r.hbm_efficiency
        assert table[fam].compute_efficiency == r.compute_efficiency
        assert table[fam].step_overhead_s == pytest.approx(r.step_overhead_s, abs=1e-12)
        assert 0.2 <= k.hbm_efficiency <= 1.0 and 0.05 <= k.compute_efficiency <= 1.0


@pytest.mark.slow
def test_constants_file_is_what_the_calibration_writes():
    """The whole file, bands from leave-one-out included (runs every LOO fit, ~15 s)."""
    assert (DATA / "serving_constants.yaml").read_text("utf-8") == cal.yaml_text()


@pytest.mark.slow
def test_leave_one_out_errors_meet_the_targets():
    rows = [r for f in cal.fitted_families() for r in cal.leave_one_out(f)]
    med, worst = cal.summary(rows)
    assert med <= 0.25 and worst <= 0.6
    for f in cal.fitted_families():
        assert cal.summary(cal.leave_one_out(f))[1] <= 0.6


@pytest.mark.slow
def test_out_of_sample_trtllm_table_meets_the_targets():
    rows = [r for r in cal.v014_validation() if math.isfinite(r.predicted)]
    assert len(rows) == 273
    errs = np.array([abs(r.ratio - 1.0) for r in rows])
    assert np.median(errs) <= 0.25 and errs.max() <= 0.6


@pytest.fixture(scope="module")
def markdown_text() -> str:
    """The generated tables, computed once for the tests that read them (about 5 s)."""
    return cal.markdown()


def test_doc_tables_are_what_the_calibration_prints(markdown_text):
    doc = (ROOT / "docs" / "serving_model.md").read_text("utf-8")
    assert markdown_text in doc


def test_precision_overrides_follow_the_cross_chip_ratio():
    """The rows taken as fp8 on B200 have a B200/H200 ratio near the fp8 compute ratio."""
    meas = {m.source_id: m.measured for m in cal.measurements()}
    fp8_ratio = 4500 / 1979
    assert meas["MLP51-B200x8-L8-O"] / meas["MLP51-H200x8-L8-O"] == pytest.approx(
        fp8_ratio, rel=0.1)
    assert meas["MLP50-B200x8-MX-O"] / meas["MLP50-H200x8-MX-O"] == pytest.approx(
        fp8_ratio, rel=0.15)
    assert meas["MLP50-B200x8-L2-O"] / meas["MLP50-H200x8-L2-O"] > 1.2 * fp8_ratio


def test_excluded_mixtral_row_is_above_the_hard_roofline():
    """The reason given for dropping TRT09-MX-A100-TP2-bs32-2k2k is arithmetic: check it."""
    shape = cal.SHAPES["mixtral-8x7b"]
    per_chip_bytes = shape.total_params * 2 / 2
    step_s = per_chip_bytes / cal.ACCELERATORS["a100-80gb"].memory_bandwidth_bytes_per_s
    assert 32 / step_s / 2 < 801


def test_markdown_runs_and_names_every_section(markdown_text):
    text = markdown_text
    for heading in ("Fitted constants per family", "Leave-one-out, per measurement",
                    "Validation rows", "whole TensorRT-LLM v0.14", "Excluded rows"):
        assert heading in text
