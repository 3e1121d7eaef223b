"""Reports of a scenario and its estimate: Markdown (for proposals), CSV (for spreadsheets) and
JSON (for scripts), each with the hardware comparison. No Qt: the PDF with charts lives in
:mod:`estimator.gui.report_pdf` and reuses :func:`report_markdown`.

Every report states its assumptions (law and citation, hardware, precision, MFU, goodput,
price) and the date it was generated, so a number copied out of it can be traced.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from estimator import units
from estimator.engine import STALE_SUFFIX, Estimate
from estimator.engine import comparison_rows as _engine_rows
from estimator.errors import InputError
from estimator.quantities import QUANTITIES, columns, unit_of
from estimator.scenario import FIELDS, Scenario
from estimator.textsafe import csv_cell, csv_value, markdown_code, markdown_inline

REPORT_SUFFIXES = (".md", ".csv", ".json", ".xlsx")
#: Report formats that need Qt for their chart pictures (estimator.gui.report_pdf and
#: estimator.gui.report_pptx write them).
QT_REPORT_SUFFIXES = (".pdf", ".pptx")
REPORT_SCHEMA_VERSION = 2

_TIER_WORDS = {"on_demand": "on-demand", "reserved": "reserved", "spot": "spot"}
Escape = Callable[[str], str]


def _plain(text: str) -> str:
    return text
_VENDOR_PREFIXES = ("NVIDIA ", "AMD Instinct ", "AMD ", "Google Cloud ", "Google ")


# --------------------------------------------------------------------------------------
# Shared phrases (the charts' footnote uses them too)
# --------------------------------------------------------------------------------------


def today() -> str:
    return _dt.date.today().isoformat()


def short_citation(citation: str) -> str:
    """'Besiroglu, Erdil, Barnett, You (2024), "..."' -> 'Besiroglu et al. 2024' ('' if the
    citation has no leading author and year)."""
    m = re.match(r"\s*([A-Z][\w'\-]+)", citation or "")
    y = re.search(r"\((\d{4})\)", citation or "") or re.search(r"\b((?:19|20)\d{2})\b",
                                                              citation or "")
    if not m or not y:
        return ""
    return f"{m.group(1)} et al. {y.group(1)}"


def law_label(est: Estimate, esc: Escape = _plain) -> str:
    """The law as a chart or report names it: 'Epoch AI 2024 (Besiroglu et al. 2024)'.
    ``esc`` escapes text from the law file for the output format (default: none)."""
    name = (est.law_name or est.law_id).strip()
    short = short_citation(est.law_citation)
    if not short or short.split()[0] in name:
        return esc(name)
    # 'Epoch AI 2024 (Chinchilla refit)' -> 'Epoch AI 2024 (Besiroglu et al. 2024)'
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip() or est.law_id
    return f"{esc(name)} ({esc(short)})"


def hardware_short_name(name: str) -> str:
    """'NVIDIA H100 SXM5 80GB' -> 'H100 SXM5 80GB'."""
    for p in _VENDOR_PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def price_phrase(est: Estimate) -> str:
    """'$2.50/h on-demand'; a price under a cent keeps two significant digits ($0.0010/h)."""
    s = est.scenario
    price = units.usd_per_hour(est.price_usd_per_hour)
    if s.price_per_hour is not None:
        return f"{price}/h (custom price)"
    return f"{price}/h {_TIER_WORDS.get(s.price_tier, s.price_tier)}"


def alternative_saving(est: Estimate) -> float | None:
    """What the lifetime-optimal plan saves over the compute-optimal one (USD; either way round,
    by the scenario's optimisation), or None when either cannot be served."""
    s = est.scenario
    if s.optimize == "lifetime":
        other = est.compute_optimal
        if (not other or other["lifetime_total_cost_usd"] is None
                or est.lifetime_total_cost_usd is None):
            return None
        return other["lifetime_total_cost_usd"] - est.lifetime_total_cost_usd
    other = est.lifetime_optimal
    if not other or other.get("lifetime_total_cost_usd") is None:
        return None
    return other.get("saving_usd")


def serving_phrase(est: Estimate, esc: Escape = _plain) -> str:
    """'h100-sxm: 2,048-in / 512-out requests, bf16 weights, bf16 KV, batch 96 on 2 chips
    (bound: weights bandwidth)'; ``esc`` escapes the profile id for the output format."""
    s = est.scenario
    head = (f"{esc(est.inference_hardware)}: {s.input_tokens_per_request:,.0f}-in / "
            f"{s.output_tokens_per_request:,.0f}-out requests, {s.inference_precision} weights, "
            f"{s.kv_precision} KV")
    if est.serving_batch is None:
        return head + " (the model fits on no replica: see the warnings)"
    from estimator.serving import BOUND_LABELS

    bound = BOUND_LABELS.get(est.serving_bound, est.serving_bound)
    return (f"{head}, batch {est.serving_batch} on {est.serving_chips_per_replica} "
            f"chip{'s' if est.serving_chips_per_replica != 1 else ''} (bound: {bound})")


def hardware_phrase(est: Estimate, esc: Escape = _plain) -> str:
    """'1,024 × H100 SXM5 80GB, bf16, MFU 29%, goodput 84%, $2.50/h on-demand'; a profile from
    a user file is marked '(user profile)'."""
    user = " (user profile)" if est.provenance.get("hardware", "built-in") != "built-in" else ""
    return (f"{est.gpus:,} × {esc(hardware_short_name(est.hardware_name))}{user}, "
            f"{est.precision}, MFU {est.mfu:.0%}, goodput {est.goodput:.0%}, {price_phrase(est)}")


def assumptions_line(est: Estimate, date: str | None = None, esc: Escape = _plain) -> str:
    """The footnote every chart and report carries (``esc``: see :func:`law_label`)."""
    return (f"Law: {law_label(est, esc)} · Hardware: {hardware_phrase(est, esc)} · "
            f"generated {date or today()}")


def sources(est: Estimate) -> list[tuple[str, str]]:
    """(what, file) for the law and profiles of an estimate that came from user files."""
    out = []
    for what, key in (("Scaling law", "law"), ("Hardware profile", "hardware"),
                      ("Serving profile", "inference_hardware")):
        origin = est.provenance.get(key)
        if key == "inference_hardware" and est.inference_hardware == est.hardware:
            continue
        if origin and origin != "built-in":
            out.append((what, origin))
    return out


def describe_target(s: Scenario, est: Estimate | None = None, esc: Escape = _plain) -> str:
    """One phrase for the scenario's target ('the lowest loss for $10 M on 1,024 H100 SXM5
    80GB', 'the lowest loss that finishes in 60 days on 2,048 GPUs'). With the estimate, the
    hardware is named (escaped by ``esc`` for the output format: it may come from a file)
    and a deadline beside another target says how many GPUs meet it."""
    chips = esc(hardware_short_name(est.hardware_name) if est is not None else s.hardware)
    if s.mode == "budget":
        what = ("training and lifetime serving" if s.optimize == "lifetime" else "training")
        text = (f"the lowest loss for {units.usd(s.budget_usd)} of {what} on {s.gpus:,} "
                f"{chips}")
    elif s.mode == "deadline":
        text = (f"the lowest loss that finishes in {s.deadline_days:g} days on {s.gpus:,} "
                f"{chips}")
    elif s.mode == "loss":
        text = f"target loss {s.target_loss:g} nats/token"
    elif s.mode == "compute":
        text = f"compute budget {units.flops(s.compute_flops)}"
    elif s.mode == "model":
        n = s.law_params or 0
        d = s.tokens if s.tokens is not None else (s.tokens_per_param or 0) * n
        size = (f"{units.si(s.params)} params ({units.si(n)} active)" if s.is_moe
                else f"{units.si(s.params)} params")
        text = f"a given model: {size} on {units.si(d)} tokens"
    else:
        text = (f"as good as {units.si(s.match_params)} params trained on "
                f"{units.si(s.match_tokens)} tokens")
    cons = []
    if s.mode != "model" and s.law_params is not None:
        active = " active" if s.is_moe else ""
        cons.append(f"model size fixed at {units.si(s.law_params)}{active} params")
    if s.is_moe:
        shared = f" + {s.shared_experts} shared" if s.shared_experts else ""
        cons.append(f"mixture of experts: {s.experts_per_token} of {s.n_experts} "
                    f"experts{shared} per token")
    if s.mode != "model" and s.tokens_per_param is not None:
        cons.append(f"{s.tokens_per_param:g} tokens per parameter")
    if s.unique_tokens is not None:
        cons.append(f"{units.si(s.unique_tokens)} unique tokens")
    if cons:
        text += " (" + ", ".join(cons) + ")"
    if s.solves_gpus:
        need = (f": {est.gpus_needed:,} {chips} needed" if est is not None
                and est.gpus_needed is not None else "")
        text += f"; finish in {s.deadline_days:g} days on the fewest GPUs{need}"
    if s.optimize == "lifetime" and s.mode != "budget":
        text += "; plan minimises training + lifetime inference cost"
    return text


# --------------------------------------------------------------------------------------
# Hardware comparison rows
# --------------------------------------------------------------------------------------

def _comparison_fields() -> tuple[tuple[str, str], ...]:
    out = [("id", ""), ("name", ""), ("precision", ""), ("price_usd_per_hour", "USD/GPU-hour"),
           ("mfu", "fraction"), ("goodput", "fraction")]
    for q in columns():
        out.append((q.key, q.unit))
        if q.band:
            out += [(f"{q.key}_p10", q.unit), (f"{q.key}_p90", q.unit)]
    return (*out, ("is_plan", ""))


#: (key, unit) of every field of a hardware comparison row (from the quantities registry).
COMPARISON_FIELDS = _comparison_fields()


def comparison_rows(scenario: Scenario, estimate: Estimate,
                    comparison: list[Estimate] | None = None) -> list[dict]:
    """One row per hardware profile, cheapest first (:func:`estimator.engine.comparison_rows`)
    from ``comparison`` (the scenario on every profile) or computed here."""
    if comparison is None:
        from estimator.engine import compare

        comparison = compare(scenario)
    return _engine_rows(comparison, estimate.hardware)


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def _band_text(est: Estimate, name: str, fmt) -> str:
    b = est.bands.get(name)
    return f"{fmt(b.p10)} – {fmt(b.p90)}" if b else ""


def _md_escape(text: str) -> str:
    """Our own text in a table cell: only the cell separator and line breaks."""
    return " ".join(str(text).replace("|", "\\|").split())


def md_text(text: str) -> str:
    """User text (a scenario name) on one Markdown line: no newlines, no markup characters."""
    flat = " ".join(str(text).split())
    return "".join("\\" + ch if ch in "\\`*_{}[]<>()#+!|" else ch for ch in flat)


def _table(head: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """A Markdown table. Cells are our own text (a cell holding text from a file is escaped
    with :func:`~estimator.textsafe.markdown_inline` by the caller)."""
    align = align or "l" * len(head)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(c if isinstance(c, _Safe) else _md_escape(c) for c in r) + " |"
            for r in rows]
    return out


class _Safe(str):
    """Markdown that is already escaped (the table leaves it as it is)."""


def key_results(est: Estimate) -> list[tuple[str, str, str]]:
    """(quantity, value, P10–P90) rows shared by the Markdown and PDF reports: every quantity
    of :mod:`estimator.quantities` that applies."""
    rows = []
    for q in QUANTITIES:
        if not q.applies(est):
            continue
        b = est.bands.get(q.key)
        band = f"{q.short_text(b.p10)} – {q.short_text(b.p90)}" if b else ""
        rows.append((q.label_for(est), q.text(getattr(est, q.key)), band))
    return rows


def report_markdown(scenario: Scenario, estimate: Estimate,
                    comparison: list[Estimate] | None = None, *, date: str | None = None) -> str:
    """A self-contained Markdown report: target, plan, cost, serving, the inference-aware
    alternative, warnings, hardware comparison, assumptions and inputs."""
    s, est = scenario, estimate
    md = markdown_inline  # every text from a file (names, citations, ids, paths, warnings)
    date = date or today()
    title = md_text(s.name) if s.name else "LLM training cost estimate"
    out = [f"# {title} — {units.usd(est.cost_usd)}, {units.days(est.wall_clock_days)}", ""]
    out += [f"**Target:** {describe_target(s, est, md)}.  ",
            f"**Plan:** {units.si(est.params)} parameters trained on {units.si(est.tokens)} "
            f"tokens ({units.flops(est.train_flops)}), reaching loss {est.loss:.4f} nats/token.  ",
            f"**Training:** {hardware_phrase(est, md)}.  ",
            f"**Scaling law:** {md(est.law_name)} [{markdown_code(est.law_id)}].  ",
            f"**Generated:** {date}.", ""]
    if est.warnings:
        out += ["## Warnings", ""] + [f"- {md(w)}" for w in est.warnings] + [""]
    out += ["## Results", ""]
    out += _table(["Quantity", "Value", "P10 – P90"],
                  [[_Safe(md(c)) for c in r] for r in key_results(est)], "lrr")
    if est.uncertainty_source:
        out += ["", f"P10–P90 bands from {est.uncertainty_source}."]
    out += [""]
    other = est.compute_optimal if s.optimize == "lifetime" else est.lifetime_optimal
    if other:
        saving = alternative_saving(est)
        if s.optimize == "lifetime":
            out += ["## Compared with the compute-optimal plan at the same loss", ""]
        else:
            out += ["## Inference-aware alternative at the same loss (Sardana et al. 2023)", ""]

        def epochs(d: dict) -> str:
            return f" ({d['epochs']:.1f} epochs)" if d.get("epochs", 1.0) > 1.0 else ""

        out += _table(["", "Parameters", "Tokens", "Training", "Lifetime inference", "Total"], [
            ["This plan", units.si(est.params), units.si(est.tokens) + epochs(
                {"epochs": est.epochs}), units.usd(est.cost_usd),
             units.usd(est.lifetime_inference_cost_usd), units.usd(est.lifetime_total_cost_usd)],
            ["Alternative", units.si(other["params"]), units.si(other["tokens"]) + epochs(other),
             units.usd(other["train_cost_usd"]), units.usd(other["lifetime_inference_cost_usd"]),
             units.usd(other["lifetime_total_cost_usd"])],
        ], "lrrrrr")
        who = "The lifetime-optimal plan" if s.optimize == "lifetime" else "The alternative"
        if saving is None:
            out += ["", f"One of the two models fits on no serving replica of "
                        f"{est.inference_hardware}, so their lifetime costs cannot be compared "
                        "there.", ""]
        else:
            verb = "saves" if saving >= 0 else "costs"
            out += ["", f"{who} {verb} {units.usd(abs(saving))} over "
                        f"{units.si(est.lifetime_inference_tokens)} inference tokens.", ""]
    rows = comparison_rows(s, est, comparison)
    if rows:
        each = (f"the fewest chips that finish in {s.deadline_days:g} days" if s.solves_gpus
                else f"{est.gpus:,} chips each")
        if s.mode == "budget":
            each += f", each buying its own plan for {units.usd(s.budget_usd)}"
        out += [f"## Hardware comparison ({each}, {est.precision}, "
                f"{_TIER_WORDS.get(s.price_tier, s.price_tier)} prices)", ""]
        # the two text columns become marks on the name, so the table fits a printed page
        marks = ("training_constants", "price_date")
        cols = tuple(q for q in columns() if q.key not in marks)
        body = []
        borrowed, stale = [], []
        for r in rows:
            base = md(hardware_short_name(r["name"]))
            quoted = str(r.get("price_date") or "")  # ("date" is the report's own date)
            is_borrowed = str(r.get("training_constants") or "").startswith("borrowed")
            is_stale = quoted.endswith(STALE_SUFFIX)
            if is_borrowed:
                borrowed.append(base)
            if is_stale:
                stale.append(f"{base} {md(quoted.removesuffix(STALE_SUFFIX))}")
            name = base + (" †" if is_borrowed else "") + (" ‡" if is_stale else "")
            cells = [_Safe(f"**{name}** (plan)" if r["is_plan"] else name),
                     units.usd_per_hour(r["price_usd_per_hour"]), units.percent(r["mfu"])]
            for q in cols:
                text = q.short_text(r[q.key])
                if q.band and q.key == "cost_usd":
                    text += (f" ({q.short_text(r['cost_usd_p10'])} – "
                             f"{q.short_text(r['cost_usd_p90'])})")
                cells.append(text)
            body.append(cells)
        out += _table(["Hardware", "$/GPU-h", "MFU"] + [q.column for q in cols], body,
                      "lrr" + "r" * len(cols))
        out += [""]
        if borrowed:
            out += [f"† Run-model constants borrowed from another chip family (no published "
                    f"runs of its own; wider band): {', '.join(borrowed)}.", ""]
        if stale:
            out += [f"‡ Price quote older than 12 months (check a current one): "
                    f"{', '.join(stale)}.", ""]
    out += ["## Assumptions", "",
            f"- Scaling law: {md(est.law_name)} — {md(est.law_citation)}",
            f"- Extrapolation beyond the law's fitted range: {est.extrapolation_factor:.1f}×",
            "- Training compute C = 6ND (Kaplan et al. 2020; Hoffmann et al. 2022)"
            + (f", exact count with attention ×{est.flops_ratio_to_6nd:.3f}"
               if est.flops_ratio_to_6nd != 1.0 else ""),
            f"- Hardware: {hardware_phrase(est, md)}",
            *[f"- {what} from the user file {md(origin)}" for what, origin in sources(est)],
            f"- Serving: {serving_phrase(est, md)}; "
            f"{units.si(s.output_tokens_per_day)} output tokens/day for {s.deployment_days:g} "
            f"days, fleet sized for {s.peak_to_mean:g}x the mean demand",
            "", "## Inputs", ""]
    out += _table(["Input", "Value"], [[_Safe(md(c)) for c in row[:2]] for row in input_rows(s)])
    out += ["", DEFAULTS_NOTE]
    out += ["", f"_{assumptions_line(est, date, md)}_", ""]
    return "\n".join(out)


#: What the inputs a scenario leaves empty mean.
DEFAULTS_NOTE = ("Inputs left empty take their defaults: the profile's calibrated utilisation "
                 "and price, a shape derived from the model size, and the serving batch and "
                 "replica that the serving model finds cheapest.")


def input_rows(s: Scenario) -> list[list[str]]:
    """(label, value with unit, field name) of every input the scenario's mode uses and sets
    (optional inputs left empty take their defaults: see :data:`DEFAULTS_NOTE`)."""
    from estimator.fields import format_value

    rows = []
    for name, value in s.relevant().items():
        spec = FIELDS.get(name)
        if spec is None or value is None or (spec.kind == "text" and not value):
            continue
        text = format_value(spec, value)
        if value is not None and spec.unit and spec.kind not in ("count", "usd"):
            text += f" {spec.unit}"
        rows.append([spec.label, text, name])
    return rows


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------

def report_csv(scenario: Scenario, estimate: Estimate,
               comparison: list[Estimate] | None = None, *, date: str | None = None) -> str:
    """Rows of ``section, field, value, unit``: the scenario inputs, every result (full
    precision, P10/P50/P90 bands as ``*_p10`` ...), the warnings, the alternative plan, and a
    ``hardware:<id>`` section per profile."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "field", "value", "unit"])
    w.writerow(["report", "generated", date or today(), "date"])
    w.writerow(["report", "assumptions", csv_cell(assumptions_line(estimate, date)), ""])
    for k, v in scenario.relevant().items():
        spec = FIELDS.get(k)
        w.writerow(["scenario", k, csv_value(v), spec.unit if spec else ""])
    d = estimate.to_dict()
    for k, v in d.items():
        if k in ("warnings", "compute_optimal", "lifetime_optimal", "inputs", "provenance",
                 "target"):
            continue
        w.writerow(["estimate", k, csv_value(v), unit_of(k)])
    for k, v in (d.get("target") or {}).items():  # a budget or deadline and what it used
        unit = "USD" if k.endswith("_usd") else "days" if k.endswith("_days") else unit_of(k)
        w.writerow(["target", k, csv_value(v), unit])
    for name in ("compute_optimal", "lifetime_optimal"):
        for k, v in (d.get(name) or {}).items():
            w.writerow([name, k, csv_value(v), "USD" if k.endswith("_usd") else unit_of(k)])
    for k, v in (d.get("provenance") or {}).items():
        w.writerow(["provenance", k, csv_value(v), ""])
    for i, msg in enumerate(estimate.warnings, 1):
        w.writerow(["warning", f"warning_{i}", csv_value(msg), ""])
    units_of = dict(COMPARISON_FIELDS)
    for r in comparison_rows(scenario, estimate, comparison):
        for k, v in r.items():
            if k == "id":
                continue
            w.writerow([csv_cell(f"hardware:{r['id']}"), k, csv_value(v), units_of.get(k, "")])
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------


def _clean(o: Any):
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if hasattr(o, "item") and not isinstance(o, (str, bytes)):  # numpy scalars
        return _clean(o.item())
    return o


def report_dict(scenario: Scenario, estimate: Estimate,
                comparison: list[Estimate] | None = None, *, date: str | None = None) -> dict:
    """The report as data: the very object of ``estimate --json`` (schema version, inputs,
    results, warnings, provenance), plus ``report`` (date and the assumptions line) and
    ``comparison`` (one row per hardware profile)."""
    d = estimate.to_dict()
    d["report"] = {"report_schema_version": REPORT_SCHEMA_VERSION,
                   "generated": date or today(), "assumptions": assumptions_line(estimate, date)}
    d["comparison"] = comparison_rows(scenario, estimate, comparison)
    return _clean(d)


def report_json(scenario: Scenario, estimate: Estimate,
                comparison: list[Estimate] | None = None, *, date: str | None = None) -> str:
    """:func:`report_dict` as strict JSON (non-finite numbers become null)."""
    return json.dumps(report_dict(scenario, estimate, comparison, date=date), indent=2,
                      allow_nan=False) + "\n"


# --------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------


def save_report(path: str | Path, scenario: Scenario, estimate: Estimate,
                comparison: list[Estimate] | None = None) -> None:
    """Write the report in the format its suffix names (.md, .csv, .json, .xlsx), atomically.
    The .pdf and .pptx reports need Qt for their charts: ``estimator.gui.report_pdf`` and
    ``estimator.gui.report_pptx`` (or ``estimator report --out``)."""
    from estimator.fileio import atomic_write_text

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".xlsx":
        from estimator.report_xlsx import save_report_xlsx

        save_report_xlsx(p, scenario, estimate, comparison)
        return
    writers = {".md": report_markdown, ".markdown": report_markdown, ".csv": report_csv,
               ".json": report_json}
    if suffix not in writers:
        kind = suffix[1:]
        hint = (f" ({kind.upper()} reports with charts need Qt: the window's export, "
                f"'estimator report --out FILE', or estimator.gui.report_{kind}."
                f"save_report_{kind})" if suffix in QT_REPORT_SUFFIXES else "")
        raise InputError(f"{p.name}: unknown report format '{suffix or '(none)'}'; save as "
                         f"{', '.join(REPORT_SUFFIXES)}{hint}")
    text = writers[suffix](scenario, estimate, comparison)
    try:
        atomic_write_text(p, text)
    except OSError as exc:
        from estimator.fileio import save_problem

        raise InputError(f"{p}: cannot save report: {save_problem(exc)}") from None
