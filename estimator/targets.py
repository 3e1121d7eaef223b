"""Targets solved on the training run model: a budget in dollars, a deadline in days, and the
fewest GPUs that meet a deadline.

The plan stage (:mod:`estimator.plan`) turns a loss, a compute budget or a model into (N, D) on
the scaling law alone. A budget or a deadline limits what the training run (stage 2,
:func:`estimator.training.stage.training_stage`) costs or takes, and the run model's dollars and
days per FLOP move with the model size (utilisation follows the width, the batch it can use and
the parallel layout, which changes in steps as the model grows). So these targets are solved on
the run model's own numbers:

* **budget** (``--optimize compute``) and **deadline** (on ``gpus`` GPUs): bisection on log C
  along the rule's plans (compute-optimal, Hoffmann et al. 2022 eq. 4, or the scenario's
  constraints) for the largest compute whose run costs at most B dollars (finishes within T
  days); then, when the rule leaves the model size free, a search over N at that same spend:
  at each N the tokens whose run spends exactly the limit (cost and days are linear in the
  tokens at a fixed size, solved by fixed-point iteration), keeping the lowest loss. The
  compute-optimal split of C minimises the loss per FLOP; at a fixed spend the split that
  minimises the loss per dollar (or per day) can differ by the run model's rate drift.
* **budget** with ``--optimize lifetime``: bisection on the target loss for the lowest loss
  whose inference-aware plan (Sardana et al. 2023, as the engine plans and prices it) costs at
  most B in training plus lifetime serving.
* **deadline beside another target** (``gpus_needed``): the least GPU count whose run of the
  plan finishes within T days, over the counts that fit in memory up to the useful-batch
  ceiling (past it more GPUs do not shorten the run, ``max_useful_gpus``), through
  :func:`estimator.training.run.sweep_gpus`.

Where a cost or time step makes spending the limit impossible (a slightly larger plan needs
another layout, or fits on no layout of the cluster), the plan spends what it can under the
limit and a warning says how much is left and why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from estimator import allocation as al
from estimator import units
from estimator.allocation import Allocation
from estimator.errors import EstimatorError, InputError
from estimator.fields import ref
from estimator.hardware import HardwareProfile
from estimator.laws import ScalingLaw
from estimator.plan import EXTRAPOLATION_WARN_FACTOR, model_shape_of, target_allocation
from estimator.scenario import Scenario
from estimator.training import sweep_gpus
from estimator.training.stage import (
    TrainingResult,
    job_of,
    training_accelerator,
    training_stage,
)

#: A plan that leaves more than this share of its limit unused earns a warning.
SPEND_TOLERANCE = 0.01
#: Half-width (a factor on N) of the search over model sizes at a fixed spend.
SIZE_SPAN = 2.5
#: Largest compute searched (the compute field's bound).
MAX_COMPUTE_FLOPS = 1e40
_BISECT_STEPS = 40


@dataclass(frozen=True)
class Solved:
    """A target solved on the run model: the scenario and allocation the engine runs, what the
    plan spends of the limit (``spent``, in USD or days) and why it leaves some unused."""

    scenario: Scenario
    allocation: Allocation | None
    limit: float
    spent: float | None
    gpus_needed: int | None = None
    warnings: tuple[str, ...] = ()


def target_summary(s: Scenario, est: Any) -> dict[str, Any] | None:
    """The ``target`` object of ``estimate --json`` for a target solved on the run model: the
    mode, the limit, what the plan uses of it and, for a deadline beside another target, the
    GPUs needed. None for the law-only targets."""
    if s.mode == "budget":
        spent = (est.lifetime_total_cost_usd if s.optimize == "lifetime" else est.cost_usd)
        return {"mode": "budget", "budget_usd": s.budget_usd,
                "covers": "training + lifetime serving" if s.optimize == "lifetime"
                else "training", "spent_usd": spent,
                "unspent_usd": None if spent is None else s.budget_usd - spent}
    if s.mode == "deadline":
        return {"mode": "deadline", "deadline_days": s.deadline_days, "gpus": s.gpus,
                "wall_clock_days": est.wall_clock_days,
                "unused_days": s.deadline_days - est.wall_clock_days}
    if s.solves_gpus:
        return {"mode": s.mode, "deadline_days": s.deadline_days,
                "gpus_needed": est.gpus_needed, "wall_clock_days": est.wall_clock_days}
    return None


# --------------------------------------------------------------------------------------
# The run model as a function of (N, D)
# --------------------------------------------------------------------------------------


class _Meter:
    """Stage 2 of a plan (N, D) on the scenario's cluster, and the limited quantity of it:
    training dollars (``cost``) or wall-clock days (``days``). A plan no layout of the cluster
    holds measures infinite."""

    def __init__(self, s: Scenario, law: ScalingLaw, profile: HardwareProfile, kind: str):
        self.s, self.law, self.profile, self.kind = s, law, profile, kind

    def run(self, a: Allocation, *, strict: bool = False) -> TrainingResult | None:
        try:
            return training_stage(self.s, a, model_shape_of(self.s, a.params), self.profile)
        except InputError:
            if strict:
                raise
            return None

    def value(self, r: TrainingResult | None) -> float:
        if r is None:
            return math.inf
        return r.gpu_hours * r.price_usd_per_hour if self.kind == "cost" else r.wall_clock_days

    def plan_at_compute(self, c: float) -> Allocation:
        s = self.s
        return al.plan_for_compute(self.law, c, tokens_per_param=s.tokens_per_param,
                                   params=s.law_params, unique_tokens=s.unique_tokens)

    def plan_at(self, n: float, d: float) -> Allocation:
        return al.plan_for_model(self.law, n, tokens=d, unique_tokens=self.s.unique_tokens)

    def phrase(self, v: float) -> str:
        return units.usd(v) if self.kind == "cost" else f"{v:,.3g} days"


def smallest_plan(s: Scenario, law: ScalingLaw) -> tuple[float, str]:
    """(compute, why) of the smallest plan a budget or deadline may buy: under a fixed size,
    one token per parameter; otherwise the rule's plan whose model is a tenth of the smallest
    the law was fitted on (below it every plan is an extrapolation the plan stage warns
    about, :data:`estimator.plan.EXTRAPOLATION_WARN_FACTOR`)."""
    if s.law_params is not None:
        n = float(s.law_params)
        return 6.0 * n * n, "one token per parameter of the fixed model size"
    n_min = law.fitted_range.params_min / EXTRAPOLATION_WARN_FACTOR
    why = f"a tenth of the smallest model law '{law.id}' was fitted on"
    if s.tokens_per_param is not None:
        return 6.0 * s.tokens_per_param * n_min * n_min, why
    lo, hi = math.log(1e6), math.log(MAX_COMPUTE_FLOPS)
    for _ in range(80):  # the compute whose optimal size is n_min (N_opt grows with C)
        mid = 0.5 * (lo + hi)
        n = float(np.asarray(al.optimal_allocation(law, math.exp(mid))[0]))
        lo, hi = (mid, hi) if n < n_min else (lo, mid)
    return math.exp(hi), why


def _too_small(s: Scenario, meter: _Meter, a: Allocation, need: float, why: str) -> InputError:
    where = f"{s.gpus:,} x {meter.profile.display_name}"
    plan = f"{units.si(a.params)} params on {units.si(a.tokens)} tokens ({why})"
    if meter.kind == "cost":
        total = " to train and serve" if s.optimize == "lifetime" else ""
        hint = "raise the budget, or choose fewer GPUs or a cheaper price"
        return InputError(
            f"{ref('budget_usd')} = {units.usd(s.budget_usd)} is too small{total}: the smallest "
            f"plan, {plan}, costs {units.usd(need)} on {where}; expected at least "
            f"{units.usd(need)}: {hint}", field="budget_usd", value=s.budget_usd,
            expected=f"at least {units.usd(need)}", hint=hint)
    hint = "allow more days, or choose more GPUs or faster hardware"
    return InputError(
        f"{ref('deadline_days')} = {s.deadline_days:g} days is too short: even the smallest "
        f"plan, {plan}, takes {need:.3g} days on {where}; expected at least {need:.3g} days: "
        f"{hint}", field="deadline_days", value=s.deadline_days,
        expected=f"at least {need:.3g} days", hint=hint)


# --------------------------------------------------------------------------------------
# Budget and deadline: the lowest loss within the limit
# --------------------------------------------------------------------------------------


def _tokens_at(meter: _Meter, n: float, d0: float, limit: float):
    """(allocation, run) of size ``n`` with the most tokens whose run stays within ``limit``
    (fixed-point iteration: the run's cost and days are linear in the tokens at a fixed size,
    up to the batch the useful-batch law picks); None when no layout holds the model."""
    d, best = d0, None
    for _ in range(6):
        a = meter.plan_at(n, d)
        r = meter.run(a)
        m = meter.value(r)
        if not math.isfinite(m) or m <= 0:
            return best
        if m <= limit and (best is None or d > best[0].tokens):
            best = (a, r)
        if m <= limit and m / limit > 1.0 - 1e-9:
            break
        d = d * (limit / m) * (1.0 - 1e-12)
    return best


def _within_limit(s: Scenario, law: ScalingLaw, profile: HardwareProfile, kind: str,
                  limit: float) -> Solved:
    meter = _Meter(s, law, profile, kind)
    c_floor, why = smallest_plan(s, law)
    a_lo = meter.plan_at_compute(c_floor)
    r_lo = meter.run(a_lo, strict=True)  # the smallest plan must run: its error is the user's
    m_lo = meter.value(r_lo)
    if m_lo > limit:
        raise _too_small(s, meter, a_lo, m_lo, why)
    # decades up from the floor to the first plan over the limit, then bisection on log C
    x_lo, x_hi, hi_run, hi_val = math.log(c_floor), None, None, math.inf
    x = x_lo
    while x < math.log(MAX_COMPUTE_FLOPS):
        x = min(x + math.log(10.0), math.log(MAX_COMPUTE_FLOPS))
        a = meter.plan_at_compute(math.exp(x))
        r = meter.run(a)
        m = meter.value(r)
        if m > limit:
            x_hi, hi_run, hi_val = x, r, m
            break
        x_lo, a_lo, r_lo, m_lo = x, a, r, m
    if x_hi is not None:
        for _ in range(_BISECT_STEPS):
            mid = 0.5 * (x_lo + x_hi)
            a = meter.plan_at_compute(math.exp(mid))
            r = meter.run(a)
            m = meter.value(r)
            if m <= limit:
                x_lo, a_lo, r_lo, m_lo = mid, a, r, m
            else:
                x_hi, hi_run, hi_val = mid, r, m
    best = (a_lo, r_lo)
    if s.law_params is None and s.tokens_per_param is None:
        best = _best_size(meter, best, limit)
    a, r = best
    m = meter.value(r)
    warnings = []
    if m < limit * (1.0 - SPEND_TOLERANCE):
        warnings.append(_unspent(s, meter, limit, m, r, hi_run, hi_val))
    elif x_hi is not None and hi_run is None and s.law_params is None:
        what = "budget" if kind == "cost" else "deadline"
        warnings.append(
            f"the {what} allows more than the largest model that fits on {s.gpus:,} GPUs: "
            f"the plan trains a {units.si(a.params)}-parameter model on "
            f"{a.tokens / a.params:,.0f} tokens per parameter; more GPUs would hold a larger "
            "model and reach a lower loss")
    return Solved(scenario=s, allocation=a, limit=limit, spent=m, warnings=tuple(warnings))


def _best_size(meter: _Meter, start, limit: float):
    """The lowest-loss plan within ``limit`` over model sizes around ``start``'s (a log grid
    of :data:`SIZE_SPAN` either way, refined twice around the best)."""
    a0, _ = start
    best = start
    x0 = math.log(a0.params)
    span = math.log(SIZE_SPAN)
    grid = x0 + np.linspace(-span, span, 21)
    step = float(grid[1] - grid[0])
    centre = x0
    for points in (grid, None, None):
        if points is None:
            points = centre + np.linspace(-step, step, 9)
            step = float(points[1] - points[0])
        for x in points:
            n = math.exp(float(x))
            got = _tokens_at(meter, n, best[0].tokens * best[0].params / n, limit)
            if got is not None and got[0].loss < best[0].loss:
                best = got
        centre = math.log(best[0].params)
    return best


def _unspent(s: Scenario, meter: _Meter, limit: float, m: float, r: TrainingResult,
             hi_run: TrainingResult | None, hi_val: float) -> str:
    left = limit - m
    if meter.kind == "cost":
        head = (f"the plan spends {_dollars(m)} of the {_dollars(limit)} budget: "
                f"{_dollars(left)} ({left / limit:.1%}) is left unspent")
    else:
        head = (f"the plan finishes in {m:.4g} of the {limit:g} days: {left:.3g} days "
                f"({left / limit:.1%}) are left unused")
    if hi_run is None:
        return (head + f" because a larger model fits on no parallel layout of {s.gpus:,} "
                "GPUs (more GPUs would hold it)")
    here, there = r.run.layout, hi_run.run.layout
    if here != there:
        return (head + f" because of a layout step in the run model: a slightly larger plan "
                f"needs another parallel layout ({_layout_words(there)} instead of "
                f"{_layout_words(here)}) and would take {meter.phrase(hi_val)}, over the limit")
    return (head + f" because of a step in the run model (the global batch moves from "
            f"{units.si(r.run.global_batch_tokens)} to {units.si(hi_run.run.global_batch_tokens)}"
            f" tokens): a slightly larger plan would take {meter.phrase(hi_val)}")


def _layout_words(lay) -> str:
    """'TP4 PP8 DP32, micro-batch 1, selective recompute' (the run model's layout)."""
    parts = [f"TP{lay.tp}"] + [f"{k}{v}" for k, v in (("PP", lay.pp), ("CP", lay.cp),
                                                        ("EP", lay.ep)) if v > 1]
    rec = "no" if lay.recompute == "none" else lay.recompute
    return (" ".join(parts + [f"DP{lay.dp}"]) + f", micro-batch {lay.micro_batch}, "
            f"{rec} recompute")


def _dollars(v: float) -> str:
    """Whole dollars ('$12,792,113'): an unspent share must read against the budget."""
    return f"${v:,.0f}"


def _lifetime_budget(s: Scenario, law: ScalingLaw, profile: HardwareProfile,
                     run: Callable[[Scenario], Any]) -> Solved:
    """The lowest loss whose inference-aware plan costs at most the budget in training plus
    lifetime serving, as the engine plans and prices it (bisection on the target loss)."""
    b = float(s.budget_usd)
    train_only = _within_limit(replace(s, optimize="compute"), law, profile, "cost", b)
    c_floor, why = smallest_plan(s, law)
    floor = _Meter(s, law, profile, "cost").plan_at_compute(c_floor)

    def at(loss: float):
        sc = replace(s, mode="loss", target_loss=float(loss), budget_usd=None)
        try:
            est = run(sc)
        except EstimatorError:
            return sc, math.inf
        total = est.lifetime_total_cost_usd
        return sc, math.inf if total is None else float(total)

    # the training-only plan spends the whole budget on training: serving costs more
    lo_bad = train_only.allocation.loss
    sc_hi, t_hi = at(floor.loss)
    if t_hi > b:
        cost = units.usd(t_hi) if math.isfinite(t_hi) else "more than any budget"
        expected = f"at least {cost}" if math.isfinite(t_hi) else "a larger budget"
        hint = ("raise the budget, lower the serving demand or the days served, or optimise "
                "for compute")
        raise InputError(
            f"{ref('budget_usd')} = {units.usd(b)} is too small to train and serve: the "
            f"smallest plan ({units.si(floor.params)} params, {why}) costs {cost} to train "
            f"and to serve {units.si(s.lifetime_output_tokens)} tokens; expected {expected}: "
            f"{hint}", field="budget_usd", value=b, expected=expected, hint=hint)
    hi_ok = floor.loss
    sc_ok, t_ok = sc_hi, t_hi
    t_bad = math.inf
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo_bad + hi_ok)
        sc, t = at(mid)
        if t <= b:
            hi_ok, sc_ok, t_ok = mid, sc, t
        else:
            lo_bad, t_bad = mid, t
        if hi_ok - lo_bad < 1e-10 or t_ok >= b * (1.0 - 1e-6):
            break
    warnings = []
    if t_ok < b * (1.0 - SPEND_TOLERANCE):
        left = b - t_ok
        nxt = (f"a slightly lower loss would cost {units.usd(t_bad)}" if math.isfinite(t_bad)
               else "a slightly lower loss fits on no training or serving layout")
        warnings.append(f"the plan spends {_dollars(t_ok)} of the {_dollars(b)} budget on "
                        f"training and lifetime serving: {_dollars(left)} ({left / b:.1%}) is "
                        f"left unspent because of a step in the run or serving model ({nxt})")
    return Solved(scenario=sc_ok, allocation=None, limit=b, spent=t_ok,
                  warnings=tuple(warnings))


