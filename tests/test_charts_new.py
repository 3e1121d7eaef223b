"""The planning charts (gpus, serving, moe, tornado, breakeven): their Qt-free data reproduce the
engine's own numbers at the plan and the closed forms they are drawn from; the widgets hold that
data; ``estimator chart --table`` writes it. Pictures (SVG/PDF against PNG) are in
tests/test_exports.py, which covers every kind of CHART_KINDS."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from estimator import chart_data as cd
from estimator.engine import compare, estimate
from estimator.laws import get_law
from estimator.scenario import Scenario
from estimator.serving.plan import BOUND_LABELS

NEW_KINDS = ("gpus", "serving", "moe", "tornado", "breakeven")


@pytest.fixture(scope="module")
def base():
    s = Scenario(name="Q3 plan").validated()
    return s, estimate(s)


@pytest.fixture(scope="module")
def targets():
    """A plan with latency targets that bind (TPOT 30 ms)."""
    s = Scenario(tpot_ms=30.0).validated()
    return s, estimate(s)


@pytest.fixture(scope="module")
def moe_plan():
    """A planned Switch-style MoE (E = 8, top-1) under the joint law, at a target loss."""
    s = Scenario(mode="loss", target_loss=2.2, match_params=None, match_tokens=None,
                 law="ludziejewski-2025", n_experts=8, experts_per_token=1).validated()
    return s, estimate(s)


@pytest.fixture(scope="module")
def sweep(base):
    return cd.gpu_sweep(base[1])


# -- days and cost vs GPUs -------------------------------------------------------------------


def test_gpu_sweep_reproduces_the_plan_at_its_own_count(base, sweep):
    _s, e = base
    i = int(np.flatnonzero(sweep.gpus == e.gpus)[0])
    assert sweep.fits[i]
    assert sweep.wall_clock_days[i] == pytest.approx(e.wall_clock_days, rel=1e-9)
    assert sweep.cost_usd[i] == pytest.approx(e.cost_usd, rel=1e-9)
    assert sweep.gpu_hours[i] == pytest.approx(e.gpu_hours, rel=1e-9)
    assert sweep.max_useful_gpus == e.max_useful_gpus
    assert sweep.min_gpus_for_memory == e.min_gpus_for_memory


def test_gpu_sweep_counts_and_units(sweep):
    g = sweep.gpus
    assert {sweep.plan_gpus, sweep.max_useful_gpus, sweep.min_gpus_for_memory} <= set(g.tolist())
    assert g.min() == sweep.min_gpus_for_memory and g.max() >= 2 * sweep.max_useful_gpus
    ok = sweep.fits
    # wall-clock is paid GPU-hours spread over the GPUs; dollars are hours x price
    np.testing.assert_allclose(sweep.wall_clock_days[ok] * 24 * g[ok], sweep.gpu_hours[ok],
                               rtol=1e-12)
    np.testing.assert_allclose(sweep.cost_usd[ok], sweep.gpu_hours[ok] * sweep.price_usd_per_hour,
                               rtol=1e-12)
    rows = sweep.rows()
    assert [r["beyond_useful_batch"] for r in rows] == [int(n) > sweep.max_useful_gpus for n in g]
    assert sum(r["is_plan"] for r in rows) == 1


def test_below_the_memory_floor_nothing_fits(base):
    _s, e = base
    floor = e.min_gpus_for_memory
    sw = cd.gpu_sweep(e, gpu_counts=[max(1, floor // 2), floor])
    assert list(sw.fits) == [False, True]
    assert math.isnan(sw.wall_clock_days[0]) and sw.rows()[0]["wall_clock_days"] is None


def test_gpu_counts_grid():
    g = cd.gpu_counts_for(1024, 16, 69536)
    assert g[0] == 16 and 1024 in g and 69536 in g and 2 * 69536 <= g[-1] <= 4 * 69536
    assert np.all(np.diff(g) > 0)
    ratios = g[1:] / g[:-1]
    assert ratios.max() <= 1.5 * 1.01  # two steps per doubling: x1.5 then x1.33
    # every count but the ceiling is whole scale-up domains of 8, as clusters are built
    assert np.all(g[g != 69536] % 8 == 0)
    small = cd.gpu_counts_for(4, 1, 16)
    assert list(small[:4]) == [1, 2, 4, 8]  # powers of two below one domain


# -- serving ---------------------------------------------------------------------------------


def test_serving_sweep_reproduces_the_plan_at_the_chosen_batch(base):
    _s, e = base
    d = cd.serving_sweep(e)
    j = int(np.flatnonzero(d.batch == d.chosen_batch)[0])
    assert d.chosen_batch == e.serving_batch
    assert d.chips_per_replica == e.serving_chips_per_replica
    assert d.output_tokens_per_s_per_chip[j] == pytest.approx(
        e.serving_output_tokens_per_s_per_chip, rel=1e-9)
    assert d.cost_per_million_output_tokens_usd[j] == pytest.approx(
        e.cost_per_million_output_tokens_usd, rel=1e-9)
    assert d.cost_per_million_input_tokens_usd[j] == pytest.approx(
        e.cost_per_million_input_tokens_usd, rel=1e-9)
    np.testing.assert_allclose(d.tokens_per_s_per_user, 1.0 / d.tpot_s, rtol=1e-12)
    assert d.bound == e.serving_bound and d.bound_label == BOUND_LABELS[e.serving_bound]
    assert d.batch.max() <= min(d.kv_capacity_batch, d.max_batch)
    assert d.meets_targets.all()  # no targets: every batch that fits is allowed


def test_under_a_tpot_target_the_chosen_batch_is_the_largest_that_meets_it(targets):
    s, e = targets
    d = cd.serving_sweep(e)
    assert d.tpot_target_s == pytest.approx(0.030)
    np.testing.assert_array_equal(d.meets_targets, d.tpot_s <= 0.030 * (1 + 1e-12))
    assert e.serving_bound == "tpot_target"
    assert d.meets_targets[d.batch == d.chosen_batch].all()
    assert not d.meets_targets[d.batch > d.chosen_batch].any()
    assert d.meets_targets[d.batch < d.chosen_batch].all()  # TPOT grows with the batch


# -- mixture of experts ----------------------------------------------------------------------


def test_moe_trade_for_a_dense_plan_under_another_law(base):
    _s, e = base
    m = cd.moe_tradeoff(e)
    joint = get_law("ludziejewski-2025")
    assert not m.plan_on_law and m.law_id == "ludziejewski-2025"
    assert m.train_flops[0] == pytest.approx(e.train_flops_6nd, rel=1e-9)  # E = 1: the plan's C
    assert m.total_params[0] == pytest.approx(m.active_params[0], rel=1e-12)
    for i, ex in enumerate(m.experts):
        # every point reaches the same loss: eq. 6 of the paper evaluated directly
        loss = joint.loss_joint(m.active_params[i], m.tokens[i], ex)
        assert loss == pytest.approx(m.target_loss, rel=1e-9)
        # and is compute-optimal: moving along its iso-FLOP raises the loss
        for f in (0.97, 1.03):
            n = m.active_params[i] * f
            assert joint.loss_joint(n, m.train_flops[i] / (6 * n), ex) > loss
    assert np.all(np.diff(m.train_flops) < 0)  # more experts: less compute ...
    assert np.all(np.diff(m.total_params) > 0)  # ... and more memory
    np.testing.assert_allclose(m.weights_gb, m.total_params * 2 / 1e9)
    np.testing.assert_allclose(m.cost_usd, m.train_flops * e.cost_usd / e.train_flops_6nd)
    assert list(m.in_fitted_range) == [x <= 32 for x in m.experts]


def test_moe_plan_under_the_joint_law_sits_on_its_trade(moe_plan):
    _s, e = moe_plan
    m = cd.moe_tradeoff(e)
    assert m.plan_on_law and m.target_loss == pytest.approx(e.loss, rel=1e-12)
    i = int(np.flatnonzero(m.experts == 8)[0])
    assert e.total_params > 2 * e.params  # a real MoE: total and active differ
    assert m.active_params[i] == pytest.approx(e.params, rel=1e-6)
    assert m.total_params[i] == pytest.approx(e.total_params, rel=1e-6)
    assert m.train_flops[i] == pytest.approx(e.train_flops_6nd, rel=1e-6)


# -- sensitivity and break-even -------------------------------------------------------------


def test_tornado_rows_biggest_swing_first(base):
    _s, e = base
    rows = cd.table("tornado", e)
    key = next(k for k in rows[0] if k.startswith("swing_"))
    swings = [r[key] for r in rows]
    assert swings == sorted(swings, reverse=True) and len(rows) >= 4


def test_break_even_lines_cross_where_the_closed_form_says(base):
    _s, e = base
    be = cd.plan_break_even(e, hardware=("h200",))
    assert {"h100-sxm", "h200"} <= {ln.key for ln in be.lines}
    assert sum(ln.is_plan for ln in be.lines) == 1
    by = {x.hardware: x for x in compare(e.scenario)}
    for ln in be.lines:  # each line ends at the engine's lifetime total at the plan's demand
        assert ln.cost_at(e.lifetime_inference_tokens) == pytest.approx(
            by[ln.key].lifetime_total_cost_usd, rel=1e-9)
    h, g = be.line("h100-sxm"), be.line("h200")
    x = (g.fixed_usd - h.fixed_usd) / (h.usd_per_x - g.usd_per_x)
    cross = next(c for c in be.crossings if {c.a, c.b} == {"h100-sxm", "h200"})
    assert cross.x == pytest.approx(x, rel=1e-12)
    assert h.cost_at(cross.x) == pytest.approx(g.cost_at(cross.x), rel=1e-12)
    # without asking, there is still more than one line (the chart needs lines to compare)
    assert len(cd.plan_break_even(e).lines) >= 2


def test_tables_as_csv(base, sweep):
    text = cd.table_csv(sweep.rows())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(sweep.gpus)
    plan = next(r for r in rows if r["is_plan"] == "True")
    assert float(plan["wall_clock_days"]) == pytest.approx(base[1].wall_clock_days, rel=1e-12)
    assert rows[0]["gpus"] == str(sweep.gpus[0])
    with pytest.raises(Exception, match="has no table"):
        cd.table("frontier", base[1])


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_table_without_qt_and_its_errors(tmp_path, capsys, base):
    from estimator.cli import main

    out = tmp_path / "g.csv"
    assert main(["chart", "--kind", "gpus", "--table", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    plan = next(r for r in rows if r["is_plan"] == "True")
    assert int(plan["gpus"]) == base[1].gpus
    assert float(plan["cost_usd"]) == pytest.approx(base[1].cost_usd, rel=1e-12)
    capsys.readouterr()
    assert main(["chart", "frontier", "--table", str(tmp_path / "f.csv")]) == 2
    assert "has no table" in capsys.readouterr().err
    assert main(["chart", "gpus", "--kind", "moe", "--table", str(out)]) == 2
    assert "two chart kinds" in capsys.readouterr().err
    assert main(["chart", "gpus"]) == 2
    assert "--table" in capsys.readouterr().err
    assert main(["chart", "breakeven", "--purchase-usd-per-chip", "30000", "--out",
                 str(tmp_path / "b.png")]) == 2
    assert "--depreciation-years" in capsys.readouterr().err


# -- the widgets (Qt) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qt_charts(base):
    pytest.importorskip("PySide6")
    pytest.importorskip("pyqtgraph")
    from estimator.curves import compute_curves

    s, e = base
    return compute_curves(s, e)


def _chart(qtbot, kind, curves, est, **kw):
    from estimator.gui.charts import create_chart

    w = create_chart(kind, "print", **kw)
    qtbot.addWidget(w)
    w.resize(960, 600)
    w.update_chart(curves, est)
    return w


@pytest.mark.gui
def test_window_tabs_and_cli_know_every_new_kind():
    from estimator.cli import build_parser
    from estimator.gui.chart_kinds import CHART_KINDS, CHART_SHORT_TITLES, CHART_TITLES
    from estimator.gui.charts import CHART_CLASSES

    for k in NEW_KINDS:
        assert k in CHART_KINDS and k in CHART_CLASSES and CHART_TITLES[k] and CHART_SHORT_TITLES[k]
    assert build_parser().parse_args(["chart", "--kind", "moe", "--out", "x.png"]).kind_opt == "moe"


@pytest.mark.gui
def test_gpus_chart_holds_the_sweep_and_marks_the_ceiling(qtbot, qt_charts, base, sweep):
    _s, e = base
    w = _chart(qtbot, "gpus", qt_charts, e)
    x, y = w.series("days")
    inside = sweep.fits & (sweep.gpus <= sweep.max_useful_gpus)
    np.testing.assert_array_equal(x, sweep.gpus[inside])
    np.testing.assert_allclose(y, sweep.wall_clock_days[inside])
    xb, _ = w.series("cost:beyond")
    assert xb[0] == sweep.max_useful_gpus and (xb[1:] > sweep.max_useful_gpus).all()
    assert w.vlines["days:ceiling"].value() == pytest.approx(math.log10(sweep.max_useful_gpus))
    assert w.vlines["days:floor"].value() == pytest.approx(math.log10(sweep.min_gpus_for_memory))
    assert "do not shorten the run" in w.text_items["ceiling"].textItem.toPlainText()
    np.testing.assert_allclose(w.series("cost:plan")[1], [e.cost_usd])
    assert w.title.endswith("— Q3 plan")  # the scenario's name


@pytest.mark.gui
def test_serving_chart_marks_target_and_chosen_point(qtbot, targets):
    from estimator.curves import compute_curves

    s, e = targets
    w = _chart(qtbot, "serving", compute_curves(s, e), e)
    d = w.data
    np.testing.assert_allclose(w.series("chosen")[0], [d.chosen_tokens_per_s_per_user])
    np.testing.assert_allclose(w.series("chosen")[1], [e.serving_output_tokens_per_s_per_chip])
    assert w.tpot_line.isVisible()
    assert w.tpot_line.value() == pytest.approx(math.log10(1 / 0.030))
    assert "time-per-output-token target" in w._texts["subtitle"]  # noqa: SLF001
    _u, thr = w.series("meets")
    np.testing.assert_array_equal(np.isfinite(thr), d.meets_targets)
    np.testing.assert_allclose(w.series("output")[1], d.cost_per_million_output_tokens_usd)


@pytest.mark.gui
def test_serving_chart_of_a_model_that_fits_only_two_batches(qtbot):
    """A 1e25-FLOP plan on the default serving chip fits batches 1 and 2 only: the chart
    shows the two points (it failed to update, np.convolve's "same" giving three)."""
    from estimator.curves import compute_curves

    s = Scenario(mode="compute", compute_flops=1e25, gpus=1184).validated()
    e = estimate(s)
    w = _chart(qtbot, "serving", compute_curves(s, e), e)
    d = w.data
    assert len(d.batch) == 2
    u, thr = w.series("meets")
    np.testing.assert_allclose(u, d.tokens_per_s_per_user)
    np.testing.assert_array_equal(np.isfinite(thr), d.meets_targets)


@pytest.mark.gui
def test_moe_chart_labels_each_expert_count(qtbot, qt_charts, base):
    _s, e = base
    w = _chart(qtbot, "moe", qt_charts, e)
    m = w.data
    np.testing.assert_allclose(w.series("active")[0], m.active_params)
    x, _ = w.series("total")
    np.testing.assert_allclose(x, m.total_params[m.in_fitted_range])
    texts = [lab.textItem.toPlainText() for lab in w._labels if lab.isVisible()]  # noqa: SLF001
    assert texts[3].startswith("E=8 ·") and len(texts) == len(m.experts)
    assert "arXiv:2502.05172" in w.footnote_plain


@pytest.mark.gui
def test_tornado_chart_orders_bars_biggest_first(qtbot, qt_charts, base):
    _s, e = base
    w = _chart(qtbot, "tornado", qt_charts, e)
    sens = w.sens
    ticks = w.plot_items[0].getAxis("left")._tickLevels[0]  # noqa: SLF001
    labels = [t for _y, t in sorted(ticks, key=lambda t: -t[0])]
    assert labels[0] == sens.swings[0].label
    lo, hi = sens.swings[0].metric_at(sens.metric)
    bar = w.bars["cost:high"].opts
    assert bar["width"][0] == pytest.approx(abs(hi - sens.baseline))
    assert w.base_lines["days"].value() == pytest.approx(e.wall_clock_days)


@pytest.mark.gui
def test_breakeven_chart_marks_crossings_and_rent_or_own(qtbot, qt_charts, base):
    _s, e = base
    w = _chart(qtbot, "breakeven", qt_charts, e,
               options={"hardware": ["h200"], "purchase_usd_per_chip": 30000.0,
                        "depreciation_years": 4.0, "usd_per_kwh": 0.1})
    be, ro = w.be, w.ro
    assert len(w.plot_items) == 2 and ro is not None
    cx, cy = w.series("crossings")
    assert len(cx) >= 1
    c = next(c for c in be.crossings if {c.a, c.b} == {"h100-sxm", "h200"})
    assert c.x in cx
    ux, _uy = w.series("ro_cross")
    assert ux[0] == pytest.approx(ro.break_even_occupancy)
    plain = _chart(qtbot, "breakeven", qt_charts, e)
    assert len(plain.plot_items) == 1 and "purchase price" in plain.footnote_plain


@pytest.mark.gui
def test_the_ceiling_label_says_what_the_sweep_shows(qtbot, qt_charts, base, sweep):
    """'more GPUs do not shorten the run' only where no count past the ceiling is faster."""
    from dataclasses import replace

    from estimator.gui.charts.gpus import no_faster_beyond

    inside = sweep.fits & (sweep.gpus <= sweep.max_useful_gpus)
    beyond = sweep.fits & (sweep.gpus > sweep.max_useful_gpus)
    assert no_faster_beyond(sweep) == (
        sweep.wall_clock_days[beyond].min() >= sweep.wall_clock_days[inside].min())
    days = np.array(sweep.wall_clock_days)
    days[beyond] = days[inside].min() / 2  # a sweep that does speed up past the ceiling
    assert not no_faster_beyond(replace(sweep, wall_clock_days=days))


@pytest.mark.gui
def test_the_window_shows_every_new_chart_as_a_tab(qtbot, tmp_path, monkeypatch):
    """The window's tabs iterate CHART_KINDS: each new chart is a tab that fills with the
    session's estimate when shown."""
    from estimator.gui import settings
    from estimator.gui.window import MainWindow

    monkeypatch.setenv(settings.ENV_SETTINGS_DIR, str(tmp_path / "settings"))
    monkeypatch.setenv(settings.ENV_AUTOSAVE_DIR, str(tmp_path / "autosave"))
    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    w.session.flush()
    for kind in NEW_KINDS:
        chart = w.charts[kind]
        w.tabs.setCurrentWidget(chart)
        assert chart.estimate is w.session.estimate, kind
        assert not getattr(chart, "_message_shown", False), kind
    np.testing.assert_allclose(w.charts["gpus"].series("days:plan")[1],
                               [w.session.estimate.wall_clock_days])
    w.session.dirty = False


def test_clear_caches_forgets_the_kept_gpu_sweeps(base):
    """engine.clear_caches reaches the GPU sweeps chart_data keeps (benchmarks rely on it)."""
    from estimator.engine import clear_caches

    _s, e = base
    cd.gpu_sweep(e)
    assert cd.gpu_sweep_kept(e) and cd._SWEEPS  # noqa: SLF001
    clear_caches()
    assert not cd.gpu_sweep_kept(e) and not cd._SWEEPS  # noqa: SLF001
