"""Break-even: cost lines from the engine's own numbers, crossings in closed form checked by
evaluating the lines, and rent-or-own against an independent hand computation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from estimator.breakeven import HOURS_PER_YEAR, break_even, cheapest_lines, rent_or_own
from estimator.catalogue import default_catalogue
from estimator.engine import compare, estimate
from estimator.errors import InputError
from estimator.scenario import Scenario

REL = 1e-9


@pytest.fixture(scope="module")
def cat():
    return default_catalogue()


@pytest.fixture(scope="module")
def case(cat):
    s = Scenario()
    return s, estimate(s, catalogue=cat), compare(s, catalogue=cat)


def test_each_line_ends_at_the_engines_lifetime_total(case):
    _s, e, comp = case
    b = break_even(comp, plan_hardware=e.hardware)
    by_id = {x.hardware: x for x in comp}
    assert b.baseline_x == e.lifetime_inference_tokens
    for ln in b.lines:
        est = by_id[ln.key]
        assert ln.fixed_usd == est.cost_usd
        assert ln.cost_at(est.lifetime_inference_tokens) == pytest.approx(
            est.lifetime_total_cost_usd, rel=REL)
    assert [ln.key for ln in b.lines if ln.is_plan] == [e.hardware]
    assert b.y.shape == (len(b.lines), len(b.x)) and b.x[0] == 0.0


def test_crossings_are_where_the_lines_meet(case):
    _s, e, comp = case
    b = break_even(comp, plan_hardware=e.hardware)
    assert len(b.crossings) > 10, "19 chips of different price and speed cross"
    for c in b.crossings:
        a, bb = b.line(c.a), b.line(c.b)
        assert a.cost_at(c.x) == pytest.approx(bb.cost_at(c.x), rel=1e-9)
        assert c.cost_usd == pytest.approx(a.cost_at(c.x), rel=1e-9)
        lo, hi = c.x * 0.99, c.x * 1.01
        cheaper = {c.a: a, c.b: bb}
        assert cheaper[c.cheaper_before].cost_at(lo) < cheaper[c.cheaper_after].cost_at(lo)
        assert cheaper[c.cheaper_after].cost_at(hi) < cheaper[c.cheaper_before].cost_at(hi)
    xs = [c.x for c in b.crossings]
    assert xs == sorted(xs)


def test_switches_follow_the_cheapest_line(case):
    _s, e, comp = case
    b = break_even(comp, plan_hardware=e.hardware, tokens_max=1e15)
    grid = np.geomspace(1e6, 1e15, 400)
    cheapest = [b.cheapest_at(t).key for t in grid]
    changes = sum(1 for u, v in zip(cheapest, cheapest[1:], strict=False) if u != v)
    inside = [c for c in b.switches if grid[0] < c.x < grid[-1]]
    assert changes == len(inside)


def test_lower_envelope_is_the_lines_that_are_ever_cheapest(case):
    _s, e, comp = case
    t_max = 4 * e.lifetime_inference_tokens
    env = cheapest_lines(comp, t_max)
    grid = np.linspace(0, t_max, 2001)
    lines = break_even(comp, plan_hardware=e.hardware).lines
    best = {min(lines, key=lambda ln: ln.cost_at(t)).key for t in grid}
    assert {x.hardware for x in env} == best


def test_two_lines_needed(case):
    _s, e, _comp = case
    with pytest.raises(InputError):
        break_even([e])


def test_rent_or_own_against_a_hand_computation(case, cat):
    _s, e, _comp = case
    purchase, years, kwh = 30_000.0, 4.0, 0.10  # test inputs, not defaults
    r = rent_or_own(e, purchase_usd_per_chip=purchase, depreciation_years=years,
                    usd_per_kwh=kwh, catalogue=cat)
    watts = cat.profile(e.hardware).power_w
    power_h = watts / 1000 * e.scenario.pue * kwh
    u = (purchase / years) / (8760 * (e.price_usd_per_hour - power_h))
    assert r.break_even_occupancy == pytest.approx(u, rel=REL)
    rent, own = r.line("rent"), r.line("own")
    assert rent.cost_at(u) == pytest.approx(own.cost_at(u), rel=REL)
    assert rent.cost_at(1.0) == pytest.approx(e.gpus * 8760 * e.price_usd_per_hour, rel=REL)
    assert own.cost_at(0.0) == pytest.approx(e.gpus * purchase / years, rel=REL)
    assert r.owned_usd_per_gpu_hour(u) == pytest.approx(e.price_usd_per_hour, rel=REL)
    assert r.payback_years_at_full_use == pytest.approx(
        purchase / (HOURS_PER_YEAR * (e.price_usd_per_hour - power_h)), rel=REL)
    (c,) = r.crossings
    assert (c.cheaper_before, c.cheaper_after) == ("rent", "own")
    assert r.runs_per_year_to_break_even == pytest.approx(u * 365 / e.wall_clock_days, rel=REL)
    d = r.to_dict()  # chart data: plain numbers and labels with units
    assert d["break_even_occupancy"] == r.break_even_occupancy and d["x_unit"] == "fraction"
    assert json.loads(json.dumps(d))["lines"][1]["key"] == "own"


def test_rent_or_own_when_renting_always_wins(case, cat):
    _s, e, _comp = case
    r = rent_or_own(e, purchase_usd_per_chip=1e6, depreciation_years=1, usd_per_kwh=0.1,
                    catalogue=cat)
    assert r.break_even_occupancy is None and r.crossings == ()
    assert any("renting is cheaper" in n for n in r.notes)


@pytest.mark.parametrize("field, value", [("purchase_usd_per_chip", 0),
                                          ("depreciation_years", -1),
                                          ("usd_per_kwh", math.nan),
                                          ("chips", 0)])
def test_rent_or_own_inputs_are_checked(case, cat, field, value):
    _s, e, _comp = case
    kwargs = dict(purchase_usd_per_chip=30_000, depreciation_years=4, usd_per_kwh=0.1)
    kwargs[field] = value
    with pytest.raises(InputError) as err:
        rent_or_own(e, catalogue=cat, **kwargs)
    assert err.value.field == field
