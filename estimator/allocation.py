"""Compute-optimal allocation under ``C = 6ND`` and its inverse (target loss -> N, D, C).

* Closed form for the parametric law (Hoffmann et al. 2022, eq. 4), and a numeric path for any
  law that solves ``d L(N, C/6N) / d ln N = 0`` by vectorised bisection (tested to agree with the
  closed form to 1e-9 relative).
* Inverse: the least compute whose optimal frontier reaches a target loss; with constraints:
  a fixed tokens-per-parameter ratio, a fixed model size, or limited unique data repeated over
  several epochs (Muennighoff et al. 2023, arXiv:2305.16264, effective data D').

Every function takes and returns numpy arrays (or floats), in parameters, tokens and FLOPs.
Unreachable targets raise :class:`UnreachableTargetError` naming the reachable bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from estimator.errors import InputError, UnreachableTargetError
from estimator.laws import ScalingLaw

FLOPS_PER_PARAM_TOKEN = 6.0  # C = 6 N D (Kaplan et al. 2020 eq. 2.2; Hoffmann et al. 2022)

# Muennighoff et al. 2023, eq. 5: fitted decay constant of repeated data, R*_D ~ 15.4.
MUENNIGHOFF_R_STAR_D = 15.4

# Search box in ln space. Wide enough for 1e15..1e35 FLOPs; bisection on a ~60-nat bracket
# reaches float precision in ~60 halvings.
_LN_N_LO, _LN_N_HI = math.log(1e2), math.log(1e18)
_LN_C_LO, _LN_C_HI = math.log(1e6), math.log(1e45)
_BISECT_ITERS = 100


def _bisect_increasing(fn, lo: np.ndarray, hi: np.ndarray, iters: int = _BISECT_ITERS):
    """Vectorised bisection for the root of an increasing function on [lo, hi]."""
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        pos = fn(mid) > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
        if np.all(hi - lo <= 1e-15 * np.maximum(1.0, np.abs(mid))):
            break
    return 0.5 * (lo + hi)


def _refine_grid_min(
    fn, grid: np.ndarray, vals: np.ndarray, passes: int = 3, points: int = 33
) -> tuple[float, float]:
    """Refine the minimum of a smooth function sampled on ``grid`` by zooming vectorised
    sub-grids around the best point, then one parabolic step. Each pass costs one vectorised
    call of ``fn`` (instead of ~40 scalar calls of a golden-section search)."""
    i = int(np.argmin(vals))
    x, fx = float(grid[i]), float(vals[i])
    step = float(grid[1] - grid[0]) if len(grid) > 1 else 1.0
    for _ in range(passes):
        sub = np.linspace(x - step, x + step, points)
        with np.errstate(over="ignore", invalid="ignore"):
            fs = np.where(np.isfinite(v := np.asarray(fn(sub), dtype=float)), v, np.inf)
        j = int(np.argmin(fs))
        if fs[j] <= fx:
            x, fx = float(sub[j]), float(fs[j])
        step = float(sub[1] - sub[0])
        if 0 < j < points - 1 and np.all(np.isfinite(fs[j - 1 : j + 2])):
            f0, f1, f2 = fs[j - 1], fs[j], fs[j + 1]
            denom = f0 - 2 * f1 + f2
            if denom > 0:
                xp = float(sub[j]) + 0.5 * step * (f0 - f2) / denom
                fp = float(np.asarray(fn(np.array([xp])))[0])
                if np.isfinite(fp) and fp <= fx:
                    x, fx = xp, fp
    return x, fx


def refine_rows_min(fn, grid: np.ndarray, vals: np.ndarray, passes: int = 3, points: int = 33):
    """:func:`_refine_grid_min` for many independent rows at once: ``grid`` and ``vals`` are
    (M, P); ``fn`` maps an (M, Q) array of x to (M, Q) values (row i evaluated with row i's
    parameters). Returns (x, f) of shape (M,). Row by row it takes exactly the steps of the
    scalar search."""
    rows = np.arange(grid.shape[0])
    i = np.argmin(vals, axis=1)
    x, fx = grid[rows, i].astype(float), vals[rows, i].astype(float)
    step = grid[:, 1] - grid[:, 0] if grid.shape[1] > 1 else np.ones(len(rows))
    for _ in range(passes):
        sub = np.linspace(x - step, x + step, points, axis=1)
        with np.errstate(over="ignore", invalid="ignore"):
            fs = np.asarray(fn(sub), dtype=float)
        fs = np.where(np.isfinite(fs), fs, np.inf)
        j = np.argmin(fs, axis=1)
        fj = fs[rows, j]
        better = fj <= fx
        x = np.where(better, sub[rows, j], x)
        fx = np.where(better, fj, fx)
        step = sub[:, 1] - sub[:, 0]
        inner = (j > 0) & (j < points - 1)
        jm, jp = np.clip(j - 1, 0, points - 1), np.clip(j + 1, 0, points - 1)
        f0, f1, f2 = fs[rows, jm], fj, fs[rows, jp]
        finite = np.isfinite(f0) & np.isfinite(f1) & np.isfinite(f2)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            denom = f0 - 2 * f1 + f2
            ok = inner & finite & (denom > 0)
            xp = sub[rows, j] + 0.5 * step * (f0 - f2) / np.where(ok, denom, 1.0)
            fp = np.asarray(fn(np.where(ok, xp, x)[:, None]), dtype=float)[:, 0]
        take = ok & np.isfinite(fp) & (fp <= fx)
        x = np.where(take, xp, x)
        fx = np.where(take, fp, fx)
    return x, fx


# --------------------------------------------------------------------------------------
# Compute-optimal frontier
# --------------------------------------------------------------------------------------


def optimal_allocation_numeric(law: ScalingLaw, compute_flops):
    """(N, D) minimising L(N, D) subject to 6ND = C, for any law, by bisection on
    g(ln N) = dL/dln N - dL/dln D (increasing in N along the constraint)."""
    c = np.asarray(compute_flops, dtype=float)
    ln_c6 = np.log(c / FLOPS_PER_PARAM_TOKEN)

    def g(ln_n):
        n = np.exp(ln_n)
        d = np.exp(ln_c6 - ln_n)
        dn, dd = law.dloss_dlog(n, d)
        return dn - dd

    lo = np.full(np.shape(c), _LN_N_LO)
    hi = np.minimum(np.full(np.shape(c), _LN_N_HI), ln_c6 - math.log(1.0))
    ln_n = _bisect_increasing(g, lo, hi)
    n = np.exp(ln_n)
    return n, c / (FLOPS_PER_PARAM_TOKEN * n)


def optimal_allocation(law: ScalingLaw, compute_flops):
    """Compute-optimal (params, tokens) for a budget in FLOPs: closed form where the law has
    one (parametric, Hoffmann eq. 4), otherwise the numeric path."""
    closed = law.optimal_allocation_closed_form(compute_flops)
    if closed is not None:
        return closed
    return optimal_allocation_numeric(law, compute_flops)


def optimal_loss(law: ScalingLaw, compute_flops):
    """Loss along the compute-optimal frontier, L(N_opt(C), D_opt(C))."""
    if hasattr(law, "optimal_loss_closed_form"):
        return law.optimal_loss_closed_form(compute_flops)
    n, d = optimal_allocation(law, compute_flops)
    return law.loss(n, d)


def compute_for_loss(law: ScalingLaw, target_loss):
    """Least compute (FLOPs) whose compute-optimal model reaches ``target_loss``.

    Raises UnreachableTargetError when the target is at or below the irreducible loss."""
    target = np.asarray(target_loss, dtype=float)
    e = law.irreducible_loss
    if np.any(target <= e):
        raise UnreachableTargetError(
            f"target loss {float(np.min(target)):.4g} is at or below the irreducible loss "
            f"E = {e:.4g} of law '{law.id}': choose a target above {e:.4g}",
            bound=e,
        )
    if hasattr(law, "compute_for_loss_closed_form"):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            c = law.compute_for_loss_closed_form(target)
        if not np.all(np.isfinite(c)) or np.any(c > math.exp(_LN_C_HI)):
            raise UnreachableTargetError(
                f"target loss {float(np.min(target)):.6g} needs more than "
                f"{math.exp(_LN_C_HI):.0e} FLOPs under law '{law.id}' (its exponents make the "
                "last stretch towards E astronomically expensive); choose a higher target",
                bound=float(np.min(target)),
            )
        return c if np.ndim(c) else float(c)
    ln_c = _bisect_increasing(
        lambda x: target - optimal_loss(law, np.exp(x)),
        np.full(target.shape, _LN_C_LO),
        np.full(target.shape, _LN_C_HI),
    )
    c = np.exp(ln_c)
    _check_bracket(ln_c, _LN_C_HI, "compute", target, law)
    return c if c.ndim else float(c)


def _check_bracket(ln_x, ln_hi, what: str, target, law):
    if np.any(ln_x >= ln_hi - 1e-6):
        raise UnreachableTargetError(
            f"target loss {float(np.min(target)):.6g} needs more than {math.exp(ln_hi):.0e} "
            f"{what} under law '{law.id}'; choose a higher target",
            bound=float(np.min(target)),
        )


# --------------------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------------------


def effective_tokens(tokens, unique_tokens, r_star: float = MUENNIGHOFF_R_STAR_D):
    """Muennighoff et al. 2023 eq. 5: the value of D tokens drawn from U unique tokens,
    D' = U + U R* (1 - exp(-R_D/R*)), R_D = D/U - 1 repetitions beyond the first epoch.
    Below one epoch D' = D."""
    d = np.asarray(tokens, dtype=float)
    u = np.asarray(unique_tokens, dtype=float)
    reps = np.maximum(d / u - 1.0, 0.0)
    repeated = u + u * r_star * (-np.expm1(-reps / r_star))
    return np.where(d <= u, d, repeated)


