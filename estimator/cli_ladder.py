"""``estimator ladder``: plan the small runs before a big run, and review them afterwards.

    estimator ladder --target-compute 1e24 --ladder-budget-usd 20000 [--hardware h100-sxm]
    estimator ladder --target-loss 2.0 --budget-usd 20000          (--budget-usd: the ladder's)
    estimator ladder --budget-usd 3e6 --ladder-budget-usd 20000    (--budget-usd: the big run's)
    estimator ladder --target-compute 1e24 --results runs.csv      (after the runs)

Registered by :func:`estimator.cli.build_parser` through :func:`add_ladder_parser`. Errors are
:class:`~estimator.errors.EstimatorError` (one line, exit 2, printed by :func:`estimator.cli.main`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from estimator import units
from estimator.errors import InputError
from estimator.hardware import PRICE_TIERS


def _num(text: str) -> float:
    try:
        return units.parse_number(text.replace("$", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a number (examples: 1e24, 20000, 20k, 3M)") from None


def _int(text: str) -> int:
    v = _num(text)
    if v != int(v):
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number")
    return int(v)


def add_ladder_parser(sub) -> argparse.ArgumentParser:
    """Add the ``ladder`` subcommand to ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "ladder", help="plan the small runs (a scaling ladder) before a big run, or review them",
        description="Propose a ladder of small runs for a budget, cost each run on the "
        "hardware, and predict by simulation how well it pins down the big run's "
        "compute-optimal N, D and loss. With --results, review finished runs.")
    t = p.add_argument_group("target (the big run; exactly one)")
    t.add_argument("--target-compute", type=_num, metavar="C", help="big run compute in FLOPs")
    t.add_argument("--target-loss", type=_num, metavar="L", help="big run loss in nats/token")
    t.add_argument("--budget-usd", type=_num, metavar="USD",
                   help="the big run's budget; with --target-compute or --target-loss, the "
                   "ladder's budget instead (alias of --ladder-budget-usd)")
    b = p.add_argument_group("ladder")
    b.add_argument("--ladder-budget-usd", type=_num, metavar="USD", help="what the ladder may cost")
    b.add_argument("--law", default="epoch-2024",
                   help="prior law (id or .yaml; default epoch-2024)")
    b.add_argument("--prior", choices=["samples", "point", "wide"], default="samples",
                   help="samples: the law's parameter samples (default); point: its constants "
                   "only; wide: exponents widened for a new domain (see docs/ladder.md)")
    b.add_argument("--loss-noise", type=_num, metavar="SD",
                   help="sd of each run's log loss (default: measured on Hoffmann's runs)")
    b.add_argument("--min-params", type=_num, metavar="N", default=5e7,
                   help="smallest model size in the ladder (default 5e7)")
    b.add_argument("--max-run-days", type=_num, metavar="DAYS", default=2.0,
                   help="wall-clock time to aim for per run when choosing its GPUs (default 2)")
    b.add_argument("--simulations", type=_int, default=200, metavar="M",
                   help="simulated ladders per finalist design (default 200)")
    b.add_argument("--seed", type=_int, default=0)
    b.add_argument("--no-curve", action="store_true", help="skip the band-against-budget curve")
    b.add_argument("--fidelity-checks", type=_int, default=3, metavar="K",
                   help="simulated ladders refitted with the full fit (default 3; 0 skips)")
    b.add_argument("--write-runs", metavar="FILE.csv",
                   help="write the planned runs as a CSV to fill in with losses")
    h = p.add_argument_group("hardware (as for estimates)")
    h.add_argument("--hardware", default="h100-sxm", metavar="ID")
    h.add_argument("--gpus", type=_int, default=1024, metavar="K",
                   help="most GPUs any run may use (the big run uses all of them)")
    h.add_argument("--precision", choices=["bf16", "fp8", "fp4"], default="bf16")
    h.add_argument("--price-tier", choices=list(PRICE_TIERS), default="on_demand")
    h.add_argument("--price-per-hour", type=_num, metavar="USD", help="override $ per GPU-hour")
    r = p.add_argument_group("after the runs")
    r.add_argument("--results", metavar="RUNS.csv",
                   help="review finished runs: check the held-out run, fit, value more runs")
    r.add_argument("--bootstrap", type=_int, default=200, metavar="K",
                   help="bootstrap resamples when reviewing (default 200)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_ladder)
    return p


def _target(args):
    from estimator.ladder import Target

    if args.target_compute is not None and args.target_loss is not None:
        raise InputError("give one target: --target-compute or --target-loss, not both",
                         field="target")
    ladder_budget = args.ladder_budget_usd
    if args.target_compute is not None or args.target_loss is not None:
        if args.budget_usd is not None:
            if ladder_budget is not None:
                raise InputError(
                    "with --target-compute or --target-loss, --budget-usd is the ladder's budget: "
                    "give it or --ladder-budget-usd, not both", field="ladder_budget_usd")
            ladder_budget = args.budget_usd
        target = Target(compute_flops=args.target_compute, loss=args.target_loss)
    elif args.budget_usd is not None:
        target = Target(budget_usd=args.budget_usd)
    else:
        raise InputError("give a target: --target-compute C (FLOPs), --target-loss L "
                         "(nats/token) or --budget-usd of the big run", field="target",
                         hint="--target-compute 1e24")
    return target, ladder_budget


class _Progress:
    """Progress on stderr once work has run for a second; a line at most every 2 s (one
    rewritten line on a terminal)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, fraction: float, message: str) -> None:
        now = time.perf_counter() - self.t0
        if self.quiet or now < 1.0 or (now - self.last < (0.2 if self.tty else 2.0)
                                       and fraction < 1.0):
            return
        self.last = now
        line = f"ladder: {fraction:4.0%} {message} ({now:.0f} s)"
        if self.tty:
            sys.stderr.write("\r" + line[:120].ljust(120))
            if fraction >= 1.0:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        self.shown = True


def cmd_ladder(args) -> int:
    from estimator.ladder import RunHardware, plan_ladder, review_ladder

    target, ladder_budget = _target(args)
    hw = RunHardware(hardware=args.hardware, max_gpus=args.gpus, price_tier=args.price_tier,
                     price_per_hour=args.price_per_hour, precision=args.precision,
                     max_run_days=args.max_run_days)
    if args.results:
        review = review_ladder(args.results, target, hardware=hw, law=args.law,
                               loss_noise=args.loss_noise, bootstrap=args.bootstrap,
                               seed=args.seed)
        print(_dump(review.to_dict()) if args.json else format_review(review))
        return 0
    if ladder_budget is None:
        raise InputError("give the ladder's budget: --ladder-budget-usd USD (what the small runs "
                         "may cost in total)", field="ladder_budget_usd",
                         hint="--ladder-budget-usd 20000")
    plan = plan_ladder(target, ladder_budget, hardware=hw, law=args.law, prior=args.prior,
                       loss_noise=args.loss_noise, simulations=args.simulations, seed=args.seed,
                       min_params=args.min_params, curve=not args.no_curve,
                       fidelity_checks=args.fidelity_checks, progress=_Progress(args.quiet))
    if args.write_runs:
        from pathlib import Path

        from estimator.fileio import atomic_write_text

        try:
            atomic_write_text(Path(args.write_runs), plan.runs_csv())
        except OSError as exc:
            raise InputError(f"--write-runs {args.write_runs}: cannot write ({exc.strerror or exc})"
                             "; choose another folder", field="write_runs") from None
    print(_dump(plan.to_dict()) if args.json else format_plan(plan))
    if args.write_runs and not args.json:
        print(f"\nwrote the runs to {args.write_runs}; fill in each final loss and run "
              f"'estimator ladder ... --results {args.write_runs}'")
    return 0


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _clean(o: Any):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if hasattr(o, "item"):
        return _clean(o.item())
    return o


def _dump(obj: Any) -> str:
    return json.dumps(_clean(obj), indent=2, allow_nan=False)


def format_plan(plan) -> str:
    """A readable summary of a :class:`~estimator.ladder.LadderPlan`."""
    d = plan.to_dict()
    t, pr, de = d["target"], d["predicted"], d["design"]
    big = t["big_run"]
    lines = [
        f"Target: {units.flops(t['compute_flops'])} ({t['kind']}"
        + (f" {t['target_loss']:g} nats/token" if t["kind"] == "loss" else "")
        + f"): N* {units.si(t['params_opt'])} params, D* {units.si(t['tokens_opt'])} tokens under "
        f"'{d['prior']['law']}'; big run {units.usd(big['cost_usd'])} on {big['gpus']} GPUs",
        f"Ladder: {de['name']} — {len(d['runs'])} runs, {units.usd(d['total_cost_usd'])} "
        f"of {units.usd(d['ladder_budget_usd'])}",
        "",
        f"  {'params':>9} {'tokens':>9} {'tok/param':>9} {'FLOPs':>9} {'GPUs':>5} "
        f"{'GPU-h':>8} {'cost':>9} {'days':>5}",
    ]
    for r in d["runs"]:
        lines.append(
            f"  {units.si(r['params']):>9} {units.si(r['tokens']):>9} "
            f"{r['tokens_per_param']:>9.1f} {r['train_flops']:>9.2e} {r['gpus']:>5} "
            f"{r['gpu_hours']:>8.1f} {units.usd(r['cost_usd']):>9} "
            f"{r['wall_clock_days']:>5.2f}" + ("  held out" if r["holdout"] else ""))
    lines += [
        "",
        f"Predicted after fitting the ladder ({pr['simulations']} simulated ladders, noise sd "
        f"{d['assumed_loss_noise']:.4f} on log loss, prior: {d['prior']['kind']}):",
        f"  compute-optimal N  P10 {units.si(pr['params_opt_p10'])}  P50 "
        f"{units.si(pr['params_opt_p50'])}  P90 {units.si(pr['params_opt_p90'])}",
        f"  compute-optimal D  P10 {units.si(pr['tokens_opt_p10'])}  P50 "
        f"{units.si(pr['tokens_opt_p50'])}  P90 {units.si(pr['tokens_opt_p90'])}",
        f"  loss at target     P10 {pr['loss_at_target_p10']:.4f}  P50 "
        f"{pr['loss_at_target_p50']:.4f}  P90 {pr['loss_at_target_p90']:.4f}",
        f"  fitted N* / true N*: x{pr['params_opt_error_p10']:.2f} to "
        f"x{pr['params_opt_error_p90']:.2f} (P10-P90); expected misallocation "
        f"{pr['expected_waste_fraction']:.1%} of the big run "
        f"({units.usd(pr['expected_waste_usd'])})",
        f"  held-out run: the fit should predict its log loss within "
        f"{pr['holdout_residual_p5']:+.3f} to {pr['holdout_residual_p95']:+.3f} (P5-P95)",
        "",
        f"Why: {de['why']}",
    ]
    curve = [c for c in d["budget_curve"] if c.get("design")]
    if len(curve) > 1:
        lines.append("Band against ladder budget:")
        for c in curve:
            mark = " <" if c["budget_usd"] == d["ladder_budget_usd"] else ""
            lines.append(
                f"  {units.usd(c['budget_usd']):>9}: N* within x{c['params_opt_error_p10']:.2f}-"
                f"x{c['params_opt_error_p90']:.2f}, misallocation "
                f"{units.usd(c['expected_waste_usd'])}, spends {units.usd(c['total_cost_usd'])} "
                f"({c['design']}){mark}")
    if d.get("fidelity"):
        lines.append(f"Check: {d['fidelity']['note']}")
    for w in d["warnings"]:
        lines.append(f"warning: {w}")
    lines.append(f"({d['seconds']:.1f} s)")
    return "\n".join(lines)


def format_review(review) -> str:
    """A readable summary of a :class:`~estimator.ladder.LadderReview`."""
    d = review.to_dict()
    f, pr, t = d["fit"], d["predicted"], d["target"]
    lines = [f"Ladder results: {d['n_runs']} runs from {d['source']}"
             + (f" ({d['n_without_loss']} without a loss yet)" if d["n_without_loss"] else ""),
             f"  fit: E {f['E']:.4g}, A {f['A']:.4g}, B {f['B']:.4g}, alpha {f['alpha']:.4f}, "
             f"beta {f['beta']:.4f}"]
    h = d["holdout"]
    if h:
        for r in h["runs"]:
            lines.append(
                f"  held-out run {units.si(r['params'])} params, {units.si(r['tokens'])} tokens: "
                f"loss {r['loss']:.4f}, predicted {r['predicted_loss']:.4f} "
                f"({r['log_residual']:+.2%}, {r['z']:+.1f} sd): "
                + ("predicted" if r["passes"] else "MISSED"))
    lines += [
        f"  at {units.flops(t['compute_flops'])}: N* P10 {units.si(pr['params_opt_p10'])} P50 "
        f"{units.si(pr['params_opt_p50'])} P90 {units.si(pr['params_opt_p90'])}; D* P50 "
        f"{units.si(pr['tokens_opt_p50'])}; loss P10-P90 {pr['loss_at_target_p10']:.4f}-"
        f"{pr['loss_at_target_p90']:.4f}",
        f"  expected misallocation of the big run: {units.usd(pr['expected_waste_usd'])}",
        f"Recommendation: {d['recommendation']}",
    ]
    for w in d["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
