"""Break-even analyses of a plan: which hardware is cheapest as serving grows, and rent or own.

Both are straight lines in their x, so every crossing has a closed form.

**Hardware against tokens served** (:func:`break_even`). For each hardware choice (an
:class:`~estimator.engine.Estimate` of the same scenario on that chip, from
:func:`estimator.engine.compare`), cumulative cost after serving ``T`` output tokens is

    cost(T) = training cost + usd_per_token x T,
    usd_per_token = all-in serving cost per output token x peak-to-mean,

the engine's own lifetime-inference rule (:func:`estimator.costs.costs_stage`: the fleet is paid
for at the peak), so ``cost(lifetime tokens)`` is the estimate's lifetime total. Lines ``i`` and
``j`` cross at ``T* = (C_j - C_i) / (s_i - s_j)`` when that is positive.

**Rent against own** (:func:`rent_or_own`). A cluster of ``chips`` used a share ``u`` of the
hours of a year (occupancy) costs, per year,

    rent(u) = chips x 8760 u x rent price per chip-hour,
    own(u)  = chips x (purchase price / depreciation years + other owned costs per chip-year
                       + 8760 u x chip power (kW) x PUE x electricity price per kWh),

straight-line depreciation with no resale value, power drawn only in the hours used (idle draw
and hosting are not counted unless given as other owned costs). Break-even occupancy
``u* = fixed own cost per chip-year / (8760 (rent - power cost per chip-hour))``. Purchase prices,
depreciation years and the electricity price are the user's inputs: nothing here defaults them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from estimator import units
from estimator.catalogue import Catalogue, resolve
from estimator.engine import Estimate
from estimator.errors import InputError
from estimator.report import hardware_short_name

#: Hours in a year of 365 days (the occupancy axis of rent-or-own: 1.0 = every hour).
HOURS_PER_YEAR = 365.0 * 24.0

__all__ = ["HOURS_PER_YEAR", "BreakEven", "Crossing", "Line", "RentOwn", "break_even",
           "cheapest_lines", "rent_or_own"]


def _frozen_array(x) -> np.ndarray:
    a = np.array(x, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Line:
    """One choice: cost = ``fixed_usd`` + ``usd_per_x`` x x. ``basis`` says where the two
    numbers come from."""

    key: str
    label: str
    fixed_usd: float
    usd_per_x: float
    is_plan: bool = False
    basis: str = ""

    def cost_at(self, x):
        """Cost in USD at ``x`` (a number or an array) in the analysis' x unit."""
        y = self.fixed_usd + self.usd_per_x * np.asarray(x, dtype=float)
        return float(y) if np.ndim(y) == 0 else y


@dataclass(frozen=True)
class Crossing:
    """Where line ``a`` meets line ``b``: at ``x`` (the analysis' x unit) both cost
    ``cost_usd``; ``cheaper_before`` is cheaper for smaller x, ``cheaper_after`` beyond.
    ``switch`` marks a crossing on the lower envelope (the cheapest choice changes there)."""

    a: str
    b: str
    x: float
    cost_usd: float
    cheaper_before: str
    cheaper_after: str
    switch: bool = False


def _crossings(lines: Sequence[Line]) -> tuple[Crossing, ...]:
    """Every pairwise crossing at x > 0, by x; those on the lower envelope marked."""
    out = []
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            ds = a.usd_per_x - b.usd_per_x
            if ds == 0:
                continue
            x = (b.fixed_usd - a.fixed_usd) / ds
            if not (x > 0 and math.isfinite(x)):
                continue
            # beyond the crossing the line with the smaller slope is the cheaper
            after, before = (a.key, b.key) if ds < 0 else (b.key, a.key)
            cost = a.fixed_usd + a.usd_per_x * x
            low = min(ln.cost_at(x) for ln in lines)
            on_envelope = cost <= low * (1 + 1e-12) + 1e-9
            out.append(Crossing(a.key, b.key, float(x), float(cost), before, after, on_envelope))
    return tuple(sorted(out, key=lambda c: c.x))