def tokens_for_effective(effective, unique_tokens, r_star: float = MUENNIGHOFF_R_STAR_D):
    """Inverse of :func:`effective_tokens`: D such that D'(D) = effective (inf when
    effective >= U (1 + R*), the most repeated data can ever be worth)."""
    e = np.asarray(effective, dtype=float)
    u = np.asarray(unique_tokens, dtype=float)
    x = 1.0 - (e - u) / (u * r_star)
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = -r_star * np.log(np.where(x > 0, x, np.nan))
    d = np.where(e <= u, e, u * (1.0 + reps))
    return np.where(np.isnan(d), np.inf, d)


def tokens_for_loss_at_params(law: ScalingLaw, params, target_loss):
    """D such that L(N, D) = target for a fixed N (closed form for the parametric law,
    otherwise vectorised bisection)."""
    if hasattr(law, "tokens_for_loss"):
        return law.tokens_for_loss(params, target_loss)
    n = np.asarray(params, dtype=float)
    target = np.asarray(target_loss, dtype=float)
    ln_d = _bisect_increasing(
        lambda x: target - law.loss(n, np.exp(x)),
        np.full(np.broadcast(n, target).shape, math.log(1.0)),
        np.full(np.broadcast(n, target).shape, math.log(1e40)),
    )
    return np.exp(ln_d)


