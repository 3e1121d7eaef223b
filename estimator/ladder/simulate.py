"""Simulated ladders: how well a design pins down what the big run needs.

For one design and M laws drawn from the prior: each run's log loss is the drawn law's plus
Gaussian noise of the assumed sd; each simulated ladder (its fitted runs, the held-out run left
out) is fitted by the project's own objective and optimiser (:func:`estimator.fitting.fit_many`:
the same summed Huber(1e-3) objective and batched L-BFGS as ``estimator fit``, all M fits at
once, from 3 starts instead of 4,500); the fitted law's compute-optimal N, D and loss at the
target compute are compared with the drawn law's. :func:`fidelity_check` refits a few of the
simulated ladders with the full 4,500-start :func:`estimator.fitting.fit_law` and reports how
often the two agree.

A fit fails, as ``estimator fit`` does, when an exponent comes out non-positive. Failed fits
are left out of the predicted band (the fit would have shown an error instead of a number) and
counted as the worst possible errors in the design's error band, so a design that often fails
is never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from estimator.errors import FitError
from estimator.fitting import HUBER_DELTA, fit_law, fit_many_sets, runs_from_arrays
from estimator.ladder import lawmath
from estimator.ladder.design import Design

FAILED_LOG_ERROR = 50.0
"""Log error given to a failed fit in the error band (placed alternately at both tails)."""


def ridge_starts(central: np.ndarray, params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Starts (a, b, e, alpha, beta) for simulated fits: the prior's centre, and the centre with
    the exponents moved along the A-alpha / B-beta ridge (alpha x1.25 and beta x0.8, and the
    reverse), with A and B moved so each term keeps its value at the ladder's centre."""
    th = lawmath.theta_from_constants(central)[0]
    ln_nc = float(np.mean(np.log(params)))
    ln_dc = float(np.mean(np.log(tokens)))
    out = [th]
    for fa, fb in ((1.25, 0.8), (0.8, 1.25)):
        t = th.copy()
        t[3], t[4] = th[3] * fa, th[4] * fb
        t[0] = th[0] + (t[3] - th[3]) * ln_nc
        t[1] = th[1] + (t[4] - th[4]) * ln_dc
        out.append(t)
    return np.array(out)


def _pct(x: np.ndarray, q) -> list[float]:
    return [float(v) for v in np.percentile(x, q)] if x.size else [float("nan")] * len(q)


@dataclass(frozen=True, eq=False)
class Simulation:
    """M simulated ladders of one design. Arrays are (M,): ``ok`` (the fit succeeded),
    fitted and true compute-optimal ``params_fit``/``params_true``, ``tokens_*``, the loss at
    the target compute of the fitted law at its optimum (``loss_fit``) and of the true law
    (``loss_true``), ``compute_for_loss_fit`` (with a loss target), the held-out run's
    residual ``holdout_resid`` (log observed - log predicted) and the big run's compute
    fraction wasted by training the fitted N* under the true law (``waste``)."""

    design: Design
    target_flops: float
    ok: np.ndarray
    params_fit: np.ndarray
    params_true: np.ndarray
    tokens_fit: np.ndarray
    tokens_true: np.ndarray
    loss_fit: np.ndarray
    loss_true: np.ndarray
    compute_for_loss_fit: np.ndarray | None
    holdout_resid: np.ndarray
    waste: np.ndarray
    log_loss: np.ndarray
    theta_fit: np.ndarray

    @property
    def fail_rate(self) -> float:
        return float(1.0 - self.ok.mean())

    def error_log_ratio(self) -> np.ndarray:
        """log(fitted N* / true N*), failed fits at +-FAILED_LOG_ERROR alternately."""
        r = np.log(self.params_fit / self.params_true)
        bad = np.flatnonzero(~self.ok)
        r = np.where(self.ok, r, 0.0)
        r[bad] = FAILED_LOG_ERROR * np.where(np.arange(bad.size) % 2 == 0, 1.0, -1.0)
        return r

    def score(self) -> float:
        """Width of the error band: log(P90 / P10) of fitted N* / true N* (lower is better)."""
        lo, hi = np.percentile(self.error_log_ratio(), [10, 90])
        return float(hi - lo)

    def summary(self) -> dict:
        """P10/P50/P90 of the fitted N*, D*, loss at target (successful fits), the error band
        of N* (ratio fitted / true), the held-out residual band and the mean waste."""
        ok = self.ok
        d: dict = {"simulations": int(ok.size), "failed_fits": int((~ok).sum()),
                   "fail_rate": self.fail_rate}
        for name, arr in (("params_opt", self.params_fit), ("tokens_opt", self.tokens_fit),
                          ("loss_at_target", self.loss_fit)):
            p10, p50, p90 = _pct(arr[ok], [10, 50, 90])
            d.update({f"{name}_p10": p10, f"{name}_p50": p50, f"{name}_p90": p90})
        if self.compute_for_loss_fit is not None:
            c = self.compute_for_loss_fit[ok]
            c = c[np.isfinite(c)]
            p10, p50, p90 = _pct(c, [10, 50, 90])
            d.update({"compute_for_loss_p10": p10, "compute_for_loss_p50": p50,
                      "compute_for_loss_p90": p90})
        lo, mid, hi = np.exp(np.percentile(self.error_log_ratio(), [10, 50, 90]))
        d.update({"params_opt_error_p10": float(lo), "params_opt_error_p50": float(mid),
                  "params_opt_error_p90": float(hi), "band_log_width": self.score()})
        h5, h10, h90, h95 = _pct(self.holdout_resid[ok], [5, 10, 90, 95])
        d.update({"holdout_residual_p5": h5, "holdout_residual_p10": h10,
                  "holdout_residual_p90": h90, "holdout_residual_p95": h95})
        d["expected_waste_fraction"] = float(np.mean(np.where(ok, self.waste, 1.0)))
        return d


