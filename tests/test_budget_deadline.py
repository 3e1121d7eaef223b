"""Budget and deadline targets (issue 14), checked against the run model independently.

The engine solves a budget or a deadline by bisection on compute and a search over the model
size at the same spend (``estimator.targets``). These tests do not reuse that search: they
price plans with stage 2 directly (``training_stage``), perturb the model size at the same
spend by their own fixed-point iteration, and scan GPU counts one by one.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from estimator.allocation import Allocation
from estimator.catalogue import resolve
from estimator.cli import main
from estimator.engine import estimate
from estimator.errors import InputError
from estimator.plan import law_for, model_shape_of, target_allocation
from estimator.report import describe_target
from estimator.scenario import FIELDS, MODES, Scenario, load_scenario, save_scenario
from estimator.training.stage import training_stage

CAT = resolve(None, None)


def _law_profile(s: Scenario):
    return law_for(s, CAT.law(s.law)), CAT.profile(s.hardware)


def _run(s: Scenario, n: float, d: float):
    """Stage 2 of the plan (N, D) on the scenario's cluster (the independent pricing)."""
    law, prof = _law_profile(s)
    a = Allocation(params=n, tokens=d, train_flops=6.0 * n * d, loss=float(law.loss(n, d)))
    return training_stage(s, a, model_shape_of(s, n), prof)


def _cost(s: Scenario, n: float, d: float) -> float:
    r = _run(s, n, d)
    return r.gpu_hours * r.price_usd_per_hour


def _days(s: Scenario, n: float, d: float) -> float:
    return _run(s, n, d).wall_clock_days


def _tokens_at_same(measure, s, n, d0, limit):
    """Tokens of size n whose run measures ``limit`` (fixed point: linear in the tokens)."""
    d = d0
    for _ in range(8):
        d *= limit / measure(s, n, d)
    return d


def _unspent(est) -> list[str]:
    return [w for w in est.warnings if "left unspent" in w or "left unused" in w]


# --------------------------------------------------------------------------------------
# Declared once
# --------------------------------------------------------------------------------------


def test_fields_and_modes_are_declared_once():
    assert {"budget", "deadline"} <= set(MODES)
    for name, flag, unit in (("budget_usd", "--budget-usd", "USD"),
                             ("deadline_days", "--deadline-days", "days")):
        spec = FIELDS[name]
        assert spec.group == "target" and spec.flag == flag and spec.unit == unit
        assert spec.label and spec.help and spec.hint and spec.optional
    # the budget parses SI suffixes as the other count fields do
    from estimator.fields import parse_text
    assert parse_text(FIELDS["budget_usd"], "10M") == 1e7
    assert parse_text(FIELDS["budget_usd"], "$2.5B") == 2.5e9


def test_scenario_yaml_round_trip(tmp_path):
    for s in (Scenario(mode="budget", budget_usd=1e7, optimize="lifetime"),
              Scenario(mode="deadline", deadline_days=60.0, gpus=2048),
              Scenario(mode="loss", target_loss=2.0, deadline_days=30.0)):
        path = tmp_path / "s.yaml"
        save_scenario(s, path)
        assert load_scenario(path) == s
    # the budget only shows in its mode; a deadline whenever it is set
    assert "budget_usd" not in Scenario(budget_usd=1e7).relevant()
    assert "deadline_days" not in Scenario().relevant()
    assert Scenario(mode="loss", target_loss=2.0, deadline_days=30.0).relevant()[
        "deadline_days"] == 30.0


def test_describe_target():
    est = estimate(Scenario(mode="budget", budget_usd=1e7), with_uncertainty=False)
    assert describe_target(est.scenario, est) == \
        "the lowest loss for $10 M of training on 1,024 H100 SXM5 80GB"
    s = Scenario(mode="deadline", deadline_days=60.0, gpus=2048)
    assert describe_target(s) == "the lowest loss that finishes in 60 days on 2,048 h100-sxm"
    est = estimate(Scenario(mode="loss", target_loss=2.0, deadline_days=30.0),
                   with_uncertainty=False)
    assert describe_target(est.scenario, est).endswith(
        f"finish in 30 days on the fewest GPUs: {est.gpus_needed:,} H100 SXM5 80GB needed")


# --------------------------------------------------------------------------------------
# Budget
# --------------------------------------------------------------------------------------

BUDGET_CASES = [
    dict(budget_usd=1e6),
    dict(budget_usd=1e7),
    dict(budget_usd=1e8, hardware="b200"),
    dict(budget_usd=3e7, hardware="mi300x", gpus=512),
]