@dataclass(frozen=True)
class BreakEven:
    """Cost lines against one x, with their crossings: everything a chart needs (axis labels
    with units, a grid ``x`` and each line's ``y`` on it, the plan's mark ``baseline_x``)."""

    title: str
    x_label: str
    x_unit: str
    y_label: str
    y_unit: str
    lines: tuple[Line, ...]
    crossings: tuple[Crossing, ...]
    x: np.ndarray = field(repr=False)
    baseline_x: float
    baseline_label: str
    notes: tuple[str, ...] = ()

    @property
    def y(self) -> np.ndarray:
        """Cost of each line (rows, in ``lines`` order) at every grid point of ``x``."""
        return np.array([ln.cost_at(self.x) for ln in self.lines])

    @property
    def switches(self) -> tuple[Crossing, ...]:
        """The crossings where the cheapest choice changes."""
        return tuple(c for c in self.crossings if c.switch)

    def cheapest_at(self, x: float) -> Line:
        return min(self.lines, key=lambda ln: ln.cost_at(float(x)))

    def line(self, key: str) -> Line:
        for ln in self.lines:
            if ln.key == key:
                return ln
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "x_label": self.x_label, "x_unit": self.x_unit,
                "y_label": self.y_label, "y_unit": self.y_unit,
                "lines": [ln.__dict__.copy() for ln in self.lines],
                "crossings": [c.__dict__.copy() for c in self.crossings],
                "x": self.x.tolist(), "baseline_x": self.baseline_x,
                "baseline_label": self.baseline_label, "notes": list(self.notes)}


# --------------------------------------------------------------------------------------
# Hardware against tokens served
# --------------------------------------------------------------------------------------


def _usd_per_token(e: Estimate) -> float | None:
    per_m = e.inference_cost_per_million_tokens_usd
    return None if per_m is None else per_m / 1e6 * e.scenario.peak_to_mean


def cheapest_lines(estimates: Sequence[Estimate], tokens_max: float) -> list[Estimate]:
    """The estimates that are cheapest (training + serving ``T`` tokens) somewhere on
    ``0 <= T <= tokens_max``: the lower envelope, in the order they become cheapest."""
    ok = [e for e in estimates if _usd_per_token(e) is not None]
    if not ok:
        return []
    out: list[Estimate] = []
    t = 0.0
    current = min(ok, key=lambda e: (e.cost_usd, _usd_per_token(e)))
    while True:
        out.append(current)
        s0 = _usd_per_token(current)
        nxt, t_next = None, math.inf
        for e in ok:
            ds = s0 - _usd_per_token(e)
            if ds <= 0 or e in out:
                continue
            x = (e.cost_usd - current.cost_usd) / ds
            if t < x < t_next:
                nxt, t_next = e, x
        if nxt is None or t_next > tokens_max:
            return out
        current, t = nxt, t_next


def break_even(estimates: Sequence[Estimate], *, plan_hardware: str | None = None,
               tokens_max: float | None = None, points: int = 101) -> BreakEven:
    """Cumulative cost (training + serving) against output tokens served, one line per
    estimate (the same scenario on different hardware; at least two with serving available),
    with every crossing in closed form. ``tokens_max`` (default: twice the plan's lifetime
    tokens, or past the last crossing) sets the grid of ``points`` token counts."""
    lines, notes = [], []
    # the scenario's demand x days: the same for every hardware choice
    plan_tokens = float(estimates[0].lifetime_inference_tokens) if estimates else 0.0
    for e in estimates:
        slope = _usd_per_token(e)
        if slope is None:
            notes.append(f"{e.hardware}: serving unavailable (the model fits on no replica); "
                         "left out")
            continue
        is_plan = e.hardware == plan_hardware
        serve = e.inference_hardware
        basis = (f"training {units.usd(e.cost_usd)} ({e.gpus:,} x {e.hardware}, "
                 f"{units.usd_per_hour(e.price_usd_per_hour)}); serving on {serve} at "
                 f"{units.usd(e.inference_cost_per_million_tokens_usd)} per 1M output tokens "
                 f"x peak-to-mean {e.scenario.peak_to_mean:g}")
        label = hardware_short_name(e.hardware_name)
        if serve != e.hardware:
            label += f" (serving on {serve})"
        lines.append(Line(e.hardware, label, float(e.cost_usd), float(slope), is_plan, basis))
    if len(lines) < 2:
        raise InputError("a break-even needs at least two hardware choices with serving "
                         f"available, got {len(lines)}", field="hardware",
                         hint="compare more profiles, or a model that fits the serving chip")
    if plan_hardware is not None and not any(ln.is_plan for ln in lines):
        notes.append(f"the plan's hardware {plan_hardware} is not among the lines")
    crossings = _crossings(lines)
    if tokens_max is None:
        far = max((c.x for c in crossings), default=0.0)
        tokens_max = max(2.0 * plan_tokens, 1.25 * far)
        if tokens_max <= 0:  # no demand, no crossing: where serving matches training
            tokens_max = max(ln.fixed_usd / ln.usd_per_x for ln in lines if ln.usd_per_x > 0)
    if not (math.isfinite(tokens_max) and tokens_max > 0):
        raise InputError(f"tokens_max must be a positive number of tokens, got {tokens_max!r}",
                         field="tokens_max", value=tokens_max)
    return BreakEven(
        title="Training + serving cost against output tokens served",
        x_label="Output tokens served", x_unit="tokens",
        y_label="Cumulative cost (training + serving)", y_unit="USD",
        lines=tuple(lines), crossings=crossings,
        x=_frozen_array(np.linspace(0.0, tokens_max, max(2, int(points)))),
        baseline_x=float(plan_tokens),
        baseline_label=f"the plan's lifetime demand ({units.si(plan_tokens)} tokens)",
        notes=tuple(notes))