def params_for_loss_at_tokens(law: ScalingLaw, tokens, target_loss):
    """N such that L(N, D) = target for a fixed D (closed form for the parametric law,
    otherwise vectorised bisection)."""
    if hasattr(law, "params_for_loss"):
        return law.params_for_loss(tokens, target_loss)
    d = np.asarray(tokens, dtype=float)
    target = np.asarray(target_loss, dtype=float)
    shape = np.broadcast(d, target).shape
    ln_n = _bisect_increasing(
        lambda x: target - law.loss(np.exp(x), d),
        np.full(shape, math.log(1.0)),
        np.full(shape, math.log(1e40)),
    )
    return np.exp(ln_n)


_LN_N_RATIO_HI = math.log(1e25)


def params_at_ratio_for_loss(law: ScalingLaw, ratio: float, target_loss):
    """N with L(N, ratio N) = target for a fixed tokens-per-parameter ratio, vectorised over
    targets (and over a sampled law's constants); inf where no N up to 1e25 reaches it."""
    t = np.asarray(target_loss, dtype=float)
    e = np.asarray(law.irreducible_loss, dtype=float)
    reach = t > e
    tt = np.where(reach, t, 1e300)
    shape = np.broadcast(tt, e).shape
    r = float(ratio)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ln_n = _bisect_increasing(
            lambda x: tt - law.loss(np.exp(x), r * np.exp(x)),
            np.full(shape, _LN_N_LO), np.full(shape, _LN_N_RATIO_HI))
    return np.where(reach & (ln_n < _LN_N_RATIO_HI - 1e-6), np.exp(ln_n), np.inf)


