"""Every curve the window and the exported charts draw, as plain numpy data (no Qt).

:func:`compute_curves` turns a scenario and its :class:`~estimator.scenario.Estimate` into a
:class:`Curves`: the loss-vs-compute frontier (Hoffmann et al. 2022 eq. 4 under ``C = 6ND``),
the N-D plane with iso-loss contours and the compute-optimal line, training cost vs target loss
on every hardware profile (each chip's training dollars per FLOP from its run of the plan's
model, following the plan's chip's measured drift with model size: the estimate's
``train_rate_fn``), lifetime (training + inference) cost along the iso-loss curve of the plan
(Sardana et al. 2023, arXiv:2401.00448) and the hardware comparison rows.

Everything is vectorised over numpy arrays so the window can recompute on every slider move
(a few milliseconds). Every array is finite: points the law cannot represent are dropped, never
drawn as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field, replace

import numpy as np

from estimator import allocation as al
from estimator import costs
from estimator.catalogue import Catalogue, resolve
from estimator.engine import Estimate, compare, comparison_rows
from estimator.errors import EstimatorError
from estimator.laws import ParametricLaw, ScalingLaw
from estimator.plan import Rule, compute_for_losses, law_for, rule_of, shape_of, solve_for_loss
from estimator.scenario import Scenario
from estimator.serving.stage import anchored, serving_rates, usd_per_token

# Frontier span around the plan's compute, in decades below and above.
FRONTIER_DECADES_BELOW = 3.0
FRONTIER_DECADES_ABOVE = 2.0
# N-D plane half-width around the plan, in decades.
ISO_DECADES = 2.0
ISO_GRID = 81
MAX_ISO_LEVELS = 7
# Cost-vs-loss span: targets whose compute-optimal compute is within this many decades.
COST_DECADES = 1.5
# Grid of the unique-data search along a curve (the headline plan uses 4001 points; both are
# refined, and the plan's own point is drawn exactly).
CURVE_GRID_POINTS = 600


@dataclass(frozen=True)
class Curves:
    """The data behind every chart. Units: FLOPs, parameters, tokens, nats/token, USD, days.

    ``iso_params`` (nx,) and ``iso_tokens`` (ny,) are the log-spaced axes of the N-D grid and
    ``iso_loss[i, j] = L(iso_params[i], iso_tokens[j])``; ``iso_contours[k]`` is the
    (params, tokens) polyline of ``iso_levels[k]`` clipped to the grid box.
    ``cost_by_hardware[id]`` is the training cost (USD) of reaching each of ``cost_losses`` on
    that profile (same GPUs, precision, MFU policy and price tier as the scenario).

    The hardware part (:data:`HARDWARE_FIELDS`: the cost-vs-loss curves and the hardware rows,
    which need the scenario on every profile) is computed on first access and kept, so a view
    that draws only the frontier or the lifetime chart never pays for the comparison. It is
    the same data either way (``tests/test_speed_paths.py``); ``dataclasses.fields``, equality,
    ``replace`` and pickling see it as ordinary fields (they compute it).
    """

    frontier_compute_flops: np.ndarray
    frontier_loss: np.ndarray
    frontier_loss_p10: np.ndarray | None
    frontier_loss_p90: np.ndarray | None
    target_compute_flops: float
    target_loss: float
    iso_params: np.ndarray
    iso_tokens: np.ndarray
    iso_loss: np.ndarray
    iso_levels: np.ndarray
    optimal_params: np.ndarray
    optimal_tokens: np.ndarray
    plan_params: float
    plan_tokens: float
    cost_losses: np.ndarray = field(default_factory=lambda: _PENDING, kw_only=True)
    cost_by_hardware: dict[str, np.ndarray] = field(default_factory=lambda: _PENDING,
                                                    kw_only=True)
    lifetime_params: np.ndarray
    lifetime_total_usd: np.ndarray
    lifetime_train_usd: np.ndarray
    lifetime_inference_usd: np.ndarray
    lifetime_optimum_params: float
    lifetime_optimum_usd: float
    plan_lifetime_usd: float
    hardware_rows: list[dict] = field(default_factory=lambda: _PENDING, kw_only=True)
    # -- beyond the contract: context the charts label with --------------------------------
    iso_contours: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    hardware_names: dict[str, str] = field(default_factory=lambda: _PENDING, kw_only=True)
    plan_hardware: str = ""
    plan_cost_usd: float = float("nan")
    lifetime_compute_optimal_params: float = float("nan")
    lifetime_compute_optimal_usd: float = float("nan")
    lifetime_inference_tokens: float = 0.0
    irreducible_loss: float = 0.0
    fitted_params_range: tuple[float, float] = (0.0, 0.0)
    fitted_tokens_range: tuple[float, float] = (0.0, 0.0)
    cost_constraint: str = field(default_factory=lambda: _PENDING, kw_only=True)
    #: False when the plan's model fits on no serving replica (no lifetime curve)
    lifetime_available: bool = True
    #: computes the hardware part (a mapping of :data:`HARDWARE_FIELDS`) on first access
    hardware_part: InitVar[Callable[[], dict] | None] = field(default=None, kw_only=True)

    def __post_init__(self, hardware_part) -> None:
        pending = [k for k in HARDWARE_FIELDS if self.__dict__.get(k) is _PENDING]
        for k in pending:  # absent: __getattr__ computes them on first access
            object.__delattr__(self, k)
        if pending:
            object.__setattr__(self, "_hardware_part", hardware_part or _empty_hardware)

    def __getattr__(self, name: str):
        # only called for attributes not set: the pending hardware part
        if name in HARDWARE_FIELDS:
            fill = self.__dict__.get("_hardware_part")
            if fill is not None:
                try:
                    values = fill()
                except AttributeError as exc:  # not "no such field": hasattr() must not hide it
                    raise RuntimeError(f"computing the hardware curves failed: {exc}") from exc
                for k in HARDWARE_FIELDS:
                    if k not in self.__dict__:
                        object.__setattr__(self, k, values[k])
                self.__dict__.pop("_hardware_part", None)  # another thread may have done it
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def hardware_pending(self) -> bool:
        """True until the hardware part has been computed (tests and benchmarks use it)."""
        return "_hardware_part" in self.__dict__

    def __getstate__(self):
        for k in HARDWARE_FIELDS:  # a copy or pickle carries the data, not the closure
            getattr(self, k)
        return dict(self.__dict__)


#: The Curves fields computed on first access (they need the scenario on every profile).
HARDWARE_FIELDS = ("cost_losses", "cost_by_hardware", "hardware_rows", "hardware_names",
                   "cost_constraint")
_PENDING = object()


def _empty_hardware() -> dict:
    """The hardware part of Curves built without one (no profile could run the plan)."""
    return {"cost_losses": np.array([]), "cost_by_hardware": {}, "hardware_rows": [],
            "hardware_names": {}, "cost_constraint": "compute-optimal"}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _finite_mask(*arrays) -> np.ndarray:
    mask = np.ones(np.shape(arrays[0]), dtype=bool)
    for a in arrays:
        mask &= np.isfinite(a)
    return mask


def _flops_ratio(s: Scenario, params: np.ndarray) -> np.ndarray:
    """Exact-count / 6ND ratio per model size (1 unless ``exact_flops``), as estimate() does."""
    if not s.exact_flops:
        return np.ones_like(params)
    out = np.empty_like(params)
    for i, n in enumerate(params):
        out[i] = costs.attention_flops_ratio(float(n), shape_of(s, float(n)), s.seq_len)
    return out


def _law_with_sample_axis(law: ScalingLaw) -> ParametricLaw | None:
    """The law's parameter samples as (K, 1) constants, to broadcast against (M,) inputs."""
    if not isinstance(law, ParametricLaw):
        return None
    arr = law.samples_array()
    if arr is None or len(arr) < 2:
        return None
    return replace(law, E=arr[:, 0:1], A=arr[:, 1:2], B=arr[:, 2:3], alpha=arr[:, 3:4],
                   beta=arr[:, 4:5], param_samples=None)


