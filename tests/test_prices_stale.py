"""Stale prices are flagged where a planner reads them (issue 14): the estimate's warnings, the
comparison table and the profile list; and each chip says whether the run model's constants
are fitted on its family or borrowed."""

from __future__ import annotations

from dataclasses import replace

from estimator.cli import main
from estimator.engine import compare, estimate
from estimator.scenario import Scenario

BASE = Scenario(mode="model", params=7e9, tokens=1.4e11)


def test_a_stale_training_price_is_a_warning(monkeypatch):
    monkeypatch.setenv("ESTIMATOR_TODAY", "2026-11-30")
    e = estimate(replace(BASE, hardware="h800"), with_uncertainty=False)
    stale = [w for w in e.warnings if "price dated 2024-12" in w]
    assert len(stale) == 1 and "23 months old" in stale[0] and "H800" in stale[0]
    assert e.price_date == "2024-12 (stale)"
    monkeypatch.setenv("ESTIMATOR_TODAY", "2025-06-01")  # six months after the quote: fresh
    e = estimate(replace(BASE, hardware="h800"), with_uncertainty=False)
    assert not any("price dated" in w for w in e.warnings) and e.price_date == "2024-12"


def test_a_price_the_user_gives_is_never_stale():
    e = estimate(replace(BASE, hardware="h800", price_per_hour=1.5), with_uncertainty=False)
    assert e.price_date is None and not any("price dated" in w for w in e.warnings)


def test_serving_elsewhere_warns_about_its_own_price():
    e = estimate(replace(BASE, hardware="h100-sxm", inference_hardware="tpu-v5e"),
                 with_uncertainty=False)
    serving = [w for w in e.warnings if w.startswith("serving price of")]
    assert len(serving) == 1 and "TPU v5e" in serving[0]


def test_comparison_rows_carry_price_date_and_constants():
    rows = {e.hardware: e for e in compare(BASE)}
    assert rows["h800"].price_date.endswith("(stale)")
    assert not rows["h100-sxm"].price_date.endswith("(stale)")
    assert rows["mi300x"].training_constants == "borrowed from nvidia-hopper"
    assert rows["h100-sxm"].training_constants == "fitted (nvidia-hopper)"
    assert rows["b200"].training_constants.startswith("partly fitted (nvidia-blackwell")


def test_profile_list_flags_stale_prices(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    h800 = next(line for line in out.splitlines() if line.startswith("h800 "))
    h100 = next(line for line in out.splitlines() if line.startswith("h100-sxm "))
    assert "2024-12 *" in h800 and "fitted (nvidia-hopper)" in h800
    assert "*" not in h100
    assert "older than 12 months" in out