# --------------------------------------------------------------------------------------
# The fewest GPUs that meet a deadline
# --------------------------------------------------------------------------------------


def least_gpus(s: Scenario, a: Allocation, profile: HardwareProfile, days: float) -> int:
    """The fewest GPUs on which the run of plan ``a`` finishes within ``days`` (the run
    model's wall-clock days; counts that hold the model in memory, from the least that fits).
    Raises :class:`InputError` at ``deadline_days`` naming the shortest possible time and the
    GPU count that gives it when no count up to well past the useful-batch ceiling meets it."""
    shape = model_shape_of(s, a.params)
    scale = a.params / shape.active_params  # as training_stage counts the plan's N
    acc = training_accelerator(profile)
    job = job_of(s, a, shape, profile)
    head = sweep_gpus(job, acc, [1])
    k_min = max(1, head.min_gpus_for_memory)
    if head.min_gpus_for_memory <= 0:
        training_stage(replace(s, gpus=1 << 24), a, shape, profile)  # raises the no-fit error
    useful = max(head.max_useful_gpus, k_min)

    def sweep(counts):
        counts = np.unique(np.asarray(counts, dtype=int))
        sw = sweep_gpus(job, acc, counts)
        d = np.where(sw.fits, sw.wall_clock_days * scale, np.inf)
        return counts, d

    # clusters come in whole scale-up domains (nodes): every count up to one domain, then
    # whole domains on a log grid to four times the useful-batch ceiling
    dom = max(1, acc.scale_up_domain_chips)
    top = max(4 * useful, k_min + 1)
    grid = [np.arange(k_min, dom + 1)] if k_min <= dom else []
    grid.append(dom * np.geomspace(max(1, math.ceil(k_min / dom)), max(top / dom, 2), 128)
                .round())
    counts, d = sweep(np.concatenate(grid + [[k_min, useful]]))
    if not (d <= days).any():
        i = int(np.argmin(d))
        if not math.isfinite(d[i]):
            training_stage(replace(s, gpus=int(counts[-1])), a, shape, profile)
        lo_c, hi_c = int(counts[max(i - 1, 0)]), int(counts[min(i + 1, len(counts) - 1)])
        near = np.unique(np.concatenate([np.linspace(lo_c, hi_c, 48).round() // dom * dom,
                                         [counts[i]]]))
        c2, d2 = sweep(near[near >= k_min])
        if d2.min() < d[i]:  # the fastest count, refined between its grid neighbours
            counts, d, i = c2, d2, int(np.argmin(d2))
        hint = "allow more days, lower the target, or choose faster hardware"
        raise InputError(
            f"{ref('deadline_days')} = {days:g} days cannot be met: the plan "
            f"({units.si(a.params)} params on {units.si(a.tokens)} tokens) takes at least "
            f"{d[i]:.3g} days on {profile.display_name}, with {int(counts[i]):,} GPUs (more "
            f"add interruptions and communication; past about {useful:,}, the useful-batch "
            f"ceiling, they cannot shorten the run); expected at least {d[i]:.3g} days: "
            f"{hint}", field="deadline_days", value=days, expected=f"at least {d[i]:.3g} days",
            hint=hint)
    # the first count that meets the deadline, refined: days fall with the GPU count, but an
    # awkward count (a prime: few layouts) can be slow, so each refinement starts two cells
    # below the first count found, and the last covers every count
    i = int(np.argmax(d <= days))
    lo, hi = (int(counts[i - 2]) if i >= 2 else k_min), int(counts[i])
    while hi - lo > 128:
        c, dd = sweep(np.linspace(lo, hi, 64).round())
        j = int(np.argmax(dd <= days))
        lo, hi = (int(c[j - 2]) if j >= 2 else lo), int(c[j])
    # above one domain a cluster is whole domains: the answer is a multiple of the domain
    step = dom if lo >= dom else 1
    c, dd = sweep(np.arange(math.ceil(lo / step) * step, hi + 1, step))
    if not (dd <= days).any():  # hi itself (a grid count) meets it
        c, dd = sweep([hi])
    return int(c[int(np.argmax(dd <= days))])


