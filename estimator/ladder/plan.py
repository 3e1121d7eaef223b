"""Plan a ladder: which small runs to buy for a budget, and how well they will pin down the big
run's compute-optimal model size, token count and loss.

:func:`plan_ladder` resolves the target to a compute C* (given, or the compute whose optimum
reaches a target loss under the law's constants, or the compute a big-run budget buys on the
hardware), then searches the designs of :mod:`estimator.ladder.design`: every scale of every
family whose runs, costed one by one through the engine
(:func:`estimator.ladder.costing.cost_run`), fit the largest budget level (the budget, or 4x it
when the band-against-budget curve, 1/8x to 4x, is asked for). Every candidate is simulated on the
same :data:`SCREEN_SIMULATIONS` laws and noise draws (common random numbers); the designs on the
screening's cost-band frontier (none cheaper screened narrower, within
:data:`FRONTIER_SLACK`) are simulated again on ``simulations`` fresh draws, which give the
reported bands (so choosing the best of many noisy estimates does not make the band look
narrower than it is). The choice at a budget is the narrowest error band of N* among finalists
that cost at most the budget. Draws depend only on the seed, and the finalists below a budget
only on the designs below it, so a bigger budget never gets a wider band (exactly, across
calls), and the total never exceeds the budget.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from estimator.errors import EstimatorError, InputError
from estimator.ladder import lawmath
from estimator.ladder.costing import CostCache, RunHardware
from estimator.ladder.design import Design, Family, default_families, scale_index
from estimator.ladder.prior import Prior, check_loss_noise, make_prior
from estimator.ladder.simulate import Simulation, fidelity_check, simulate_many

SCREEN_SIMULATIONS = 40
SCREEN_MAX_ITER = 150
"""L-BFGS iterations per screening fit (finals and the real fit use 400): only the slowest,
worst-determined fits reach it, and they rank last either way."""
FRONTIER_SLACK = 0.05
"""Designs screened within 5% of the narrowest cheaper band also go to the final round (the
screening's own noise on 40 draws is several percent)."""
SIMULATIONS_DEFAULT = 200
MAX_SIMULATIONS = 5000
CURVE_FACTORS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)
MIN_TARGET_RATIO = 10.0
"""The held-out (largest) ladder run uses at most 1/10 of the target compute: a ladder is small
runs (a judgement)."""
MIN_PARAMS_DEFAULT = 5e7
"""Smallest ladder size: about the smallest of Hoffmann et al.'s runs Epoch fitted (5.7e7); below
it the law is extrapolated downwards and small-model effects (embeddings) grow."""
MAX_BUDGET_USD = 1e12
COMPUTE_RANGE = (1e18, 1e30)
BATCH_DESIGNS = 48
MAX_DESIGN_RUNS = 64


class LadderCancelled(Exception):
    """The caller asked to stop (the window's Cancel button)."""


@dataclass(frozen=True)
class Target:
    """What the big run is: exactly one of ``compute_flops`` (FLOPs), ``loss`` (nats/token) or
    ``budget_usd`` (its cost on the ladder's hardware, all ``max_gpus`` GPUs)."""

    compute_flops: float | None = None
    loss: float | None = None
    budget_usd: float | None = None

    @property
    def kind(self) -> str:
        return ("compute" if self.compute_flops is not None else
                "loss" if self.loss is not None else "budget")

    def validated(self) -> Target:
        given = [k for k in ("compute_flops", "loss", "budget_usd") if getattr(self, k) is not None]
        if len(given) != 1:
            raise InputError("give exactly one target: --target-compute C, --target-loss L or "
                             "--budget-usd of the big run (with --ladder-budget-usd for the "
                             "ladder)", field="target", value=given,
                             expected="one of compute, loss, budget", hint="--target-compute 1e24")
        name = given[0]
        v = getattr(self, name)
        flag = {"compute_flops": "--target-compute", "loss": "--target-loss",
                "budget_usd": "--budget-usd"}[name]
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise InputError(f"{flag} must be a positive number, got {v!r}", field=name, value=v,
                             expected="> 0")
        if name == "compute_flops" and not (COMPUTE_RANGE[0] <= v <= COMPUTE_RANGE[1]):
            raise InputError(f"--target-compute {v:.3g} FLOPs is outside {COMPUTE_RANGE[0]:.0e} to "
                             f"{COMPUTE_RANGE[1]:.0e}; a ladder plans runs far larger than its "
                             "own (e.g. --target-compute 1e24)", field=name, value=v,
                             expected=f"{COMPUTE_RANGE[0]:.0e} to {COMPUTE_RANGE[1]:.0e} FLOPs")
        if name == "budget_usd" and v > MAX_BUDGET_USD:
            raise InputError(f"--budget-usd {v:.3g} is beyond ${MAX_BUDGET_USD:.0e}", field=name,
                             value=v, expected=f"<= {MAX_BUDGET_USD:.0e}")
        return self


