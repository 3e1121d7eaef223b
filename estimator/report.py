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
from pathlib import Path
from typing import Any

from estimator import units
from estimator.errors import InputError
from estimator.scenario import Estimate, Scenario

REPORT_SUFFIXES = (".md", ".csv", ".json")
REPORT_SCHEMA_VERSION = 1

_TIER_WORDS = {"on_demand": "on-demand", "reserved": "reserved", "spot": "spot"}
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


def law_label(est: Estimate) -> str:
    """The law as a chart or report names it: 'Epoch AI 2024 (Besiroglu et al. 2024)'."""
    name = (est.law_name or est.law_id).strip()
    short = short_citation(est.law_citation)
    if not short or short.split()[0] in name:
        return name
    # 'Epoch AI 2024 (Chinchilla refit)' -> 'Epoch AI 2024 (Besiroglu et al. 2024)'
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip() or est.law_id
    return f"{name} ({short})"


def hardware_short_name(name: str) -> str:
    """'NVIDIA H100 SXM5 80GB' -> 'H100 SXM5 80GB'."""
    for p in _VENDOR_PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def price_phrase(est: Estimate) -> str:
    s = est.scenario
    if s.price_per_hour is not None:
        return f"${est.price_usd_per_hour:,.2f}/h (custom price)"
    return f"${est.price_usd_per_hour:,.2f}/h {_TIER_WORDS.get(s.price_tier, s.price_tier)}"


def hardware_phrase(est: Estimate) -> str:
    """'1,024 × H100 SXM5 80GB, bf16, MFU 29%, goodput 84%, $2.50/h on-demand'."""
    return (f"{est.gpus:,} × {hardware_short_name(est.hardware_name)}, {est.precision}, "
            f"MFU {est.mfu:.0%}, goodput {est.goodput:.0%}, {price_phrase(est)}")


def assumptions_line(est: Estimate, date: str | None = None) -> str:
    """The footnote every chart and report carries."""
    return (f"Law: {law_label(est)} · Hardware: {hardware_phrase(est)} · "
            f"generated {date or today()}")


def describe_target(s: Scenario) -> str:
    """One phrase for the scenario's target."""
    if s.mode == "loss":
        text = f"target loss {s.target_loss:g} nats/token"
    elif s.mode == "compute":
        text = f"compute budget {units.flops(s.compute_flops)}"
    elif s.mode == "model":
        d = s.tokens if s.tokens is not None else (s.tokens_per_param or 0) * (s.params or 0)
        text = f"a given model: {units.si(s.params)} params on {units.si(d)} tokens"
    else:
        text = (f"as good as {units.si(s.match_params)} params trained on "
                f"{units.si(s.match_tokens)} tokens")
    cons = []
    if s.mode != "model" and s.params is not None:
        cons.append(f"model size fixed at {units.si(s.params)} params")
    if s.mode != "model" and s.tokens_per_param is not None:
        cons.append(f"{s.tokens_per_param:g} tokens per parameter")
    if s.unique_tokens is not None:
        cons.append(f"{units.si(s.unique_tokens)} unique tokens")
    if cons:
        text += " (" + ", ".join(cons) + ")"
    if s.optimize == "lifetime":
        text += "; plan minimises training + lifetime inference cost"
    return text


# --------------------------------------------------------------------------------------
# Hardware comparison rows
# --------------------------------------------------------------------------------------

COMPARISON_FIELDS = (
    ("id", ""), ("name", ""), ("precision", ""), ("price_usd_per_hour", "USD/GPU-hour"),
    ("mfu", "fraction"), ("goodput", "fraction"), ("gpu_hours", "GPU-hours"),
    ("cost_usd", "USD"), ("cost_usd_p10", "USD"), ("cost_usd_p90", "USD"),
    ("wall_clock_days", "days"), ("wall_clock_days_p10", "days"), ("wall_clock_days_p90", "days"),
    ("energy_mwh", "MWh"), ("inference_cost_per_million_tokens_usd", "USD per 1M tokens"),
    ("lifetime_total_cost_usd", "USD"), ("is_plan", ""),
)