def unique_data_plans(law: ScalingLaw, target_loss, unique_tokens: float, n0, d0, *,
                      grid_points: int = 4001):
    """Least-compute (N, D) reaching each target with ``unique_tokens`` of unique data
    (Muennighoff et al. 2023: D tokens drawn from U unique are worth D'), vectorised over
    targets. Where the unconstrained optimum (n0, d0) needs at most U tokens it is kept;
    elsewhere N * D(N) is minimised over a log grid of N from the size that reaches the target
    with the most repeated data can be worth, then refined (:func:`refine_rows_min`).
    Unreachable targets give inf. The law's constants must be scalars."""
    u = float(unique_tokens)
    t = np.asarray(target_loss, dtype=float)
    n = np.array(np.broadcast_to(n0, t.shape), dtype=float)
    d = np.array(np.broadcast_to(d0, t.shape), dtype=float)
    need = ~(d <= u)
    if not need.any():
        return n, d
    tt = t[need]
    with np.errstate(all="ignore"):
        n_min = np.asarray(params_for_loss_at_tokens(law, _max_effective(u), tt), dtype=float)
        n_min = np.where(np.isfinite(n_min), np.maximum(n_min, 1.0), np.nan)
        top = np.maximum(np.where(np.isfinite(n[need]), n[need], n_min), n_min) * 1e4
        lo = np.log(n_min) + 1e-9
        hi = np.log(top)
        good = np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
        lo, hi = np.where(good, lo, 0.0), np.where(good, hi, 1.0)
        ln_n = np.linspace(lo, hi, grid_points, axis=1)

        def log_cost(x):
            nn = np.exp(x)
            dd = tokens_for_effective(tokens_for_loss_at_params(law, nn, tt[:, None]), u)
            return np.where(np.isfinite(dd), np.log(nn * dd), np.inf)

        vals = log_cost(ln_n)
        vals = np.where(good[:, None], vals, np.inf)
        reach = np.isfinite(vals).any(axis=1)
        x_best, _ = refine_rows_min(log_cost, ln_n, vals)
        nn = np.exp(x_best)
        dd = np.asarray(tokens_for_effective(tokens_for_loss_at_params(law, nn, tt), u),
                        dtype=float)
    ok = reach & np.isfinite(dd)
    n[need] = np.where(ok, nn, np.inf)
    d[need] = np.where(ok, dd, np.inf)
    return n, d


@dataclass(frozen=True)
class Allocation:
    """A training plan: N parameters, D total tokens, C = 6ND FLOPs, and its loss.

    ``epochs`` is D / U when unique data is limited (1.0 otherwise); ``effective_tokens`` is
    Muennighoff's D' (equal to D without repetition)."""

    params: float
    tokens: float
    train_flops: float
    loss: float
    epochs: float = 1.0
    effective_tokens: float = float("nan")

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params