# --------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------


def _frontier(law: ScalingLaw, target_c: float, n_points: int):
    ln_c = np.linspace(math.log10(target_c) - FRONTIER_DECADES_BELOW,
                       math.log10(target_c) + FRONTIER_DECADES_ABOVE, n_points)
    c = np.unique(np.append(10.0**ln_c, target_c))
    with np.errstate(all="ignore"):
        loss = np.asarray(al.optimal_loss(law, c), dtype=float)
    ok = _finite_mask(c, loss) & (c > 0)
    c, loss = c[ok], loss[ok]
    p10 = p90 = None
    sampled = _law_with_sample_axis(law)
    if sampled is not None:
        # The band is smooth in log C: evaluate the K sampled laws on a coarse sub-grid and
        # interpolate (a third of the work of the full grid, well below a pixel on screen).
        lc = np.log(c)
        coarse = np.linspace(lc[0], lc[-1], max(2, min(len(c), 41)))
        with np.errstate(all="ignore"):
            ls = np.asarray(sampled.optimal_loss_closed_form(np.exp(coarse)[None, :]), dtype=float)
        good = np.all(np.isfinite(ls), axis=1)  # drop samples that break anywhere
        if good.sum() >= 2:
            q10, q90 = np.percentile(ls[good], [10, 90], axis=0)
            p10, p90 = np.interp(lc, coarse, q10), np.interp(lc, coarse, q90)
    return c, loss, p10, p90


