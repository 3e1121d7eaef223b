"""After the ladder: import its results, fit, check the held-out run, and say whether more runs
are worth buying.

:func:`review_ladder` reads the runs CSV (the plan's ``--write-runs`` file with the losses filled
in, or any runs CSV the fit reads), then:

1. **checks the prediction**: fits the runs except the held-out one (``holdout`` column = 1;
   without that column, the largest-compute run) with bootstrap, predicts the held-out run's
   loss and compares: the prediction's spread is the bootstrap's plus the assumed run noise
   (added in quadrature on log loss); the check passes when the observed loss lies within
   :data:`HOLDOUT_Z` standard deviations;
2. **fits all runs** (bootstrap) and reports P10/P50/P90 of the compute-optimal N, D and the loss
   at the target compute;
3. **values more runs**: the expected fraction of the big run's compute lost by training the
   fitted N* when the truth is any bootstrap law (the most that perfect knowledge could save,
   in dollars at the big run's cost), and, for the next rung of the ladder (one size at twice
   the largest run, at 1/4, 1 and 4 times the fitted optimum's tokens per parameter), the
   expected saving: each bootstrap law is taken as the truth, the new runs simulated from it with
   the assumed noise, all runs refitted, and the loss left is compared (a preposterior analysis
   with the bootstrap as the posterior: an approximation). More runs are worth buying when the
   expected saving exceeds their cost, or when the held-out check fails (then the law's form,
   not its precision, is in doubt, and the next rung is where to look).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from estimator import fitting
from estimator.errors import FitError, InputError
from estimator.ladder import lawmath
from estimator.ladder.costing import CostCache, RunHardware
from estimator.ladder.plan import MIN_TARGET_RATIO, Target, resolve_target
from estimator.ladder.prior import Prior, check_loss_noise
from estimator.ladder.simulate import ridge_starts
from estimator.laws import PARAM_NAMES

HOLDOUT_Z = 2.0
"""Standard deviations within which the held-out run's loss counts as predicted (about 95% of
Gaussian prediction errors)."""
EXTENSION_MULTIPLIERS = (0.25, 1.0, 4.0)
EXTENSION_FACTOR = 2.0
PREPOSTERIOR_DRAWS = 200


@dataclass(frozen=True, eq=False)
class LadderReview:
    """The verdict on a finished ladder; JSON via :meth:`to_dict`."""

    source: str
    n_runs: int
    n_without_loss: int
    holdout: dict | None
    fit: dict
    target: dict
    predicted: dict
    extension: dict
    worth_buying: bool
    recommendation: str
    assumed_loss_noise: float
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "n_runs": self.n_runs,
                "n_without_loss": self.n_without_loss, "holdout": self.holdout, "fit": self.fit,
                "target": self.target, "predicted": self.predicted, "extension": self.extension,
                "worth_buying": self.worth_buying, "recommendation": self.recommendation,
                "assumed_loss_noise": self.assumed_loss_noise, "warnings": list(self.warnings)}


def _holdout_mask(path: str | Path, runs: fitting.RunsData) -> tuple[np.ndarray, str]:
    header = fitting.read_header(path)
    if "holdout" in header:
        flagged = fitting.read_runs_csv(path, exclude_flagged=True, flag_column="holdout",
                                        min_runs=1)
        lines = {ln for ln, _ in flagged.excluded}
        return np.isin(runs.lines, list(lines)), "the runs marked holdout=1"
    mask = np.zeros(runs.n_runs, dtype=bool)
    mask[int(np.argmax(runs.compute))] = True
    return mask, "the largest-compute run (the file has no holdout column)"


def _pct3(x: np.ndarray) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if not x.size:
        return (float("nan"),) * 3
    lo, mid, hi = np.percentile(x, [10, 50, 90])
    return float(lo), float(mid), float(hi)


def review_ladder(runs_path: str | Path, target: Target, *, hardware: RunHardware | None = None,
                  law: str = "epoch-2024", loss_noise: float | None = None,
                  bootstrap: int = 200, seed: int = 0) -> LadderReview:
    """Review a finished ladder (see the module docstring). ``law`` is only used by the engine
    when costing runs; the fit replaces it everywhere else. Raises
    :class:`~estimator.errors.FitError` or :class:`~estimator.errors.InputError` with the fix."""
    sigma, _ = check_loss_noise(loss_noise)
    if not (isinstance(bootstrap, int) and bootstrap >= 20):
        raise InputError(f"--bootstrap must be at least 20 to review a ladder (its bands come from "
                         f"the bootstrap), got {bootstrap!r}", field="bootstrap", value=bootstrap,
                         hint="--bootstrap 200")
    hw = (hardware or RunHardware()).validated()
    costs = CostCache(replace(hw, law=str(law)))
    runs = fitting.read_runs_csv(runs_path)
    n_missing = sum(1 for _, why in runs.skipped if "loss" in why)
    hold, hold_rule = _holdout_mask(runs_path, runs)
    warnings: list[str] = []
    if n_missing:
        warnings.append(f"{n_missing} run(s) have no loss yet and are left out")

    holdout = None
    if hold.any() and (~hold).sum() >= fitting.N_PARAMS:
        train = runs.subset(~hold)
        vfit = fitting.fit_law(train, bootstrap_k=bootstrap, seed=seed)
        ho = runs.subset(hold)
        pred = np.log(np.asarray(vfit.predict(ho.params, ho.tokens), dtype=float))
        s = vfit.samples
        boot = np.log(lawmath.loss(s, ho.params, ho.tokens))
        sd = np.sqrt(np.var(boot, axis=0, ddof=1) + sigma**2)
        resid = np.log(ho.loss) - pred
        z = resid / sd
        holdout = {"rule": hold_rule, "n_holdout": int(hold.sum()),
                   "runs": [{"params": float(n), "tokens": float(d), "loss": float(lo),
                             "predicted_loss": float(math.exp(p)), "log_residual": float(r),
                             "predicted_log_sd": float(q), "z": float(zz),
                             "passes": bool(abs(zz) <= HOLDOUT_Z)}
                            for n, d, lo, p, r, q, zz in zip(ho.params, ho.tokens, ho.loss, pred,
                                                              resid, sd, z, strict=True)],
                 "passes": bool(np.all(np.abs(z) <= HOLDOUT_Z)), "z_limit": HOLDOUT_Z}
    elif hold.any():
        warnings.append("too few runs besides the held-out one to check the prediction")

    fit = fitting.fit_law(runs, bootstrap_k=bootstrap, seed=seed)
    central = np.array([getattr(fit, k) for k in PARAM_NAMES])
    post = Prior("fitted", f"fit of {runs.source}", central, fit.samples,
                 f"{fit.n_bootstrap} bootstrap refits of the ladder's runs")
    tgt = resolve_target(target, post, costs)
    compute = tgt["compute_flops"]
    s = fit.samples
    n_s, d_s = lawmath.optimum(s, compute)
    l_s = lawmath.optimal_loss(s, compute)
    predicted = {}
    for name, arr in (("params_opt", n_s), ("tokens_opt", d_s), ("loss_at_target", l_s)):
        lo, mid, hi = _pct3(arr)
        predicted.update({f"{name}_p10": lo, f"{name}_p50": mid, f"{name}_p90": hi})
    big_cost = tgt["big_run"]["cost_usd"]
    waste_now = float(np.mean(lawmath.misallocation_waste(s, compute, tgt["params_opt"])))
    predicted.update({"expected_waste_fraction": waste_now,
                      "expected_waste_usd": waste_now * big_cost})

    ext = _extension(runs, fit, s, sigma, compute, tgt["tokens_per_param"], costs, seed,
                     waste_now, big_cost)
    failed = holdout is not None and not holdout["passes"]
    worth = failed or ext["value_usd"] > ext["total_cost_usd"]
    if failed:
        worst = max(holdout["runs"], key=lambda r: abs(r["z"]))
        rec = (f"buy more runs: the fit missed the held-out run ({worst['params']:.3g} params) by "
               f"{worst['log_residual']:+.2%} in loss, {abs(worst['z']):.1f} sd of the "
               "prediction: the law does not extrapolate as assumed; the next rung "
               f"({ext['total_cost_usd']:,.0f} USD) tests the larger scales before the big run")
    elif worth and ext["runs"]:
        rec = (f"buy the next rung: {len(ext['runs'])} runs at {ext['runs'][0]['params']:.3g} "
               f"params for ${ext['total_cost_usd']:,.0f} are expected to save "
               f"${ext['value_usd']:,.0f} of the big run (misallocation "
               f"${waste_now * big_cost:,.0f} -> ${ext['expected_waste_after_usd']:,.0f})")
    else:
        nxt = (f"the next rung (${ext['total_cost_usd']:,.0f}) would save about "
               f"${ext['value_usd']:,.0f} of the big run" if ext["runs"] else ext["note"])
        rec = (f"stop: the held-out run is predicted and {nxt}; at most "
               f"${waste_now * big_cost:,.0f} is at stake from misallocation")
        if holdout is None:
            rec = rec.replace("the held-out run is predicted and ", "")
    fit_d = {k: v for k, v in fit.to_dict().items()
             if k in ("E", "A", "B", "alpha", "beta", "objective", "n_runs", "stderr",
                      "intervals", "n_bootstrap", "fitted_range", "warnings")}
    return LadderReview(source=runs.source, n_runs=runs.n_runs, n_without_loss=n_missing,
                        holdout=holdout, fit=fit_d, target=tgt, predicted=predicted,
                        extension=ext, worth_buying=bool(worth), recommendation=rec,
                        assumed_loss_noise=sigma, warnings=tuple(warnings + list(fit.warnings)))


def _extension(runs, fit, samples, sigma, compute, r0, costs, seed, waste_now, big_cost) -> dict:
    """The next rung and its expected value (see the module docstring)."""
    n_new = EXTENSION_FACTOR * float(runs.params.max())
    new_n = np.full(len(EXTENSION_MULTIPLIERS), n_new)
    new_d = n_new * r0 * np.asarray(EXTENSION_MULTIPLIERS)
    small = 6.0 * new_n * new_d <= compute / MIN_TARGET_RATIO  # a ladder is small runs
    new_n, new_d = new_n[small], new_d[small]
    rule = (f"one size at {EXTENSION_FACTOR:g}x the largest run, at "
            f"{', '.join(f'{x:g}' for x in EXTENSION_MULTIPLIERS)} x {r0:.1f} tokens per "
            f"parameter, each at most 1/{MIN_TARGET_RATIO:g} of the target compute")
    if not new_n.size:
        return {"runs": [], "total_cost_usd": 0.0, "expected_waste_after_fraction": waste_now,
                "expected_waste_after_usd": waste_now * big_cost, "value_usd": 0.0,
                "preposterior_draws": 0, "rule": rule,
                "note": "no larger run stays under 1/10 of the target: the ladder is complete"}
    ext_runs = [costs.run(n, d).to_dict() for n, d in zip(new_n, new_d, strict=True)]
    cost = float(sum(r["cost_usd"] for r in ext_runs))
    rng = np.random.default_rng([seed, 2])
    m = min(PREPOSTERIOR_DRAWS, samples.shape[0])
    truth = samples[rng.choice(samples.shape[0], size=m, replace=False)]
    y_new = np.log(lawmath.loss(truth, new_n, new_d)) + sigma * rng.standard_normal((m, new_n.size))
    y_old = np.broadcast_to(np.log(runs.loss), (m, runs.n_runs))
    params = np.concatenate([runs.params, new_n])
    tokens = np.concatenate([runs.tokens, new_d])
    central = np.array([[getattr(fit, k) for k in PARAM_NAMES]])
    theta, f = fitting.fit_many(params, tokens, np.hstack([y_old, y_new]),
                                ridge_starts(central, params, tokens))
    c_fit = lawmath.constants_from_theta(theta)
    ok = np.isfinite(f) & (theta[:, 3] > 0) & (theta[:, 4] > 0)
    if not ok.any():
        raise FitError("the simulated refits of the next rung all failed; check the runs")
    n_fit, _ = lawmath.optimum(np.where(ok[:, None], c_fit, central), compute)
    after = float(np.mean(np.where(ok, lawmath.misallocation_waste(truth, compute, n_fit), 1.0)))
    value = max(0.0, (waste_now - after) * big_cost)
    return {"runs": ext_runs, "total_cost_usd": cost, "expected_waste_after_fraction": after,
            "expected_waste_after_usd": after * big_cost, "value_usd": value,
            "preposterior_draws": m, "rule": rule}