@dataclass(frozen=True, eq=False)
class LadderPlan:
    """A planned ladder. JSON via :meth:`to_dict`; the runs as a CSV to fill in via
    :meth:`runs_csv`. Units in the keys."""

    target: dict
    runs: tuple[dict, ...]
    total_cost_usd: float
    ladder_budget_usd: float
    assumed_loss_noise: float
    noise_source: str
    prior: dict
    design: dict
    predicted: dict
    alternatives: tuple[dict, ...]
    budget_curve: tuple[dict, ...]
    fidelity: dict | None
    hardware: dict
    seconds: float
    warnings: tuple[str, ...] = ()
    chosen: Design | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "runs": [dict(r) for r in self.runs],
                "total_cost_usd": self.total_cost_usd,
                "ladder_budget_usd": self.ladder_budget_usd,
                "assumed_loss_noise": self.assumed_loss_noise, "noise_source": self.noise_source,
                "prior": self.prior, "design": self.design, "predicted": self.predicted,
                "alternatives": [dict(a) for a in self.alternatives],
                "budget_curve": [dict(c) for c in self.budget_curve],
                "fidelity": self.fidelity, "hardware": self.hardware, "seconds": self.seconds,
                "warnings": list(self.warnings)}

    def runs_csv(self) -> str:
        """The runs as CSV (params, tokens, compute, gpus, gpu_hours, cost_usd, holdout, loss):
        fill in each run's final loss and pass it back with ``estimator ladder --results``."""
        buf = io.StringIO()
        buf.write("# ladder planned by estimator ladder; fill in each run's final loss "
                  "(nats/token); holdout=1 is fitted on nothing and checks the prediction\n")
        buf.write("params,tokens,compute,gpus,gpu_hours,cost_usd,holdout,loss\n")
        for r in self.runs:
            buf.write(f"{r['params']:.6g},{r['tokens']:.6g},{r['train_flops']:.6g},{r['gpus']},"
                      f"{r['gpu_hours']:.4g},{r['cost_usd']:.2f},{int(r['holdout'])},\n")
        return buf.getvalue()


# --------------------------------------------------------------------------------------
# Target
# --------------------------------------------------------------------------------------