@pytest.mark.parametrize("kw", BUDGET_CASES)
def test_budget_plan_spends_the_budget_within_one_percent(kw):
    s = Scenario(mode="budget", **kw)
    est = estimate(s, with_uncertainty=False)
    b = kw["budget_usd"]
    assert 0.99 * b <= est.cost_usd <= b
    # independently priced: the plan's own run costs what the estimate says
    assert _cost(s, est.params, est.tokens) == pytest.approx(est.cost_usd, rel=1e-9)
    assert not _unspent(est)
    assert est.target["spent_usd"] == est.cost_usd and est.target["budget_usd"] == b


@pytest.mark.parametrize("kw", BUDGET_CASES[:3])
def test_no_plan_of_the_same_spend_has_a_lower_loss(kw):
    s = Scenario(mode="budget", **kw)
    est = estimate(s, with_uncertainty=False)
    law, _ = _law_profile(s)
    spend = est.cost_usd
    for f in (0.5, 0.7, 0.85, 0.93, 0.97, 0.99, 1.01, 1.03, 1.07, 1.15, 1.4, 2.0):
        n = est.params * f
        d = _tokens_at_same(_cost, s, n, est.tokens / f, spend)
        assert _cost(s, n, d) == pytest.approx(spend, rel=1e-6)
        assert float(law.loss(n, d)) >= est.loss - 1e-9, f"N x {f} is better"
    # and a plan of 1% more spend (the same size, 1% more tokens) costs more than the budget
    assert _cost(s, est.params, est.tokens * 1.01) > kw["budget_usd"]


def test_a_layout_step_leaves_budget_unspent_with_a_warning():
    # at 20 tokens per parameter the model grows with the budget and the run model's cost
    # steps up by ~6% near $13 M (a larger layout): the plan stops below the step
    s = Scenario(mode="budget", budget_usd=1.31e7, tokens_per_param=20.0)
    est = estimate(s, with_uncertainty=False)
    assert est.tokens / est.params == pytest.approx(20.0)
    assert est.cost_usd <= 1.31e7
    assert est.cost_usd < 0.99 * 1.31e7
    (w,) = _unspent(est)
    left = 1.31e7 - est.cost_usd
    assert "step" in w and f"({left / 1.31e7:.1%})" in w
    # the step is real: a 0.1% larger plan at the same ratio costs more than the budget
    n = est.params * math.sqrt(1.001)
    assert _cost(s, n, 20.0 * n) > 1.31e7


def test_budget_respects_the_constraints():
    fixed = estimate(Scenario(mode="budget", budget_usd=5e6, params=30e9),
                     with_uncertainty=False)
    assert fixed.params == 30e9 and 0.99 * 5e6 <= fixed.cost_usd <= 5e6
    ratio = estimate(Scenario(mode="budget", budget_usd=5e6, tokens_per_param=100.0),
                     with_uncertainty=False)
    assert ratio.tokens / ratio.params == pytest.approx(100.0)
    assert ratio.cost_usd <= 5e6
    # limited unique data: the plan repeats it, valued as every other plan does
    data = estimate(Scenario(mode="budget", budget_usd=5e7, unique_tokens=1e12),
                    with_uncertainty=False)
    assert data.tokens > 1e12 and data.epochs == pytest.approx(data.tokens / 1e12)
    assert 0.99 * 5e7 <= data.cost_usd <= 5e7


def test_budget_with_lifetime_covers_training_and_serving():
    b = 2e7
    s = Scenario(mode="budget", budget_usd=b, optimize="lifetime",
                 inference_tokens_per_day=1e10)
    est = estimate(s, with_uncertainty=False)
    assert 0.99 * b <= est.lifetime_total_cost_usd <= b
    assert est.lifetime_total_cost_usd == pytest.approx(
        est.cost_usd + est.lifetime_inference_cost_usd)
    assert est.target["covers"] == "training + lifetime serving"
    # serving takes a share: the training alone spends less than on a training-only budget
    train_only = estimate(replace(s, optimize="compute"), with_uncertainty=False)
    assert est.cost_usd < train_only.cost_usd
    assert est.loss > train_only.loss


# --------------------------------------------------------------------------------------
# Deadline
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [dict(deadline_days=60.0, gpus=2048),
                                dict(deadline_days=20.0, gpus=256, hardware="h200")])
