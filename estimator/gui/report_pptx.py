"""The slide deck (.pptx) of an estimate, for a planning meeting.

Slides (16:9): the title with the headline plan; the key results (the quantities the window
shows as cards, from :mod:`estimator.quantities`); what moves the cost (the sensitivity,
:mod:`estimator.sensitivity`); the cheapest hardware as demand grows (the break-even,
:mod:`estimator.breakeven`) and rent or own when its inputs are given; one chart per slide with
its assumptions as the caption; and every result in an appendix. Each slide's notes carry its
sources: the law's citation, the hardware profiles' sources and dated prices, and the
definition and source of each number on it.

Chart pictures come from the charts' own export (:func:`estimator.gui.charts.render_chart`, PNG
at slide size in :data:`DECK_THEME`): this module draws no chart itself.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import PP_ALIGN
from pptx.util import Emu, Inches, Pt

from estimator import units
from estimator.breakeven import BreakEven, RentOwn
from estimator.catalogue import Catalogue, resolve
from estimator.curves import Curves, compute_curves
from estimator.engine import Estimate
from estimator.errors import EstimatorError, InputError
from estimator.gui.chart_kinds import CHART_KINDS, CHART_TITLES
from estimator.quantities import QUANTITIES
from estimator.report import (
    assumptions_line,
    describe_target,
    hardware_phrase,
    law_label,
    serving_phrase,
    today,
)
from estimator.scenario import Scenario
from estimator.sensitivity import Sensitivity
from estimator.textsafe import xml_text

__all__ = ["CHART_PX", "DECK_CHART_ORDER", "DECK_THEME", "deck_bytes", "save_report_pptx",
           "shape_text"]

log = logging.getLogger(__name__)

SLIDE_W, SLIDE_H = Inches(13.333), Inches(7.5)  # 16:9
#: Chart pictures: 16:9 at 1920 x 1080 px, shown 11.2 in wide (171 px per inch on the slide).
CHART_PX = (1920, 1080)
#: The charts' light style with large type, made for slides.
DECK_THEME = "presentation"
#: Chart slides in this order; chart kinds added later follow at the end.
DECK_CHART_ORDER = ("frontier", "isoflop", "laws", "isoloss", "cost", "lifetime", "hardware")
ROWS_PER_TABLE_SLIDE = 13

INK = RGBColor(0x1F, 0x23, 0x28)
MUTED = RGBColor(0x5B, 0x63, 0x6E)
ACCENT = RGBColor(0x00, 0x72, 0xB2)  # Okabe-Ito blue, as the charts' plan colour
HEAD_FILL = RGBColor(0xE8, 0xEC, 0xF2)
ZEBRA_FILL = RGBColor(0xF6, 0xF7, 0xF9)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)

def shape_text(text: object) -> str:
    """Every piece of text this module puts on a slide or in its notes goes through here:
    characters XML cannot hold (python-pptx rejects them) and other control characters are
    dropped (:func:`estimator.textsafe.xml_text`, the one XML filter), a carriage return
    becomes a new line."""
    s = xml_text(text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in s if ch in "\n\t" or ch.isprintable())


# --------------------------------------------------------------------------------------
# Slide building blocks
# --------------------------------------------------------------------------------------


def _blank(prs):
    return prs.slides.add_slide(prs.slide_layouts[6])


def _textbox(slide, left, top, width, height, text: str, size: float, *, bold=False,
             color=INK, align=PP_ALIGN.LEFT):
    box = slide.shapes.add_textbox(left, top, width, height)
    tf = box.text_frame
    tf.word_wrap = True
    for i, line in enumerate(shape_text(text).split("\n")):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        p.alignment = align
        run = p.add_run()
        run.text = line
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = color
    return box


def _heading(slide, text: str, sub: str = "") -> None:
    _textbox(slide, Inches(0.6), Inches(0.35), Inches(12.1), Inches(0.7), text, 28, bold=True)
    if sub:
        _textbox(slide, Inches(0.6), Inches(1.0), Inches(12.1), Inches(0.5), sub, 14,
                 color=MUTED)


def _notes(slide, lines: Sequence[str]) -> None:
    slide.notes_slide.notes_text_frame.text = shape_text("\n".join(lines))


TABLE_TOP = Inches(1.6)


def _table(slide, head: list[str], rows: list[list[str]], *, top=TABLE_TOP,
           widths: Sequence[float] | None = None, align: str = "", size: float = 14,
           bold_rows: frozenset[int] | set[int] = frozenset()) -> None:
    n_cols = len(head)
    width = Inches(12.1)
    row_h = Inches(0.42 if size >= 14 else 0.36)
    shape = slide.shapes.add_table(len(rows) + 1, n_cols, Inches(0.6), top, width,
                                   Emu(row_h * (len(rows) + 1)))
    table = shape.table
    widths = widths or [1.0] * n_cols
    total = sum(widths)
    for j, w in enumerate(widths):
        table.columns[j].width = Emu(int(width * w / total))
    align = align or "l" * n_cols
    for i, cells in enumerate([head, *rows]):
        table.rows[i].height = row_h
        for j, text in enumerate(cells):
            cell = table.cell(i, j)
            cell.fill.solid()
            cell.fill.fore_color.rgb = HEAD_FILL if i == 0 else (ZEBRA_FILL if i % 2 == 0
                                                                  else WHITE)
            tf = cell.text_frame
            tf.word_wrap = True
            p = tf.paragraphs[0]
            p.alignment = PP_ALIGN.RIGHT if align[j] == "r" else PP_ALIGN.LEFT
            run = p.add_run()
            run.text = shape_text(text)
            run.font.size = Pt(size)
            run.font.bold = i == 0 or (i - 1) in bold_rows
            run.font.color.rgb = INK


# --------------------------------------------------------------------------------------
# Sources for the notes
# --------------------------------------------------------------------------------------


def _profile_sources(cat: Catalogue, ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for pid in dict.fromkeys(ids):
        try:
            p = cat.profile(pid)
        except EstimatorError:
            continue
        out.append(f"{p.display_name} [{p.id}] ({p.origin}):")
        for tier in p.price_tiers():
            pr = p.prices[tier]
            out.append(f"  price {tier}: {units.usd_per_hour(pr.usd_per_hour)}, {pr.date}, "
                       f"{pr.provider}; {pr.source}")
        out += [f"  source: {s}" for s in p.sources]
    return out


def _base_sources(s: Scenario, est: Estimate, cat: Catalogue, date: str) -> list[str]:
    out = [f"Generated {date}. {assumptions_line(est, date)}",
           f"Scaling law: {est.law_name} [{est.law_id}]: {' '.join(est.law_citation.split())}"]
    if est.uncertainty_source:
        out.append(f"Bands: P10-P90 from {est.uncertainty_source}.")
    return out + _profile_sources(cat, [s.hardware, s.inference_hardware or s.hardware])


def _quantity_notes(est: Estimate, keys: Sequence[str]) -> list[str]:
    by_key = {q.key: q for q in QUANTITIES}
    return [f"{by_key[k].label_for(est)} ({by_key[k].unit}): {by_key[k].definition}. "
            f"Source: {by_key[k].source}." for k in keys]


# --------------------------------------------------------------------------------------
# The slides
# --------------------------------------------------------------------------------------


def _headline(est: Estimate) -> str:
    return (f"{units.usd(est.cost_usd)} and {units.days(est.wall_clock_days)} to train "
            f"{units.si(est.params)} parameters on {units.si(est.tokens)} tokens")


def _title_slide(prs, s: Scenario, est: Estimate, notes: list[str], date: str) -> None:
    slide = _blank(prs)
    _textbox(slide, Inches(0.8), Inches(1.7), Inches(11.7), Inches(1.0),
             s.name or "LLM training cost estimate", 40, bold=True)
    _textbox(slide, Inches(0.8), Inches(2.8), Inches(11.7), Inches(0.9), _headline(est), 28,
             color=ACCENT, bold=True)
    lines = [f"on {hardware_phrase(est)}"]
    b = est.bands.get("cost_usd")
    if b is not None:
        lines.append(f"Training cost P10-P90: {units.usd(b.p10)} to {units.usd(b.p90)}")
    if est.lifetime_total_cost_usd is not None and est.lifetime_inference_tokens > 0:
        lines.append(f"Training + serving {units.si(est.lifetime_inference_tokens)} output "
                     f"tokens: {units.usd(est.lifetime_total_cost_usd)}")
    lines.append(f"Target: {describe_target(s)}")
    _textbox(slide, Inches(0.8), Inches(3.8), Inches(11.7), Inches(2.0), "\n".join(lines), 18,
             color=INK)
    _textbox(slide, Inches(0.8), Inches(6.4), Inches(11.7), Inches(0.6),
             f"Scaling law: {law_label(est)} · generated {date}", 14, color=MUTED)
    _notes(slide, notes)


def _result_rows(est: Estimate, quantities) -> tuple[list[list[str]], list[str]]:
    rows, keys = [], []
    for q in quantities:
        if not q.applies(est):
            continue
        b = est.bands.get(q.key)
        band = f"{q.short_text(b.p10)} – {q.short_text(b.p90)}" if b else ""
        rows.append([q.label_for(est), q.text(getattr(est, q.key)), band])
        keys.append(q.key)
    return rows, keys


def _key_results_slide(prs, est: Estimate, notes: list[str]) -> None:
    rows, keys = _result_rows(est, [q for q in QUANTITIES if q.card])
    slide = _blank(prs)
    _heading(slide, "Key results", f"Training on {hardware_phrase(est)}")
    _table(slide, ["Quantity", "Value", "P10 – P90"], rows, widths=[4.2, 3.2, 3.6],
           align="lrr", size=15 if len(rows) <= 12 else 13)
    _notes(slide, [*notes, "", *_quantity_notes(est, keys)])


def _sensitivity_slide(prs, sens: Sensitivity, notes: list[str]) -> None:
    if not sens.swings:
        return
    slide = _blank(prs)
    metric = sens.metric_label.lower()
    money = sens.metric_unit == "USD"
    fmt = units.usd if money else units.days
    _heading(slide, "What moves the cost",
             f"Swing of {metric} (baseline {fmt(sens.baseline)}) as each uncertain input "
             "moves across its range, biggest first")
    rows = []
    for w in sens.swings:
        lo, hi = w.metric_at(sens.metric)
        rows.append([w.label, w.low_text, w.high_text, fmt(lo), fmt(hi), fmt(w.swing)])
    _table(slide, ["Input", "Low end", "High end", "At the low end", "At the high end",
                   "Swing"], rows, widths=[3.2, 2.6, 2.6, 1.8, 1.8, 1.6],
           align="lllrrr", size=13)
    lines = [*notes, "", "Each end is the engine run with that one input moved:"]
    lines += [f"{w.label}: {w.basis}" for w in sens.swings]
    lines += [f"Left out: {k.label}: {k.reason}" for k in sens.skipped]
    _notes(slide, lines)


def _break_even_slide(prs, be: BreakEven, est: Estimate, notes: list[str]) -> None:
    slide = _blank(prs)
    labels = {ln.key: ln.label for ln in be.lines}
    switch = be.switches
    if switch:
        sub = f"Cheapest: {labels[switch[0].cheaper_before]} up to {units.si(switch[0].x)} " \
              "output tokens"
        sub += "".join(f", then {labels[c.cheaper_after]}" + (
            f" up to {units.si(nxt.x)}" if nxt else "")
            for c, nxt in zip(switch, (*switch[1:], None), strict=True))
    else:
        sub = f"Cheapest at every demand shown: {be.cheapest_at(be.baseline_x).label}"
    # compare at the plan's demand, or (a plan that serves nothing) at the end of the range
    at = be.baseline_x or float(be.x[-1])
    where = "the plan's" if be.baseline_x else "a demand of"
    best = be.cheapest_at(at)
    plan = next((ln for ln in be.lines if ln.is_plan), None)
    if plan is not None and best.key != plan.key:
        save = plan.cost_at(at) - best.cost_at(at)
        sub += (f". At {where} {units.si(at)} tokens, {best.label} saves "
                f"{units.usd(save)} against the plan's {plan.label}")
    _heading(slide, "Cheapest hardware as serving grows", sub)
    rows, bold = [], set()
    for i, ln in enumerate(be.lines):
        rows.append([ln.label + (" (plan)" if ln.is_plan else ""), units.usd(ln.fixed_usd),
                     units.usd(ln.usd_per_x * 1e6), units.usd(ln.cost_at(at))])
        if ln.is_plan:
            bold.add(i)
    _table(slide, ["Hardware (train and serve)", "Training", "Serving per 1M output tokens",
                   f"Total at {units.si(at)} tokens"], rows,
           widths=[4.4, 2.2, 2.8, 2.6], align="lrrr", bold_rows=bold)
    lines = [*notes, "", "Cost = training cost + serving cost per output token x tokens "
             "served x peak-to-mean (the fleet is paid for at the peak):"]
    lines += [f"{ln.label}: {ln.basis}" for ln in be.lines]
    lines += [f"Crossing {c.a} / {c.b} at {units.si(c.x)} tokens ({units.usd(c.cost_usd)})"
              for c in be.crossings]
    lines += list(be.notes)
    _notes(slide, lines)


def _decimals(usd: float) -> int:
    """Cents, or a tenth of a cent when the price has one ($0.10, $0.125)."""
    return 2 if round(usd, 2) == usd else 3


def _rent_own_slide(prs, ro: RentOwn, notes: list[str]) -> None:
    slide = _blank(prs)
    if ro.break_even_occupancy is not None:
        sub = (f"Owning is cheaper above {ro.break_even_occupancy:.0%} occupancy "
               f"(about {ro.runs_per_year_to_break_even:.1f} runs like this one a year)")
    else:
        sub = "Renting is cheaper at every occupancy"
    _heading(slide, ro.title, sub)
    rows = [["Rent per chip-hour", units.usd_per_hour(ro.rent_usd_per_hour), ro.rent_basis],
            ["Purchase price per chip", units.usd(ro.purchase_usd_per_chip), "your input"],
            ["Depreciation", f"{ro.depreciation_years:g} years", "your input (straight line)"],
            ["Electricity", f"${ro.usd_per_kwh:.{_decimals(ro.usd_per_kwh)}f} per kWh",
             "your input"],
            ["Owned power per chip-hour", units.usd_per_hour(ro.power_usd_per_hour),
             f"{ro.power_w:g} W x PUE {ro.pue:g}"]]
    if ro.other_usd_per_chip_year:
        rows.append(["Other owned costs", f"{units.usd(ro.other_usd_per_chip_year)} per "
                     "chip-year", "your input"])
    if ro.payback_years_at_full_use is not None:
        rows.append(["Payback at full use", f"{ro.payback_years_at_full_use:.1f} years",
                     "purchase / (8,760 h x (rent - power) - other)"])
    _table(slide, ["", "Value", "From"], rows, widths=[3.6, 3.0, 5.4], align="lrl")
    _notes(slide, [*notes, "", *ro.notes, *(f"{ln.label}: {ln.basis}" for ln in ro.lines)])


def _chart_slide(prs, kind: str, png: bytes, est: Estimate, notes: list[str],
                 date: str, cat: Catalogue) -> None:
    slide = _blank(prs)
    w_in = 10.9  # leaves a 1.1 in band for the caption
    h_in = w_in * CHART_PX[1] / CHART_PX[0]
    left = (SLIDE_W - Inches(w_in)) // 2
    pic = slide.shapes.add_picture(io.BytesIO(png), left, Inches(0.15), width=Inches(w_in),
                                   height=Inches(h_in))
    title = CHART_TITLES.get(kind, kind)
    pic.name = shape_text(f"Chart: {kind}")
    pic._element.nvPicPr.cNvPr.set("descr", shape_text(title))  # alt text
    _textbox(slide, Inches(0.6), Inches(0.25 + h_in), Inches(12.1), Inches(0.9),
             chart_caption(kind, est, cat), 11, color=MUTED, align=PP_ALIGN.CENTER)
    _notes(slide, [title, assumptions_line(est, date), f"Serving: {serving_phrase(est)}", *notes])


#: Charts whose numbers include serving (their caption names the serving assumptions).
_SERVING_CHARTS = frozenset({"lifetime"})


def chart_caption(kind: str, est: Estimate, catalogue: Catalogue | None = None) -> str:
    """The assumptions behind a chart that its own footnote (law, hardware, date) leaves out:
    where the price and the utilisation come from, how compute is counted, and for the charts
    with serving dollars the request mix and demand."""
    s = est.scenario
    if s.price_per_hour is not None:
        price = f"price {units.usd_per_hour(est.price_usd_per_hour)} (yours)"
    else:
        tier = s.price_tier.replace("_", "-")
        try:
            pr = resolve(catalogue).profile(s.hardware).prices.get(s.price_tier)
        except EstimatorError:
            pr = None
        who = re.split(r"\s*[(;]", pr.provider)[0] if pr is not None and pr.provider else ""
        price = (f"{tier} price {units.usd_per_hour(est.price_usd_per_hour)}"
                 + (f" ({who + ', ' if who else ''}{pr.date})" if pr is not None else ""))
    util = ("MFU and goodput as given" if s.mfu is not None and s.goodput is not None else
            "MFU and goodput from the run model calibrated on published runs "
            "(docs/calibration.md)")
    flops = ("compute counted exactly with attention" if s.exact_flops else
             "compute C = 6ND")
    parts = [f"Assumptions: {price}", util, flops]
    if kind in _SERVING_CHARTS and est.lifetime_inference_tokens > 0:
        parts.append(f"serving {s.input_tokens_per_request:,.0f}-in / "
                     f"{s.output_tokens_per_request:,.0f}-out requests on "
                     f"{est.inference_hardware}, {units.si(s.output_tokens_per_day)} output "
                     f"tokens/day for {s.deployment_days:g} days, fleet paid for at "
                     f"{s.peak_to_mean:g}× the mean")
    return " · ".join(parts)



def _not_drawn(prs, kind: str, why: str, notes: list[str]) -> None:
    slide = _blank(prs)
    _heading(slide, CHART_TITLES.get(kind, kind), why)
    _notes(slide, notes)


def _appendix_slides(prs, est: Estimate, notes: list[str]) -> None:
    rows, keys = _result_rows(est, QUANTITIES)
    pages = max(1, -(-len(rows) // ROWS_PER_TABLE_SLIDE))
    per = -(-len(rows) // pages)  # balanced: 25 rows are 13 + 12, not 12 + 12 + 1
    for i in range(pages):
        part = slice(i * per, (i + 1) * per)
        slide = _blank(prs)
        _heading(slide, "All results" + (f" ({i + 1} of {pages})" if pages > 1 else ""),
                 "Every quantity of the estimate; definitions and sources in the notes")
        _table(slide, ["Quantity", "Value", "P10 – P90"], rows[part], widths=[4.6, 3.6, 3.2],
               align="lrr", size=13)
        _notes(slide, [*notes, "", *_quantity_notes(est, keys[part])])


# --------------------------------------------------------------------------------------
# The deck
# --------------------------------------------------------------------------------------


def _chart_sources(scenario, estimate, charts, cat) -> list[tuple[str, Curves, Estimate]]:
    order = [k for k in DECK_CHART_ORDER if k in CHART_KINDS]
    order += [k for k in CHART_KINDS if k not in order]
    out = []
    if charts:
        for kind in order:
            w = charts.get(kind)
            if w is not None and w.curves is not None and w.estimate is not None:
                out.append((kind, w.curves, w.estimate))
    if not out:
        curves = compute_curves(scenario, estimate, catalogue=cat)
        out = [(k, curves, estimate) for k in order]
    return out


def deck_bytes(scenario: Scenario, estimate: Estimate,
               comparison: list[Estimate] | None = None, charts=None, *,
               catalogue: Catalogue | None = None, date: str | None = None,
               sensitivity: Sensitivity | None = None, break_even: BreakEven | None = None,
               rent_own: RentOwn | None = None, theme: str = DECK_THEME) -> bytes:
    """The deck as the bytes of a .pptx file. ``charts``: the window's chart widgets (their
    data is drawn again at slide size); None computes every chart. ``comparison``,
    ``sensitivity`` and ``break_even`` are computed when not given."""
    from estimator.engine import compare
    from estimator.gui.charts import _ensure_app, render_chart
    from estimator.report_xlsx import default_break_even
    from estimator.sensitivity import sensitivity as run_sensitivity

    cat = resolve(catalogue)
    s, est = scenario, estimate
    date = date or today()
    if comparison is None:
        comparison = compare(s, catalogue=cat)
    if sensitivity is None:
        sensitivity = run_sensitivity(s, est, catalogue=cat)
    if break_even is None:
        try:
            break_even = default_break_even(est, comparison)
        except InputError:
            break_even = None
    _ensure_app()
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    prs.core_properties.title = shape_text(s.name or "LLM training cost estimate")
    prs.core_properties.subject = shape_text(_headline(est))
    notes = _base_sources(s, est, cat, date)
    warn = [f"Warning: {w}" for w in est.warnings]
    _title_slide(prs, s, est, [*notes, *warn], date)
    _key_results_slide(prs, est, notes)
    _sensitivity_slide(prs, sensitivity, notes)
    if break_even is not None:
        be_ids = [ln.key for ln in break_even.lines]
        _break_even_slide(prs, break_even, est, [*notes, *_profile_sources(cat, be_ids)])
    if rent_own is not None:
        _rent_own_slide(prs, rent_own, notes)
    for kind, curves, e in _chart_sources(s, est, charts, cat):
        try:
            png = render_chart(kind, theme, curves, e, "png", width_px=CHART_PX[0],
                               height_px=CHART_PX[1])
        except EstimatorError as exc:  # a chart that cannot draw this plan: say so, go on
            _not_drawn(prs, kind, f"Not drawn for this plan: {exc}", notes)
            continue
        except Exception as exc:  # noqa: BLE001 - a chart's bug must not lose the whole deck
            log.exception("chart %s failed in the slide deck", kind)
            _not_drawn(prs, kind, f"Not drawn: the chart failed ({type(exc).__name__}: "
                                  f"{exc}); please report it", notes)
            continue
        _chart_slide(prs, kind, png, e, [*notes, *warn], date, cat)
    _appendix_slides(prs, est, notes)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def save_report_pptx(path: str | Path, scenario: Scenario, estimate: Estimate,
                     comparison: list[Estimate] | None = None, charts=None,
                     **kwargs) -> None:
    """Write the slide deck (:func:`deck_bytes`) atomically."""
    from estimator.gui.charts import write_file

    p = Path(path)
    if p.suffix.lower() != ".pptx":
        raise InputError(f"{p.name}: a slide deck needs a .pptx file name", field="out",
                         value=str(p), expected="a .pptx file name")
    write_file(p, deck_bytes(scenario, estimate, comparison, charts, **kwargs), "the slides")