def _alloc(law, n, d, unique_tokens=None) -> Allocation:
    n = float(n)
    d = float(d)
    d_eff = float(effective_tokens(d, unique_tokens)) if unique_tokens else d
    return Allocation(
        params=n,
        tokens=d,
        train_flops=FLOPS_PER_PARAM_TOKEN * n * d,
        loss=float(law.loss(n, d_eff)),
        epochs=d / unique_tokens if unique_tokens else 1.0,
        effective_tokens=d_eff,
    )


def _require_positive(value, name: str, flag: str):
    if value is None:
        return
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{name} must be a positive finite number ({flag}), got {value!r}")


def plan_for_loss(
    law: ScalingLaw,
    target_loss: float,
    *,
    tokens_per_param: float | None = None,
    params: float | None = None,
    unique_tokens: float | None = None,
) -> Allocation:
    """The cheapest (N, D) that reaches ``target_loss`` (nats/token) under at most one
    constraint: a tokens-per-parameter ratio R (D = R N), a fixed model size N, or limited unique
    data U (repeated epochs valued by Muennighoff's D'; may combine with a fixed N).

    Raises UnreachableTargetError naming the lowest loss the constraint can reach."""
    _require_positive(target_loss, "target loss", "--target-loss")
    _require_positive(tokens_per_param, "tokens per parameter", "--tokens-per-param")
    _require_positive(params, "model size", "--params")
    _require_positive(unique_tokens, "unique tokens", "--unique-tokens")
    if tokens_per_param is not None and params is not None:
        raise InputError("give either --params or --tokens-per-param as the constraint, not both")
    e = law.irreducible_loss
    t = float(target_loss)
    if t <= e:
        raise UnreachableTargetError(
            f"target loss {t:.4g} is at or below the irreducible loss E = {e:.4g} of law "
            f"'{law.id}': no model reaches it; choose a target above {e:.4g}",
            bound=e,
        )

    if params is not None:
        bound = float(law.loss_at_infinite_data(params))
        if unique_tokens is not None:
            bound = float(law.loss(params, _max_effective(unique_tokens)))
        if t <= bound:
            raise UnreachableTargetError(
                f"a {params:.3g}-parameter model cannot reach loss {t:.4g} under '{law.id}'"
                + (f" with {unique_tokens:.3g} unique tokens" if unique_tokens else "")
                + f": its best is {bound:.4g}. Raise the target or the model size.",
                bound=bound,
            )
        d_eff = float(tokens_for_loss_at_params(law, params, t))
        d = float(tokens_for_effective(d_eff, unique_tokens)) if unique_tokens else d_eff
        return _alloc(law, params, d, unique_tokens)

    if tokens_per_param is not None:
        r = float(tokens_per_param)
        if unique_tokens is not None:
            raise InputError(
                "--tokens-per-param and --unique-tokens cannot be combined; "
                "use --unique-tokens alone or with --params"
            )
        n = float(params_at_ratio_for_loss(law, r, t))
        if not math.isfinite(n):
            raise UnreachableTargetError(
                f"target loss {t:.6g} needs more than 1e+25 parameters at {r:g} tokens per "
                f"parameter under law '{law.id}'; choose a higher target",
                bound=t, field="target_loss")
        return _alloc(law, n, r * n)

    if unique_tokens is not None:
        return _plan_unique_data(law, t, float(unique_tokens))

    c = compute_for_loss(law, t)
    n, d = optimal_allocation(law, c)
    return _alloc(law, n, d)


def _max_effective(unique_tokens: float) -> float:
    return unique_tokens * (1.0 + MUENNIGHOFF_R_STAR_D)