def test_deadline_plan_finishes_in_time_and_a_larger_one_does_not(kw):
    s = Scenario(mode="deadline", **kw)
    est = estimate(s, with_uncertainty=False)
    t = kw["deadline_days"]
    assert 0.99 * t <= est.wall_clock_days <= t
    assert _days(s, est.params, est.tokens) == pytest.approx(est.wall_clock_days, rel=1e-9)
    assert _days(s, est.params, est.tokens * 1.01) > t  # 1% more training does not fit
    assert est.gpus == kw["gpus"]
    law, _ = _law_profile(s)
    for f in (0.7, 0.9, 1.1, 1.4):  # no plan that takes as long reaches a lower loss
        n = est.params * f
        d = _tokens_at_same(_days, s, n, est.tokens / f, est.wall_clock_days)
        assert float(law.loss(n, d)) >= est.loss - 1e-9


@pytest.mark.parametrize("t", [60.0, 30.0])
def test_gpus_needed_is_the_least_count_that_meets_the_deadline(t):
    s = Scenario(mode="loss", target_loss=2.0, deadline_days=t)
    est = estimate(s, with_uncertainty=False)
    k = est.gpus_needed
    assert est.gpus == k and est.wall_clock_days <= t
    law, prof = _law_profile(s)
    a = target_allocation(s, law)
    shape = model_shape_of(s, a.params)

    def days(n):
        try:
            return training_stage(replace(s, gpus=n), a, shape, prof).wall_clock_days
        except InputError:  # fits on no layout of n GPUs
            return math.inf

    assert days(k) == pytest.approx(est.wall_clock_days)
    # clusters are whole 8-GPU nodes: every smaller whole-node count down to half of it misses
    # the deadline (one node fewer included)
    assert k % 8 == 0
    assert all(days(n) > t for n in range(k // 2 // 8 * 8, k, 8))
    assert est.to_dict()["gpus_needed"] == k


def test_gpus_needed_with_a_given_model_and_the_json():
    s = Scenario(mode="model", params=7e9, tokens=2e12, deadline_days=7.0)
    d = estimate(s, with_uncertainty=False).to_dict()
    assert d["gpus_needed"] == d["gpus"] and d["wall_clock_days"] <= 7.0
    assert d["target"]["gpus_needed"] == d["gpus"]
    # absent (not null) where no deadline asks for it
    assert "gpus_needed" not in estimate(Scenario(), with_uncertainty=False).to_dict()


# --------------------------------------------------------------------------------------
# Mixture of experts
# --------------------------------------------------------------------------------------


def test_mixture_of_experts_with_both_targets():
    moe = dict(n_experts=64, experts_per_token=6, shared_experts=2)
    b = estimate(Scenario(mode="budget", budget_usd=5e6, **moe), with_uncertainty=False)
    assert 0.99 * 5e6 <= b.cost_usd <= 5e6
    assert b.total_params > 5 * b.params  # the law's N is the active size
    fixed = estimate(Scenario(mode="budget", budget_usd=5e6, active_params=3e9, **moe),
                     with_uncertainty=False)
    assert fixed.params == 3e9 and 0.99 * 5e6 <= fixed.cost_usd <= 5e6
    d = estimate(Scenario(mode="deadline", deadline_days=30.0, gpus=512, **moe),
                 with_uncertainty=False)
    assert 0.99 * 30.0 <= d.wall_clock_days <= 30.0
    s = Scenario(mode="deadline", deadline_days=30.0, gpus=512, **moe)
    assert _days(s, d.params, d.tokens * 1.01) > 30.0


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-5.0, 0.0])
def test_negative_or_zero_budget(value):
    with pytest.raises(InputError) as info:
        estimate(Scenario(mode="budget", budget_usd=value))
    e = info.value
    assert e.field == "budget_usd" and e.value == value and e.expected and e.hint


def test_budget_too_small_for_any_model():
    with pytest.raises(InputError) as info:
        estimate(Scenario(mode="budget", budget_usd=0.01))
    e = info.value
    assert e.field == "budget_usd" and e.value == 0.01 and e.hint
    need = float(e.expected.split("$")[1].split()[0])
    assert need > 0.01 and "too small" in str(e) and "smallest" in str(e)
    with pytest.raises(InputError) as info:
        estimate(Scenario(mode="budget", budget_usd=5.0, optimize="lifetime"))
    assert info.value.field == "budget_usd" and "serve" in str(info.value)


