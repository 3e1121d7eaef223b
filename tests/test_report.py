"""Markdown, CSV and JSON reports: the key numbers, formatted; machine-readable and strict."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace

import pytest

from estimator import units
from estimator.engine import estimate
from estimator.errors import InputError
from estimator.hardware import load_profiles
from estimator.report import (
    assumptions_line,
    comparison_rows,
    law_label,
    report_csv,
    report_json,
    report_markdown,
    save_report,
)
from estimator.scenario import Scenario


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


@pytest.fixture(scope="module")
def case(profiles):
    s = Scenario()
    e = estimate(s, profiles=profiles)
    comparison = [estimate(replace(s, hardware=pid), profiles=profiles)
                  for pid in ("h100-sxm", "a100-80gb", "b200")]
    return s, e, comparison


def test_markdown_has_the_key_numbers_formatted(case):
    s, e, _ = case
    md = report_markdown(s, e, date="2026-01-02")
    for text in (units.si(e.params), units.si(e.tokens), units.flops(e.train_flops),
                 units.usd(e.cost_usd), units.days(e.wall_clock_days), units.energy(e.energy_mwh),
                 units.usd(e.lifetime_total_cost_usd), f"{e.loss:.4f}"):
        assert text in md, text
    b = e.bands["cost_usd"]
    assert f"{units.usd(b.p10)} – {units.usd(b.p90)}" in md
    assert "Epoch AI 2024 (Besiroglu et al. 2024)" in md
    assert f"1,024 × H100 SXM5 80GB, bf16, MFU {e.mfu:.0%}" in md
    assert "generated 2026-01-02" in md
    assert "## Hardware comparison" in md and "| B200 (HGX" in md
    assert "nan" not in md.lower().replace("finance", "")
    # the inference-aware alternative and its saving
    assert units.si(e.lifetime_optimal["params"]) in md
    assert units.usd(e.lifetime_optimal["saving_usd"]) in md


def test_markdown_warnings_and_lifetime_mode(profiles):
    s = Scenario(mode="loss", target_loss=1.9, optimize="lifetime", gpus=100_000)
    e = estimate(s, profiles=profiles)
    md = report_markdown(s, e)
    assert "## Warnings" in md
    assert "extrapolating" in md
    assert "Compared with the compute-optimal plan" in md


def test_comparison_rows_from_estimates_or_computed(case):
    s, e, comparison = case
    given = comparison_rows(s, e, comparison)
    assert [r["id"] for r in given] == ["b200", "h100-sxm", "a100-80gb"]  # cheapest first
    assert [r["is_plan"] for r in given] == [False, True, False]
    computed = {r["id"]: r for r in comparison_rows(s, e, None)}
    assert len(computed) >= 10
    for r in given:
        assert computed[r["id"]]["cost_usd"] == pytest.approx(r["cost_usd"], rel=1e-9)
        assert computed[r["id"]]["cost_usd_p90"] == pytest.approx(r["cost_usd_p90"], rel=1e-9)


def test_csv_parses_and_holds_full_precision(case):
    s, e, comparison = case
    text = report_csv(s, e, comparison)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "field", "value", "unit"]
    assert all(len(r) == 4 for r in rows)
    table = {(r[0], r[1]): (r[2], r[3]) for r in rows[1:]}
    assert float(table[("estimate", "cost_usd")][0]) == e.cost_usd
    assert table[("estimate", "cost_usd")][1] == "USD"
    assert float(table[("estimate", "params")][0]) == e.params
    assert float(table[("estimate", "cost_usd_p90")][0]) == e.bands["cost_usd"].p90
    assert table[("scenario", "hardware")][0] == "h100-sxm"
    assert float(table[("hardware:b200", "cost_usd")][0]) == pytest.approx(comparison[2].cost_usd)
    assert table[("hardware:b200", "wall_clock_days")][1] == "days"
    assert float(table[("lifetime_optimal", "params")][0]) == e.lifetime_optimal["params"]
    for r in rows[1:]:
        assert r[2].lower() not in ("nan", "inf", "-inf")


def test_json_round_trips_without_nan(case):
    s, e, comparison = case
    text = report_json(s, e, comparison)
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    report_only = {"report", "comparison"}
    assert {k: v for k, v in data.items() if k not in report_only} == json.loads(
        json.dumps(e.to_dict()))  # the very object of estimate --json
    assert Scenario.from_dict(data["inputs"]) == s
    assert [r["id"] for r in data["comparison"]] == ["b200", "h100-sxm", "a100-80gb"]
    assert data["report"]["assumptions"].startswith("Law: Epoch AI 2024")

    def walk(o):
        if isinstance(o, float):
            assert math.isfinite(o)
        elif isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(data)


@pytest.mark.parametrize("suffix", [".md", ".csv", ".json"])
def test_save_report_by_suffix(tmp_path, case, suffix):
    s, e, comparison = case
    path = tmp_path / f"report{suffix}"
    save_report(path, s, e, comparison)
    text = path.read_text(encoding="utf-8")
    if suffix == ".json":
        assert json.loads(text)["cost_usd"] == e.cost_usd
    elif suffix == ".csv":
        assert text.startswith("section,field,value,unit")
    else:
        assert text.startswith("# LLM training cost estimate")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_save_report_bad_suffix_names_the_fix(tmp_path, case):
    s, e, _ = case
    with pytest.raises(InputError, match=r"\.md, \.csv, \.json"):
        save_report(tmp_path / "report.docx", s, e)
    with pytest.raises(InputError, match="save_report_pdf"):
        save_report(tmp_path / "report.pdf", s, e)


def test_labels_for_every_builtin_law(profiles):
    labels = {law: law_label(estimate(Scenario(law=law), profiles=profiles))
              for law in ("epoch-2024", "chinchilla-2022", "kaplan-2020")}
    assert labels["epoch-2024"] == "Epoch AI 2024 (Besiroglu et al. 2024)"
    assert labels["chinchilla-2022"].startswith("Hoffmann et al. 2022")
    assert labels["kaplan-2020"] == "Kaplan et al. 2020 joint L(N, D)"
    e = estimate(Scenario(price_per_hour=1.75, price_tier="spot"), profiles=profiles)
    assert "$1.75/h (custom price)" in assumptions_line(e)
