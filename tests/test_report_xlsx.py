"""The .xlsx report: its formulas recompute to the engine's dollars, follow an edited input the
way the engine follows the changed scenario, and the workbook reads as a finance reader expects
(numbers as numbers, formats, frozen headers, units in headers, every source)."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from dataclasses import replace

import openpyxl
import pytest
from xlsx_formulas import Evaluator

from estimator.breakeven import rent_or_own
from estimator.catalogue import default_catalogue
from estimator.engine import compare, estimate
from estimator.errors import InputError
from estimator.quantities import QUANTITIES
from estimator.report import save_report
from estimator.report_xlsx import (
    LIVE,
    cell_value,
    default_break_even,
    report_xlsx_bytes,
    save_report_xlsx,
)
from estimator.scenario import Scenario
from estimator.sensitivity import sensitivity

REL = 1e-9
RENT_OWN = dict(purchase_usd_per_chip=30_000.0, depreciation_years=4.0, usd_per_kwh=0.10)


@pytest.fixture(scope="module")
def cat():
    return default_catalogue()


def _book(s, cat, **kw):
    est = estimate(s, catalogue=cat)
    comp = compare(s, catalogue=cat)
    ro = rent_or_own(est, catalogue=cat, **RENT_OWN)
    data = report_xlsx_bytes(s, est, comp, catalogue=cat, rent_own=ro, date="2026-12-01", **kw)
    return est, comp, ro, openpyxl.load_workbook(io.BytesIO(data)), data


@pytest.fixture(scope="module")
def case(cat):
    s = Scenario(name="Plan A", grid_kg_co2_per_kwh=0.4)
    est, comp, ro, wb, data = _book(s, cat)
    return s, est, comp, ro, wb, data


@pytest.fixture()
def ev(case):
    return Evaluator(openpyxl.load_workbook(io.BytesIO(case[5])))


def test_every_formula_evaluates(ev):
    n = 0
    for sheet, cell in ev.formulas():
        v = ev.value(sheet, cell)
        assert math.isfinite(v), (sheet, cell)
        n += 1
    assert n > 100


def test_live_results_recompute_to_the_engine(case, ev):
    _s, est, *_ = case
    def name(key):
        return f"q_{key}" if any(ch.isdigit() for ch in key) else key

    live = [k for k in LIVE if name(k) in ev.names]
    assert {"gpu_hours", "cost_usd", "wall_clock_days", "energy_mwh", "co2_tonnes",
            "inference_cost_per_million_tokens_usd", "lifetime_inference_cost_usd",
            "lifetime_total_cost_usd"} <= set(live)
    for key in live:
        assert ev.name(name(key)) == pytest.approx(getattr(est, key), rel=REL), key


def _results_cell(wb, key):
    ws = wb["Results"]
    for row in ws.iter_rows(min_row=1):
        if row[9].value == key:
            return row
    raise KeyError(key)


def test_results_iterate_the_registry(case):
    _s, est, _c, _r, wb, _d = case
    for q in QUANTITIES:
        if not q.applies(est):
            continue
        row = _results_cell(wb, q.key if not any(ch.isdigit() for ch in q.key) else f"q_{q.key}")
        assert row[2].value == (q.unit or None)  # an empty unit is an empty cell
        assert row[7].value == q.definition and row[8].value == q.source
        engine = row[5].value
        v = getattr(est, q.key)
        assert engine == pytest.approx(v, rel=1e-15) if isinstance(v, float) else engine == v
        live = isinstance(row[1].value, str) and row[1].value.startswith("=")
        if isinstance(v, str):  # a text result (constants fitted or borrowed, a price date)
            assert row[1].value == v, q.key
            continue
        assert live or isinstance(row[1].value, (int, float)), q.key
        if q.key in LIVE:
            assert live, q.key


@pytest.mark.parametrize("edit", ["mfu", "goodput", "price", "gpus"])
def test_editing_a_training_input_follows_the_engine(case, ev, cat, edit):
    s, est, *_ = case
    if edit == "mfu":
        ev.set_name("mfu", est.mfu * 0.8)
        s2 = replace(s, mfu=est.mfu * 0.8)
    elif edit == "goodput":
        ev.set_name("goodput", 0.95)
        s2 = replace(s, goodput=0.95)
    elif edit == "price":
        ev.set_name("price_usd_per_gpu_hour", 1.99)
        s2 = replace(s, price_per_hour=1.99)
    else:  # the sheet holds the run's MFU and goodput: the engine with them pinned
        ev.set_name("gpus", 4096)
        s2 = replace(s, gpus=4096, mfu=est.mfu, goodput=est.goodput)
    e2 = estimate(s2, catalogue=cat)
    for key in ("gpu_hours", "cost_usd", "wall_clock_days", "energy_mwh",
                "lifetime_total_cost_usd"):
        assert ev.name(key) == pytest.approx(getattr(e2, key), rel=REL), key
    assert ev.name("cost_usd") != pytest.approx(est.cost_usd, rel=1e-6) or edit == "gpus"


@pytest.mark.parametrize("edit", ["serving_price", "demand", "days", "peak"])
def test_editing_a_serving_input_follows_the_engine(case, ev, cat, edit):
    s, est, *_ = case
    if edit == "serving_price":
        ev.set_name("serving_price_usd_per_chip_hour", 3.10)
        s2 = replace(s, inference_price_per_hour=3.10)
    elif edit == "demand":
        ev.set_name("output_tokens_per_day", 3e10)
        s2 = replace(s, inference_tokens_per_day=3e10)
    elif edit == "days":
        ev.set_name("deployment_days", 365)
        s2 = replace(s, deployment_days=365.0)
    else:
        ev.set_name("peak_to_mean", 3.0)
        s2 = replace(s, peak_to_mean=3.0)
    e2 = estimate(s2, catalogue=cat)
    if edit == "peak":  # the fleet is resized for the peak; the dollars per token are not
        assert e2.inference_cost_per_million_tokens_usd == est.inference_cost_per_million_tokens_usd
    for key in ("inference_cost_per_million_tokens_usd", "lifetime_inference_cost_usd",
                "lifetime_total_cost_usd"):
        assert ev.name(key) == pytest.approx(getattr(e2, key), rel=REL), key


def test_hardware_rows_recompute_to_each_profile(case, ev):
    _s, _est, comp, _r, wb, _d = case
    by_id = {e.hardware: e for e in comp}
    ws = wb["Hardware"]
    head = [c.value for c in ws[4]]
    col = {h.split(" (")[0]: i for i, h in enumerate(head) if h}
    rows = 0
    for r in ws.iter_rows(min_row=5):
        if r[0].value not in by_id:
            continue
        e = by_id[r[0].value]
        for header, key in (("GPU-hours", "gpu_hours"), ("Training cost", "cost_usd"),
                            ("Wall-clock", "wall_clock_days"), ("Energy", "energy_mwh"),
                            ("Lifetime total", "lifetime_total_cost_usd")):
            c = r[col[header]]
            assert c.value.startswith("="), (header, e.hardware)
            assert ev.value("Hardware", c.coordinate) == pytest.approx(getattr(e, key),
                                                                       rel=REL)
        rows += 1
    assert rows == len(comp)


def test_hardware_rows_follow_the_plans_compute(case, ev):
    _s, est, _comp, _r, wb, _d = case
    ws = wb["Hardware"]
    head = [c.value for c in ws[4]]
    cost_col = head.index("Training cost (USD)")
    cells = [r[cost_col].coordinate for r in ws.iter_rows(min_row=5) if r[0].value]
    before = [ev.value("Hardware", c) for c in cells]
    ev.set_name("train_flops", est.train_flops * 3)  # every chip trains the same plan
    for c, b in zip(cells, before, strict=True):
        assert ev.value("Hardware", c) == pytest.approx(3 * b, rel=REL)


def test_hardware_row_price_edit_moves_its_cost(case, ev):
    _s, _est, comp, _r, wb, _d = case
    ws = wb["Hardware"]
    head = [c.value for c in ws[4]]
    price_col = head.index("Price (USD per GPU-hour)")
    cost_col = head.index("Training cost (USD)")
    row = ws[5]
    before = ev.value("Hardware", row[cost_col].coordinate)
    ev.set("Hardware", row[price_col].coordinate, row[price_col].value * 2)
    assert ev.value("Hardware", row[cost_col].coordinate) == pytest.approx(2 * before, rel=REL)


def test_break_even_crossings_match_the_closed_form(case, ev, cat):
    _s, est, comp, _r, wb, _d = case
    be = default_break_even(est, comp)
    ws = wb["Break-even"]
    found = [r for r in ws.iter_rows() if isinstance(r[2].value, str)
             and r[2].value.startswith("=(")]
    assert len(found) == len(be.crossings)  # (crossing arithmetic: tests/test_breakeven.py)
    for r, c in zip(found, be.crossings, strict=True):
        assert ev.value("Break-even", r[2].coordinate) == pytest.approx(c.x, rel=REL)
        assert ev.value("Break-even", r[3].coordinate) == pytest.approx(c.cost_usd, rel=REL)
    # the plan's line follows the live training cost
    ev.set_name("price_usd_per_gpu_hour", est.price_usd_per_hour * 2)
    plan_row = next(r for r in ws.iter_rows() if str(r[0].value).endswith("(plan)"))
    assert ev.value("Break-even", plan_row[1].coordinate) == pytest.approx(2 * est.cost_usd,
                                                                           rel=REL)


def test_rent_or_own_formulas_match_the_core(case, ev):
    _s, est, _c, ro, _wb, _d = case
    assert ev.name("ro_break_even_occupancy") == pytest.approx(ro.break_even_occupancy, rel=REL)
    assert ev.name("ro_payback_years") == pytest.approx(ro.payback_years_at_full_use, rel=REL)
    assert ev.name("ro_runs_per_year") == pytest.approx(ro.runs_per_year_to_break_even, rel=REL)
    # the rent follows the Inputs sheet's price
    ev.set_name("price_usd_per_gpu_hour", 4.0)
    power = ro.power_usd_per_hour
    assert ev.name("ro_break_even_occupancy") == pytest.approx(
        ro.fixed_usd_per_chip_year / (8760 * (4.0 - power)), rel=REL)


def test_sensitivity_table_is_the_core_result(case, cat, ev):
    s, est, _c, _r, wb, _d = case
    sens = sensitivity(s, est, catalogue=cat)
    ws = wb["Sensitivity"]
    rows = [r for r in ws.iter_rows() if isinstance(r[12].value, str)
            and r[12].value.startswith("=ABS(")]
    assert [r[0].value for r in rows] == [w.label for w in sens.swings]
    for r, w in zip(rows, sens.swings, strict=True):
        assert ev.value("Sensitivity", r[12].coordinate) == pytest.approx(w.swing, rel=REL)
        # openpyxl writes 16 significant digits
        assert r[6].value == pytest.approx(w.low_cost_usd, rel=1e-15)
        assert r[7].value == pytest.approx(w.high_cost_usd, rel=1e-15)
    assert any(r[0].value == "Goodput (failures)" for r in ws.iter_rows())  # skipped, listed


_NUMERIC_TEXT = re.compile(r"^\s*[$]?-?[\d,]+(\.\d+)?(e[+-]?\d+)?\s*%?\s*$", re.I)


def test_numbers_are_numbers_formats_and_frozen_headers(case):
    *_, wb, _d = case
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and not re.fullmatch(r"(19|20)\d\d", c.value):
                    # (a year, as a price's date is written in its source, is a label)
                    assert not _NUMERIC_TEXT.match(c.value), (ws.title, c.coordinate, c.value)
        if ws.title not in ("Summary",):
            assert ws.freeze_panes, ws.title
    cost = _results_cell(wb, "cost_usd")
    assert cost[1].number_format == '"$"#,##0'
    assert _results_cell(wb, "train_flops")[1].number_format == "0.00E+00"
    mfu = [r for r in wb["Inputs"].iter_rows() if r[3].value == "mfu"][0]
    assert mfu[1].number_format == "0.0%" and isinstance(mfu[1].value, float)
    head = [c.value for c in wb["Hardware"][4]]
    assert "Training cost (USD)" in head and "Price (USD per GPU-hour)" in head


def test_sources_list_every_definition_the_law_and_profiles(case, cat):
    s, est, comp, *_rest, wb, _d = case
    text = "\n".join(str(c.value) for row in wb["Sources"].iter_rows() for c in row
                     if c.value is not None)
    for q in QUANTITIES:
        assert q.definition in text and q.source in text
    assert " ".join(est.law_citation.split()) in text
    for e in comp:
        p = cat.profile(e.hardware)
        for src in p.sources:
            assert src in text
        for tier in p.price_tiers():
            assert p.prices[tier].date in text


def test_user_text_cannot_inject_a_formula(cat):
    assert cell_value("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert cell_value(" -1+2") == "' -1+2"
    assert cell_value("a\x1b[31mb\x00") == "a[31mb"
    assert cell_value(float("nan")) is None and cell_value(2.5) == 2.5
    s = Scenario(name="=cmd|'/C calc'!A0\x07")
    *_x, wb, _d = _book(s, cat)
    title = wb["Summary"]["A1"].value
    assert title.startswith("'=") and "\x07" not in title


def test_no_serving_no_grid(cat):
    s = Scenario(inference_tokens_per_day=0)
    est, _c, _r, wb, data = _book(s, cat)
    ev = Evaluator(openpyxl.load_workbook(io.BytesIO(data)))
    assert "q_co2_tonnes" not in ev.names  # no grid intensity: no emissions row
    assert ev.name("lifetime_total_cost_usd") == pytest.approx(est.cost_usd, rel=REL)
    for sheet, cell in ev.formulas():
        assert math.isfinite(ev.value(sheet, cell))


def test_save_report_dispatches_xlsx(tmp_path, cat):
    s = Scenario()
    est = estimate(s, catalogue=cat)
    out = tmp_path / "r.xlsx"
    save_report(out, s, est, compare(s, catalogue=cat))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:3] == ["Summary", "Inputs", "Results"]
    with pytest.raises(InputError):
        save_report_xlsx(tmp_path / "r.xls", s, est)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_computes_the_same_numbers(case, tmp_path):
    """An independent spreadsheet engine: LibreOffice recalculates the file on load."""
    *_x, data = case
    src = tmp_path / "in.xlsx"
    src.write_bytes(data)
    out = tmp_path / "out"
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir",
                    str(out), str(src)], check=True, capture_output=True, timeout=300)
    lo = openpyxl.load_workbook(out / "in.xlsx", data_only=True)
    ev = Evaluator(openpyxl.load_workbook(src))
    for sheet, cell in ev.formulas():
        assert lo[sheet][cell].value == pytest.approx(ev.value(sheet, cell), rel=1e-12)
