"""The spreadsheet report (.xlsx): inputs, results, the hardware comparison, sensitivity,
break-even, rent or own, and sources, with the dollars as live formulas.

A finance reader changes a price, a utilisation or the demand on the **Inputs** sheet and every
dollar that depends on it recomputes: the cost cells are formulas over named input cells (Excel
defined names), written as the cost model writes them (:mod:`estimator.costs`,
:mod:`estimator.serving.stage`)::

    gpu_hours      = train_flops / (peak_flops_per_s * mfu * goodput * 3600)
    cost_usd       = gpu_hours * price_usd_per_gpu_hour
    wall_clock_days = gpu_hours / (gpus * 24)
    all-in $/1M    = (in_tokens * chip_s_in + out_tokens * chip_s_out) / out_tokens
                     * serving_price_usd_per_chip_hour / 3600 * 1e6
    lifetime       = lifetime_output_tokens * all-in $/1M / 1e6 * peak_to_mean

What the formulas cannot recompute (the plan from the scaling law, the serving model's
chip-seconds per token, the P10-P90 bands, the sensitivity runs) is the engine's number at
export, in grey, labelled so. Input cells are blue (the finance convention: blue is typed, black
is computed). Numbers are numbers with number formats; units are in the headers; header rows
are frozen. No Qt: this module is core.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from estimator import units
from estimator.breakeven import BreakEven, RentOwn
from estimator.catalogue import Catalogue, resolve
from estimator.engine import Estimate
from estimator.engine import comparison_rows as engine_rows
from estimator.errors import EstimatorError, InputError
from estimator.quantities import QUANTITIES, columns
from estimator.report import assumptions_line, describe_target, hardware_phrase, today
from estimator.scenario import FIELDS, Scenario
from estimator.sensitivity import Sensitivity

__all__ = ["NUMBER_FORMATS", "cell_value", "report_workbook", "report_xlsx_bytes",
           "save_report_xlsx"]

# --------------------------------------------------------------------------------------
# Text and number cells
# --------------------------------------------------------------------------------------

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def cell_value(value: Any) -> Any:
    """Every value this module writes into a cell (other than its own formulas) goes through
    here. Finite numbers and booleans pass; None and non-finite numbers stay empty; text loses
    the characters XML cannot hold and control characters, and text that a spreadsheet would
    read as a formula (leading ``= + - @``: OWASP "CSV injection") gets a leading apostrophe.
    The robustness helper's ``estimator.textsafe.spreadsheet_cell`` does the same; point this
    at it when it lands."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    text = _XML_ILLEGAL.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).replace("\t", " ")
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


#: Counts read as "73.0 B" and "1.34 T" (the value stays the full number: each ',' after the
#: digits of an Excel format divides the shown number by 1,000).
_COUNT_FORMAT = '[>=1000000000000]#,##0.00,,,," T";[>=1000000000]0.00,,," B";#,##0'
_COUNTS = frozenset({"parameters", "tokens", "output tokens", "output tokens/day",
                     "requests/day"})


#: Excel number format of each unit the quantities registry and the inputs use.
NUMBER_FORMATS: dict[str, str] = {
    "USD": '"$"#,##0',
    "USD per year": '"$"#,##0',
    "USD per chip": '"$"#,##0',
    "USD per chip-year": '"$"#,##0',
    "USD per GPU-hour": '"$"#,##0.00',
    "USD/GPU-hour": '"$"#,##0.00',
    "USD per chip-hour": '"$"#,##0.00',
    "USD per 1M tokens": '"$"#,##0.000',
    "USD per 1M output tokens": '"$"#,##0.000',
    "USD per kWh": '"$"#,##0.000',
    "fraction": "0.0%",
    "FLOPs": "0.00E+00",
    "FLOP/s per chip": "0.00E+00",
    "parameters": _COUNT_FORMAT,
    "tokens": _COUNT_FORMAT,
    "output tokens": _COUNT_FORMAT,
    "output tokens/day": _COUNT_FORMAT,
    "requests/day": _COUNT_FORMAT,
    "chip-seconds per token": "0.000E+00",
    "GPU-hours": "#,##0",
    "chips": "#,##0",
    "replicas": "#,##0",
    "sequences": "#,##0",
    "days": "#,##0.0",
    "years": "0.0",
    "MWh": "#,##0.0",
    "t CO2e": "#,##0",
    "W": "#,##0",
    "W per chip": "#,##0",
    "ratio": "0.00",
    "epochs": "0.00",
    "nats/token": "0.0000",
    "s": "0.000",
    "tokens/s per chip": "#,##0",
}

_BLUE = Font(color="1F4E9E")  # typed inputs
_GREY = Font(color="6B7280")  # the engine's numbers at export (not live)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="E8ECF2")
_INPUT_FILL = PatternFill("solid", fgColor="FFF8E1")
_WRAP = Alignment(wrap_text=True, vertical="top")


def _fmt(unit: str) -> str:
    return NUMBER_FORMATS.get(unit, "General")


def _name_of(key: str) -> str:
    """A defined name for a key: Excel reads a name with digits near its start as a cell
    reference (CO2...), so keys with digits get a prefix."""
    return f"q_{key}" if any(ch.isdigit() for ch in key) else key


_SHEET_REF = re.compile(r"(?:'[^']+'|[A-Za-z_][A-Za-z0-9_]*)!\$?[A-Z]{1,3}\$?\d+")
_CELL_REF = re.compile(r"\$?\b[A-Z]{1,3}\$?\d+\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d*)?(?:[Ee][+-]?\d+)?\b")
_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