def _plan_along_loss(s: Scenario, est: Estimate, law: ScalingLaw, losses: np.ndarray,
                     frontier=None):
    """(N, D) the scenario's planning rule picks to reach each loss (the plan's own solver,
    :func:`estimator.plan.solve_for_loss`); a lifetime-optimised plan follows its
    tokens-per-parameter ratio. Unreachable losses give inf."""
    rule = rule_of(s)
    if s.optimize == "lifetime" and est.compute_optimal is not None:
        rule = Rule(tokens_per_param=est.tokens / est.params)
    n, d = solve_for_loss(law, np.asarray(losses, dtype=float), rule, frontier,
                          grid_points=CURVE_GRID_POINTS)
    return n, d, rule.description


def _iso(law: ScalingLaw, est: Estimate, frontier_loss_fn):
    n0, d0 = est.params, est.tokens
    iso_n = np.logspace(math.log10(n0) - ISO_DECADES, math.log10(n0) + ISO_DECADES, ISO_GRID)
    iso_d = np.logspace(math.log10(d0) - ISO_DECADES, math.log10(d0) + ISO_DECADES, ISO_GRID)
    with np.errstate(all="ignore"):
        grid = np.asarray(law.loss(iso_n[:, None], iso_d[None, :]), dtype=float)
    lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
    # Levels: the plan's loss and the frontier's loss at whole decades of compute around it,
    # so each contour touches the compute-optimal line one decade of compute apart.
    c0 = est.train_flops_6nd
    candidates = np.asarray(frontier_loss_fn(c0 * 10.0 ** np.arange(-4, 5)), dtype=float)
    levels = [est.loss]
    for v in candidates:
        if lo < v < hi and all(abs(v - w) > 0.02 * (hi - lo) for w in levels):
            levels.append(float(v))
    levels = np.array(sorted(levels)[:MAX_ISO_LEVELS])
    contours = []
    n_dense = np.logspace(math.log10(iso_n[0]), math.log10(iso_n[-1]), 240)
    d_min, d_max = iso_d[0], iso_d[-1]
    with np.errstate(all="ignore"):
        d_lv = np.asarray(al.tokens_for_loss_at_params(law, n_dense[None, :], levels[:, None]),
                          dtype=float)
        n_top = np.asarray(al.params_for_loss_at_tokens(law, d_max, levels), dtype=float)
        n_bot = np.asarray(al.params_for_loss_at_tokens(law, d_min, levels), dtype=float)
    for k in range(len(levels)):
        dk = d_lv[k]
        inside = np.isfinite(dk) & (dk >= d_min) & (dk <= d_max)
        head_n, head_d, tail_n, tail_d = [], [], [], []
        if np.isfinite(n_top[k]) and iso_n[0] <= n_top[k] <= iso_n[-1]:
            head_n, head_d = [n_top[k]], [d_max]
        if np.isfinite(n_bot[k]) and iso_n[0] <= n_bot[k] <= iso_n[-1]:
            tail_n, tail_d = [n_bot[k]], [d_min]
        xs_a = np.concatenate([head_n, n_dense[inside], tail_n])
        ys_a = np.concatenate([head_d, dk[inside], tail_d])
        order = np.argsort(xs_a)
        contours.append((xs_a[order], ys_a[order]))
    # The compute-optimal line across the box.
    c_lo = 6.0 * iso_n[0] * iso_d[0]
    c_hi = 6.0 * iso_n[-1] * iso_d[-1]
    c_line = np.logspace(math.log10(c_lo), math.log10(c_hi), 160)
    with np.errstate(all="ignore"):
        on, od = (np.asarray(x, dtype=float) for x in al.optimal_allocation(law, c_line))
    keep = (_finite_mask(on, od) & (on >= iso_n[0]) & (on <= iso_n[-1])
            & (od >= d_min) & (od <= d_max))
    return iso_n, iso_d, grid, levels, tuple(contours), on[keep], od[keep]