def _plan_unique_data(law: ScalingLaw, t: float, u: float) -> Allocation:
    """Least-compute plan for target t with U unique tokens: for each N, the tokens whose
    effective value reaches t; minimise 6 N D over N on a log grid, then refine."""
    bound = float(law.loss_at_infinite_params(_max_effective(u)))
    if t <= bound:
        raise UnreachableTargetError(
            f"with {u:.3g} unique tokens no model reaches loss {t:.4g} under '{law.id}': "
            f"repeated data is worth at most U(1+R*) = {_max_effective(u):.3g} tokens "
            f"(Muennighoff et al. 2023), so the best reachable loss is {bound:.4g}. "
            "Raise the target or add unique data.",
            bound=bound,
        )
    # Without the data limit, the optimum is the unconstrained frontier; keep it if it fits.
    c0 = compute_for_loss(law, t)
    n0, d0 = optimal_allocation(law, c0)
    if d0 <= u:
        return _alloc(law, n0, d0, u)
    n, d = unique_data_plans(law, np.array([t]), u, np.array([n0]), np.array([d0]))
    if not (np.isfinite(n[0]) and np.isfinite(d[0])):
        raise UnreachableTargetError(
            f"with {u:.3g} unique tokens loss {t:.4g} is out of reach under '{law.id}': it lies "
            f"too close to the best reachable loss {bound:.4g}. Raise the target or add unique "
            "data.",
            bound=bound,
        )
    return _alloc(law, float(n[0]), float(d[0]), u)


def plan_for_compute(
    law: ScalingLaw,
    compute_flops: float,
    *,
    tokens_per_param: float | None = None,
    params: float | None = None,
    unique_tokens: float | None = None,
) -> Allocation:
    """The lowest-loss (N, D) for a budget of ``compute_flops`` under at most one constraint."""
    _require_positive(compute_flops, "compute budget", "--compute")
    _require_positive(tokens_per_param, "tokens per parameter", "--tokens-per-param")
    _require_positive(params, "model size", "--params")
    _require_positive(unique_tokens, "unique tokens", "--unique-tokens")
    c = float(compute_flops)
    if tokens_per_param is not None and params is not None:
        raise InputError("give either --params or --tokens-per-param as the constraint, not both")
    if params is not None:
        return _alloc(law, params, c / (FLOPS_PER_PARAM_TOKEN * params), unique_tokens)
    if tokens_per_param is not None:
        n = math.sqrt(c / (FLOPS_PER_PARAM_TOKEN * tokens_per_param))
        return _alloc(law, n, tokens_per_param * n, unique_tokens)
    n, d = optimal_allocation(law, c)
    if unique_tokens is None or d <= unique_tokens:
        return _alloc(law, n, d, unique_tokens)
    # Limited data: minimise L(N, D'(C/6N)) over N.
    u = float(unique_tokens)
    ln_c6 = math.log(c / FLOPS_PER_PARAM_TOKEN)

    def loss_at(x):
        return law.loss(np.exp(x), effective_tokens(np.exp(ln_c6 - x), u))

    grid = np.linspace(_LN_N_LO, ln_c6, 2001)
    x_best, _ = _refine_grid_min(loss_at, grid, loss_at(grid))
    nn = math.exp(x_best)
    return _alloc(law, nn, c / (FLOPS_PER_PARAM_TOKEN * nn), u)


def plan_for_model(
    law: ScalingLaw,
    params: float,
    *,
    tokens: float | None = None,
    tokens_per_param: float | None = None,
    unique_tokens: float | None = None,
) -> Allocation:
    """A given model: N parameters and D tokens (or D = R N)."""
    _require_positive(params, "model size", "--params")
    _require_positive(tokens, "tokens", "--tokens")
    _require_positive(tokens_per_param, "tokens per parameter", "--tokens-per-param")
    _require_positive(unique_tokens, "unique tokens", "--unique-tokens")
    if (tokens is None) == (tokens_per_param is None):
        raise InputError("with --params give exactly one of --tokens or --tokens-per-param")
    d = tokens if tokens is not None else tokens_per_param * params
    return _alloc(law, params, d, unique_tokens)