def simulate(design: Design, draws: np.ndarray, z: np.ndarray, sigma: float,
             target_flops: float, central: np.ndarray, *, target_loss: float | None = None,
             delta: float = HUBER_DELTA) -> Simulation:
    """Simulate and fit ``design`` under each drawn law (``draws`` (M, 5)) with standard-normal
    noise ``z`` (M, >= runs) scaled by ``sigma`` (sd of log loss)."""
    return simulate_many([design], draws, z, sigma, target_flops, central,
                         target_loss=target_loss, delta=delta)[0]


def simulate_many(designs: list[Design], draws: np.ndarray, z: np.ndarray, sigma: float,
                  target_flops: float, central: np.ndarray, *, target_loss: float | None = None,
                  delta: float = HUBER_DELTA, max_iter: int = 400) -> list[Simulation]:
    """:func:`simulate` for several designs with the same draws and noise (common random
    numbers: differences between designs are not noise), all fits in one batch.
    ``max_iter`` caps each fit's first L-BFGS pass (the screening uses fewer)."""
    sets, starts, prepared = [], [], []
    for design in designs:
        params, tokens, hold = design.runs()
        true_log = np.log(lawmath.loss(draws, params, tokens))
        y = true_log + sigma * z[:, :params.size]
        fit_idx = ~hold
        sets.append((params[fit_idx], tokens[fit_idx], y[:, fit_idx]))
        starts.append(ridge_starts(central, params[fit_idx], tokens[fit_idx]))
        prepared.append((params, tokens, hold, y))
    fits = fit_many_sets(sets, starts, delta=delta, max_iter=max_iter)
    return [_finish(d, p, draws, target_flops, target_loss, theta, f)
            for d, p, (theta, f) in zip(designs, prepared, fits, strict=True)]


def _finish(design, prepared, draws, target_flops, target_loss, theta, f) -> Simulation:
    params, tokens, hold, y = prepared
    c_fit = lawmath.constants_from_theta(theta)
    ok = (np.isfinite(f) & np.all(np.isfinite(theta), axis=1) & (theta[:, 3] > 0)
          & (theta[:, 4] > 0) & np.all(np.abs(theta[:, :3]) < 700, axis=1))
    safe = np.where(ok[:, None], c_fit, draws)  # placeholders where the fit failed
    with np.errstate(all="ignore"):
        n_fit, d_fit = lawmath.optimum(safe, target_flops)
        n_true, d_true = lawmath.optimum(draws, target_flops)
        l_fit = lawmath.optimal_loss(safe, target_flops)
        l_true = lawmath.optimal_loss(draws, target_flops)
        c_loss = None if target_loss is None else lawmath.compute_for_loss(safe, target_loss)
        pred_h = np.log(lawmath.loss(safe, params[hold], tokens[hold]))[:, 0]
        waste = lawmath.misallocation_waste(draws, target_flops, n_fit)
    ok &= np.isfinite(n_fit) & np.isfinite(d_fit) & np.isfinite(l_fit) & (n_fit > 0)
    resid = y[:, np.flatnonzero(hold)[0]] - pred_h
    return Simulation(design=design, target_flops=target_flops, ok=ok, params_fit=n_fit,
                      params_true=n_true, tokens_fit=d_fit, tokens_true=d_true, loss_fit=l_fit,
                      loss_true=l_true, compute_for_loss_fit=c_loss, holdout_resid=resid,
                      waste=waste, log_loss=y, theta_fit=theta)


def fidelity_check(sim: Simulation, k: int = 6, rel_tol: float = 0.02) -> dict:
    """Refit the first ``k`` simulated ladders with the full :func:`fit_law` (4,500 starts,
    scipy polish) and compare the compute-optimal N at the target with the fast fits."""
    params, tokens, hold = sim.design.runs()
    fit_idx = ~hold
    diffs, agree, n = [], 0, 0
    for i in range(min(k, sim.ok.size)):
        runs = runs_from_arrays(params[fit_idx], tokens[fit_idx], np.exp(sim.log_loss[i, fit_idx]),
                                source="simulated ladder")
        try:
            full = fit_law(runs)
            c = np.array([[full.E, full.A, full.B, full.alpha, full.beta]])
            n_full = float(lawmath.optimum(c, sim.target_flops)[0][0])
            full_ok = True
        except FitError:
            full_ok, n_full = False, float("nan")
        n += 1
        if full_ok and sim.ok[i]:
            d = abs(float(sim.params_fit[i]) / n_full - 1.0)
            diffs.append(d)
            agree += d <= rel_tol
        elif not full_ok and not sim.ok[i]:
            agree += 1
    return {"checked": n, "agree": int(agree), "rel_tol": rel_tol,
            "max_rel_diff_params_opt": float(max(diffs)) if diffs else None,
            "note": (f"{agree} of {n} simulated ladders give the same compute-optimal N (within "
                     f"{rel_tol:.0%}) with the full 4,500-start fit as with the fast 3-start "
                     "fit used in the simulation")}