def _cost_curves(s, est, law, cat: Catalogue, frontier_c, frontier_loss, comparison):
    # Targets within 1.5 decades of compute either side of the plan: wide enough to see the
    # trend, narrow enough that the hardware lines do not collapse onto each other.
    near = np.abs(np.log10(frontier_c / est.train_flops_6nd)) <= COST_DECADES + 1e-9
    losses = np.unique(np.append(frontier_loss[near], est.loss))
    n, d, what = _plan_along_loss(s, est, law, losses, (frontier_c, frontier_loss))
    flops_6nd = 6.0 * n * d
    ok = np.isfinite(flops_6nd)
    # The plan itself, exactly (the grid search under limited unique data is approximate).
    i_plan = int(np.argmin(np.abs(losses - est.loss)))
    flops_6nd[i_plan] = est.train_flops_6nd
    n[i_plan] = est.params
    ok[i_plan] = True
    losses, n, flops_6nd = losses[ok], n[ok], flops_6nd[ok]
    flops = flops_6nd * _flops_ratio(s, n)
    by_hw: dict[str, np.ndarray] = {}
    names: dict[str, str] = {}
    # Each chip's dollars per FLOP for this model (its own training run in the comparison),
    # following the plan's chip's drift along the curve, measured by the run model at a few
    # points of the curve itself (utilisation moves with the size and the batch the budget
    # allows).
    drift = _curve_drift(s, est, cat, losses, n, flops_6nd / (6.0 * n))
    for e in comparison:
        by_hw[e.hardware] = flops * (e.cost_usd / e.train_flops) * drift
        names[e.hardware] = e.hardware_name
    return losses, by_hw, names, what


#: Points of the cost curve at which the run model measures the plan's chip.
CURVE_ANCHORS = 5


def _curve_drift(s: Scenario, est: Estimate, cat: Catalogue, losses, n, d) -> np.ndarray:
    """Training dollars per FLOP of the plan's chip along the cost curve relative to the plan's:
    exact at :data:`CURVE_ANCHORS` points (and the plan), interpolated in between."""
    from estimator.allocation import Allocation
    from estimator.plan import model_shape_of
    from estimator.training.stage import training_hours

    if len(losses) < 3 or est.training is None:
        return np.ones(len(losses))
    profile = cat.profile(est.hardware)
    base = est.cost_usd / est.train_flops_6nd
    idx = np.unique(np.linspace(0, len(losses) - 1, CURVE_ANCHORS).round().astype(int))
    xs, ys = [float(est.loss)], [0.0]
    for i in idx:
        ni, di = float(n[i]), float(d[i])
        if abs(losses[i] - est.loss) < 1e-12 or not (np.isfinite(ni) and np.isfinite(di)):
            continue
        a = Allocation(params=ni, tokens=di, train_flops=6.0 * ni * di, loss=float(losses[i]))
        try:
            hours = training_hours(s, a, model_shape_of(s, ni), profile)
        except EstimatorError:
            continue
        xs.append(float(losses[i]))
        # training_stage's usd_per_flop: price x GPU-hours / FLOPs
        ys.append(math.log(est.price_usd_per_hour * hours / a.train_flops / base))
    order = np.argsort(xs)
    return np.exp(np.interp(losses, np.asarray(xs)[order], np.asarray(ys)[order]))


