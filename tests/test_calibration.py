"""Calibration of default MFU and goodput against published runs (estimator.calibration)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from estimator import calibration as cal
from estimator.hardware import builtin_profiles

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_CSV = ROOT.parent / "shared" / "reference" / "published_runs.csv"


def rows_by_run():
    return {r.run: r for r in cal.calibration_table()}


def test_csv_is_a_verbatim_copy_of_the_reference():
    if not REFERENCE_CSV.exists():
        pytest.skip("reference folder not present")
    shipped = (ROOT / "estimator" / "data" / "published_runs.csv").read_bytes()
    assert shipped == REFERENCE_CSV.read_bytes()


def test_calibration_runs_and_exclusions():
    runs = {r.run for r in cal.published_runs()}
    assert runs == {
        "LLaMA-7B", "LLaMA-13B", "LLaMA-33B", "LLaMA-65B",
        "Llama-2-7B", "Llama-2-13B", "Llama-2-70B",
        "Llama-3-8B", "Llama-3-70B", "Llama-3.1-405B",
        "BLOOM-176B", "MPT-7B", "PaLM-540B", "Pythia-1B", "Pythia-6.9B", "Pythia-12B",
    }
    excluded = dict(cal.excluded_runs())
    assert set(excluded) == {"Gopher-280B", "Chinchilla-70B", "GPT-3-175B", "OLMo-2-7B",
                             "OLMo-2-13B"}
    assert "TPU v3" in excluded["Gopher-280B"]
    # Gopher for reference: 6*280e9*300e9 / (123e12 * 3,768,320 h * 3600 s) = 0.302
    assert "u = 0.302" in excluded["Gopher-280B"]


def test_profile_mapping():
    assert cal.profile_for_hardware("A100-SXM-80GB") == "a100-80gb"
    assert cal.profile_for_hardware("A100-80GB (350-400W)") == "a100-80gb"
    assert cal.profile_for_hardware("A100-40GB") == "a100-40gb"
    assert cal.profile_for_hardware("H100-80GB (700W)") == "h100-sxm"
    assert cal.profile_for_hardware("TPU v4") == "tpu-v4"
    assert cal.profile_for_hardware("TPU v3") is None
    assert cal.profile_for_hardware("TPU v3/v4") is None
    assert set(cal.PROFILE_CALIBRATION) == set(builtin_profiles())


def test_llama_65b_by_hand():
    r = rows_by_run()["LLaMA-65B"]
    flops = 6 * 65.2e9 * 1.4e12  # 5.4768e23
    assert r.train_flops == pytest.approx(5.4768e23)
    # u = 5.4768e23 / (312e12 * 1,022,362 h * 3600 s) = 0.47694
    assert r.effective_utilization == pytest.approx(0.47694, rel=1e-4)
    # shipped A100 defaults: mfu 0.47, goodput 0.81 -> u_model = 0.3807
    est = flops / (312e12 * 0.47 * 0.81 * 3600)
    assert est == pytest.approx(1_280_816, rel=1e-5)
    assert r.estimated_hours == pytest.approx(est)
    assert r.ratio == pytest.approx(1_022_362 / 1_280_816, rel=1e-5)  # 0.798


def test_palm_540b_by_hand():
    r = rows_by_run()["PaLM-540B"]
    flops = 6 * 540.35e9 * 780e9  # 2.528838e24
    reported = 6144 * 1200 + 3072 * 336  # 8,404,992 chip-hours
    assert r.reported_hours == reported
    assert r.effective_utilization == pytest.approx(flops / (275e12 * reported * 3600))
    assert r.effective_utilization == pytest.approx(0.30391, rel=1e-4)
    est = flops / (275e12 * 0.46 * 0.67 * 3600)  # 8,288,066 h
    assert r.estimated_hours == pytest.approx(est)
    assert r.estimated_hours == pytest.approx(8_288_066, rel=1e-6)
    assert r.ratio == pytest.approx(1.0141, abs=1e-4)


def test_llama_31_405b_by_hand():
    r = rows_by_run()["Llama-3.1-405B"]
    u = 6 * 405853388800 * 1.56e13 / (989.5e12 * 30.84e6 * 3600)
    assert u == pytest.approx(0.34579, rel=1e-4)
    assert r.effective_utilization == pytest.approx(u)
    est = 6 * 405853388800 * 1.56e13 / (989.5e12 * 0.29 * 0.84 * 3600)
    assert r.ratio == pytest.approx(30.84e6 / est)


def test_fit_by_hand():
    fits = cal.fit_generation_defaults()
    assert set(fits) == {"ampere", "hopper", "tpu-v4"}
    # TPU v4: one run. goodput = u / 0.457; mfu = u / goodput = 0.457 exactly.
    tpu = fits["tpu-v4"]
    u_palm = 6 * 540.35e9 * 780e9 / (275e12 * 8404992 * 3600)
    assert tpu.train_goodput == pytest.approx(u_palm / 0.457)
    assert tpu.train_mfu == pytest.approx(0.457)
    # Hopper: u of Llama 3 8B, 70B, 3.1 405B; goodput from 405B's reported 41% MFU.
    us = [6 * 8030261248 * 1.5e13 / (989.5e12 * 1.3e6 * 3600),
          6 * 70553706496 * 1.5e13 / (989.5e12 * 6.4e6 * 3600),
          6 * 405853388800 * 1.56e13 / (989.5e12 * 30.84e6 * 3600)]
    geo = math.prod(us) ** (1 / 3)
    hop = fits["hopper"]
    assert hop.effective_utilization == pytest.approx(geo)
    assert hop.train_goodput == pytest.approx(us[2] / 0.41)
    assert hop.train_mfu * hop.train_goodput == pytest.approx(geo)
    assert hop.profiles == ("h100-sxm", "h100-pcie", "h200", "h800", "b200", "gb200", "b300",
                            "gb300", "mi300x", "mi325x", "mi355x")
    # Ampere: goodput from LLaMA-65B (380 tok/s/GPU -> MFU 0.4764) and BLOOM (0.48).
    amp = fits["ampere"]
    assert len(amp.runs) == 12
    mfu_65b = 6 * 65.2e9 * 380 / 312e12
    u_65b = 6 * 65.2e9 * 1.4e12 / (312e12 * 1022362 * 3600)
    u_bloom = 6 * 176247e6 * 366e9 / (312e12 * 1082990 * 3600)
    g = math.sqrt(min(1.0, u_65b / mfu_65b) * (u_bloom / 0.48))
    assert amp.train_goodput == pytest.approx(g)
    assert set(amp.goodput_runs) == {"LLaMA-65B", "BLOOM-176B"}


def test_reported_mfu_values_agree_with_csv():
    rows = {r["model"]: r for r in cal._all_rows()}
    for run, (mfu, _basis) in cal.REPORTED_MFU.items():
        text = rows[run]["reported_mfu"]
        numbers = [float(x) for x in re.findall(r"\d\.\d+", text)]
        assert min(numbers) - 1e-9 <= mfu <= max(numbers) + 1e-9, (run, text)


@pytest.mark.parametrize("pid", sorted(cal.PROFILE_CALIBRATION))
def test_profiles_carry_the_calibrated_defaults(pid):
    """The YAML files cannot drift from what the calibration computes."""
    fit = cal.fit_generation_defaults()[cal.PROFILE_CALIBRATION[pid]]
    p = builtin_profiles()[pid]
    half_step = 0.5 * 10 ** -cal.DEFAULT_DECIMALS + 1e-9
    assert abs(p.train_mfu - fit.train_mfu) <= half_step
    assert abs(p.train_goodput - fit.train_goodput) <= half_step
    assert (p.train_mfu, p.train_goodput) == cal.rounded_defaults()[pid]


def test_hours_band_constant_matches_computation():
    p10, p90 = cal.hours_band()
    lo, hi = cal.HOURS_BAND
    assert lo <= p10 < lo + 0.01  # rounded outwards
    assert hi - 0.01 < p90 <= hi
    assert p10 < 1.0 < p90
    assert lo < 1.0 < hi


def test_band_is_the_10th_and_90th_percentile_of_ratios():
    ratios = sorted(r.ratio for r in cal.calibration_table())
    assert len(ratios) == 16
    # linear interpolation: position 0.1 * 15 = 1.5 and 0.9 * 15 = 13.5
    p10 = ratios[1] + 0.5 * (ratios[2] - ratios[1])
    p90 = ratios[13] + 0.5 * (ratios[14] - ratios[13])
    assert cal.hours_band() == pytest.approx((p10, p90))


def test_percentile_matches_numpy():
    np = pytest.importorskip("numpy")
    xs = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0]
    for q in (0, 10, 37, 50, 90, 100):
        assert cal.percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))


def test_ratios_are_reasonable():
    # Every run within a factor 1.6 of its estimate; the geometric mean ratio near 1.
    ratios = [r.ratio for r in cal.calibration_table()]
    assert all(0.6 < x < 1.6 for x in ratios)
    assert math.exp(sum(map(math.log, ratios)) / len(ratios)) == pytest.approx(1.0, abs=0.03)


def test_docs_table_is_generated_by_the_code():
    doc = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    begin, end = "<!-- BEGIN GENERATED -->\n", "<!-- END GENERATED -->"
    generated = doc.split(begin, 1)[1].split(end, 1)[0]
    assert generated.strip() == cal.markdown().strip()
    assert "python -m estimator.calibration --markdown" in doc


def test_cli_markdown(capsys):
    assert cal.main(["--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| LLaMA-65B |" in out and "1,022,362" in out


def test_cli_summary(capsys):
    assert cal.main([]) == 0
    assert "hours band" in capsys.readouterr().out