def test_impossible_deadline_names_the_shortest_time_and_its_gpus():
    with pytest.raises(InputError) as info:
        estimate(Scenario(mode="loss", target_loss=1.9, deadline_days=1.0))
    e = info.value
    assert e.field == "deadline_days" and e.value == 1.0 and e.hint
    shortest = float(e.expected.split()[2])
    assert shortest > 1.0
    gpus = int(str(e).split(" GPUs (")[0].rsplit(" ", 1)[1].replace(",", ""))
    s = Scenario(mode="loss", target_loss=1.9, gpus=gpus)
    # the named count gives the named time, and it is the fastest of its neighbours
    at = estimate(s, with_uncertainty=False).wall_clock_days
    assert at == pytest.approx(shortest, rel=2e-3)
    for n in (gpus // 2, gpus * 2):
        assert estimate(replace(s, gpus=n), with_uncertainty=False).wall_clock_days >= at


def test_deadline_too_short_for_any_model_and_other_conflicts():
    with pytest.raises(InputError) as info:
        estimate(Scenario(mode="deadline", deadline_days=1e-6, gpus=8))
    assert info.value.field == "deadline_days" and "too short" in str(info.value)
    with pytest.raises(InputError) as info:
        Scenario(mode="budget", budget_usd=1e6, deadline_days=30.0).validated()
    assert info.value.field == "deadline_days" and info.value.hint
    with pytest.raises(InputError) as info:
        Scenario(mode="deadline", deadline_days=30.0, optimize="lifetime").validated()
    assert info.value.field == "optimize"
    with pytest.raises(InputError) as info:
        Scenario(mode="deadline").validated()
    assert info.value.field == "deadline_days"


# --------------------------------------------------------------------------------------
# The command line, end to end
# --------------------------------------------------------------------------------------


def _json(capsys, *argv):
    assert main(["estimate", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_budget_and_deadline_json(capsys):
    d = _json(capsys, "--budget-usd", "10M")
    assert d["inputs"]["mode"] == "budget" and d["inputs"]["budget_usd"] == 1e7
    assert 0.99e7 <= d["cost_usd"] <= 1e7 and d["target"]["spent_usd"] == d["cost_usd"]
    d = _json(capsys, "--deadline-days", "60", "--gpus", "2048")
    assert d["inputs"]["mode"] == "deadline" and d["gpus"] == 2048
    assert d["wall_clock_days"] <= 60.0 and d["target"]["deadline_days"] == 60.0
    d = _json(capsys, "--target-loss", "2.0", "--deadline-days", "30")
    assert d["inputs"]["mode"] == "loss" and d["gpus"] == d["gpus_needed"]
    assert d["wall_clock_days"] <= 30.0
    assert main(["estimate", "--budget-usd", "10M"]) == 0
    out = capsys.readouterr().out
    assert "Target: the lowest loss for $10 M of training on 1,024 H100 SXM5 80GB" in out


@pytest.mark.parametrize("argv, flag", [
    (["--budget-usd", "-5"], "--budget-usd"),
    (["--budget-usd", "0"], "--budget-usd"),
    (["--budget-usd", "0.01"], "--budget-usd"),
    (["--target-loss", "1.9", "--deadline-days", "1"], "--deadline-days"),
    (["--deadline-days", "0.000001", "--gpus", "8"], "--deadline-days"),
    (["--target-loss", "2", "--deadline-days", "30", "--gpus", "64"], "--gpus"),
    (["--budget-usd", "1M", "--deadline-days", "30"], "--deadline-days"),
])
def test_cli_errors_name_the_flag(capsys, argv, flag):
    assert main(["estimate", *argv]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("estimator: error:") and flag in err


def test_a_budget_beyond_the_largest_model_that_fits_says_so():
    est = estimate(Scenario(mode="budget", budget_usd=1e10, gpus=8), with_uncertainty=False)
    assert 0.99e10 <= est.cost_usd <= 1e10
    (w,) = [w for w in est.warnings if "largest model that fits on 8 GPUs" in w]
    # the model is capped by memory: a 20% larger one fits on no layout of 8 GPUs
    with pytest.raises(InputError):
        _run(Scenario(gpus=8), est.params * 1.2, est.tokens)


def test_compare_plans_the_budget_on_every_chip():
    from estimator.engine import compare

    rows = compare(Scenario(mode="budget", budget_usd=2e6), with_uncertainty=False)
    assert len(rows) > 5
    for e in rows:
        assert 0.99 * 2e6 <= e.cost_usd <= 2e6 or _unspent(e), e.hardware
    assert len({round(e.loss, 6) for e in rows}) > 1  # each chip buys its own plan


def test_markdown_report_states_the_target_and_how_chips_compare():
    from estimator.report import report_markdown

    s = Scenario(mode="loss", target_loss=2.0, deadline_days=30.0)
    est = estimate(s, with_uncertainty=False)
    text = report_markdown(s, est, [], date="2026-12-02")
    assert f"{est.gpus_needed:,} H100 SXM5 80GB needed" in text
    assert f"| GPUs needed | {est.gpus_needed:,} |" in text