def comparison_rows(scenario: Scenario, estimate: Estimate,
                    comparison: list[Estimate] | None = None) -> list[dict]:
    """One row per hardware profile, cheapest first: from ``comparison`` (estimates of the same
    scenario on other hardware, e.g. :func:`estimator.scenario.compare`) when given, otherwise
    computed (:func:`estimator.curves.hardware_rows`)."""
    if comparison is None:
        from estimator.curves import hardware_rows

        rows = hardware_rows(scenario, estimate)
    else:
        rows = []
        for e in comparison:
            bc, bt = e.bands.get("cost_usd"), e.bands.get("wall_clock_days")
            rows.append({
                "id": e.hardware, "name": e.hardware_name, "precision": e.precision,
                "price_usd_per_hour": e.price_usd_per_hour, "mfu": e.mfu, "goodput": e.goodput,
                "gpu_hours": e.gpu_hours, "cost_usd": e.cost_usd,
                "cost_usd_p10": bc.p10 if bc else e.cost_usd,
                "cost_usd_p90": bc.p90 if bc else e.cost_usd,
                "wall_clock_days": e.wall_clock_days,
                "wall_clock_days_p10": bt.p10 if bt else e.wall_clock_days,
                "wall_clock_days_p90": bt.p90 if bt else e.wall_clock_days,
                "energy_mwh": e.energy_mwh,
                "inference_cost_per_million_tokens_usd": e.inference_cost_per_million_tokens_usd,
                "lifetime_total_cost_usd": e.lifetime_total_cost_usd,
                "is_plan": e.hardware == estimate.hardware,
            })
        rows.sort(key=lambda r: r["cost_usd"])
    return [{k: r.get(k) for k, _ in COMPARISON_FIELDS} for r in rows]


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def _band_text(est: Estimate, name: str, fmt) -> str:
    b = est.bands.get(name)
    return f"{fmt(b.p10)} – {fmt(b.p90)}" if b else ""


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _table(head: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    align = align or "l" * len(head)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return out


def key_results(est: Estimate) -> list[tuple[str, str, str]]:
    """(quantity, value, P10–P90) rows shared by the Markdown and PDF reports."""
    s = est.scenario
    rows = [
        ("Loss", f"{est.loss:.4f} nats/token", ""),
        ("Parameters", f"{units.si(est.params)} params", _band_text(est, "params", units.si)),
        ("Training tokens", f"{units.si(est.tokens)} tokens", _band_text(est, "tokens", units.si)),
        ("Tokens per parameter", f"{est.tokens_per_param:.1f}", ""),
        ("Training compute", units.flops(est.train_flops),
         _band_text(est, "train_flops", units.flops)),
        ("GPU-hours", units.hours(est.gpu_hours), _band_text(est, "gpu_hours", units.hours)),
        ("Training cost", units.usd(est.cost_usd), _band_text(est, "cost_usd", units.usd)),
        ("Wall-clock", units.days(est.wall_clock_days),
         _band_text(est, "wall_clock_days", units.days)),
        (f"Energy (PUE {s.pue:g})", units.energy(est.energy_mwh), ""),
    ]
    if est.co2_tonnes is not None:
        rows.append(("Emissions", f"{est.co2_tonnes:,.0f} t CO2e", ""))
    rows += [
        ("Min GPUs for memory", f"{est.min_gpus_for_memory:,}", ""),
        ("Max useful GPUs (critical batch)", f"{est.max_useful_gpus:,}", ""),
        ("Inference cost", f"{units.usd(est.inference_cost_per_million_tokens_usd)} per 1M tokens",
         ""),
    ]
    if est.lifetime_inference_tokens > 0:
        rows.append((f"Lifetime inference ({units.si(est.lifetime_inference_tokens)} tokens)",
                     units.usd(est.lifetime_inference_cost_usd), ""))
    rows.append(("Training + lifetime inference", units.usd(est.lifetime_total_cost_usd),
                 _band_text(est, "lifetime_total_cost_usd", units.usd)))
    return rows


def report_markdown(scenario: Scenario, estimate: Estimate,
                    comparison: list[Estimate] | None = None, *, date: str | None = None) -> str:
    """A self-contained Markdown report: target, plan, cost, serving, the inference-aware
    alternative, warnings, hardware comparison, assumptions and inputs."""
    s, est = scenario, estimate
    date = date or today()
    out = [f"# LLM training cost estimate — {units.usd(est.cost_usd)}, "
           f"{units.days(est.wall_clock_days)}", ""]
    out += [f"**Target:** {describe_target(s)}.  ",
            f"**Plan:** {units.si(est.params)} parameters trained on {units.si(est.tokens)} "
            f"tokens ({units.flops(est.train_flops)}), reaching loss {est.loss:.4f} nats/token.  ",
            f"**Training:** {hardware_phrase(est)}.  ",
            f"**Scaling law:** {est.law_name} [`{est.law_id}`].  ",
            f"**Generated:** {date}.", ""]
    if est.warnings:
        out += ["## Warnings", ""] + [f"- {w}" for w in est.warnings] + [""]
    out += ["## Results", ""]
    out += _table(["Quantity", "Value", "P10 – P90"], [list(r) for r in key_results(est)],
                  "lrr")
    if est.uncertainty_source:
        out += ["", f"P10–P90 bands from {est.uncertainty_source}."]
    out += [""]
    other = est.compute_optimal if s.optimize == "lifetime" else est.lifetime_optimal
    if other:
        if s.optimize == "lifetime":
            out += ["## Compared with the compute-optimal plan at the same loss", ""]
            saving = other["lifetime_total_cost_usd"] - est.lifetime_total_cost_usd
        else:
            out += ["## Inference-aware alternative at the same loss (Sardana et al. 2023)", ""]
            saving = other["saving_usd"]
        out += _table(["", "Parameters", "Tokens", "Training", "Lifetime inference", "Total"], [
            ["This plan", units.si(est.params), units.si(est.tokens),
             units.usd(est.cost_usd), units.usd(est.lifetime_inference_cost_usd),
             units.usd(est.lifetime_total_cost_usd)],
            ["Alternative", units.si(other["params"]), units.si(other["tokens"]),
             units.usd(other["train_cost_usd"]), units.usd(other["lifetime_inference_cost_usd"]),
             units.usd(other["lifetime_total_cost_usd"])],
        ], "lrrrrr")
        verb = "saves" if saving >= 0 else "costs"
        who = "The lifetime-optimal plan" if s.optimize == "lifetime" else "The alternative"
        out += ["", f"{who} {verb} {units.usd(abs(saving))} over "
                    f"{units.si(est.lifetime_inference_tokens)} inference tokens.", ""]
    rows = comparison_rows(s, est, comparison)
    if rows:
        out += [f"## Hardware comparison ({est.gpus:,} chips each, {est.precision}, "
                f"{_TIER_WORDS.get(s.price_tier, s.price_tier)} prices)", ""]
        out += _table(
            ["Hardware", "$/GPU-h", "GPU-hours", "Training cost", "P10 – P90", "Wall-clock",
             "Energy", "Inference $/1M tok", "Lifetime total"],
            [[("**" + hardware_short_name(r["name"]) + "** (plan)") if r["is_plan"]
              else hardware_short_name(r["name"]),
              f"${r['price_usd_per_hour']:,.2f}", units.si(r["gpu_hours"]),
              units.usd(r["cost_usd"]),
              f"{units.usd(r['cost_usd_p10'])} – {units.usd(r['cost_usd_p90'])}",
              units.days(r["wall_clock_days"]), units.energy(r["energy_mwh"]),
              units.usd(r["inference_cost_per_million_tokens_usd"]),
              units.usd(r["lifetime_total_cost_usd"])] for r in rows],
            "lrrrrrrrr")
        out += [""]
    out += ["## Assumptions", "",
            f"- Scaling law: {est.law_name} — {' '.join(est.law_citation.split())}",
            f"- Extrapolation beyond the law's fitted range: {est.extrapolation_factor:.1f}×",
            "- Training compute C = 6ND (Kaplan et al. 2020; Hoffmann et al. 2022)"
            + (f", exact count with attention ×{est.flops_ratio_to_6nd:.3f}"
               if est.flops_ratio_to_6nd != 1.0 else ""),
            f"- Hardware: {hardware_phrase(est)}",
            f"- Serving: {est.inference_hardware}, {s.inference_precision} weights, batch "
            f"{s.inference_batch}, {s.inference_context_tokens:,}-token context "
            f"({est.inference_bound}-bound, "
            f"{est.inference_tokens_per_s_per_chip:,.0f} tokens/s per chip); "
            f"{units.si(s.inference_tokens_per_day)} tokens/day for {s.deployment_days:g} days",
            "", "## Inputs", ""]
    out += _table(["Field", "Value"], [[k, _input_text(v)] for k, v in s.to_dict().items()])
    out += ["", f"_{assumptions_line(est, date)}_", ""]
    return "\n".join(out)


def _input_text(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------

_ESTIMATE_UNITS = {
    "loss": "nats/token", "params": "parameters", "tokens": "tokens", "tokens_per_param": "ratio",
    "train_flops": "FLOPs", "train_flops_6nd": "FLOPs", "flops_ratio_to_6nd": "ratio",
    "epochs": "epochs", "critical_batch_tokens": "tokens", "extrapolation_factor": "ratio",
    "gpus": "chips", "mfu": "fraction", "goodput": "fraction",
    "price_usd_per_hour": "USD/GPU-hour", "gpu_hours": "GPU-hours", "cost_usd": "USD",
    "wall_clock_days": "days", "energy_mwh": "MWh", "co2_tonnes": "t CO2e",
    "min_gpus_for_memory": "chips", "max_useful_gpus": "chips",
    "inference_tokens_per_s_per_chip": "tokens/s per chip",
    "inference_cost_per_million_tokens_usd": "USD per 1M tokens",
    "lifetime_inference_tokens": "tokens", "lifetime_inference_cost_usd": "USD",
    "lifetime_total_cost_usd": "USD",
}
_SCENARIO_UNITS = {
    "target_loss": "nats/token", "compute_flops": "FLOPs", "params": "parameters",
    "tokens": "tokens", "tokens_per_param": "ratio", "match_params": "parameters",
    "match_tokens": "tokens", "unique_tokens": "tokens", "gpus": "chips", "mfu": "fraction",
    "goodput": "fraction", "price_per_hour": "USD/GPU-hour", "pue": "ratio",
    "grid_kg_co2_per_kwh": "kg CO2e/kWh", "seq_len": "tokens", "model_parallel": "chips",
    "inference_context_tokens": "tokens", "inference_price_per_hour": "USD/GPU-hour",
    "inference_tokens_per_day": "tokens/day", "deployment_days": "days",
}


def _unit_for(key: str) -> str:
    base = re.sub(r"_p(10|50|90)$", "", key)
    return _ESTIMATE_UNITS.get(base, "")


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def report_csv(scenario: Scenario, estimate: Estimate,
               comparison: list[Estimate] | None = None, *, date: str | None = None) -> str:
    """Rows of ``section, field, value, unit``: the scenario inputs, every result (full
    precision, P10/P50/P90 bands as ``*_p10`` ...), the warnings, the alternative plan, and a
    ``hardware:<id>`` section per profile."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "field", "value", "unit"])
    w.writerow(["report", "generated", date or today(), "date"])
    w.writerow(["report", "assumptions", assumptions_line(estimate, date), ""])
    for k, v in scenario.to_dict().items():
        w.writerow(["scenario", k, _csv_value(v), _SCENARIO_UNITS.get(k, "")])
    d = estimate.to_dict()
    for k, v in d.items():
        if k in ("warnings", "compute_optimal", "lifetime_optimal"):
            continue
        w.writerow(["estimate", k, _csv_value(v), _unit_for(k)])
    for name in ("compute_optimal", "lifetime_optimal"):
        for k, v in (d.get(name) or {}).items():
            w.writerow([name, k, _csv_value(v), "USD" if k.endswith("_usd") else _unit_for(k)])
    for i, msg in enumerate(estimate.warnings, 1):
        w.writerow(["warning", f"warning_{i}", msg, ""])
    units_of = dict(COMPARISON_FIELDS)
    for r in comparison_rows(scenario, estimate, comparison):
        for k, v in r.items():
            if k == "id":
                continue
            w.writerow([f"hardware:{r['id']}", k, _csv_value(v), units_of.get(k, "")])
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
    return _clean({
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "generated": date or today(),
        "assumptions": assumptions_line(estimate, date),
        "scenario": scenario.to_dict(),
        "estimate": estimate.to_dict(),
        "comparison": comparison_rows(scenario, estimate, comparison),
    })


def report_json(scenario: Scenario, estimate: Estimate,
                comparison: list[Estimate] | None = None, *, date: str | None = None) -> str:
    """``{"scenario": ..., "estimate": estimate.to_dict(), "comparison": [row per hardware]}``
    (+ schema version, date, assumptions). Strict JSON: non-finite numbers become null."""
    return json.dumps(report_dict(scenario, estimate, comparison, date=date), indent=2,
                      allow_nan=False) + "\n"


# --------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------


def save_report(path: str | Path, scenario: Scenario, estimate: Estimate,
                comparison: list[Estimate] | None = None) -> None:
    """Write the report in the format its suffix names (.md, .csv, .json), atomically."""
    from estimator.fileio import atomic_write_text

    p = Path(path)
    suffix = p.suffix.lower()
    writers = {".md": report_markdown, ".markdown": report_markdown, ".csv": report_csv,
               ".json": report_json}
    if suffix not in writers:
        hint = (" (PDF reports with charts: the window's export, or "
                "estimator.gui.report_pdf.save_report_pdf)" if suffix == ".pdf" else "")
        raise InputError(f"{p.name}: unknown report format '{suffix or '(none)'}'; save as "
                         f"{', '.join(REPORT_SUFFIXES)}{hint}")
    text = writers[suffix](scenario, estimate, comparison)
    try:
        atomic_write_text(p, text)
    except OSError as exc:
        raise InputError(f"{p}: cannot save report ({exc.strerror or exc}); choose another "
                         "folder or free some disk space") from None