# --------------------------------------------------------------------------------------
# Rent against own
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RentOwn(BreakEven):
    """Annual cost of renting or owning the cluster against its occupancy (share of the hours
    of a year in use), with the inputs that set it and the closed-form break-even."""

    chips: int = 0
    purchase_usd_per_chip: float = 0.0
    depreciation_years: float = 0.0
    usd_per_kwh: float = 0.0
    power_w: float = 0.0
    pue: float = 1.0
    other_usd_per_chip_year: float = 0.0
    rent_usd_per_hour: float = 0.0
    rent_basis: str = ""
    power_usd_per_hour: float = 0.0
    break_even_occupancy: float | None = None
    payback_years_at_full_use: float | None = None
    run_gpu_hours: float = 0.0
    run_days: float = 0.0

    @property
    def fixed_usd_per_chip_year(self) -> float:
        return self.purchase_usd_per_chip / self.depreciation_years + self.other_usd_per_chip_year

    def owned_usd_per_gpu_hour(self, occupancy: float) -> float:
        """What a used chip-hour costs when owned, at ``occupancy`` (0 < u <= 1)."""
        return (self.fixed_usd_per_chip_year / (HOURS_PER_YEAR * occupancy)
                + self.power_usd_per_hour)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        for name in ("chips", "purchase_usd_per_chip", "depreciation_years", "usd_per_kwh",
                     "power_w", "pue", "other_usd_per_chip_year", "rent_usd_per_hour",
                     "rent_basis", "power_usd_per_hour", "break_even_occupancy",
                     "payback_years_at_full_use", "run_gpu_hours", "run_days"):
            d[name] = getattr(self, name)
        d["runs_per_year_to_break_even"] = self.runs_per_year_to_break_even
        return d

    @property
    def runs_per_year_to_break_even(self) -> float | None:
        """How many runs like the plan's a year fill the cluster to the break-even occupancy."""
        if self.break_even_occupancy is None or self.run_days <= 0:
            return None
        return self.break_even_occupancy * 365.0 / self.run_days


def _positive(name: str, value, unit: str, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        sign = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name} must be a {sign} number in {unit}, got {value!r}",
                         field=name, value=value, expected=f"a {sign} number in {unit}")
    return float(value)