def _rate_drift(est: Estimate, params: np.ndarray) -> np.ndarray:
    """The plan's cluster's training dollars per FLOP at model sizes ``params`` relative to the
    plan's own (1 where the estimate did not measure the rate curve)."""
    fn = est.train_rate_fn
    if fn is None:
        return np.ones_like(np.asarray(params, dtype=float))
    at = float(np.asarray(fn(np.array([est.params])))[0])
    return np.asarray(fn(params), dtype=float) / at


def _plan_is_compute_optimal(s: Scenario) -> bool:
    """The plan is the least-compute plan for its loss (limited unique data allowed: the
    constrained optimum is the compute-optimal plan then)."""
    return (s.mode != "model" and s.optimize == "compute" and s.law_params is None
            and s.tokens_per_param is None)


def _lifetime(s, est, law, cat: Catalogue, n_points, frontier):
    t = est.loss
    tokens_inf = s.lifetime_output_tokens
    profile = cat.profile(est.hardware)
    inf_profile = cat.profile(s.inference_hardware) if s.inference_hardware else profile
    usd_per_flop = est.cost_usd / est.train_flops
    inference_usd_per_token = usd_per_token(s, serving_rates(s, inf_profile))
    if est.inference_cost_per_million_tokens_usd is not None:  # the curve passes the plan
        inference_usd_per_token = anchored(
            inference_usd_per_token, est.params,
            est.inference_cost_per_million_tokens_usd / 1e6 * s.peak_to_mean)
    limit = np.inf if s.unique_tokens is None else s.unique_tokens * (1 + al.MUENNIGHOFF_R_STAR_D)
    with np.errstate(all="ignore"):
        n_floor = float(al.params_for_loss_at_tokens(law, limit, t))
    if not (math.isfinite(n_floor) and n_floor > 0):
        n_floor = 1.0
    copt_n = est.params
    if est.compute_optimal is not None:
        copt_n = est.compute_optimal["params"]
    elif not _plan_is_compute_optimal(s):
        try:
            c = compute_for_losses(law, np.array([t]), frontier)
            copt_n = float(np.asarray(al.optimal_allocation(law, c)[0])[0])
        except EstimatorError:
            pass

    def total(n):
        n = np.asarray(n, dtype=float)
        with np.errstate(all="ignore"):
            d = np.asarray(al.tokens_for_loss_at_params(law, n, t), dtype=float)
            if s.unique_tokens is not None:  # repeated epochs valued as in the plan
                d = np.asarray(al.tokens_for_effective(d, s.unique_tokens), dtype=float)
            train = usd_per_flop * _rate_drift(est, n) * 6.0 * n * d
            inf = tokens_inf * np.asarray(inference_usd_per_token(n), dtype=float)
        return train, inf

    if (est.lifetime_optimal is not None
            and est.lifetime_optimal.get("lifetime_total_cost_usd") is not None):
        opt_n = float(est.lifetime_optimal["params"])
        opt_usd = float(est.lifetime_optimal["lifetime_total_cost_usd"])
    else:
        try:
            lp = al.lifetime_optimal(law, t, train_cost_per_flop=usd_per_flop,
                                     inference_cost_per_token=inference_usd_per_token,
                                     inference_tokens=tokens_inf, unique_tokens=s.unique_tokens)
            opt_n, opt_usd = lp.allocation.params, lp.total_cost
        except EstimatorError:
            opt_n, opt_usd = copt_n, float(sum(total(copt_n)))
    marks = [est.params, opt_n, copt_n]
    lo = max(n_floor * 1.05, min(marks) / 10.0)
    hi = max(max(marks) * 10.0, lo * 10.0)
    n = np.logspace(math.log10(lo), math.log10(hi), n_points)
    train, inf = total(n)
    tot = train + inf
    ok = _finite_mask(train, inf, tot) & (tot > 0)
    p_train, p_inf = total(est.params)
    c_train, c_inf = total(copt_n)
    available = bool(ok.any()) and bool(np.isfinite(p_train + p_inf)) and math.isfinite(opt_usd)
    if not available:  # the model fits on no serving replica: no lifetime curve to draw
        empty = np.array([])
        return dict(
            lifetime_params=empty, lifetime_total_usd=empty, lifetime_train_usd=empty,
            lifetime_inference_usd=empty, lifetime_optimum_params=float(est.params),
            lifetime_optimum_usd=float(p_train), plan_lifetime_usd=float(p_train),
            lifetime_compute_optimal_params=float(copt_n),
            lifetime_compute_optimal_usd=float(p_train), lifetime_inference_tokens=tokens_inf,
            lifetime_available=False)
    return dict(lifetime_available=True,
        lifetime_params=n[ok], lifetime_total_usd=tot[ok], lifetime_train_usd=train[ok],
        lifetime_inference_usd=inf[ok], lifetime_optimum_params=opt_n,
        lifetime_optimum_usd=opt_usd, plan_lifetime_usd=float(p_train + p_inf),
        lifetime_compute_optimal_params=float(copt_n),
        lifetime_compute_optimal_usd=float(c_train + c_inf), lifetime_inference_tokens=tokens_inf,
    )