def resolve_target(target: Target, prior: Prior, costs: CostCache) -> dict:
    """C* and the big run under the law's constants: N*, D*, loss, and its cost."""
    t = target.validated()
    c0 = prior.central[None, :]
    E = float(prior.central[0])
    if t.kind == "compute":
        compute = float(t.compute_flops)
    elif t.kind == "loss":
        if t.loss <= E * (1 + 1e-9):
            raise InputError(f"--target-loss {t.loss:g} is at or below the irreducible loss "
                             f"E = {E:.4g} of law '{prior.law_id}': no model reaches it; choose a "
                             f"loss above {E:.4g} (e.g. {E + 0.2:.2f})", field="target_loss",
                             value=t.loss, expected=f"> {E:.4g}",
                             hint=f"--target-loss {E + 0.2:.2f}")
        compute = float(lawmath.compute_for_loss(c0, t.loss)[0])
        if not (COMPUTE_RANGE[0] <= compute <= COMPUTE_RANGE[1]):
            raise InputError(f"--target-loss {t.loss:g} needs {compute:.3g} FLOPs under law "
                             f"'{prior.law_id}', outside {COMPUTE_RANGE[0]:.0e} to "
                             f"{COMPUTE_RANGE[1]:.0e}; choose a loss "
                             + ("further above E" if compute > 1 else "lower"),
                             field="target_loss", value=t.loss)
    else:
        compute = _compute_for_budget(t.budget_usd, c0, costs)
    n, d = lawmath.optimum(c0, compute)
    big = costs.big_run(float(n[0]), float(d[0]))
    out = {"kind": t.kind, "value": {"compute": t.compute_flops, "loss": t.loss,
                                     "budget": t.budget_usd}[t.kind],
           "compute_flops": compute, "params_opt": float(n[0]), "tokens_opt": float(d[0]),
           "tokens_per_param": float(d[0] / n[0]),
           "loss_at_target": float(lawmath.optimal_loss(c0, compute)[0]),
           "big_run": big.to_dict()}
    if t.kind == "loss":
        out["target_loss"] = t.loss
    return out


def _compute_for_budget(budget: float, c0: np.ndarray, costs: CostCache) -> float:
    """The compute whose compute-optimal run costs ``budget`` on the hardware (bisection on
    log C between decades that bracket it; the engine's cost grows with C)."""
    def cost(log_c: float) -> float:
        n, d = lawmath.optimum(c0, 10.0 ** log_c)
        return costs.big_run(float(n[0]), float(d[0])).cost_usd

    lo = math.log10(COMPUTE_RANGE[0])
    c_lo = cost(lo)
    if c_lo > budget:
        raise InputError(f"--budget-usd {budget:,.0f} buys less than a {COMPUTE_RANGE[0]:.0e}-FLOP "
                         f"big run on this hardware (that costs ${c_lo:,.0f}); a ladder plans for "
                         "a run larger than itself: raise --budget-usd or give --target-compute",
                         field="budget_usd", value=budget, expected=f">= {c_lo:.0f}")
    hi = None
    for step in range(1, int(math.log10(COMPUTE_RANGE[1]) - lo) + 1):
        try:
            over = cost(lo + step) > budget
        except EstimatorError:  # the engine cannot cost a run this large: beyond any budget
            over = True
        if over:
            hi = lo + step
            break
    if hi is None:
        raise InputError(f"--budget-usd {budget:,.3g} buys more than a {COMPUTE_RANGE[1]:.0e}-FLOP "
                         "big run; give --target-compute instead", field="budget_usd",
                         value=budget)
    lo = hi - 1
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        try:
            ok = cost(mid) <= budget
        except EstimatorError:
            ok = False
        lo, hi = (mid, hi) if ok else (lo, mid)
        if hi - lo < 1e-6:
            break
    return 10.0 ** lo


# --------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------


def _check_budget(v: Any, flag: str = "--ladder-budget-usd") -> float:
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and 0 < v <= MAX_BUDGET_USD):
        raise InputError(f"{flag} must be a number of dollars from 0 to {MAX_BUDGET_USD:.0e}, got "
                         f"{v!r}", field="ladder_budget_usd", value=v,
                         expected=f"0 to {MAX_BUDGET_USD:.0e}", hint=f"{flag} 20000")
    return float(v)


