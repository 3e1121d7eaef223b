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
from pathlib import Path
from typing import Any

from estimator import units
from estimator.errors import EstimatorError
from estimator.textsafe import one_line, terminal

EXIT_INPUT = 2
EXIT_INTERNAL = 3


def _out(text: str = "") -> None:
    """Print to stdout with every control character from user files shown escaped (a
    profile's name cannot move the cursor, recolour the terminal or fake a line)."""
    print(terminal(text, keep_newlines=True))


def _warn(text: str) -> None:
    sys.stderr.write(one_line(f"warning: {text}") + "\n")


def _warn_catalogue() -> None:
    """Every user law or profile file that failed to load, on stderr (the command still runs
    on the rest, and says so)."""
    from estimator.catalogue import default_catalogue
    from estimator.hardware import FOLDER_FIELD

    errors = default_catalogue().errors
    for e in errors[:10]:
        _warn(e.render(flag_of) + ("" if e.field == FOLDER_FIELD else " (skipped)"))
    if len(errors) > 10:
        _warn(f"... and {len(errors) - 10} more user files failed to load")


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
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        v = units.parse_number(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
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


def _field_type(spec):
    """argparse type of a scenario field: its own grammar (bounds are checked with the
    scenario, so a file and a flag get the same message)."""
    from estimator.fields import parse_text

    def parse(text: str):
        try:
            return parse_text(spec, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = spec.kind
    return parse


def flag_of(name: str) -> str:
    """How the CLI names a scenario field in messages: its flag."""
    from estimator.scenario import FIELDS

    if name in ("match_params", "match_tokens"):
        return "--match"
    if name == "mode":
        return ("the target (--target-loss, --compute, --match, --params, --budget-usd or "
                "--deadline-days)")
    spec = FIELDS.get(name)
    return spec.flag if spec is not None and spec.flag else name


#: Argument groups of the scenario options, by FieldSpec.group.
_GROUP_TITLES = {
    "target": "target (exactly one; default: match Chinchilla, 70 B params on 1.4 T tokens; "
              "--deadline-days with --gpus is a target, beside another target it solves the "
              "GPUs)",
    "training": "training cluster (defaults: h100-sxm, 1024 GPUs, bf16, on-demand)",
    "energy": "energy and emissions",
    "moe": "mixture of experts (default: a dense model)",
    "advanced": "model shape and parallelism",
    "serving": "serving",
}


def _add_scenario_args(p: argparse.ArgumentParser, hardware: bool = True) -> None:
    """Every scenario field with a flag, from its FieldSpec (label, unit, bounds, help)."""
    from estimator.scenario import FIELDS

    groups = {g: p.add_argument_group(t) for g, t in _GROUP_TITLES.items()
              if hardware or g == "target"}
    t = groups["target"]
    t.add_argument("--match", type=_pair, metavar="N,D",
                   help="the loss of a reference model of N params trained on D tokens")
    for name, spec in FIELDS.items():
        if spec.flag is None or spec.group not in groups:
            continue
        help_text = spec.help + (f" [{spec.unit}]" if spec.unit and spec.kind != "usd" else "")
        help_text = help_text.replace("%", "%%")
        kwargs: dict[str, Any] = {"help": help_text, "dest": name}
        if spec.kind == "bool":
            kwargs.update(action="store_true", default=None)
        elif spec.kind == "choice":
            kwargs.update(choices=list(spec.choices))
        else:
            kwargs.update(type=_field_type(spec), metavar=spec.metavar)
        groups[spec.group].add_argument(spec.flag, **kwargs)
    t.add_argument("--scenario", metavar="FILE", help="start from a saved scenario .yaml")


_TARGET_ARGS = ("target_loss", "compute_flops", "match", "budget_usd")


def scenario_from_args(args: argparse.Namespace):
    """Build a Scenario from CLI arguments (on top of --scenario FILE or the defaults)."""
    from estimator.errors import InputError
    from estimator.scenario import FIELDS, Scenario, load_scenario

    base = load_scenario(args.scenario) if getattr(args, "scenario", None) else Scenario()
    targets = [name for name in _TARGET_ARGS if getattr(args, name, None) is not None]
    if len(targets) > 1:
        flags = ", ".join(flag_of(t) for t in targets)
        raise InputError(f"give exactly one target, got {flags}")
    tokens = getattr(args, "tokens", None)
    params = getattr(args, "params", None)
    ratio = getattr(args, "tokens_per_param", None)
    upd: dict[str, Any] = {}
    if targets:
        target = targets[0]
        if tokens is not None:
            raise InputError(
                "--tokens only applies to a given model (--params N --tokens D); "
                "with a target, constrain with --params or --tokens-per-param", field="tokens")
        if target == "target_loss":
            upd.update(mode="loss", target_loss=args.target_loss)
        elif target == "compute_flops":
            upd.update(mode="compute", compute_flops=args.compute_flops)
        elif target == "budget_usd":
            upd.update(mode="budget", budget_usd=args.budget_usd)
        else:
            upd.update(mode="match", match_params=args.match[0], match_tokens=args.match[1])
        upd.update(params=params, tokens_per_param=ratio, tokens=None)
    elif params is not None:
        if (tokens is None) == (ratio is None):
            raise InputError("with --params N give exactly one of --tokens D or "
                             "--tokens-per-param R", field="tokens")
        upd.update(mode="model", params=params, tokens=tokens, tokens_per_param=ratio)
    elif tokens is not None or ratio is not None:
        if tokens is not None:
            raise InputError("--tokens needs --params (a given model: --params N --tokens D)",
                             field="tokens")
        upd.update(tokens_per_param=ratio)
    deadline = getattr(args, "deadline_days", None)
    if deadline is not None:
        upd["deadline_days"] = deadline
        has_target = bool(targets) or upd.get("mode") == "model"
        if has_target and getattr(args, "gpus", None) is not None:
            raise InputError(
                "--deadline-days with a target solves the GPU count (the fewest that finish "
                "in time): drop --gpus, or drop the target for the lowest-loss plan that "
                "finishes in time on --gpus K", field="deadline_days", value=deadline,
                hint="give --deadline-days with --gpus, or with a target, not both")
        if "budget_usd" in targets:
            pass  # the scenario names the conflict (a budget runs on the given GPUs)
        elif not has_target and getattr(args, "gpus", None) is not None:
            upd["mode"] = "deadline"
        elif not has_target and base.mode == "budget":
            upd["mode"] = "match"  # the default target; its GPUs are solved
    handled = {"target_loss", "compute_flops", "params", "tokens", "tokens_per_param",
               "budget_usd", "deadline_days"}
    for name in FIELDS:
        if name in handled:
            continue
        v = getattr(args, name, None)
        if v is not None:
            upd[name] = v
    from estimator.scenario import with_refs_resolved

    flags = {k: v for k, v in upd.items() if FIELDS.get(k) is not None
             and FIELDS[k].kind == "ref"}
    scenario = replace(base, **upd)
    if flags:  # a path typed on the command line is relative to the working directory
        scenario = replace(scenario, **{
            k: getattr(with_refs_resolved(replace(Scenario(), **flags), os.getcwd()), k)
            for k in flags})
    return scenario.validated()


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _band(est, q) -> str:
    b = est.bands.get(q.key)
    return f"   (P10 {q.short_text(b.p10)} – P90 {q.short_text(b.p90)})" if b else ""


def format_estimate(est) -> str:
    """The estimate as the CLI prints it: every quantity of :mod:`estimator.quantities` that
    applies, by stage, with its P10–P90 band."""
    from estimator.quantities import QUANTITIES
    from estimator.report import describe_target, hardware_phrase, serving_phrase

    s = est.scenario
    lines = ([f"Scenario: {one_line(s.name)}"] if s.name else []) + [
             f"Scaling law: {est.law_name} [{est.law_id}]",
             f"Target: {describe_target(s, est)}"]
    sources = [f"{what} from {origin}" for what, origin in (
        ("law", est.provenance.get("law")), ("hardware profile", est.provenance.get("hardware")),
        ("serving profile", est.provenance.get("inference_hardware")
         if est.inference_hardware != est.hardware else None))
        if origin and origin != "built-in"]
    if sources:
        lines.append("User files: " + "; ".join(sources))
    lines.append("")
    headers = {
        "plan": "Training plan",
        "training": f"Training on {hardware_phrase(est)}",
        "serving": f"Serving on {serving_phrase(est)}",
    }
    group = None
    for q in QUANTITIES:
        if not q.applies(est):
            continue
        if q.group != group and q.group in headers:
            if group is not None:
                lines.append("")
            lines.append(headers[q.group])
            if q.group == "training":
                from estimator.engine import layout_text

                lines.append(f"  {'Parallel layout':<36} {layout_text(est.parallel_layout)}")
        group = q.group
        lines.append(f"  {q.label_for(est):<36} {q.text(getattr(est, q.key))}{_band(est, q)}")
    other = est.compute_optimal if s.optimize == "lifetime" else est.lifetime_optimal
    if other:
        lines.append("")
        from estimator.report import alternative_saving

        saving = alternative_saving(est)
        if s.optimize == "lifetime":
            lines.append("Compared with the compute-optimal plan at the same loss")
        else:
            lines.append("Inference-aware alternative at the same loss "
                         "(Sardana et al. 2023; --optimize lifetime)")
        lines.append(f"  {'Parameters / tokens':<36} {units.si(other['params'])} / "
                     f"{units.si(other['tokens'])}"
                     + (f" ({other['epochs']:.1f} epochs)" if other.get("epochs", 1) > 1 else ""))
        if other["lifetime_total_cost_usd"] is None or saving is None:
            lines.append(f"  {'Training + lifetime inference':<36} n/a: the model fits on no "
                         f"serving replica of {est.inference_hardware}")
        else:
            lines.append(f"  {'Training + lifetime inference':<36} "
                         f"{units.usd(other['lifetime_total_cost_usd'])}")
            if saving >= 0:
                lines.append(f"  {'Saving of the lifetime plan':<36} {units.usd(saving)}")
            else:  # the optimiser's rates put it there; priced exactly, it costs more
                lines.append(f"  {'Extra cost of the alternative':<36} "
                             f"{units.usd(-saving)} (this plan is cheaper over its life)")
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
    from estimator.engine import estimate
    from estimator.scenario import save_scenario

    scenario = scenario_from_args(args)
    _warn_catalogue()
    est = estimate(scenario)
    if args.save_scenario:
        save_scenario(scenario, args.save_scenario)
    _out(_dump(est.to_dict()) if args.json else format_estimate(est))
    return 0


def cmd_compare(args) -> int:
    from estimator.engine import compare
    from estimator.quantities import columns

    scenario = scenario_from_args(args)
    _warn_catalogue()
    rows = compare(scenario)
    key = {
        "cost": lambda e: e.cost_usd,
        "days": lambda e: e.wall_clock_days,
        "lifetime": lambda e: e.lifetime_total_cost_usd,
    }[args.sort]
    rows.sort(key=key)
    if args.json:
        out = []
        for e in rows:
            d = e.to_dict()
            d.pop("inputs", None)
            d.pop("schema_version", None)
            out.append(d)
        _out(_dump({"schema_version": 2, "inputs": scenario.relevant(), "estimates": out}))
        return 0
    if not rows:
        from estimator.engine import estimate

        estimate(scenario)  # the plan's own error, when it has one
        raise EstimatorError("no hardware profile can run this scenario (check --precision)")
    cols = columns()
    widths = [max(len(q.column), 11, *(len(q.short_text(getattr(e, q.key))) for e in rows)) + 2
              for q in cols]
    first = rows[0]
    _out(f"{units.si(first.params)} params, {units.si(first.tokens)} tokens, "
         f"{units.flops(first.train_flops)}; {scenario.gpus:,} chips each; sorted by {args.sort}")
    _out(f"{'hardware':<26}{'$/GPU-h':>9}{'MFU':>6}"
         + "".join(f"{q.column:>{w}}" for q, w in zip(cols, widths, strict=True)))
    for e in rows:
        cells = "".join(f"{q.short_text(getattr(e, q.key)):>{w}}"
                        for q, w in zip(cols, widths, strict=True))
        user = "*" if e.provenance.get("hardware", "built-in") != "built-in" else ""
        _out(f"{(one_line(e.hardware_name)[:24 - len(user)] + user):<26}"
             f"{units.usd_per_hour(e.price_usd_per_hour):>9}{units.percent(e.mfu):>6}{cells}")
    users = [e for e in rows if e.provenance.get("hardware", "built-in") != "built-in"]
    if users:
        _out("\n* from a user file: " + "; ".join(
            f"{e.hardware} ({e.provenance['hardware']})" for e in users))
    return 0


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
        _out(_dump(out))
        return 0
    for law in laws.values():
        consts = ", ".join(f"{k}={v:g}" for k, v in law.constants().items())
        fr = law.fitted_range
        _out(f"{law.id}{' (default)' if law.id == DEFAULT_LAW_ID else ''}: {law.name}")
        _out(f"  {law.kind}: {consts}")
        _out(
            f"  fitted on N {fr.params_min:.3g}-{fr.params_max:.3g}, D {fr.tokens_min:.3g}-"
            f"{fr.tokens_max:.3g}; loss: {law.dataset}"
        )
        _out(f"  {law.citation}")
        if not law.comparable:
            _out(
                "  note: losses not comparable with the other laws "
                "(non-embedding N, other tokenizer)"
            )
        _out()
    return 0


def cmd_profiles(args) -> int:
    from estimator.hardware import load_profiles, user_profile_dir

    ps = load_profiles()
    if args.json:
        _out(
            _dump(
                {
                    "user_dir": str(user_profile_dir()),
                    "profiles": [p.to_dict() | {"origin": p.origin} for p in ps.profiles.values()],
                    "errors": [str(e) for e in ps.errors],
                }
            )
        )
        return 0
    from estimator.hardware import FOLDER_FIELD, builtin_profiles
    from estimator.training.constants import constants_status, family_for

    builtins = builtin_profiles()
    status = {p.id: constants_status(family_for(p.family, p.generation))
              for p in ps.profiles.values()}
    wide = max(map(len, status.values()), default=9) + 2
    _out(f"{'id':<12}{'name':<36}{'bf16 TFLOP/s':>13}{'memory':>9}{'$/h':>9}  "
         f"{'price date':<18}{'run model':<{wide}}origin")
    stale = 0
    for p in ps.profiles.values():
        tier = "on_demand" if "on_demand" in p.prices else next(iter(p.prices), None)
        price = p.prices.get(tier) if tier else None
        origin = p.origin
        if origin != "built-in" and p.id in builtins:
            origin += " (overrides the built-in)"
        date = ""
        if price is not None:
            flagged = price.freshness().flagged
            stale += flagged
            date = one_line(price.date)[:12] + (" *" if flagged else "")
        _out(
            f"{p.id:<12}{one_line(p.display_name)[:35]:<36}"
            f"{p.peak_tflops.get('bf16', float('nan')):>13g}"
            f"{p.memory_gb:>7g}GB{units.usd_per_hour(price.usd_per_hour if price else None):>9}"
            f"  {date:<18}{status[p.id]:<{wide}}{one_line(origin)}"
        )
    if stale:
        _out(f"\n* {stale} price(s) older than 12 months or of unknown age: check a current "
             "quote, or give --price-per-hour")
    _out(f"\nuser profiles: {user_profile_dir()} (set ESTIMATOR_PROFILE_DIR to change)")
    for e in ps.errors:
        _warn(str(e) + ("" if e.field == FOLDER_FIELD else " (skipped)"))
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
        _out(_dump(result.to_dict()))
    else:
        _out(format_fit(result))
        if args.save:
            _out(f"\nsaved law '{args.id}' to {args.save}; use it with --law {args.save}")
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
    for w in getattr(r, "warnings", ()) or ():
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def _require_qt() -> None:
    from estimator.gui.display import qt_problem

    problem = qt_problem()
    if problem is not None:
        raise EstimatorError(problem)


#: ``chart`` options passed to the chart (not the scenario): the break-even's rent-or-own.
_CHART_OPTIONS = ("purchase_usd_per_chip", "depreciation_years", "usd_per_kwh",
                  "other_usd_per_chip_year")


def _chart_kind(args) -> str:
    """The kind from the positional argument or ``--kind`` (one of them, not two different)."""
    from estimator.errors import InputError
    from estimator.gui.chart_kinds import CHART_KINDS

    given = [k for k in (args.kind, args.kind_opt) if k is not None]
    if not given:
        raise InputError("name the chart: estimator chart KIND (or --kind KIND), KIND one of "
                         + ", ".join(CHART_KINDS), field="kind", expected=", ".join(CHART_KINDS))
    if len(set(given)) > 1:
        raise InputError(f"two chart kinds given ('{given[0]}' and --kind '{given[1]}'): "
                         "give one", field="kind", value=given[1])
    return given[0]


def cmd_chart(args) -> int:
    from estimator.errors import InputError

    kind = _chart_kind(args)
    if args.out is None and args.table is None:
        raise InputError("give --out FILE.png|svg|pdf for the chart, --table FILE.csv for its "
                         "data, or both", field="out")
    options = {k: getattr(args, k) for k in _CHART_OPTIONS if getattr(args, k) is not None}
    if options and kind != "breakeven":
        raise InputError("--purchase-usd-per-chip, --depreciation-years and --usd-per-kwh are "
                         f"for the breakeven chart, not '{kind}'", field="purchase_usd_per_chip")
    hardware = [h.strip() for h in (args.break_even_hardware or "").split(",") if h.strip()]
    if hardware and kind != "breakeven":
        raise InputError(f"--break-even-hardware is for the breakeven chart, not '{kind}'",
                         field="break_even_hardware")
    need = ("purchase_usd_per_chip", "depreciation_years", "usd_per_kwh")
    if options and any(k not in options for k in need):
        missing = ["--" + k.replace("_", "-") for k in need if k not in options]
        raise InputError("rent or own needs all of --purchase-usd-per-chip, "
                         f"--depreciation-years and --usd-per-kwh: missing {', '.join(missing)}",
                         field=next(k for k in need if k not in options))
    scenario = scenario_from_args(args)
    _warn_catalogue()
    if args.table is not None:
        from estimator import chart_data
        from estimator.engine import estimate
        from estimator.fileio import atomic_write_text

        if Path(args.table).suffix.lower() != ".csv":
            raise InputError(f"{Path(args.table).name}: --table writes CSV; name the file .csv",
                             field="table", value=args.table, expected="a .csv file name")
        if kind not in chart_data.TABLE_KINDS:
            raise InputError(f"chart '{kind}' has no table: --table works with "
                             f"{', '.join(chart_data.TABLE_KINDS)}", field="table", value=kind,
                             expected=", ".join(chart_data.TABLE_KINDS))
        rows = chart_data.table(kind, estimate(scenario), hardware=hardware)
        try:
            atomic_write_text(args.table, chart_data.table_csv(rows))
        except OSError as exc:
            raise InputError(f"{args.table}: cannot write the table ({exc.strerror or exc})",
                             field="table", value=args.table) from None
        _out(f"wrote {args.table} ({kind} data, {len(rows)} rows)")
    if args.out is not None:
        _require_qt()
        from estimator.gui.charts import export_chart  # lazy: Qt only for charts

        if hardware:
            options["hardware"] = hardware
        export_chart(kind, scenario, args.out, width_px=args.width, height_px=args.height,
                     theme=args.theme, options=options or None)
        _out(f"wrote {args.out} ({kind}, {args.width} x {args.height} px, {args.theme} theme)")
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
    from estimator.gui.chart_kinds import CHART_KINDS, CHART_SHORT_TITLES  # Qt-free names
    from estimator.gui.theme import CHART_THEME_NAMES, EXPORT_THEME

    ch = sub.add_parser(
        "chart",
        help="export a chart headlessly (PNG, SVG or PDF)",
        description="Export one chart of the scenario as PNG, SVG or PDF (by the --out suffix). "
        "Charts: " + "; ".join(f"{k}: {CHART_SHORT_TITLES[k]}" for k in CHART_KINDS) + ".",
    )
    ch.add_argument("kind", nargs="?", choices=CHART_KINDS, help="the chart (or --kind)")
    ch.add_argument("--kind", dest="kind_opt", choices=CHART_KINDS, metavar="KIND",
                    help="the chart, as an option: " + ", ".join(CHART_KINDS))
    ch.add_argument("--out", metavar="FILE.png|svg|pdf", help="the chart's file")
    ch.add_argument("--table", metavar="FILE.csv",
                    help="also (or only) write the chart's data as CSV, one row per point, "
                    "units in the column names: gpus (one row per GPU count: days, GPU-hours, "
                    "cost, MFU, batch, whether past the useful-batch ceiling), serving (per "
                    "batch), moe (per expert count), tornado (per input), breakeven (lines and "
                    "crossings); needs no Qt")
    size_help = "pixels; SVG and PDF are that size at 96 px per inch (1600 px = 16.7 in)"
    ch.add_argument("--width", type=_positive_int, default=1600, help=size_help)
    ch.add_argument("--height", type=_positive_int, default=1000, help=size_help)
    ch.add_argument(
        "--theme",
        choices=CHART_THEME_NAMES,
        default=EXPORT_THEME,
        help="print: light, for documents (default); presentation: light, large type for "
        "slides; normal: dark, like the window",
    )
    ro = ch.add_argument_group("breakeven: rent or own (all three draw a second panel)")
    ro.add_argument("--purchase-usd-per-chip", type=_number, metavar="USD",
                    help="purchase price of one accelerator with its share of the server (USD)")
    ro.add_argument("--depreciation-years", type=_number, metavar="YEARS",
                    help="straight-line depreciation, no resale value")
    ro.add_argument("--usd-per-kwh", type=_number, metavar="USD",
                    help="electricity price in USD per kWh")
    ro.add_argument("--other-usd-per-chip-year", type=_number, metavar="USD",
                    help="other owned costs per chip-year (hosting, network, staff)")
    ro.add_argument("--break-even-hardware", metavar="ID,ID", default="",
                    help="hardware to add to the break-even lines (default: the plan's chip "
                    "and every chip cheapest at some demand up to twice the plan's)")
    _add_scenario_args(ch)
    ch.set_defaults(func=cmd_chart)
    from estimator.cli_ladder import add_ladder_parser  # the ladder subcommand lives there

    add_ladder_parser(sub)
    from estimator.cli_report import add_report_parser  # reports in every format (issue 14)

    add_report_parser(sub)
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
        sys.stderr.write(one_line(f"estimator: error: {exc.render(flag_of)}") + "\n")
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