def hardware_rows(scenario: Scenario, estimate: Estimate, *, catalogue: Catalogue | None = None,
                  profiles=None) -> list[dict]:
    """The scenario on every hardware profile (same GPUs, precision, utilisation policy, price
    tier), cheapest first: :func:`estimator.engine.compare` (the one engine) as rows."""
    cat = resolve(catalogue, profiles)
    return comparison_rows(compare(scenario, catalogue=cat), estimate.hardware)


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------


def compute_curves(scenario: Scenario, estimate: Estimate, *, catalogue: Catalogue | None = None,
                   profiles=None, n_points: int = 120, comparison: list[Estimate] | None = None
                   ) -> Curves:
    """All chart data for ``scenario`` and its ``estimate`` (from
    :func:`estimator.scenario.estimate`). ``profiles``: a ProfileSet, a dict of id ->
    HardwareProfile, or None for the built-in and user profiles."""
    s = scenario.validated()
    est = estimate
    n_points = max(8, int(n_points))
    cat = resolve(catalogue, profiles)
    law = law_for(s, cat.law(s.law))

    fc, fl, f10, f90 = _frontier(law, est.train_flops_6nd, n_points)

    def frontier_loss_fn(c):
        with np.errstate(all="ignore"):
            return al.optimal_loss(law, c)

    iso_n, iso_d, grid, levels, contours, on, od = _iso(law, est, frontier_loss_fn)
    life = _lifetime(s, est, law, cat, n_points, (fc, fl))

    def hardware_part() -> dict:
        comp = comparison if comparison is not None else compare(s, catalogue=cat)
        cost_l, cost_hw, names, what = _cost_curves(s, est, law, cat, fc, fl, comp)
        return {"cost_losses": cost_l, "cost_by_hardware": cost_hw,
                "hardware_rows": comparison_rows(comp, est.hardware), "hardware_names": names,
                "cost_constraint": what}

    fr = law.fitted_range
    return Curves(
        frontier_compute_flops=fc, frontier_loss=fl, frontier_loss_p10=f10, frontier_loss_p90=f90,
        target_compute_flops=float(est.train_flops_6nd), target_loss=float(est.loss),
        iso_params=iso_n, iso_tokens=iso_d, iso_loss=grid, iso_levels=levels,
        optimal_params=on, optimal_tokens=od, plan_params=float(est.params),
        plan_tokens=float(est.tokens), iso_contours=contours,
        plan_hardware=est.hardware, plan_cost_usd=float(est.cost_usd),
        irreducible_loss=float(law.irreducible_loss),
        fitted_params_range=(fr.params_min, fr.params_max),
        fitted_tokens_range=(fr.tokens_min, fr.tokens_max), hardware_part=hardware_part,
        **life,
    )