class _Sheet:
    """A worksheet being filled row by row, with the workbook's defined names."""

    def __init__(self, book: _Book, title: str):
        self.book = book
        self.ws: Worksheet = book.wb.create_sheet(title)
        self.row = 1
        # printed: landscape, one page wide, as many pages tall as it takes
        self.ws.page_setup.orientation = "landscape"
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0

    def put(self, col: int, value: Any, *, unit: str | None = None, font: Font | None = None,
            fill: PatternFill | None = None, wrap: bool = False):
        c = self.ws.cell(row=self.row, column=col, value=cell_value(value))
        if unit is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            c.number_format = _fmt(unit)
        if font is not None:
            c.font = font
        if fill is not None:
            c.fill = fill
        if wrap:
            c.alignment = _WRAP
        return c

    def formula(self, col: int, text: str, *, unit: str | None = None, font: Font | None = None):
        """One of our own formulas (trusted text: never through :func:`cell_value`); every
        name it uses must already be defined."""
        self.book.check_names(text)
        c = self.ws.cell(row=self.row, column=col, value="=" + text)
        if unit is not None:
            c.number_format = _fmt(unit)
        if font is not None:
            c.font = font
        return c

    def ref(self, col: int, row: int | None = None, *, absolute: bool = True,
            sheet: bool = True) -> str:
        letter = get_column_letter(col)
        r = self.row if row is None else row
        a = f"${letter}${r}" if absolute else f"{letter}{r}"
        return f"{quote_sheetname(self.ws.title)}!{a}" if sheet else a

    def name(self, key: str, col: int, row: int | None = None) -> str:
        name = _name_of(key)
        self.book.define(name, self.ref(col, row))
        return name

    def header(self, cells: Iterable[str]) -> None:
        for i, text in enumerate(cells, 1):
            self.put(i, text, font=_BOLD, fill=_HEAD_FILL, wrap=True)
        self.row += 1

    def title(self, text: str, note: str = "") -> None:
        self.put(1, text, font=_TITLE)
        self.row += 1
        if note:
            self.put(1, note, font=_GREY)
            self.row += 1
        self.row += 1

    def widths(self, *w: float) -> None:
        """Column widths (in characters), then row heights to fit the wrapped text: neither
        Excel nor LibreOffice grows a row for wrapped text written by a library."""
        for i, width in enumerate(w, 1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        for row in self.ws.iter_rows():
            lines = 1
            for c in row:
                if not (isinstance(c.value, str) and c.alignment.wrap_text):
                    continue
                width = self.ws.column_dimensions[c.column_letter].width or 10
                per_line = max(1, int(width * 1.1))  # average text is narrower than '0'
                lines = max(lines, sum(max(1, len(textwrap.wrap(part, per_line)))
                                       for part in c.value.split("\n")))
            if lines > 1:
                self.ws.row_dimensions[row[0].row].height = 16 * lines + 2
                for c in row:  # the row reads from its top line
                    c.alignment = Alignment(wrap_text=c.alignment.wrap_text, vertical="top")

    def freeze(self) -> None:
        """Freeze everything above the current row (the title and the header)."""
        self.ws.freeze_panes = f"A{self.row}"


class _Book:
    def __init__(self):
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.names: set[str] = set()
        self.values: dict[str, float] = {}  # the typed value of each input name
        self.wb.calculation.fullCalcOnLoad = True  # the file carries no cached results

    def define(self, name: str, target: str) -> None:
        if name in self.names:
            raise ValueError(f"defined name {name!r} twice")
        self.names.add(name)
        self.wb.defined_names[name] = DefinedName(name, attr_text=target)

    def check_names(self, formula: str) -> None:
        """Every name a formula uses is defined (cell references and numbers aside)."""
        rest = _NUMBER.sub(" ", _CELL_REF.sub(" ", _SHEET_REF.sub(" ", formula)))
        for m in _WORD.finditer(rest):
            word = m.group(0)
            if word.upper() in _FUNCTIONS and rest[m.end():m.end() + 1] == "(":
                continue
            if word not in self.names:
                raise ValueError(f"formula {formula!r} uses undefined name {word!r}")

    def sheet(self, title: str) -> _Sheet:
        return _Sheet(self, title)


#: The only functions our formulas use (the test evaluator implements exactly these).
_FUNCTIONS = frozenset({"ABS", "MIN", "MAX"})


# --------------------------------------------------------------------------------------
# The live cost model: drivers (inputs) and the formulas over them
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Driver:
    name: str
    label: str
    unit: str
    value: float | None
    source: str
    computed: str = ""  # a formula over earlier drivers (then not an input)


def _drivers(s: Scenario, est: Estimate, cat: Catalogue) -> list[_Driver]:
    """The inputs the live formulas use, with where each number comes from."""
    profile = cat.profile(s.hardware)
    rates = est.training.rates if est.training else None
    peak = rates.peak_flops_per_s if rates else profile.peak_flops_per_s(s.precision)
    tier = s.price_tier.replace("_", "-")
    price_src = ("your price per GPU-hour" if s.price_per_hour is not None else
                 _price_source(profile, s.price_tier, f"{profile.id} {tier} tier"))
    layout = est.parallel_layout
    mfu_src = ("your MFU" if s.mfu is not None else
               f"the training-run model's MFU for this model on {s.gpus:,} x {profile.id} "
               f"(TP{layout.get('tp')} PP{layout.get('pp')} DP{layout.get('dp')}; "
               "docs/run_model.md): re-run the estimator after changing GPUs, which moves it")
    good_src = ("your goodput" if s.goodput is not None else
                f"the training-run model's goodput on {s.gpus:,} GPUs (interruptions, "
                "restarts, checkpoints; docs/run_model.md)")
    out = [
        _Driver("train_flops", "Training compute", "FLOPs", est.train_flops,
                f"the plan ({est.law_name}; {describe_target(s)}); the engine's number: "
                "type another to try a different compute"),
        _Driver("peak_flops_per_s", f"Peak dense {s.precision} throughput per chip",
                "FLOP/s per chip", peak, f"{profile.id} datasheet (profile sources)"),
        _Driver("mfu", "MFU", "fraction", est.mfu, mfu_src),
        _Driver("goodput", "Goodput", "fraction", est.goodput, good_src),
        _Driver("gpus", "GPUs", "chips", est.gpus, "the scenario"),
        _Driver("price_usd_per_gpu_hour", "Price per GPU-hour", "USD per GPU-hour",
                est.price_usd_per_hour, price_src),
        _Driver("power_w", "Chip power", "W per chip", profile.power_w,
                f"{profile.id} profile (power_w)"),
        _Driver("pue", "PUE", "ratio", s.pue, "the scenario"),
    ]
    if s.grid_kg_co2_per_kwh is not None:
        out.append(_Driver("grid_kg_co2_per_kwh", "Grid carbon intensity", "kg CO2e/kWh",
                           s.grid_kg_co2_per_kwh, "the scenario"))
    sp = est.serving.plan if est.serving else None
    if sp is not None:
        inf = cat.profile(s.inference_hardware) if s.inference_hardware else profile
        stier = (s.inference_price_tier or s.price_tier)
        sprice_src = ("your serving price per chip-hour" if s.inference_price_per_hour
                      is not None else _price_source(inf, stier,
                                                     f"{inf.id} {stier.replace('_', '-')} tier"))
        out += [
            _Driver("serving_price_usd_per_chip_hour", "Serving price per chip-hour",
                    "USD per chip-hour", est.serving.price_usd_per_hour, sprice_src),
            _Driver("serving_chip_s_per_input_token", "Serving chip-seconds per input token",
                    "chip-seconds per token", sp.chip_s_per_input_token,
                    f"serving model on {est.inference_hardware} (docs/serving_model.md); the "
                    "engine's number"),
            _Driver("serving_chip_s_per_output_token", "Serving chip-seconds per output token",
                    "chip-seconds per token", sp.chip_s_per_output_token,
                    f"serving model on {est.inference_hardware}; the engine's number"),
            _Driver("input_tokens_per_request", "Input tokens per request", "tokens",
                    s.input_tokens_per_request,
                    "the scenario (the serving plan was sized for it)"),
            _Driver("output_tokens_per_request", "Output tokens per request", "tokens",
                    s.output_tokens_per_request,
                    "the scenario (the serving plan was sized for it)"),
        ]
    out += [
        _Driver("output_tokens_per_day", "Serving demand", "output tokens/day",
                s.output_tokens_per_day,
                "the scenario" + (" (requests per day x output tokens per request)"
                                  if s.requests_per_day is not None else "")),
        _Driver("deployment_days", "Days in service", "days", s.deployment_days, "the scenario"),
        _Driver("peak_to_mean", "Peak-to-mean demand", "ratio", s.peak_to_mean,
                "the scenario (the fleet is paid for at the peak)"),
        _Driver("lifetime_output_tokens", "Lifetime output tokens", "output tokens",
                est.lifetime_inference_tokens, "demand x days in service",
                computed="output_tokens_per_day*deployment_days"),
    ]
    return out


def _price_source(profile, tier: str, head: str) -> str:
    p = profile.prices.get(tier)
    if p is None:
        return head
    return f"{head}: {p.provider or 'provider not stated'}, {p.date}; {p.source}"


#: Live formulas of result quantities (key -> formula over defined names). A quantity not here
#: is the engine's number at export. Each line is the cost model's own formula.
LIVE: dict[str, str] = {
    "tokens_per_param": "tokens/params",
    "gpu_hours": "train_flops/(peak_flops_per_s*mfu*goodput*3600)",  # estimator.costs.gpu_hours
    "cost_usd": "gpu_hours*price_usd_per_gpu_hour",
    "wall_clock_days": "gpu_hours/(gpus*24)",
    "energy_mwh": "gpu_hours*power_w*pue/1000000",  # estimator.costs.energy_mwh
    "co2_tonnes": "energy_mwh*grid_kg_co2_per_kwh",  # kg/kWh = t/MWh
    "cost_per_million_input_tokens_usd":
        "serving_chip_s_per_input_token*serving_price_usd_per_chip_hour/3600*1000000",
    "cost_per_million_output_tokens_usd":
        "serving_chip_s_per_output_token*serving_price_usd_per_chip_hour/3600*1000000",
    "inference_cost_per_million_tokens_usd":
        "(input_tokens_per_request*serving_chip_s_per_input_token"
        "+output_tokens_per_request*serving_chip_s_per_output_token)"
        "/output_tokens_per_request*serving_price_usd_per_chip_hour/3600*1000000",
    "lifetime_inference_cost_usd":
        "lifetime_output_tokens*inference_cost_per_million_tokens_usd/1000000*peak_to_mean",
    "lifetime_total_cost_usd": "cost_usd+lifetime_inference_cost_usd",
}


def _live_formula(key: str, book: _Book) -> str | None:
    text = LIVE.get(key)
    if text is None:
        return None
    text = _WORD.sub(lambda m: _name_of(m.group(0)), text)
    try:
        book.check_names(text)
    except ValueError:  # a driver this estimate does not have (no grid intensity, no serving)
        return None
    return text


def _readable(formula: str) -> str:
    return formula.replace("*", " × ").replace("/", " / ").replace("+", " + ")


# --------------------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------------------


def _inputs_sheet(book: _Book, s: Scenario, est: Estimate, cat: Catalogue) -> None:
    sh = book.sheet("Inputs")
    sh.title("Inputs", "Blue cells are inputs: edit them and every live dollar on the other "
                       "sheets recomputes. Black cells are formulas.")
    sh.put(1, "Cost drivers (used by the live formulas)", font=_BOLD)
    sh.row += 1
    sh.header(["Input", "Value", "Unit", "Name in formulas", "Where it comes from"])
    sh.freeze()
    for d in _drivers(s, est, cat):
        sh.put(1, d.label)
        if d.computed:
            sh.formula(2, d.computed, unit=d.unit)
        else:
            sh.put(2, d.value, unit=d.unit, font=_BLUE, fill=_INPUT_FILL)
        sh.put(3, d.unit)
        sh.put(4, d.name)
        sh.put(5, d.source, wrap=True)
        sh.name(d.name, 2)
        if not d.computed and d.value is not None:
            book.values[d.name] = float(d.value)
        sh.row += 1
    sh.row += 1
    sh.put(1, "The scenario as given (every input of the estimate, for the record)", font=_BOLD)
    sh.row += 1
    sh.header(["Input", "Value", "Unit", "Field", "What it means"])
    used = s.relevant()
    for name, spec in FIELDS.items():
        if name not in used:
            continue
        value = getattr(s, name)
        sh.put(1, spec.label)
        if value is None:
            sh.put(2, "default", font=_GREY)
        elif isinstance(value, bool) or isinstance(value, (int, float)):
            unit = {"fraction": "fraction", "ratio": "ratio", "int": "chips"}.get(spec.kind, "")
            sh.put(2, value, unit=spec.unit if spec.unit in NUMBER_FORMATS else unit)
        else:
            sh.put(2, str(value))
        sh.put(3, spec.unit or ("fraction" if spec.kind == "fraction" else ""))
        sh.put(4, name)
        sh.put(5, spec.help, wrap=True)
        sh.row += 1
    sh.widths(34, 18, 22, 32, 90)


def _results_sheet(book: _Book, s: Scenario, est: Estimate) -> None:
    sh = book.sheet("Results")
    sh.title("Results", "Live: a formula over the Inputs sheet (recomputes when you edit an "
                        "input). Grey: the engine's number for the exported inputs.")
    sh.header(["Quantity", "Value", "Unit", "P10 (at export)", "P90 (at export)",
               "Engine value (at export)", "How it is computed", "Definition", "Source",
               "Name in formulas"])
    sh.freeze()
    for q in QUANTITIES:
        if not q.applies(est):
            continue
        value = getattr(est, q.key)
        formula = _live_formula(q.key, book) if value is not None else None
        sh.put(1, q.label_for(est))
        driver = _name_of(q.key) in book.names  # an input of the live model (train_flops)
        if driver:
            formula = _name_of(q.key)
        if formula is not None:
            sh.formula(2, formula, unit=q.unit)
        else:
            sh.put(2, value if value is not None else "n/a", unit=q.unit, font=_GREY)
        sh.put(3, q.unit)
        b = est.bands.get(q.key)
        if b is not None:
            sh.put(4, b.p10, unit=q.unit, font=_GREY)
            sh.put(5, b.p90, unit=q.unit, font=_GREY)
        sh.put(6, value, unit=q.unit, font=_GREY)
        how = ("the Inputs sheet's cell (edit it there)" if driver else
               _readable(formula) if formula else "the engine (not live)")
        sh.put(7, how, wrap=True)
        sh.put(8, q.definition, wrap=True)
        sh.put(9, q.source, wrap=True)
        sh.put(10, _name_of(q.key))
        if not driver:
            sh.name(q.key, 2)
        sh.row += 1
    sh.row += 1
    if est.uncertainty_source:
        sh.put(1, f"P10-P90 bands from {est.uncertainty_source}; they are the engine's at the "
                  "exported inputs and do not follow edits.", font=_GREY)
        sh.row += 1
    for w in est.warnings:
        sh.put(1, f"Warning: {w}", wrap=False)
        sh.row += 1
    sh.widths(38, 18, 18, 16, 16, 18, 46, 50, 46, 34)


def _hardware_sheet(book: _Book, s: Scenario, est: Estimate, comparison: list[Estimate],
                    cat: Catalogue) -> dict[str, tuple[str, str]]:
    """One row per profile; GPU-hours, cost, days, energy and the lifetime total are live in
    each row. Returns {hardware id: (training cost cell, lifetime cost per output token cell
    as a formula)} for the break-even sheet."""
    sh = book.sheet("Hardware")
    sh.title(f"The plan on every hardware profile ({s.gpus:,} chips each, {s.precision}, "
             f"{s.price_tier.replace('_', '-')} prices), cheapest training first",
             "Price, MFU, goodput, peak and power are inputs per row (blue); the live columns "
             "recompute from them and from the Inputs sheet. Grey: the engine at export.")
    by_id = {e.hardware: e for e in comparison}
    rows = engine_rows(comparison, est.hardware)
    cols: list[tuple[str, str, str]] = [  # (key, header, unit)
        ("id", "Hardware", ""), ("name", "Name", ""), ("precision", "Precision", ""),
        ("price_usd_per_hour", "Price", "USD per GPU-hour"), ("mfu", "MFU", "fraction"),
        ("goodput", "Goodput", "fraction"), ("peak", "Peak dense throughput", "FLOP/s per chip"),
        ("power_w", "Chip power", "W per chip"), ("train_flops", "Training compute", "FLOPs"),
    ]
    for q in columns():
        cols.append((q.key, q.column or q.label, q.unit))
        if q.band:
            cols += [(f"{q.key}_p10", f"{q.column} P10 (at export)", q.unit),
                     (f"{q.key}_p90", f"{q.column} P90 (at export)", q.unit)]
    cols.append(("is_plan", "The plan's hardware", ""))
    sh.header([f"{h} ({u})" if u else h for _k, h, u in cols])
    sh.freeze()
    at = {k: i for i, (k, _h, _u) in enumerate(cols, 1)}

    def cell(key: str) -> str:
        return sh.ref(at[key], absolute=False, sheet=False)

    live = {
        "gpu_hours": lambda: f"{cell('train_flops')}/({cell('peak')}*{cell('mfu')}*"
                             f"{cell('goodput')}*3600)",
        "cost_usd": lambda: f"{cell('gpu_hours')}*{cell('price_usd_per_hour')}",
        "wall_clock_days": lambda: f"{cell('gpu_hours')}/(gpus*24)",
        "energy_mwh": lambda: f"{cell('gpu_hours')}*{cell('power_w')}*pue/1000000",
        "lifetime_total_cost_usd": lambda: (
            f"{cell('cost_usd')}+lifetime_output_tokens*"
            f"{cell('inference_cost_per_million_tokens_usd')}/1000000*peak_to_mean"),
    }
    out: dict[str, tuple[str, str]] = {}
    for r in rows:
        e = by_id[r["id"]]
        profile = cat.profile(e.hardware)
        extra = {"peak": e.training.rates.peak_flops_per_s if e.training else None,
                 "power_w": profile.power_w, "train_flops": e.train_flops}
        for key, _h, unit in cols:
            col = at[key]
            value = extra[key] if key in extra else r.get(key)
            if key == "is_plan":
                sh.put(col, "plan" if value else "")
            elif key == "train_flops" and value == book.values.get("train_flops"):
                sh.formula(col, "train_flops", unit=unit)  # the shared plan: the Inputs cell
            elif key in live and value is not None and not (
                    key == "lifetime_total_cost_usd"
                    and r.get("inference_cost_per_million_tokens_usd") is None):
                sh.formula(col, live[key](), unit=unit)
            elif key in ("price_usd_per_hour", "mfu", "goodput", "peak", "power_w"):
                sh.put(col, value, unit=unit, font=_BLUE, fill=_INPUT_FILL)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                sh.put(col, value, unit=unit, font=_GREY)
            else:
                sh.put(col, value if value is not None else "n/a",
                       font=_GREY if value is None else None)
        if r.get("inference_cost_per_million_tokens_usd") is not None:
            out[r["id"]] = (sh.ref(at["cost_usd"]),
                            f"{sh.ref(at['inference_cost_per_million_tokens_usd'])}"
                            "/1000000*peak_to_mean")
        sh.row += 1
    sh.widths(12, 30, 10, *[15] * (len(cols) - 3))
    return out


def _sensitivity_sheet(book: _Book, sens: Sensitivity) -> None:
    sh = book.sheet("Sensitivity")
    sh.title(f"Sensitivity of {sens.metric_label.lower()} to the uncertain inputs, biggest "
             "swing first",
             "Each end is a run of the engine at export with that one input moved (the data of "
             "a tornado chart); the swing column is a formula over the row.")
    sh.header(["Input", "Low value", "High value", "Unit", "Low end", "High end",
               "Training cost at low (USD)", "Training cost at high (USD)",
               "Days at low (days)", "Days at high (days)",
               "Training + lifetime inference at low (USD)",
               "Training + lifetime inference at high (USD)",
               f"Swing of {sens.metric_label.lower()} ({sens.metric_unit})", "Where the range "
               "comes from"])
    sh.freeze()
    sh.put(1, "Baseline (the plan)", font=_BOLD)
    for col in (7, 8):
        sh.put(col, sens.baseline_cost_usd, unit="USD", font=_BOLD)
    for col in (9, 10):
        sh.put(col, sens.baseline_days, unit="days", font=_BOLD)
    for col in (11, 12):
        sh.put(col, sens.baseline_lifetime_usd, unit="USD", font=_BOLD)
    sh.row += 1
    metric_cols = {"cost_usd": (7, 8), "wall_clock_days": (9, 10),
                   "lifetime_total_cost_usd": (11, 12)}[sens.metric]
    for w in sens.swings:
        sh.put(1, w.label)
        sh.put(2, w.low_value, unit=w.unit)
        sh.put(3, w.high_value, unit=w.unit)
        sh.put(4, w.unit)
        sh.put(5, w.low_text)
        sh.put(6, w.high_text)
        for col, v, unit in ((7, w.low_cost_usd, "USD"), (8, w.high_cost_usd, "USD"),
                             (9, w.low_days, "days"), (10, w.high_days, "days"),
                             (11, w.low_lifetime_usd, "USD"), (12, w.high_lifetime_usd, "USD")):
            sh.put(col, v, unit=unit, font=_GREY)
        lo, hi = (sh.ref(c, absolute=False, sheet=False) for c in metric_cols)
        sh.formula(13, f"ABS({hi}-{lo})", unit=sens.metric_unit)
        sh.put(14, w.basis, wrap=True)
        sh.row += 1
    if sens.skipped:
        sh.row += 1
        sh.put(1, "Left out", font=_BOLD)
        sh.row += 1
        for k in sens.skipped:
            sh.put(1, k.label)
            sh.put(2, k.reason)
            sh.row += 1
    sh.widths(34, 14, 14, 18, 24, 24, 16, 16, 12, 12, 18, 18, 18, 80)


def _line_rows(sh: _Sheet, be: BreakEven, x_unit_scale: int, x_name: str,
               links: dict[str, tuple[str, str]] | None = None) -> dict[str, tuple[str, str]]:
    """The lines table: fixed cost and cost per x unit (linked to live cells where given)."""
    cells = {}
    for ln in be.lines:
        sh.put(1, ln.label + (" (plan)" if ln.is_plan else ""))
        link = (links or {}).get(ln.key)
        if link is not None:
            sh.formula(2, link[0], unit="USD")
            sh.formula(3, f"{link[1]}*{x_unit_scale}", unit=_slope_unit(be))
        else:
            sh.put(2, ln.fixed_usd, unit="USD", font=_BLUE, fill=_INPUT_FILL)
            sh.put(3, ln.usd_per_x * x_unit_scale, unit=_slope_unit(be), font=_BLUE,
                   fill=_INPUT_FILL)
        fixed, slope = sh.ref(2), sh.ref(3)
        sh.formula(4, f"{fixed}+{slope}*{x_name}/{x_unit_scale}", unit=be.y_unit)
        sh.put(5, ln.basis, wrap=True)
        cells[ln.key] = (fixed, slope)
        sh.row += 1
    return cells


def _slope_unit(be: BreakEven) -> str:
    return "USD per 1M output tokens" if be.x_unit == "tokens" else "USD per year"


def _crossing_rows(sh: _Sheet, be: BreakEven, cells, scale: int, x_unit: str) -> None:
    sh.header(["Line A", "Line B", f"Crossing ({x_unit})", f"Cost there ({be.y_unit})",
               "Cheaper before", "Cheaper after", "Cheapest choice changes here"])
    labels = {ln.key: ln.label for ln in be.lines}
    for c in be.crossings:
        (fa, sa), (fb, sb) = cells[c.a], cells[c.b]
        sh.put(1, labels[c.a])
        sh.put(2, labels[c.b])
        sh.formula(3, f"({fb}-{fa})/({sa}-{sb})*{scale}", unit=x_unit)
        x = sh.ref(3, absolute=False, sheet=False)
        sh.formula(4, f"{fa}+{sa}*{x}/{scale}", unit=be.y_unit)
        sh.put(5, labels[c.cheaper_before])
        sh.put(6, labels[c.cheaper_after])
        sh.put(7, "yes" if c.switch else "")
        sh.row += 1
    if not be.crossings:
        sh.put(1, "The lines do not cross at a positive x: one choice is cheaper throughout.",
               font=_GREY)
        sh.row += 1


def _grid_rows(sh: _Sheet, be: BreakEven, cells, scale: int, x_unit: str,
               n: int = 21) -> None:
    sh.header([f"{be.x_label} ({x_unit})"] + [f"{ln.label} ({be.y_unit})" for ln in be.lines])
    top = float(be.x[-1])
    for i in range(n):
        sh.put(1, top * i / (n - 1), unit=x_unit)
        xr = sh.ref(1, absolute=False, sheet=False)
        for j, ln in enumerate(be.lines, 2):
            fixed, slope = cells[ln.key]
            sh.formula(j, f"{fixed}+{slope}*{xr}/{scale}", unit=be.y_unit)
        sh.row += 1


def _breakeven_sheet(book: _Book, be: BreakEven, links: dict[str, tuple[str, str]]) -> None:
    sh = book.sheet("Break-even")
    sh.title(be.title, "Cost = training cost + serving cost per output token x tokens served "
                       "(x peak-to-mean: the fleet is paid for at the peak). Crossings and the "
                       "table below are formulas over the lines.")
    sh.header(["Hardware", "Training cost (USD)", "Serving, per 1M output tokens (USD)",
               f"Cost at the plan's lifetime demand ({be.y_unit})", "Where the numbers come "
               "from"])
    sh.freeze()
    cells = _line_rows(sh, be, 1_000_000, "lifetime_output_tokens", links)
    sh.row += 1
    _crossing_rows(sh, be, cells, 1_000_000, "tokens")
    sh.row += 1
    sh.put(1, "Cumulative cost against tokens served", font=_BOLD)
    sh.row += 1
    _grid_rows(sh, be, cells, 1_000_000, "tokens")
    for note in be.notes:
        sh.row += 1
        sh.put(1, note, font=_GREY)
    sh.widths(34, 18, 18, 20, 90, 16, 16)


def _rent_own_sheet(book: _Book, ro: RentOwn) -> None:
    sh = book.sheet("Rent or own")
    sh.title(ro.title, "Blue cells are inputs (purchase price, depreciation and electricity are "
                       "yours: none is defaulted). Everything else is a formula.")
    sh.header(["Input", "Value", "Unit", "Name in formulas", "Where it comes from"])
    sh.freeze()
    # chips, power, PUE and rent follow the Inputs sheet's cells when they are the same number
    same = {"ro_chips": "gpus", "ro_power_w": "power_w", "ro_pue": "pue",
            "ro_rent_usd_per_hour": "price_usd_per_gpu_hour"}
    inputs = [
        ("ro_chips", "Chips", ro.chips, "chips", "the plan's GPUs"),
        ("ro_purchase_usd_per_chip", "Purchase price per chip", ro.purchase_usd_per_chip,
         "USD per chip", "your input"),
        ("ro_depreciation_years", "Depreciation", ro.depreciation_years, "years",
         "your input (straight line, no resale value)"),
        ("ro_usd_per_kwh", "Electricity price", ro.usd_per_kwh, "USD per kWh", "your input"),
        ("ro_other_usd_per_chip_year", "Other owned costs per chip-year",
         ro.other_usd_per_chip_year, "USD per chip-year",
         "your input (hosting, network, staff)" if ro.other_usd_per_chip_year else
         "not given: 0"),
        ("ro_power_w", "Chip power", ro.power_w, "W per chip", "the hardware profile"),
        ("ro_pue", "PUE", ro.pue, "ratio", "the scenario"),
        ("ro_rent_usd_per_hour", "Rent per chip-hour", ro.rent_usd_per_hour,
         "USD per chip-hour", ro.rent_basis),
    ]
    for name, label, value, unit, src in inputs:
        sh.put(1, label)
        link = same.get(name, "")
        known = book.values.get(link)
        if known is not None and math.isclose(known, value, rel_tol=1e-12):
            sh.formula(2, link, unit=unit)
            src += " (the Inputs sheet's cell)"
        else:
            sh.put(2, value, unit=unit, font=_BLUE, fill=_INPUT_FILL)
        sh.put(3, unit)
        sh.put(4, name)
        sh.put(5, src, wrap=True)
        sh.name(name, 2)
        sh.row += 1
    hours = 8760
    derived = [
        ("ro_power_usd_per_hour", "Owned power cost per chip-hour in use", "USD per chip-hour",
         "ro_power_w/1000*ro_pue*ro_usd_per_kwh"),
        ("ro_fixed_usd_per_chip_year", "Owned fixed cost per chip-year", "USD per chip-year",
         "ro_purchase_usd_per_chip/ro_depreciation_years+ro_other_usd_per_chip_year"),
        ("ro_break_even_occupancy", "Break-even occupancy (own is cheaper above it; above "
         "100%: never)", "fraction",
         f"ro_fixed_usd_per_chip_year/({hours}*(ro_rent_usd_per_hour-ro_power_usd_per_hour))"),
        ("ro_payback_years", "Payback at full use", "years",
         f"ro_purchase_usd_per_chip/({hours}*(ro_rent_usd_per_hour-ro_power_usd_per_hour)"
         "-ro_other_usd_per_chip_year)"),
        ("ro_runs_per_year", "Runs like the plan's a year to break even", "ratio",
         "ro_break_even_occupancy*365/wall_clock_days"),
    ]
    sh.row += 1
    for name, label, unit, formula in derived:
        sh.put(1, label)
        sh.formula(2, formula, unit=unit)
        sh.put(3, unit)
        sh.put(4, name)
        sh.put(5, _readable(formula), wrap=True)
        sh.name(name, 2)
        sh.row += 1
    sh.row += 1
    sh.header([f"{ro.x_label} (fraction)", f"Rent ({ro.y_unit})", f"Own ({ro.y_unit})",
               "Owned cost per used chip-hour (USD per chip-hour)"])
    for i in range(1, 21):
        u = i / 20
        sh.put(1, u, unit="fraction")
        x = sh.ref(1, absolute=False, sheet=False)
        sh.formula(2, f"ro_chips*{hours}*{x}*ro_rent_usd_per_hour", unit="USD per year")
        sh.formula(3, f"ro_chips*(ro_fixed_usd_per_chip_year+{hours}*{x}*ro_power_usd_per_hour)",
                   unit="USD per year")
        sh.formula(4, f"ro_fixed_usd_per_chip_year/({hours}*{x})+ro_power_usd_per_hour",
                   unit="USD per chip-hour")
        sh.row += 1
    for note in ro.notes:
        sh.row += 1
        sh.put(1, note, font=_GREY)
    sh.widths(46, 18, 18, 30, 80)



def _sources_sheet(book: _Book, s: Scenario, est: Estimate, comparison: list[Estimate],
                   cat: Catalogue, date: str) -> None:
    sh = book.sheet("Sources")
    sh.title("Sources: every quantity's definition and source, the scaling law, and each "
             "hardware profile's sources and dated prices")
    sh.freeze()  # several tables follow: keep the title in view
    sh.put(1, "Report", font=_BOLD)
    sh.row += 1
    for k, v in (("Generated", date), ("Assumptions", assumptions_line(est, date)),
                 ("Uncertainty bands", est.uncertainty_source or "none"),
                 *((f"Provenance: {k}", v) for k, v in est.provenance.items())):
        sh.put(1, k)
        sh.put(2, v)
        sh.row += 1
    sh.row += 1
    sh.put(1, "Result quantities", font=_BOLD)
    sh.row += 1
    sh.header(["Key", "Quantity", "Unit", "Definition", "Source"])
    for q in QUANTITIES:
        sh.put(1, q.key)
        sh.put(2, q.label)
        sh.put(3, q.unit)
        sh.put(4, q.definition, wrap=True)
        sh.put(5, q.source, wrap=True)
        sh.row += 1
    sh.row += 1
    sh.put(1, "Scaling law", font=_BOLD)
    sh.row += 1
    law = cat.law(s.law)
    for k, v in (("Id", est.law_id), ("Name", est.law_name),
                 ("Citation", " ".join(est.law_citation.split())),
                 ("From", est.provenance.get("law", getattr(law, "source", "")))):
        sh.put(1, k)
        sh.put(2, v)
        sh.row += 1
    sh.row += 1
    sh.put(1, "Hardware profiles", font=_BOLD)
    sh.row += 1
    sh.header(["Profile", "Item", "Value", "Date", "Provider", "Source"])
    ids = [est.hardware, est.inference_hardware] + [e.hardware for e in comparison]
    seen: set[str] = set()
    for pid in ids:
        if pid in seen:
            continue
        seen.add(pid)
        try:
            p = cat.profile(pid if pid != est.hardware else s.hardware)
        except EstimatorError:
            continue
        sh.put(1, p.id)
        sh.put(2, "name")
        sh.put(3, p.display_name)
        sh.put(6, p.origin)
        sh.row += 1
        for tier in p.price_tiers():
            pr = p.prices[tier]
            fresh = pr.freshness()
            sh.put(1, p.id)
            sh.put(2, f"price: {tier}")
            sh.put(3, pr.usd_per_hour, unit="USD per GPU-hour")
            sh.put(4, pr.date)
            sh.put(5, pr.provider)
            sh.put(6, pr.source + (f" ({fresh.message})" if fresh.flagged else ""), wrap=True)
            sh.row += 1
        for src in p.sources:
            sh.put(1, p.id)
            sh.put(2, "source")
            sh.put(6, src, wrap=True)
            sh.row += 1
        if p.calibration.note:
            sh.put(1, p.id)
            sh.put(2, f"calibration: {p.calibration.status}")
            sh.put(6, p.calibration.note, wrap=True)
            sh.row += 1
    sh.widths(22, 30, 22, 14, 30, 100)


def _summary_sheet(book: _Book, s: Scenario, est: Estimate, date: str,
                   has: dict[str, bool]) -> None:
    sh = book.sheet("Summary")
    book.wb.move_sheet(sh.ws, offset=-len(book.wb.sheetnames) + 1)
    title = s.name or "LLM training cost estimate"
    sh.title(title, f"Generated {date}. {assumptions_line(est, date)}")
    sh.put(1, "Target")
    sh.put(2, describe_target(s))
    sh.row += 1
    sh.put(1, "Plan")
    sh.put(2, f"{units.si(est.params)} parameters on {units.si(est.tokens)} tokens "
              f"({units.flops(est.train_flops)}), loss {est.loss:.4f} nats/token")
    sh.row += 1
    sh.put(1, "Training")
    sh.put(2, hardware_phrase(est))
    sh.row += 2
    sh.header(["Headline (live)", "Value", "Unit"])
    for q in QUANTITIES:
        if not q.card or not q.applies(est) or getattr(est, q.key) is None:
            continue
        sh.put(1, q.label_for(est))
        sh.formula(2, _name_of(q.key), unit=q.unit)
        sh.put(3, q.unit)
        sh.row += 1
    sh.row += 1
    sh.put(1, "Sheets", font=_BOLD)
    sh.row += 1
    for name, what in (("Inputs", "the cost drivers (edit the blue cells) and the scenario"),
                       ("Results", "every result quantity; dollars as live formulas"),
                       ("Hardware", "the plan on every hardware profile"),
                       ("Sensitivity", "what moves the cost most (tornado data)"),
                       ("Break-even", "cumulative cost against tokens served, by hardware"),
                       ("Rent or own", "renting the chips against buying them"),
                       ("Sources", "definitions, the law's citation, profiles' sources and "
                                   "dated prices")):
        if name in book.wb.sheetnames:
            sh.put(1, name)
            sh.put(2, what)
            sh.row += 1
        elif name in has:
            sh.put(1, name, font=_GREY)
            sh.put(2, has[name], font=_GREY)
            sh.row += 1
    sh.widths(40, 20, 20)  # the sentences in column B run on into the empty columns


# --------------------------------------------------------------------------------------
# The workbook
# --------------------------------------------------------------------------------------


def report_workbook(scenario: Scenario, estimate: Estimate,
                    comparison: list[Estimate] | None = None, *,
                    catalogue: Catalogue | None = None, date: str | None = None,
                    sensitivity: Sensitivity | None = None,
                    break_even: BreakEven | None = None,
                    rent_own: RentOwn | None = None) -> Workbook:
    """The report as an openpyxl workbook: Summary, Inputs, Results, Hardware, Sensitivity,
    Break-even, Rent or own (when ``rent_own`` is given) and Sources. ``comparison`` (the
    scenario on every profile), ``sensitivity`` and ``break_even`` are computed here when not
    given; a break-even that cannot be drawn (fewer than two servable chips) is left out with a
    note on the Summary."""
    from estimator import sensitivity as sens_mod
    from estimator.engine import compare

    cat = resolve(catalogue)
    s, est = scenario, estimate
    date = date or today()
    if comparison is None:
        comparison = compare(s, catalogue=cat)
    if est.hardware not in {e.hardware for e in comparison}:
        comparison = [est, *comparison]
    missing: dict[str, str] = {}
    if sensitivity is None:
        sensitivity = sens_mod.sensitivity(s, est, catalogue=cat)
    if break_even is None:
        try:
            break_even = default_break_even(est, comparison)
        except InputError as exc:
            missing["Break-even"] = f"left out: {exc}"
    if rent_own is None:
        missing["Rent or own"] = ("not computed: give a purchase price per chip, the years of "
                                  "depreciation and an electricity price")
    book = _Book()
    _inputs_sheet(book, s, est, cat)
    _results_sheet(book, s, est)
    links = _hardware_sheet(book, s, est, comparison, cat)
    # the plan's line follows the Results sheet (the canonical live cells)
    if est.inference_cost_per_million_tokens_usd is not None:
        links[est.hardware] = ("cost_usd",
                               "inference_cost_per_million_tokens_usd/1000000*peak_to_mean")
    _sensitivity_sheet(book, sensitivity)
    if break_even is not None:
        _breakeven_sheet(book, break_even, links)
    if rent_own is not None:
        _rent_own_sheet(book, rent_own)
    _sources_sheet(book, s, est, comparison, cat, date)
    _summary_sheet(book, s, est, date, missing)
    return book.wb


def default_break_even(est: Estimate, comparison: list[Estimate],
                       hardware: Iterable[str] = ()) -> BreakEven:
    """The plan's break-even lines: the plan's hardware, the ``hardware`` ids asked for, and
    every chip that is cheapest somewhere up to twice the plan's lifetime demand (the lower
    envelope, :func:`estimator.breakeven.cheapest_lines`)."""
    from estimator.breakeven import break_even, cheapest_lines

    by_id = {e.hardware: e for e in comparison}
    want = [est.hardware, *hardware]
    unknown = [h for h in want if h not in by_id]
    if unknown:
        raise InputError(f"hardware {', '.join(unknown)} is not in the comparison (it cannot "
                         "run this scenario, or the id is wrong)", field="hardware",
                         value=unknown[0])
    horizon = 2 * est.lifetime_inference_tokens or 1e13
    chosen = [by_id[h] for h in dict.fromkeys(want)]
    for e in cheapest_lines(comparison, horizon):
        if e not in chosen:
            chosen.append(e)
    return break_even(chosen, plan_hardware=est.hardware)


def report_xlsx_bytes(scenario: Scenario, estimate: Estimate,
                      comparison: list[Estimate] | None = None, **kwargs: Any) -> bytes:
    """:func:`report_workbook` as the bytes of an .xlsx file."""
    buf = io.BytesIO()
    report_workbook(scenario, estimate, comparison, **kwargs).save(buf)
    return buf.getvalue()


def save_report_xlsx(path: str | Path, scenario: Scenario, estimate: Estimate,
                     comparison: list[Estimate] | None = None, **kwargs: Any) -> None:
    """Write the .xlsx report atomically (a crash mid-write leaves any old file intact)."""
    from estimator.fileio import atomic_write_bytes

    p = Path(path)
    if p.suffix.lower() != ".xlsx":
        raise InputError(f"{p.name}: a spreadsheet report needs an .xlsx file name",
                         field="out", value=str(p), expected="a .xlsx file name")
    data = report_xlsx_bytes(scenario, estimate, comparison, **kwargs)
    try:
        atomic_write_bytes(p, data)
    except OSError as exc:
        raise InputError(f"{p}: cannot save report ({exc.strerror or exc}); choose another "
                         "folder or free some disk space") from None