# --------------------------------------------------------------------------------------
# Extrapolation
# --------------------------------------------------------------------------------------


def extrapolation_factor(law: ScalingLaw, params, tokens):
    """How far (N, D) lies outside the law's fitted box, as a multiplicative factor (1 inside).

    max over N and D of max(x / x_max, x_min / x): 10 means ten times beyond the data."""
    fr = law.fitted_range
    n = np.asarray(params, dtype=float)
    d = np.asarray(tokens, dtype=float)
    f = np.maximum.reduce(
        [
            np.ones_like(n * d),
            n / fr.params_max,
            fr.params_min / n,
            d / fr.tokens_max,
            fr.tokens_min / d,
        ]
    )
    return f if f.ndim else float(f)


# --------------------------------------------------------------------------------------
# Inference-aware optimum (Sardana et al. 2023, arXiv:2401.00448)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LifetimePlan:
    """The (N, D) that minimises training plus lifetime inference cost at a fixed loss."""

    allocation: Allocation
    train_cost: float
    inference_cost: float

    @property
    def total_cost(self) -> float:
        return self.train_cost + self.inference_cost


def lifetime_optimal(
    law: ScalingLaw,
    target_loss: float,
    *,
    train_cost_per_flop: float,
    inference_cost_per_token,
    inference_tokens: float,
    unique_tokens: float | None = None,
) -> LifetimePlan:
    """Sardana et al. 2023: minimise ``c_train * 6 N D(N) + D_inf * c_inf(N)`` subject to
    ``L(N, D(N)) = target``. ``inference_cost_per_token`` maps an array of N to the cost of one
    generated token (``2N`` FLOPs times a cost per FLOP, or dollars from a throughput model).

    With ``unique_tokens`` U the tokens D(N) are those whose effective value (Muennighoff et al.
    2023 eq. 5) reaches the target, so repeated epochs are valued as in every other plan; a size
    that cannot reach the target on U's repetitions is excluded.

    Costs are in whatever unit the two rates share (FLOPs or dollars). Searches ln N on a grid
    from just above the smallest model that can reach the target, then refines."""
    if inference_tokens < 0 or not math.isfinite(inference_tokens):
        raise InputError(f"lifetime inference tokens must be >= 0, got {inference_tokens!r}")
    t = float(target_loss)
    u = None if unique_tokens is None else float(unique_tokens)
    compute_plan = plan_for_loss(law, t, unique_tokens=u)  # validates the target
    data_limit = np.inf if u is None else _max_effective(u)
    n_floor = max(float(params_for_loss_at_tokens(law, data_limit, t)), 1.0)
    lo = math.log(n_floor) + 1e-6
    hi = max(math.log(compute_plan.params) + math.log(100.0), lo + 1.0)
    grid = np.linspace(lo, hi, 400)

    def tokens(n):
        d_eff = tokens_for_loss_at_params(law, n, t)
        return d_eff if u is None else tokens_for_effective(d_eff, u)

    def total(ln_n):
        n = np.exp(ln_n)
        return train_cost_per_flop * FLOPS_PER_PARAM_TOKEN * n * tokens(n) + (
            inference_tokens * np.asarray(inference_cost_per_token(n), dtype=float))

    with np.errstate(over="ignore", invalid="ignore"):
        vals = total(grid)
    vals = np.where(np.isfinite(vals), vals, np.inf)
    if not np.isfinite(vals).any():
        raise UnreachableTargetError(
            f"no model size reaches loss {t:.4g} at a finite lifetime cost under '{law.id}'",
            bound=t)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ln_best, _ = _refine_grid_min(total, grid, vals)
    n = float(math.exp(ln_best))
    d = float(tokens(np.array(n)))
    alloc = _alloc(law, n, d, u)
    train = train_cost_per_flop * alloc.train_flops
    infer = inference_tokens * float(np.asarray(inference_cost_per_token(np.array(n))))
    return LifetimePlan(alloc, train, infer)
