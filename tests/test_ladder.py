"""The ladder planner: measured noise, costing through the engine, designs, the batched fits
against the real fit, plan invariants (within budget, a bigger budget never a wider band), the
honesty of the predicted band (coverage with the real fitter), the review of finished runs, and
one clear error per bad input."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from estimator import fitting as F
from estimator.cli import main
from estimator.engine import estimate
from estimator.errors import InputError
from estimator.ladder import (
    Family,
    LadderCancelled,
    RunHardware,
    Target,
    choose_gpus,
    cost_run,
    costing,
    lawmath,
    make_prior,
    plan_ladder,
    reference_loss_noise,
    review_ladder,
)
from estimator.ladder.costing import CostCache
from estimator.ladder.design import HOLDOUT_FACTOR, MULTIPLIER_SETS, Design, scale_index
from estimator.ladder.simulate import ridge_starts
from estimator.laws import get_law
from estimator.scenario import Scenario

X16, X27, X8 = (MULTIPLIER_SETS[k] for k in ("3 ratios (x16)", "4 ratios (x27)", "2 ratios (x8)"))
SMALL = (Family(4, 2.0, X16, "3 ratios (x16)"), Family(5, 2.0, X27, "4 ratios (x27)"),
         Family(3, 3.0, X8, "2 ratios (x8)"))
C_SMALL = 1e23
COARSE_GRID = {"a": (0.0, 10.0, 20.0), "b": (0.0, 10.0, 20.0), "e": (-1.0, 0.0, 1.0),
               "alpha": (0.0, 0.5, 1.0), "beta": (0.0, 0.5, 1.0)}  # 243 starts


@pytest.fixture(scope="module")
def small_plan():
    return plan_ladder(Target(compute_flops=C_SMALL), 5000, families=SMALL, simulations=120,
                       fidelity_checks=2)


# -------------------------------------------------------------------------------------------
# Assumptions: noise and prior
# -------------------------------------------------------------------------------------------


def test_reference_noise_is_the_epoch_runs_scatter():
    """Recomputed here from the CSV with the csv module and the law's printed constants."""
    law = get_law("epoch-2024").constants()
    res = []
    with open(F.epoch_runs_path(), encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["excluded_by_epoch_top5_loss"].strip() == "1":
                continue
            n, d, loss = float(row["N_params"]), float(row["D_tokens"]), float(row["loss"])
            pred = law["E"] + law["A"] / n ** law["alpha"] + law["B"] / d ** law["beta"]
            res.append(math.log(loss) - math.log(pred))
    assert len(res) == 240
    sd, note = reference_loss_noise()
    assert sd == pytest.approx(float(np.std(res, ddof=1)), rel=1e-12)
    assert 0.005 < sd < 0.01 and "240" in note


def test_priors():
    law = get_law("epoch-2024")
    s = make_prior("epoch-2024", "samples")
    assert s.samples.shape == (200, 5)
    p = make_prior("epoch-2024", "point")
    assert p.samples.shape == (1, 5)
    np.testing.assert_allclose(p.samples[0], [law.constants()[k] for k in
                                              ("E", "A", "B", "alpha", "beta")])
    w = make_prior("epoch-2024", "wide")
    # exponents: the bootstrap's spread inflated by an independent N(0, 0.08) step
    for col in (3, 4):
        want = math.sqrt(s.samples[:, col].var() + 0.08**2)
        assert w.samples[:, col].std() == pytest.approx(want, rel=0.1)
        assert abs(np.median(w.samples[:, col]) - np.median(s.samples[:, col])) < 0.01
    # A pivots at the centre of the fitted range: the N term keeps its median size there
    n_p = math.sqrt(law.fitted_range.params_min * law.fitted_range.params_max)
    term = w.samples[:, 1] * n_p ** -w.samples[:, 3]
    assert np.median(term) == pytest.approx(law.A * n_p ** -law.alpha, rel=0.1)
    with pytest.raises(InputError, match="--prior") as e:
        make_prior("epoch-2024", "broad")
    assert e.value.field == "prior"
    with pytest.raises(InputError, match="not of the form"):
        make_prior("kaplan-2020")


# -------------------------------------------------------------------------------------------
# Costing: one function, the engine's
# -------------------------------------------------------------------------------------------


def test_cost_run_is_the_engine():
    hw = RunHardware(hardware="h100-sxm", price_tier="spot")
    rc = cost_run(3e8, 6e9, 4, hw)
    est = estimate(Scenario(mode="model", params=3e8, tokens=6e9, hardware="h100-sxm", gpus=4,
                            price_tier="spot", inference_tokens_per_day=0.0),
                   with_uncertainty=False)
    assert rc.gpu_hours == est.gpu_hours and rc.cost_usd == est.cost_usd
    assert rc.train_flops == est.train_flops and rc.wall_clock_days == est.wall_clock_days


def test_choose_gpus_fewest_that_finish_in_time():
    hw = RunHardware(max_run_days=1.0)
    for n, d in ((1e8, 2e9), (2e9, 4e10), (4e9, 3e11)):
        run = choose_gpus(n, d, hw)
        assert run.gpus >= run.min_gpus_for_memory
        assert run.wall_clock_days <= 1.0 + 1e-9
        fewer = run.gpus // 2 if run.gpus <= 8 else run.gpus - 8
        if fewer >= max(1, run.min_gpus_for_memory):
            assert cost_run(n, d, fewer, hw).wall_clock_days > 1.0  # one step fewer is too slow
    capped = choose_gpus(4e9, 3e11, RunHardware(max_gpus=8, max_run_days=1.0))
    assert capped.gpus == 8 and capped.wall_clock_days > 1.0


def test_the_ladder_costs_runs_through_cost_run(monkeypatch):
    """Swap the one costing function (as the lead's new training-run model will) and the
    ladder's costs follow with no other change: here $1 per 1e18 FLOPs."""
    def fake(params, tokens, gpus, hw):
        flops = 6.0 * params * tokens
        return costing.RunCost(params, tokens, flops, int(gpus), flops / 1e18, flops / 1e18,
                               flops / 1e18 / 24 / gpus, 1, 10**6)

    monkeypatch.setattr(costing, "cost_run", fake)
    plan = plan_ladder(Target(compute_flops=C_SMALL), 500, families=SMALL[:2], simulations=20,
                       curve=False, fidelity_checks=0)
    for r in plan.runs:
        assert r["cost_usd"] == pytest.approx(6 * r["params"] * r["tokens"] / 1e18)
    assert plan.total_cost_usd == pytest.approx(sum(r["cost_usd"] for r in plan.runs))
    assert plan.target["big_run"]["cost_usd"] == pytest.approx(C_SMALL / 1e18, rel=1e-9)


# -------------------------------------------------------------------------------------------
# Designs and the batched fits
# -------------------------------------------------------------------------------------------


def test_design_runs():
    d = Design(Family(4, 2.0, X16, "x16"), scale_index(1e9), 20.0)
    n, t, hold = d.runs()
    assert n.size == 4 * 3 + 1 and hold.sum() == 1 and hold[-1]
    c = 6 * n * t
    assert c[-1] == pytest.approx(HOLDOUT_FACTOR * c[:-1].max())
    assert t[-1] / n[-1] == pytest.approx(20.0)
    assert np.argmax(6 * n * t) == n.size - 1  # the held-out run is the largest
    sizes = d.sizes
    np.testing.assert_allclose(sizes[1:] / sizes[:-1], 2.0)
    # overlapping token ranges: each size's span covers the next size's smallest count
    for i in range(sizes.size - 1):
        assert t[(n == sizes[i]) & ~hold].max() > t[(n == sizes[i + 1]) & ~hold].min()


def _simulated(design, seed=0, m=6):
    prior = make_prior("epoch-2024")
    rng = np.random.default_rng(seed)
    draws = prior.draw(m, rng)
    n, t, hold = design.runs()
    y = np.log(lawmath.loss(draws, n, t)) + 0.0076 * rng.standard_normal((m, n.size))
    return prior, n[~hold], t[~hold], y[:, ~hold]


def test_fit_many_agrees_with_fit_law():
    design = Design(Family(5, 2.0, X27, "x27"), scale_index(1e9), 18.0)
    prior, n, t, y = _simulated(design, m=3)
    theta, f = F.fit_many(n, t, y, ridge_starts(prior.central, n, t))
    for i in range(y.shape[0]):
        full = F.fit_law(F.runs_from_arrays(n, t, np.exp(y[i])))
        assert f[i] == pytest.approx(full.objective, rel=1e-6, abs=1e-12)
        c = lawmath.constants_from_theta(theta[i:i + 1])[0]
        assert c[3] == pytest.approx(full.alpha, rel=1e-4)
        assert c[4] == pytest.approx(full.beta, rel=1e-4)
        assert lawmath.optimum(c[None], 1e23)[0][0] == pytest.approx(
            lawmath.optimum(np.array([[full.E, full.A, full.B, full.alpha, full.beta]]),
                            1e23)[0][0], rel=1e-3)


def test_fit_many_sets_equals_one_set_at_a_time():
    d1 = Design(Family(4, 2.0, X16, "x16"), scale_index(5e8), 18.0)
    d2 = Design(Family(5, 2.0, X27, "x27"), scale_index(1e9), 18.0)
    prior, n1, t1, y1 = _simulated(d1, 1)
    _, n2, t2, y2 = _simulated(d2, 2)
    s1, s2 = ridge_starts(prior.central, n1, t1), ridge_starts(prior.central, n2, t2)
    both = F.fit_many_sets([(n1, t1, y1), (n2, t2, y2)], [s1, s2])
    for (theta, f), (n, t, y, s) in zip(both, ((n1, t1, y1, s1), (n2, t2, y2, s2)), strict=True):
        th1, f1 = F.fit_many(n, t, y, s)
        # the same minima; along the flat A-alpha ridge the exponents agree to ~1e-4
        np.testing.assert_allclose(f, f1, rtol=1e-7, atol=1e-14)
        np.testing.assert_allclose(theta[:, 3:], th1[:, 3:], rtol=1e-3)


# -------------------------------------------------------------------------------------------
# The plan
# -------------------------------------------------------------------------------------------


def test_plan_json_and_invariants(small_plan):
    d = json.loads(json.dumps(small_plan.to_dict()))
    assert d["total_cost_usd"] <= d["ladder_budget_usd"] == 5000
    assert d["total_cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in d["runs"]))
    for r in d["runs"]:
        assert set(r) >= {"params", "tokens", "train_flops", "gpu_hours", "cost_usd", "holdout"}
        assert r["train_flops"] == pytest.approx(6 * r["params"] * r["tokens"])
    hold = [r for r in d["runs"] if r["holdout"]]
    assert len(hold) == 1
    assert hold[0]["train_flops"] == max(r["train_flops"] for r in d["runs"])
    assert hold[0]["train_flops"] <= C_SMALL / 10
    assert d["assumed_loss_noise"] == pytest.approx(reference_loss_noise()[0])
    p = d["predicted"]
    for q in ("params_opt", "tokens_opt", "loss_at_target"):
        assert p[f"{q}_p10"] <= p[f"{q}_p50"] <= p[f"{q}_p90"]
    # the predicted band brackets the law's own optimum at the target
    assert p["params_opt_p10"] < d["target"]["params_opt"] < p["params_opt_p90"]
    assert d["target"]["compute_flops"] == C_SMALL
    assert d["design"]["why"].startswith("narrowest error band")
    assert d["design"]["comparison"]["n_sizes"]
    assert d["fidelity"]["checked"] == 2 and d["fidelity"]["agree"] == 2
    # runs CSV: reads back with the fit's reader, losses left to fill in
    assert small_plan.runs_csv().splitlines()[1].endswith(",holdout,loss")


def test_bigger_budget_never_widens_the_band(small_plan):
    rows = [r for r in small_plan.budget_curve if r.get("design")]
    widths = [r["band_log_width"] for r in rows]
    assert len(rows) >= 3 and all(b <= a + 1e-12 for a, b in zip(widths, widths[1:], strict=False))
    assert all(r["total_cost_usd"] <= r["budget_usd"] for r in rows)
    # and across separate calls (the same seed: the same draws for every design)
    got = []
    for budget in (1000, 2000, 4000, 8000):
        plan = plan_ladder(Target(compute_flops=C_SMALL), budget, families=SMALL,
                           simulations=120, curve=False, fidelity_checks=0)
        assert plan.total_cost_usd <= budget
        got.append(plan.predicted["band_log_width"])
    assert all(b <= a + 1e-9 for a, b in zip(got, got[1:], strict=False)) and got[-1] < got[0]


def test_targets_by_loss_and_by_big_run_budget():
    c0 = make_prior("epoch-2024").central[None, :]
    p = plan_ladder(Target(loss=2.1), 3000, families=SMALL[:2], simulations=20, curve=False,
                    fidelity_checks=0)
    assert p.target["loss_at_target"] == pytest.approx(2.1, rel=1e-9)
    assert p.target["compute_flops"] == pytest.approx(float(lawmath.compute_for_loss(c0, 2.1)[0]))
    assert "compute_for_loss_p50" in p.predicted
    q = plan_ladder(Target(budget_usd=5e5), 3000, families=SMALL[:2], simulations=20,
                    curve=False, fidelity_checks=0)
    # The run model's cost steps where the layout changes, so the largest affordable big run
    # may cost a little under the budget; it never costs more, and a 1% larger one does.
    big = q.target["big_run"]["cost_usd"]
    assert 0.9 * 5e5 <= big <= 5e5 * (1 + 1e-9)
    n, d = lawmath.optimum(c0, q.target["compute_flops"] * 1.01)
    assert CostCache(RunHardware()).big_run(float(n[0]), float(d[0])).cost_usd > 5e5


def test_progress_and_cancel():
    seen = []
    plan_ladder(Target(compute_flops=C_SMALL), 2000, families=SMALL[:1], simulations=20,
                curve=False, fidelity_checks=0, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(LadderCancelled):
        plan_ladder(Target(compute_flops=C_SMALL), 2000, families=SMALL, simulations=20,
                    cancel=lambda: len(seen) > 0)


# -------------------------------------------------------------------------------------------
# Honesty: the band covers what the real fit finds
# -------------------------------------------------------------------------------------------


def _coverage(prior_kind: str, trials: int, grid, seed: int) -> float:
    plan = plan_ladder(Target(compute_flops=C_SMALL), 5000, prior=prior_kind, families=SMALL,
                       simulations=400, curve=False, fidelity_checks=0)
    lo, hi = plan.predicted["params_opt_p10"], plan.predicted["params_opt_p90"]
    n, t, hold = plan.chosen.runs()
    prior = make_prior("epoch-2024", prior_kind)
    rng = np.random.default_rng(seed)  # independent of the plan's draws
    laws = prior.draw(trials, rng)
    inside = done = 0
    for i in range(trials):
        y = (np.log(lawmath.loss(laws[i:i + 1], n, t))[0]
             + plan.assumed_loss_noise * rng.standard_normal(n.size))
        fit = F.fit_law(F.runs_from_arrays(n[~hold], t[~hold], np.exp(y[~hold])), grid=grid)
        c = np.array([[fit.E, fit.A, fit.B, fit.alpha, fit.beta]])
        inside += lo <= lawmath.optimum(c, C_SMALL)[0][0] <= hi
        done += 1
    return inside / done


def test_predicted_band_covers_the_fit_fast():
    """Fast version: 40 simulated ladders fitted with the project's fit (a 243-start grid)."""
    cov = _coverage("samples", 40, COARSE_GRID, seed=7)
    assert 0.65 <= cov <= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("prior_kind, trials", [("samples", 150), ("point", 100)])
def test_predicted_band_covers_estimator_fit(prior_kind, trials):
    """The brief's proof: runs simulated from a known law (drawn from the prior; for the point
    prior, the law itself) with the noise the tool says it assumes, fitted with the full
    4,500-start ``estimator fit``: the fitted N* lands in the predicted P10-P90 about 80% of
    the time."""
    cov = _coverage(prior_kind, trials, None, seed=11)
    assert 0.72 <= cov <= 0.88


# -------------------------------------------------------------------------------------------
# After the runs
# -------------------------------------------------------------------------------------------


def _fill(plan, path, truth, shift_holdout=0.0, seed=3, blank=0):
    rng = np.random.default_rng(seed)
    lines = plan.runs_csv().splitlines()
    out = lines[:2]
    for k, ln in enumerate(lines[2:]):
        f = ln.split(",")
        n, d, hold = float(f[0]), float(f[1]), f[6] == "1"
        loss = lawmath.loss(truth, [n], [d])[0, 0] * math.exp(0.0076 * rng.standard_normal())
        if hold:
            loss *= math.exp(shift_holdout)
        out.append(ln + ("" if k < blank else f"{loss:.6f}"))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def test_review_passes_a_ladder_the_law_explains(small_plan, tmp_path):
    truth = np.array([[1.85, 500.0, 2500.0, 0.35, 0.36]])
    p = _fill(small_plan, tmp_path / "runs.csv", truth, blank=1)
    r = review_ladder(p, Target(compute_flops=C_SMALL), bootstrap=60).to_dict()
    assert r["n_without_loss"] == 1 and r["n_runs"] == len(small_plan.runs) - 1
    assert r["holdout"]["passes"] and r["holdout"]["rule"].startswith("the runs marked")
    pr = r["predicted"]
    assert pr["params_opt_p10"] <= pr["params_opt_p50"] <= pr["params_opt_p90"]
    true_n = lawmath.optimum(truth, C_SMALL)[0][0]
    assert pr["params_opt_p10"] / 2 < true_n < pr["params_opt_p90"] * 2
    assert r["extension"]["value_usd"] >= 0 and "worth_buying" in r


def test_review_flags_a_missed_holdout(small_plan, tmp_path):
    truth = np.array([[1.85, 500.0, 2500.0, 0.35, 0.36]])
    # this 13-run ladder predicts its held-out run to about 3% (sd): miss it by 15%
    p = _fill(small_plan, tmp_path / "runs.csv", truth, shift_holdout=0.15)
    r = review_ladder(p, Target(compute_flops=C_SMALL), bootstrap=60)
    assert not r.holdout["passes"] and r.worth_buying
    assert r.recommendation.startswith("buy more runs") and "held-out" in r.recommendation


def test_cli_plan_write_runs_then_results(tmp_path, capsys):
    csv_path = tmp_path / "ladder.csv"
    argv = ["ladder", "--target-compute", "1e23", "--budget-usd", "3000", "--simulations", "20",
            "--no-curve", "--fidelity-checks", "0", "--quiet", "--json", "--write-runs",
            str(csv_path), "--hardware", "a100-80gb", "--gpus", "64"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("runs", "total_cost_usd", "assumed_loss_noise", "design", "predicted"):
        assert key in d
    for k in ("params_opt", "tokens_opt", "loss_at_target"):
        for q in ("p10", "p50", "p90"):
            assert isinstance(d["predicted"][f"{k}_{q}"], float)
    assert d["total_cost_usd"] <= 3000 and d["hardware"]["hardware"] == "a100-80gb"
    assert all(r["gpus"] <= 64 for r in d["runs"])
    truth = np.array([[1.85, 500.0, 2500.0, 0.35, 0.36]])

    class _P:  # the written file is the plan's runs_csv
        def runs_csv(self):
            return csv_path.read_text(encoding="utf-8")

    _fill(_P(), csv_path, truth)
    assert main(["ladder", "--target-compute", "1e23", "--results", str(csv_path),
                 "--bootstrap", "40", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["holdout"]["n_holdout"] == 1 and r["recommendation"]


# -------------------------------------------------------------------------------------------
# Bad input: one clear error naming the flag, exit 2
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, flag", [
    (["--target-compute", "1e24", "--ladder-budget-usd", "5"], "--ladder-budget-usd"),
    (["--target-loss", "1.7", "--budget-usd", "2e4"], "--target-loss"),
    (["--target-compute", "1e19", "--ladder-budget-usd", "1e3"], "--min-params"),
    (["--target-compute", "1e24"], "--ladder-budget-usd"),
    (["--ladder-budget-usd", "1e4"], "--target-compute"),
    (["--target-compute", "1e24", "--ladder-budget-usd", "1e4", "--law", "kaplan-2020"],
     "--law"),
    (["--target-compute", "1e24", "--ladder-budget-usd", "1e4", "--loss-noise", "3"],
     "--loss-noise"),
    (["--target-compute", "1e24", "--ladder-budget-usd", "1e4", "--simulations", "5"],
     "--simulations"),
    (["--budget-usd", "1", "--ladder-budget-usd", "1e4"], "--budget-usd"),
    (["--target-compute", "1e24", "--ladder-budget-usd", "nope"], "--ladder-budget-usd"),
])
def test_cli_errors(argv, flag, capsys):
    try:
        code = main(["ladder", *argv, "--quiet"])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err
    assert "internal error" not in err and "Traceback" not in err


def test_budget_too_small_names_the_cheapest_ladder():
    with pytest.raises(InputError) as e:
        plan_ladder(Target(compute_flops=1e24), 5, families=SMALL)
    assert e.value.field == "ladder_budget_usd" and "the cheapest" in str(e.value)
    need = float(e.value.expected.split()[-1])
    plan = plan_ladder(Target(compute_flops=1e24), math.ceil(need), families=SMALL,
                       simulations=20, curve=False, fidelity_checks=0)
    assert plan.total_cost_usd <= math.ceil(need)