class _Catalogue:
    """Designs of each family by scale, costed on demand (runs memoised)."""

    def __init__(self, families, r0, costs, lo_scale: dict, hi_scale: dict):
        self.families, self.r0, self.costs = families, r0, costs
        self.lo, self.hi = lo_scale, hi_scale
        self._cost: dict[tuple, float] = {}

    def design(self, fam: Family, scale: int) -> Design:
        return Design(fam, scale, self.r0)

    def cost(self, d: Design) -> float:
        got = self._cost.get(d.key)
        if got is None:
            params, tokens, _ = d.runs()
            got = float(sum(self.costs.run(n, t).cost_usd for n, t in zip(params, tokens,
                                                                            strict=True)))
            self._cost[d.key] = got
        return got

    def affordable(self, fam: Family, budget: float, k: int | None = 2) -> list[Design]:
        """The ``k`` largest scales of ``fam`` costing at most ``budget`` (all of them if
        ``k`` is None), largest first (binary search: cost grows with scale)."""
        lo, hi = self.lo[fam], self.hi[fam]
        if lo > hi or self.cost(self.design(fam, lo)) > budget:
            return []
        while lo < hi:  # largest scale with cost <= budget
            mid = (lo + hi + 1) // 2
            if self.cost(self.design(fam, mid)) <= budget:
                lo = mid
            else:
                hi = mid - 1
        bottom = self.lo[fam] if k is None else max(self.lo[fam], lo - k + 1)
        return [self.design(fam, s) for s in range(lo, bottom - 1, -1)]


