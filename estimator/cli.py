"""The ``estimator`` command line: the same engine as the window, JSON output, chart export.

Subcommands: ``estimate``, ``compare``, ``laws``, ``profiles``, ``fit``, ``chart``, ``gui``.
Errors print one line on stderr and exit non-zero (2 for bad input). scipy and Qt are imported
lazily so ``estimator estimate`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import replace
from typing import Any

from estimator import units
from estimator.errors import EstimatorError

EXIT_INPUT = 2
EXIT_INTERNAL = 3


def one_line(text: str, limit: int = 2000) -> str:
    """A message as exactly one printable line: control characters (a newline in a user's
    hardware name, say) are shown escaped, and a runaway message is cut."""
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    return out if len(out) <= limit else out[: limit - 1] + "…"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and the subcommand's usage hint)."""

    def error(self, message: str):  # noqa: D401
        sys.stderr.write(
            one_line(f"{self.prog}: error: {message} (see '{self.prog} --help')") + "\n"
        )
        raise SystemExit(EXIT_INPUT)


def _number(text: str) -> float:
    try:
        return units.parse_number(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a number (examples: 70e9, 70B, 1.4T, 5.76e23)"
        ) from None


def _positive_int(text: str) -> int:
    try:
        v = units.parse_number(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v != int(v) or v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be a whole number >= 1")
    return int(v)


def _pair(text: str) -> tuple[float, float]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(
            f"'{text}' must be PARAMS,TOKENS, e.g. --match 70e9,1.4e12 or --match 70B,1.4T"
        )
    return _number(parts[0]), _number(parts[1])


def _add_scenario_args(p: argparse.ArgumentParser, hardware: bool = True) -> None:
    t = p.add_argument_group(
        "target (exactly one; default: match Chinchilla, 70 B params on 1.4 T tokens)"
    )
    t.add_argument("--target-loss", type=_number, metavar="L", help="target loss in nats/token")
    t.add_argument("--compute", type=_number, metavar="C", help="compute budget in FLOPs")
    t.add_argument(
        "--match",
        type=_pair,
        metavar="N,D",
        help="the loss of a reference model of N params trained on D tokens",
    )
    t.add_argument(
        "--params",
        type=_number,
        metavar="N",
        help="model size (with --tokens or --tokens-per-param: a given model; with "
        "--target-loss/--compute/--match: a fixed-size constraint)",
    )
    t.add_argument("--tokens", type=_number, metavar="D", help="training tokens (with --params)")
    t.add_argument(
        "--tokens-per-param",
        type=_number,
        metavar="R",
        help="tokens per parameter (a given ratio, e.g. over-training)",
    )
    t.add_argument(
        "--unique-tokens",
        type=_number,
        metavar="U",
        help="unique data available; repeated epochs valued per Muennighoff et al. 2023",
    )
    t.add_argument(
        "--law",
        default=None,
        metavar="NAME|FILE",
        help="scaling law: epoch-2024 (default), chinchilla-2022, kaplan-2020, or a law .yaml",
    )
    t.add_argument("--scenario", metavar="FILE", help="start from a saved scenario .yaml")
    if not hardware:
        return
    h = p.add_argument_group("training cluster (defaults: h100-sxm, 1024 GPUs, bf16, on-demand)")
    h.add_argument(
        "--hardware", metavar="ID", help="hardware profile id (see 'estimator profiles')"
    )
    h.add_argument("--gpus", type=_positive_int, metavar="K")
    h.add_argument("--precision", choices=["bf16", "fp8", "fp4"])
    h.add_argument("--mfu", type=_number, metavar="X", help="model FLOPs utilisation (0-1)")
    h.add_argument(
        "--goodput", type=_number, metavar="X", help="share of wall time doing useful steps (0-1)"
    )
    h.add_argument("--price-tier", choices=["on_demand", "reserved", "spot"])
    h.add_argument("--price-per-hour", type=_number, metavar="USD", help="override $ per chip-hour")
    h.add_argument("--pue", type=_number, help="data-centre PUE (default 1.2)")
    h.add_argument(
        "--grid-kg-co2-per-kwh",
        type=_number,
        metavar="KG",
        help="grid carbon intensity, for co2_tonnes",
    )
    h.add_argument(
        "--exact-flops",
        action="store_true",
        default=None,
        help="count attention FLOPs (Kaplan 2020 eq. 2.2) instead of 6ND",
    )
    h.add_argument(
        "--seq-len", type=_positive_int, metavar="S", help="training sequence length (4096)"
    )
    h.add_argument(
        "--micro-batch", type=_positive_int, metavar="B", help="sequences per GPU per step (1)"
    )
    h.add_argument(
        "--recompute", choices=["none", "selective", "full"], help="activation recomputation"
    )
    h.add_argument(
        "--model-parallel",
        type=_positive_int,
        metavar="M",
        help="GPUs per model replica (tensor x pipeline; default 8)",
    )
    h.add_argument("--n-layers", type=_positive_int, help="model depth (default: derived from N)")
    h.add_argument("--d-model", type=_positive_int, help="model width (default: derived from N)")
    s = p.add_argument_group("serving")
    s.add_argument("--inference-hardware", metavar="ID", help="serving hardware (default: same)")
    s.add_argument(
        "--inference-precision", choices=["bf16", "fp8", "fp4"], help="weights when serving"
    )
    s.add_argument("--inference-batch", type=_positive_int, metavar="B", help="decode batch (64)")
    s.add_argument(
        "--inference-context",
        type=_positive_int,
        metavar="T",
        help="average context per sequence in tokens (2048)",
    )
    s.add_argument(
        "--inference-tokens-per-day",
        type=_number,
        metavar="T",
        help="tokens generated per day (default 1e10)",
    )
    s.add_argument(
        "--deployment-days", type=_number, metavar="DAYS", help="days in service (default 730)"
    )
    s.add_argument(
        "--optimize",
        choices=["compute", "lifetime"],
        help="lifetime: minimise training + lifetime inference dollars (Sardana et al. 2023)",
    )


def scenario_from_args(args: argparse.Namespace):
    """Build a Scenario from CLI arguments (on top of --scenario FILE or the defaults)."""
    from estimator.errors import InputError
    from estimator.scenario import Scenario, load_scenario

    base = load_scenario(args.scenario) if getattr(args, "scenario", None) else Scenario()
    targets = [
        name for name in ("target_loss", "compute", "match") if getattr(args, name) is not None
    ]
    if len(targets) > 1:
        flags = ", ".join("--" + t.replace("_", "-") for t in targets)
        raise InputError(f"give exactly one target, got {flags}")
    upd: dict[str, Any] = {}
    if targets:
        target = targets[0]
        if args.tokens is not None:
            raise InputError(
                "--tokens only applies to a given model (--params N --tokens D); "
                "with a target, constrain with --params or --tokens-per-param"
            )
        if target == "target_loss":
            upd.update(mode="loss", target_loss=args.target_loss)
        elif target == "compute":
            upd.update(mode="compute", compute_flops=args.compute)
        else:
            upd.update(mode="match", match_params=args.match[0], match_tokens=args.match[1])
        upd.update(params=args.params, tokens_per_param=args.tokens_per_param, tokens=None)
    elif args.params is not None:
        if (args.tokens is None) == (args.tokens_per_param is None):
            raise InputError(
                "with --params N give exactly one of --tokens D or --tokens-per-param R"
            )
        upd.update(
            mode="model",
            params=args.params,
            tokens=args.tokens,
            tokens_per_param=args.tokens_per_param,
        )
    elif args.tokens is not None or args.tokens_per_param is not None:
        if args.tokens is not None:
            raise InputError("--tokens needs --params (a given model: --params N --tokens D)")
        upd.update(tokens_per_param=args.tokens_per_param)
    if args.unique_tokens is not None:
        upd["unique_tokens"] = args.unique_tokens
    if args.law is not None:
        upd["law"] = args.law
    mapping = {
        "hardware": "hardware",
        "gpus": "gpus",
        "precision": "precision",
        "mfu": "mfu",
        "goodput": "goodput",
        "price_tier": "price_tier",
        "price_per_hour": "price_per_hour",
        "pue": "pue",
        "grid_kg_co2_per_kwh": "grid_kg_co2_per_kwh",
        "exact_flops": "exact_flops",
        "seq_len": "seq_len",
        "micro_batch": "micro_batch",
        "recompute": "recompute",
        "model_parallel": "model_parallel",
        "n_layers": "n_layers",
        "d_model": "d_model",
        "inference_hardware": "inference_hardware",
        "inference_precision": "inference_precision",
        "inference_batch": "inference_batch",
        "inference_context": "inference_context_tokens",
        "inference_tokens_per_day": "inference_tokens_per_day",
        "deployment_days": "deployment_days",
        "optimize": "optimize",
    }
    for arg, fld in mapping.items():
        v = getattr(args, arg, None)
        if v is not None:
            upd[fld] = v
    return replace(base, **upd).validated()


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _band(est, name: str, fmt) -> str:
    b = est.bands.get(name)
    return f"   (P10 {fmt(b.p10)} – P90 {fmt(b.p90)})" if b else ""


def format_estimate(est) -> str:
    s = est.scenario
    lines = []

    def row(label: str, value: str, extra: str = "") -> None:
        lines.append(f"  {label:<34}{value}{extra}")

    from estimator.report import describe_target

    target = describe_target(s)
    lines.append(f"Scaling law: {est.law_name} [{est.law_id}]")
    lines.append(
        f"Target: {target}"
        + (" (plan minimises lifetime cost)" if s.optimize == "lifetime" else "")
    )
    lines.append("")
    lines.append("Training plan")
    row("loss", f"{est.loss:.4f} nats/token")
    row("parameters", units.si(est.params) + " params", _band(est, "params", units.si))
    row("training tokens", units.si(est.tokens) + " tokens", _band(est, "tokens", units.si))
    row("tokens per parameter", f"{est.tokens_per_param:.1f}")
    row("training compute", units.flops(est.train_flops), _band(est, "train_flops", units.flops))
    if est.flops_ratio_to_6nd != 1.0:
        row("ratio to 6ND", f"{est.flops_ratio_to_6nd:.3f}")
    if s.unique_tokens:
        row("epochs over unique data", f"{est.epochs:.2f}")
    row("critical batch (Kaplan 2020)", units.si(est.critical_batch_tokens) + " tokens")
    row("extrapolation beyond fit", f"{est.extrapolation_factor:.1f}x")
    lines.append("")
    lines.append(
        f"Training on {est.gpus:,} x {est.hardware_name} ({est.precision}, MFU "
        f"{est.mfu:.0%}, goodput {est.goodput:.0%}, ${est.price_usd_per_hour:.2f}/GPU-h)"
    )
    row("GPU-hours", units.hours(est.gpu_hours), _band(est, "gpu_hours", units.hours))
    row("cost", units.usd(est.cost_usd), _band(est, "cost_usd", units.usd))
    row("wall-clock", units.days(est.wall_clock_days), _band(est, "wall_clock_days", units.days))
    row(f"energy (PUE {s.pue:.2g})", units.energy(est.energy_mwh))
    if est.co2_tonnes is not None:
        row("emissions", f"{est.co2_tonnes:,.0f} t CO2e")
    row("min GPUs for memory", f"{est.min_gpus_for_memory:,}")
    row("max useful GPUs (critical batch)", f"{est.max_useful_gpus:,}")
    lines.append("")
    lines.append(
        f"Serving on {est.inference_hardware} ({s.inference_precision} weights, batch "
        f"{s.inference_batch}, {est.inference_bound}-bound)"
    )
    row("decode rate", f"{est.inference_tokens_per_s_per_chip:,.0f} tokens/s per chip")
    row("cost per million tokens", units.usd(est.inference_cost_per_million_tokens_usd))
    if est.lifetime_inference_tokens > 0:
        row(
            f"lifetime ({units.si(s.inference_tokens_per_day)} tok/day x {s.deployment_days:g} d)",
            units.usd(est.lifetime_inference_cost_usd),
        )
    row(
        "training + lifetime inference",
        units.usd(est.lifetime_total_cost_usd),
        _band(est, "lifetime_total_cost_usd", units.usd),
    )
    other = est.compute_optimal if s.optimize == "lifetime" else est.lifetime_optimal
    if other:
        lines.append("")
        if s.optimize == "lifetime":
            lines.append("Compared with the compute-optimal plan at the same loss")
            saving = other["lifetime_total_cost_usd"] - est.lifetime_total_cost_usd
        else:
            lines.append(
                "Inference-aware optimum at the same loss "
                "(Sardana et al. 2023; --optimize lifetime)"
            )
            saving = other["saving_usd"]
        row("parameters / tokens", f"{units.si(other['params'])} / {units.si(other['tokens'])}")
        row("training + lifetime inference", units.usd(other["lifetime_total_cost_usd"]))
        row("saving of the lifetime plan", units.usd(saving))
    if est.uncertainty_source:
        lines.append("")
        lines.append(f"Bands: P10–P90 from {est.uncertainty_source}.")
    for w in est.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def _json_default(o: Any):
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _dump(obj: Any) -> str:
    return json.dumps(_clean(obj), indent=2, default=_json_default, allow_nan=False)


def _clean(o: Any):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


def cmd_estimate(args) -> int:
    from estimator.scenario import estimate, save_scenario

    scenario = scenario_from_args(args)
    est = estimate(scenario)
    if args.save_scenario:
        save_scenario(scenario, args.save_scenario)
    print(_dump(est.to_dict()) if args.json else format_estimate(est))
    return 0


def cmd_compare(args) -> int:
    from estimator.scenario import compare

    scenario = scenario_from_args(args)
    rows = compare(scenario)
    key = {
        "cost": lambda e: e.cost_usd,
        "days": lambda e: e.wall_clock_days,
        "lifetime": lambda e: e.lifetime_total_cost_usd,
    }[args.sort]
    rows.sort(key=key)
    if args.json:
        print(_dump([_compare_row(e) for e in rows]))
        return 0
    head = (
        f"{'hardware':<26}{'GPU-hours':>14}{'cost':>12}{'P10–P90 cost':>22}{'days':>10}"
        f"{'energy':>12}{'min GPUs':>10}{'$/M tok':>10}{'lifetime':>12}"
    )
    if not rows:
        raise EstimatorError("no hardware profile can run this scenario (check --precision)")
    first = rows[0]
    print(
        f"{units.si(first.params)} params, {units.si(first.tokens)} tokens, "
        f"{units.flops(first.train_flops)}; {scenario.gpus:,} chips each; sorted by {args.sort}"
    )
    print(head)
    for e in rows:
        b = e.bands.get("cost_usd")
        band = f"{units.usd(b.p10)}–{units.usd(b.p90)}" if b else ""
        print(
            f"{e.hardware_name[:25]:<26}{units.si(e.gpu_hours):>14}{units.usd(e.cost_usd):>12}"
            f"{band:>22}{units.days(e.wall_clock_days):>10}{units.energy(e.energy_mwh):>12}"
            f"{e.min_gpus_for_memory:>10,}{units.usd(e.inference_cost_per_million_tokens_usd):>10}"
            f"{units.usd(e.lifetime_total_cost_usd):>12}"
        )
    return 0


def _compare_row(e) -> dict:
    d = e.to_dict()
    keep = (
        "hardware",
        "gpus",
        "precision",
        "mfu",
        "goodput",
        "price_usd_per_hour",
        "gpu_hours",
        "gpu_hours_p10",
        "gpu_hours_p90",
        "cost_usd",
        "cost_usd_p10",
        "cost_usd_p90",
        "wall_clock_days",
        "wall_clock_days_p10",
        "wall_clock_days_p90",
        "energy_mwh",
        "min_gpus_for_memory",
        "max_useful_gpus",
        "inference_cost_per_million_tokens_usd",
        "lifetime_inference_cost_usd",
        "lifetime_total_cost_usd",
        "params",
        "tokens",
        "train_flops",
        "loss",
        "warnings",
    )
    return {k: d[k] for k in keep if k in d}


def cmd_laws(args) -> int:
    from estimator.laws import DEFAULT_LAW_ID, builtin_laws

    laws = builtin_laws()
    if args.json:
        out = []
        for law in laws.values():
            d = law.to_dict()
            d.pop("param_samples", None)
            d["default"] = law.id == DEFAULT_LAW_ID
            d["has_uncertainty"] = bool(getattr(law, "has_uncertainty", False))
            out.append(d)
        print(_dump(out))
        return 0
    for law in laws.values():
        consts = ", ".join(f"{k}={v:g}" for k, v in law.constants().items())
        fr = law.fitted_range
        print(f"{law.id}{' (default)' if law.id == DEFAULT_LAW_ID else ''}: {law.name}")
        print(f"  {law.kind}: {consts}")
        print(
            f"  fitted on N {fr.params_min:.3g}-{fr.params_max:.3g}, D {fr.tokens_min:.3g}-"
            f"{fr.tokens_max:.3g}; loss: {law.dataset}"
        )
        print(f"  {law.citation}")
        if not law.comparable:
            print(
                "  note: losses not comparable with the other laws "
                "(non-embedding N, other tokenizer)"
            )
        print()
    return 0


def cmd_profiles(args) -> int:
    from estimator.hardware import load_profiles, user_profile_dir

    ps = load_profiles()
    if args.json:
        print(
            _dump(
                {
                    "user_dir": str(user_profile_dir()),
                    "profiles": [p.to_dict() | {"origin": p.origin} for p in ps.profiles.values()],
                    "errors": [str(e) for e in ps.errors],
                }
            )
        )
        return 0
    print(f"{'id':<12}{'name':<30}{'bf16 TFLOP/s':>13}{'memory':>9}{'$/h':>8}  origin")
    for p in ps.profiles.values():
        price = p.prices.get("on_demand") or next(iter(p.prices.values()), None)
        print(
            f"{p.id:<12}{p.display_name[:29]:<30}{p.peak_tflops.get('bf16', float('nan')):>13g}"
            f"{p.memory_gb:>7g}GB{(price.usd_per_hour if price else float('nan')):>8.2f}"
            f"  {p.origin}"
        )
    print(f"\nuser profiles: {user_profile_dir()} (set ESTIMATOR_PROFILE_DIR to change)")
    for e in ps.errors:
        print(f"warning: {e}", file=sys.stderr)
    return 0


def cmd_fit(args) -> int:
    from estimator import fitting

    if args.bootstrap < 0:
        from estimator.errors import FitError

        raise FitError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    result = fitting.fit_law(
        args.runs,
        bootstrap_k=args.bootstrap,
        seed=args.seed,
        holdout_above=args.holdout_above,
        exclude_flagged=args.exclude_flagged,
        budget_flops=args.budget,
        target_loss=args.target_loss,
    )
    if args.save:
        fitting.save_fitted_law(result, args.save, args.id)
    if args.json:
        print(_dump(result.to_dict()))
    else:
        print(format_fit(result))
        if args.save:
            print(f"\nsaved law '{args.id}' to {args.save}; use it with --law {args.save}")
    return 0


def format_fit(r) -> str:
    """A readable summary of a FitResult."""
    d = r.to_dict()
    lines = [
        f"Fit of L = E + A/N^alpha + B/D^beta to {d['n_runs']} runs from {d['source']}",
        f"  Huber delta {d['huber_delta']:g} on log loss, L-BFGS from {d['n_starts']:,} starts "
        f"({d['n_at_best']} reached the best); objective {d['objective']:.10g}; "
        f"{d['seconds']:.2f} s",
    ]
    iv = d.get("intervals") or {}
    se = d.get("stderr") or {}
    for k in ("E", "A", "B", "alpha", "beta"):
        extra = ""
        if k in iv:
            extra = f"   SE {se[k]:.4g}, {d['ci']:.0%} interval [{iv[k][0]:.4g}, {iv[k][1]:.4g}]"
        lines.append(f"  {k:<6}{d[k]:>12.6g}{extra}")
    fr = d["fitted_range"]
    lines.append(
        f"  fitted on N {fr['params'][0]:.3g}-{fr['params'][1]:.3g}, "
        f"D {fr['tokens'][0]:.3g}-{fr['tokens'][1]:.3g}"
    )
    if d.get("n_bootstrap"):
        lines.append(
            f"  bootstrap: {d['n_bootstrap']} resamples, seed {d['bootstrap_seed']}"
            + (f", {d['n_bootstrap_failed']} failed" if d["n_bootstrap_failed"] else "")
        )
    for name, v in (d.get("derived") or {}).items():
        if isinstance(v, dict) and v.get("point") is not None:
            lo, hi = v.get("lo"), v.get("hi")
            band = f" [{lo:.3g}, {hi:.3g}]" if lo is not None and hi is not None else ""
            lines.append(f"  {name}: {v['point']:.3g}{band}")
    h = d.get("holdout")
    if h:
        lines.append(
            f"  held out {h['n_holdout']} runs above {h['holdout_above_flops']:.3g} FLOPs "
            f"(fit on {h['n_train']}): mean abs error {h['mean_abs_error']:.4f} nats, "
            f"max rel error {h['max_rel_error']:.1%}"
        )
    for line, reason in d.get("skipped", [])[:20]:
        lines.append(f"  skipped line {line}: {reason}")
    if d["n_skipped"] > 20:
        lines.append(f"  ... and {d['n_skipped'] - 20} more skipped rows")
    if d.get("n_excluded"):
        lines.append(f"  excluded {d['n_excluded']} flagged rows")
    return "\n".join(lines)


def cmd_chart(args) -> int:
    from estimator.gui.charts import export_chart  # lazy: Qt only for charts

    scenario = scenario_from_args(args)
    export_chart(
        args.kind, scenario, args.out, width_px=args.width, height_px=args.height, theme=args.theme
    )
    print(f"wrote {args.out}")
    return 0


def cmd_gui(args) -> int:
    from estimator.gui.app import main as gui_main

    return gui_main([] if args.scenario_file is None else [args.scenario_file])


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="estimator", description="LLM training and serving cost estimator")
    p.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    e = sub.add_parser("estimate", help="plan and cost one scenario")
    _add_scenario_args(e)
    e.add_argument("--json", action="store_true", help="one JSON object")
    e.add_argument("--save-scenario", metavar="FILE", help="also save the scenario as YAML")
    e.set_defaults(func=cmd_estimate)
    c = sub.add_parser("compare", help="the same scenario on every hardware profile")
    _add_scenario_args(c)
    c.add_argument("--sort", choices=["cost", "days", "lifetime"], default="cost")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_compare)
    lw = sub.add_parser("laws", help="list the built-in scaling laws")
    lw.add_argument("--json", action="store_true")
    lw.set_defaults(func=cmd_laws)
    pr = sub.add_parser("profiles", help="list hardware profiles (built-in and user)")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_profiles)
    f = sub.add_parser("fit", help="fit L = E + A/N^a + B/D^b to your runs (CSV)")
    f.add_argument("runs", help="CSV with params (N), tokens (D) or compute (C), and loss")
    f.add_argument("--bootstrap", type=int, default=0, metavar="K", help="bootstrap resamples")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument(
        "--holdout-above",
        type=_number,
        metavar="C",
        help="fit on runs with compute <= C, report error on the rest",
    )
    f.add_argument(
        "--exclude-flagged", action="store_true", help="drop rows flagged in an 'excluded*' column"
    )
    f.add_argument(
        "--budget",
        type=_number,
        metavar="C",
        help="with --bootstrap: intervals of N* and D* at this compute budget",
    )
    f.add_argument(
        "--target-loss",
        type=_number,
        metavar="L",
        help="with --bootstrap: interval of the compute needed for this loss",
    )
    f.add_argument("--save", metavar="LAW.yaml", help="save the fitted law")
    f.add_argument("--id", default="my-fit", help="id of the saved law")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_fit)
    ch = sub.add_parser("chart", help="export a chart headlessly (PNG, SVG or PDF)")
    ch.add_argument("kind", choices=["frontier", "isoloss", "hardware", "lifetime"])
    ch.add_argument("--out", required=True, metavar="FILE.png|svg|pdf")
    ch.add_argument("--width", type=_positive_int, default=1600, help="pixels (PNG)")
    ch.add_argument("--height", type=_positive_int, default=1000, help="pixels (PNG)")
    ch.add_argument("--theme", choices=["presentation", "normal"], default="presentation")
    _add_scenario_args(ch)
    ch.set_defaults(func=cmd_chart)
    from estimator.cli_ladder import add_ladder_parser  # the ladder subcommand lives there

    add_ladder_parser(sub)
    g = sub.add_parser("gui", help="open the desktop window")
    g.add_argument("scenario_file", nargs="?", help="scenario .yaml to open")
    g.set_defaults(func=cmd_gui)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return args.func(args)
    except EstimatorError as exc:
        sys.stderr.write(one_line(f"estimator: error: {exc}") + "\n")
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line, never a traceback (ESTIMATOR_DEBUG=1 shows it)
        if os.environ.get("ESTIMATOR_DEBUG"):
            raise
        sys.stderr.write(
            one_line(
                f"estimator: internal error: {exc.__class__.__name__}: {exc} "
                "(please report; set ESTIMATOR_DEBUG=1 for details)"
            )
            + "\n"
        )
        return EXIT_INTERNAL