def _gpus_for_deadline(s: Scenario, law: ScalingLaw, profile: HardwareProfile,
                       run: Callable[[Scenario], Any]) -> Solved:
    t = float(s.deadline_days)
    if s.optimize == "compute":  # the plan does not depend on the cluster
        k = least_gpus(s, target_allocation(s, law), profile, t)
        return Solved(scenario=replace(s, gpus=k), allocation=None, limit=t, spent=None,
                      gpus_needed=k)
    # the inference-aware plan moves with the cluster's dollars per FLOP: iterate
    k, seen = s.gpus, []
    for _ in range(4):
        est = run(replace(s, gpus=k))
        k_new = least_gpus(s, est.plan.allocation, profile, t)
        if k_new == k or k_new in seen:
            k = k_new
            break
        seen.append(k)
        k = k_new
    return Solved(scenario=replace(s, gpus=k), allocation=None, limit=t, spent=None,
                  gpus_needed=k)


# --------------------------------------------------------------------------------------
# Entry point (the engine's)
# --------------------------------------------------------------------------------------


def solve(s: Scenario, law: ScalingLaw, profile: HardwareProfile,
          run: Callable[[Scenario], Any]) -> Solved:
    """Solve a budget, a deadline or the GPUs for a deadline on the run model. ``run`` maps a
    scenario to its estimate without bands (the engine's pipeline), for the targets priced by
    the whole pipeline (lifetime cost; an inference-aware plan's GPUs)."""
    if s.mode == "budget":
        if s.optimize == "lifetime":
            return _lifetime_budget(s, law, profile, run)
        return _within_limit(s, law, profile, "cost", float(s.budget_usd))
    if s.mode == "deadline":
        return _within_limit(s, law, profile, "days", float(s.deadline_days))
    return _gpus_for_deadline(s, law, profile, run)