def plan_ladder(target: Target, ladder_budget_usd: float, *,
                hardware: RunHardware | None = None, law: str = "epoch-2024",
                prior: str = "samples", loss_noise: float | None = None,
                simulations: int = SIMULATIONS_DEFAULT, seed: int = 0,
                min_params: float = MIN_PARAMS_DEFAULT,
                families: tuple[Family, ...] | None = None, curve: bool = True,
                fidelity_checks: int = 3,
                progress: Callable[[float, str], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> LadderPlan:
    """Plan a ladder for ``target`` within ``ladder_budget_usd`` (see the module docstring).

    ``hardware``: where the runs go (GPU type, the most GPUs per run, price); ``law`` and
    ``prior`` (``samples``, ``point`` or ``wide``): what is believed before the runs;
    ``loss_noise``: sd of each run's log loss (default: the measured reference);
    ``simulations``: simulated ladders per finalist design; ``seed``: all random draws;
    ``min_params``: the smallest size a design may use; ``families``: the design families to
    search (default :func:`~estimator.ladder.design.default_families`); ``curve``: also plan
    1/8x to 4x the budget for the band-against-budget curve; ``fidelity_checks``: simulated
    ladders of the chosen design refitted with the full fit. ``progress(fraction, message)``
    is called as work advances; ``cancel()`` returning True stops with
    :class:`LadderCancelled`. Raises :class:`~estimator.errors.InputError` naming the flag.
    """
    t0 = time.perf_counter()
    budget = _check_budget(ladder_budget_usd)
    hw = (hardware or RunHardware()).validated()
    if not (isinstance(simulations, int) and not isinstance(simulations, bool)
            and 20 <= simulations <= MAX_SIMULATIONS):
        raise InputError(f"--simulations must be a whole number from 20 to {MAX_SIMULATIONS}, "
                         f"got {simulations!r}", field="simulations", value=simulations,
                         expected=f"20 to {MAX_SIMULATIONS}", hint="--simulations 200")
    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**32):
        raise InputError(f"--seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}",
                         field="seed", value=seed, hint="--seed 0")
    if not (isinstance(min_params, (int, float)) and math.isfinite(min_params)
            and 1e5 <= min_params <= 1e12):
        raise InputError(f"--min-params must be from 1e5 to 1e12 parameters, got {min_params!r}",
                         field="min_params", value=min_params, hint="--min-params 5e7")
    pr = make_prior(law, prior)
    sigma, noise_source = check_loss_noise(loss_noise)
    costs = CostCache(replace(hw, law=str(law)))
    say = progress or (lambda f, m: None)

    def stop():
        if cancel is not None and cancel():
            raise LadderCancelled("ladder planning cancelled")

    say(0.0, "costing the big run")
    tgt = resolve_target(target, pr, costs)
    compute = tgt["compute_flops"]
    r0 = tgt["tokens_per_param"]
    fams = tuple(families) if families is not None else default_families()
    max_hold = compute / MIN_TARGET_RATIO
    lo_scale, hi_scale = {}, {}
    for f in fams:
        lo = scale_index(min_params * f.spacing ** (f.n_sizes - 1))
        while Design(f, lo, r0).sizes[0] < min_params * (1 - 1e-9):
            lo += 1
        hi = scale_index(math.sqrt(max_hold / (6.0 * r0 * max(f.multipliers)))) + 1
        while hi >= lo and Design(f, hi, r0).holdout_flops > max_hold:
            hi -= 1
        lo_scale[f], hi_scale[f] = lo, hi
    if all(lo_scale[f] > hi_scale[f] for f in fams):
        raise InputError(
            f"the target ({compute:.3g} FLOPs) is too small for a ladder: its runs must stay "
            f"under 1/{MIN_TARGET_RATIO:g} of the target's compute with the smallest model at "
            f"least {min_params:.3g} parameters (--min-params); raise the target or lower "
            "--min-params", field="target", value=compute)
    cat = _Catalogue(fams, r0, costs, lo_scale, hi_scale)
    levels = sorted({budget * f for f in (CURVE_FACTORS if curve else (1.0,))})
    say(0.02, "costing candidate ladders")
    cands: dict[tuple, Design] = {}
    for f in fams:  # every scale of every family up to what the largest level affords
        for d in cat.affordable(f, max(levels), k=None):
            cands.setdefault(d.key, d)
        stop()
    main_ok = [d for d in cands.values() if cat.cost(d) <= budget]
    if not main_ok:
        cheapest = min((cat.design(f, lo_scale[f]) for f in fams if lo_scale[f] <= hi_scale[f]),
                       key=cat.cost)
        need = cat.cost(cheapest)
        raise InputError(
            f"--ladder-budget-usd {budget:,.0f} buys no ladder on {hw.hardware}: the cheapest "
            f"({cheapest.name}, {cheapest.family.n_fit_runs + 1} runs) costs ${need:,.0f}; raise "
            f"the ladder budget to at least ${math.ceil(need):,}, lower --min-params, or use a "
            "cheaper price (--price-tier spot)", field="ladder_budget_usd", value=budget,
            expected=f">= {math.ceil(need)}", hint=f"--ladder-budget-usd {math.ceil(need)}")

    # Batched by number of runs, so a batch pads few runs (cost order within it).
    designs = sorted(cands.values(), key=lambda d: (d.family.n_fit_runs, cat.cost(d), d.key))
    if max(d.family.n_fit_runs + 1 for d in designs) > MAX_DESIGN_RUNS:
        raise ValueError(f"plan_ladder: a design has more than {MAX_DESIGN_RUNS} runs")
    rng = np.random.default_rng([seed, 0])
    # Noise drawn for the most runs any design has, whatever this call's designs: the same
    # seed gives every design the same draws in every call (so budgets compare exactly).
    n_max = MAX_DESIGN_RUNS
    m_screen = min(SCREEN_SIMULATIONS, simulations)
    draws_s, z_s = pr.draw(m_screen, rng), rng.standard_normal((m_screen, n_max))
    target_loss = target.loss if target.kind == "loss" else None
    screened: dict[tuple, Simulation] = {}
    for i in range(0, len(designs), BATCH_DESIGNS):
        stop()
        batch = designs[i:i + BATCH_DESIGNS]
        say(0.05 + 0.55 * i / len(designs),
            f"screening designs {i + 1}-{i + len(batch)} of {len(designs)} "
            f"({m_screen} simulated ladders each)")
        for d, s in zip(batch, simulate_many(batch, draws_s, z_s, sigma, compute, pr.central,
                                             target_loss=target_loss,
                                             max_iter=SCREEN_MAX_ITER), strict=True):
            screened[d.key] = s
    # Finalists: the screening's cost-band frontier (no cheaper design screened narrower),
    # plus the runners-up just behind it. The frontier below a budget depends only on the
    # designs below it, so a larger budget re-simulates every finalist a smaller one did.
    fin, best = [], math.inf
    for d in sorted(designs, key=lambda d: (cat.cost(d), screened[d.key].score(), d.key)):
        sc = screened[d.key].score()
        if sc < best * (1.0 + FRONTIER_SLACK):
            fin.append(d)
            best = min(best, sc)
    rng_f = np.random.default_rng([seed, 1])
    draws_f, z_f = pr.draw(simulations, rng_f), rng_f.standard_normal((simulations, n_max))
    final: dict[tuple, Simulation] = {}
    per = max(1, BATCH_DESIGNS * m_screen // simulations)
    for i in range(0, len(fin), per):
        stop()
        batch = fin[i:i + per]
        say(0.6 + 0.3 * i / len(fin), f"simulating finalists {i + 1}-{i + len(batch)} of "
            f"{len(fin)} ({simulations} simulated ladders each)")
        for d, s in zip(batch, simulate_many(batch, draws_f, z_f, sigma, compute, pr.central,
                                             target_loss=target_loss), strict=True):
            final[d.key] = s

    def best_at(lvl: float) -> Design | None:
        ok = [d for d in fin if cat.cost(d) <= lvl]
        return min(ok, key=lambda d: (final[d.key].score(), cat.cost(d))) if ok else None

    chosen = best_at(budget)
    sim = final[chosen.key]
    big_cost = tgt["big_run"]["cost_usd"]
    curve_rows = []
    for lvl in levels:
        d = best_at(lvl)
        if d is None:
            curve_rows.append({"budget_usd": lvl, "design": None})
            continue
        sm = final[d.key].summary()
        curve_rows.append({"budget_usd": lvl, "design": d.name, "total_cost_usd": cat.cost(d),
                           "n_runs": d.family.n_fit_runs + 1,
                           **{k: sm[k] for k in ("params_opt_p10", "params_opt_p50",
                                                 "params_opt_p90", "params_opt_error_p10",
                                                 "params_opt_error_p90", "band_log_width",
                                                 "expected_waste_fraction")},
                           "expected_waste_usd": sm["expected_waste_fraction"] * big_cost})
    stop()
    fid = None
    if fidelity_checks:
        say(0.92, f"checking {fidelity_checks} simulated ladders with the full 4,500-start fit")
        fid = fidelity_check(sim, fidelity_checks)
    params, tokens, hold = chosen.runs()
    runs = tuple(costs.run(n, t).to_dict(h) for n, t, h in zip(params, tokens, hold,
                                                                   strict=True))
    total = float(sum(r["cost_usd"] for r in runs))
    sm = sim.summary()
    predicted = dict(sm)
    predicted["expected_waste_usd"] = sm["expected_waste_fraction"] * big_cost
    affordable = sorted((d for d in designs if cat.cost(d) <= budget),
                        key=lambda d: (screened[d.key].score(), cat.cost(d)))
    alternatives = tuple(_alt(d, cat, screened, final) for d in affordable[:8])
    design = {**chosen.describe(), "total_cost_usd": total,
              "why": _why(chosen, sim, affordable, screened, final, cat, m_screen, simulations,
                          len(designs)),
              "comparison": _comparison(affordable, screened, cat),
              "searched": {"designs_screened": len(designs), "screen_simulations": m_screen,
                           "finalists": len(fin), "simulations": simulations,
                           "families": len(fams), "min_params": min_params}}
    warnings = _warnings(chosen, sim, fid, tgt, curve_rows, budget, runs, hw)
    say(1.0, "done")
    return LadderPlan(
        target=tgt, runs=runs, total_cost_usd=total, ladder_budget_usd=budget,
        assumed_loss_noise=sigma, noise_source=noise_source, prior=pr.to_dict(), design=design,
        predicted=predicted, alternatives=alternatives, budget_curve=tuple(curve_rows),
        fidelity=fid, hardware={"hardware": hw.hardware, "max_gpus": hw.max_gpus,
                                "price_tier": hw.price_tier,
                                "price_per_hour": hw.price_per_hour,
                                "max_run_days": hw.max_run_days,
                                "gpu_rule": ("fewest GPUs (1, 2, 4, 8, then nodes of 8) that "
                                             "hold the run and finish within max_run_days, at "
                                             "most --gpus and the critical-batch limit")},
        seconds=time.perf_counter() - t0, warnings=tuple(warnings), chosen=chosen)


def _alt(d: Design, cat, screened, final) -> dict:
    s = (final.get(d.key) or screened[d.key]).summary()
    return {"design": d.name, "n_runs": d.family.n_fit_runs + 1, "total_cost_usd": cat.cost(d),
            "params_opt_error_p10": s["params_opt_error_p10"],
            "params_opt_error_p90": s["params_opt_error_p90"],
            "band_log_width": s["band_log_width"], "fail_rate": s["fail_rate"],
            "simulations": s["simulations"]}


def _fmt_band(s: dict) -> str:
    return f"x{s['params_opt_error_p10']:.2f} to x{s['params_opt_error_p90']:.2f}"


def _why(chosen, sim, affordable, screened, final, cat, m_screen, m_final, n_designs) -> str:
    s = sim.summary()
    others = [d for d in affordable if d.key in final and d.key != chosen.key]
    runner = min(others, key=lambda d: final[d.key].score()) if others else None
    text = (f"narrowest error band of the compute-optimal N among {len(affordable)} affordable "
            f"designs ({n_designs} screened on {m_screen} simulated ladders, the best "
            f"re-simulated on {m_final} fresh ones): the fitted N* lands within "
            f"{_fmt_band(s)} of the true one (P10-P90) for ${cat.cost(chosen):,.0f}")
    if runner is not None:
        text += (f"; runner-up {runner.name} {_fmt_band(final[runner.key].summary())} for "
                 f"${cat.cost(runner):,.0f}")
    return text


def _comparison(affordable, screened, cat) -> dict:
    """The best affordable design along each axis: sizes, spacing, ratios, largest size."""
    axes = {
        "n_sizes": lambda d: d.family.n_sizes,
        "size_spacing": lambda d: d.family.spacing,
        "tokens_per_param_ratios": lambda d: d.family.multipliers_label,
        "largest_fitted_params": lambda d: f"{d.top_params:.3g}",
    }
    out: dict = {}
    for axis, key in axes.items():
        best: dict = {}
        for d in affordable:
            k = key(d)
            if k not in best or screened[d.key].score() < screened[best[k].key].score():
                best[k] = d
        out[axis] = [{"value": k, "design": d.name, "band_log_width": screened[d.key].score(),
                      "total_cost_usd": cat.cost(d)}
                     for k, d in sorted(best.items(), key=lambda kv: str(kv[0]))]
    return out


def _warnings(chosen, sim, fid, tgt, curve_rows, budget, runs, hw) -> list[str]:
    w = []
    x = tgt["params_opt"] / chosen.top_params
    w.append(f"the plan extrapolates {x:.0f}x in model size from the largest fitted run "
             f"({chosen.top_params:.3g}) to the target's N* ({tgt['params_opt']:.3g}): the "
             "bands assume the law's form holds over that range")
    if sim.fail_rate > 0.02:
        w.append(f"{sim.fail_rate:.0%} of simulated fits of this ladder fail (a non-positive "
                 "exponent); a bigger ladder budget would lower that")
    if fid is not None and fid["agree"] < fid["checked"]:
        w.append(f"the fast simulated fits and the full fit disagree on "
                 f"{fid['checked'] - fid['agree']} of {fid['checked']} checked ladders: the "
                 "bands may be optimistic")
    rows = [r for r in curve_rows if r.get("design")]
    here = next((r for r in rows if r["budget_usd"] == budget), None)
    cheaper = [r for r in rows if r["budget_usd"] < budget and r["design"] == here["design"]]
    if here is not None and cheaper:
        w.append(f"the same ladder is chosen at ${min(r['budget_usd'] for r in cheaper):,.0f}: "
                 "budget beyond it buys no narrower band among these designs")
    slow = [r for r in runs if r["wall_clock_days"] > hw.max_run_days * 1.001]
    if slow:
        w.append(f"{len(slow)} run(s) take longer than {hw.max_run_days:g} days even on the "
                 f"most GPUs allowed ({hw.max_gpus}, --gpus)")
    return w