def rent_or_own(est: Estimate, *, purchase_usd_per_chip: float, depreciation_years: float,
                usd_per_kwh: float, chips: int | None = None,
                other_usd_per_chip_year: float = 0.0, power_w: float | None = None,
                pue: float | None = None, points: int = 101,
                catalogue: Catalogue | None = None) -> RentOwn:
    """Rent the plan's training chips at the estimate's price, or buy them: annual cost against
    occupancy, and the break-even occupancy (closed form).

    ``purchase_usd_per_chip`` (USD, the all-in price of one accelerator with its share of the
    server), ``depreciation_years`` (straight line, no resale) and ``usd_per_kwh`` (electricity,
    USD per kWh) are required inputs. ``chips`` defaults to the plan's GPUs, ``power_w`` to the
    profile's chip power (from ``catalogue``, default the built-in and user profiles), ``pue``
    to the scenario's; ``other_usd_per_chip_year`` (hosting, network, staff) counts only if
    given."""
    purchase = _positive("purchase_usd_per_chip", purchase_usd_per_chip, "USD per chip")
    years = _positive("depreciation_years", depreciation_years, "years")
    kwh = _positive("usd_per_kwh", usd_per_kwh, "USD per kWh", allow_zero=True)
    other = _positive("other_usd_per_chip_year", other_usd_per_chip_year, "USD per chip-year",
                      allow_zero=True)
    n = int(_positive("chips", chips if chips is not None else est.gpus, "chips"))
    if power_w is None:
        power_w = resolve(catalogue).profile(est.scenario.hardware).power_w
    watts = _positive("power_w", power_w, "W")
    pue_v = _positive("pue", pue if pue is not None else est.scenario.pue, "a ratio")
    rent = est.price_usd_per_hour
    power_h = watts / 1000.0 * pue_v * kwh  # USD per chip-hour in use
    fixed = purchase / years + other  # USD per chip-year, used or not
    margin = rent - power_h
    u_star = fixed / (HOURS_PER_YEAR * margin) if margin > 0 else None
    notes = ["owned: straight-line depreciation, no resale value; power only in the hours "
             "used (idle draw not counted); hosting, network and staff only as other owned "
             "costs" + ("" if other else " (none given)")]
    if u_star is not None and u_star > 1:
        notes.append(f"renting is cheaper at every occupancy: owning breaks even only at "
                     f"{u_star:.0%} of the hours of a year")
        u_star_out = None
    elif u_star is None:
        notes.append("the rent is below the owned power cost per hour: owning never breaks "
                     "even")
        u_star_out = None
    else:
        u_star_out = float(u_star)
    payback = purchase / (HOURS_PER_YEAR * margin - other) if HOURS_PER_YEAR * margin > other \
        else None
    tier = est.scenario.price_tier
    rent_basis = ("your price per GPU-hour" if est.scenario.price_per_hour is not None
                  else f"{est.hardware} {tier.replace('_', '-')} tier")
    lines = (
        Line("rent", f"Rent ({units.usd_per_hour(rent)})", 0.0, n * HOURS_PER_YEAR * rent,
             True, f"{n:,} chips x 8,760 h x occupancy x {units.usd_per_hour(rent)} "
                   f"({rent_basis})"),
        Line("own", f"Own ({units.usd(purchase)} per chip over {years:g} years)", n * fixed,
             n * HOURS_PER_YEAR * power_h, False,
             f"{n:,} chips x ({units.usd(purchase)} / {years:g} years"
             + (f" + {units.usd(other)}/year" if other else "")
             + f") + 8,760 h x occupancy x {watts:g} W x PUE {pue_v:g} x ${kwh:g}/kWh"),
    )
    crossings = tuple(c for c in _crossings(lines) if c.x <= 1.0)
    run_occupancy = est.wall_clock_days / (365.0 * years)
    return RentOwn(
        title=f"Rent or own {n:,} × {hardware_short_name(est.hardware_name)}: cost per year",
        x_label="Occupancy (share of the hours of a year in use)", x_unit="fraction",
        y_label="Cost per year", y_unit="USD per year", lines=lines, crossings=crossings,
        x=_frozen_array(np.linspace(0.0, 1.0, max(2, int(points)))),
        baseline_x=float(min(1.0, run_occupancy)),
        baseline_label=(f"the plan's run alone ({units.days(est.wall_clock_days)} over "
                        f"{years:g} years)"),
        notes=tuple(notes), chips=n, purchase_usd_per_chip=purchase, depreciation_years=years,
        usd_per_kwh=kwh, power_w=watts, pue=pue_v, other_usd_per_chip_year=other,
        rent_usd_per_hour=rent, rent_basis=rent_basis, power_usd_per_hour=power_h,
        break_even_occupancy=u_star_out, payback_years_at_full_use=payback,
        run_gpu_hours=est.gpu_hours, run_days=est.wall_clock_days)

