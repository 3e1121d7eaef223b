"""Chart widgets show the data they are given (asserted on the items' data, not pictures);
updates reuse the items; ticks are readable; footnotes carry the estimate's caveats; the CLI
exports every kind headlessly and fails with a one-line fix. Pictures: tests/test_exports.py."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6 import QtGui  # noqa: E402

from estimator.curves import compute_curves  # noqa: E402
from estimator.engine import estimate  # noqa: E402
from estimator.errors import InputError  # noqa: E402
from estimator.gui.chart_kinds import CHART_KINDS as QT_FREE_KINDS  # noqa: E402
from estimator.gui.charts import (  # noqa: E402
    CHART_CLASSES,
    CHART_KINDS,
    CLI_CHART_KINDS,
    THEMES,
    ChartWidget,
    create_chart,
    export_chart,
    footnote_text,
    format_tick,
    log_tick_values,
    summarise_warnings,
)
from estimator.gui.charts.base import clip_polyline  # noqa: E402
from estimator.gui.theme import CHART_THEME_NAMES, THEME_NAMES, chart_theme, window_theme  # noqa: E402
from estimator.hardware import load_profiles  # noqa: E402
from estimator.law_curves import comparison_laws, isoflop_profiles, law_disagreement  # noqa: E402
from estimator.laws import get_law, save_law_file  # noqa: E402
from estimator.scenario import Scenario  # noqa: E402

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


def _data(s: Scenario):
    profiles = load_profiles()
    e = estimate(s, profiles=profiles)
    return s, e, compute_curves(s, e, profiles=profiles)


@pytest.fixture(scope="module")
def data():
    return _data(Scenario())


@pytest.fixture(scope="module")
def other_data():
    return _data(
        Scenario(
            mode="loss", target_loss=2.1, law="chinchilla-2022", hardware="b200", precision="fp8"
        )
    )


@pytest.fixture(scope="module")
def far_data():
    """A plan 200x beyond the law's fitted range: the estimate warns."""
    return _data(Scenario(mode="compute", compute_flops=1e27))


def _widget(qtbot, kind, theme="normal") -> ChartWidget:
    w = create_chart(kind, theme)
    qtbot.addWidget(w)
    return w


# -- registry and themes -------------------------------------------------------------------


def test_one_module_per_kind_and_the_qt_free_names_agree():
    assert CHART_KINDS == QT_FREE_KINDS == CLI_CHART_KINDS
    assert tuple(CHART_CLASSES) == CHART_KINDS
    modules = {cls.__module__ for cls in CHART_CLASSES.values()}
    assert len(modules) == len(CHART_KINDS)  # one module per chart kind
    assert all(issubclass(cls, ChartWidget) for cls in CHART_CLASSES.values())


def test_one_theme_registry_serves_window_and_charts():
    for name in THEME_NAMES:
        assert THEMES[name].window is window_theme(name)
        assert THEMES[name].chart is chart_theme(name)
    assert set(CHART_THEME_NAMES) == set(THEMES)
    p = chart_theme("print")
    assert (p.background, p.foreground) == ("#ffffff", "#000000")
    # the window's background is the chart's, so a screenshot and an export match
    assert window_theme("normal").window == chart_theme("normal").background
    with pytest.raises(InputError, match="print, presentation, normal") as err:
        chart_theme("neon")
    assert err.value.field == "theme"


# -- ticks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lo,hi", [(20.7, 25.9), (23.1, 23.4), (23.1, 23.12), (9.5, 11.2), (5.0, 5.05), (0.0, 12.0)]
)
def test_log_axes_always_label_at_least_three_ticks(lo, hi):
    majors, _ = log_tick_values(lo, hi, 6)
    assert 3 <= len(majors) <= 8
    assert all(lo - 1e-9 <= m <= hi + 1e-9 for m in majors)


def test_tick_labels_are_human():
    assert format_tick(1e21, "flops", 1) == "1e21"
    assert format_tick(2.5e23, "flops", 2) == "2.5e23"
    assert format_tick(1e10, "count", 1) == "10 B"
    assert format_tick(1.4e12, "count", 2) == "1.4 T"
    assert format_tick(1e6, "usd", 1) == "$1 M"
    assert format_tick(3e5, "usd", 1) == "$300 k"


# -- data ----------------------------------------------------------------------------------


def test_frontier_items_hold_the_curves(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "frontier")
    w.update_chart(c, e)
    x, y = w.series("frontier")
    np.testing.assert_array_equal(x, c.frontier_compute_flops)
    np.testing.assert_array_equal(y, c.frontier_loss)
    gx, gy = w.curve_items["frontier"].getData()  # log axis: displayed data in log10
    np.testing.assert_allclose(10**gx, c.frontier_compute_flops, rtol=1e-12)
    np.testing.assert_allclose(gy, c.frontier_loss)
    tx, ty = w.series("target")
    assert tx[0] == c.target_compute_flops and ty[0] == c.target_loss
    if c.frontier_loss_p10 is not None:
        np.testing.assert_array_equal(w.series("band_p10")[1], c.frontier_loss_p10)
        assert w.band.isVisible()
    assert w.plot_item.getAxis("bottom").logMode
    assert "FLOPs" in w.plot_item.getAxis("bottom").labelText


def test_isoloss_items_hold_the_curves(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "isoloss")
    w.update_chart(c, e)
    np.testing.assert_array_equal(w.series("optimal")[0], c.optimal_params)
    np.testing.assert_array_equal(w.series("optimal")[1], c.optimal_tokens)
    for k, (n, d) in enumerate(c.iso_contours):
        np.testing.assert_array_equal(w.series(f"contour_{k}")[0], n)
        np.testing.assert_array_equal(w.series(f"contour_{k}")[1], d)
        assert w.text_items[f"contour_{k}"].toPlainText() in ("", f"{c.iso_levels[k]:.3f}")
    px, py = w.series("plan")
    assert px[0] == c.plan_params and py[0] == c.plan_tokens


def test_cost_items_hold_every_hardware(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "cost")
    w.update_chart(c, e)
    for pid, usd in c.cost_by_hardware.items():
        x, y = w.series(f"hw:{pid}")
        np.testing.assert_array_equal(x, c.cost_losses)
        np.testing.assert_array_equal(y, usd)
    assert w.series("plan")[1][0] == pytest.approx(e.cost_usd)
    assert w.plot_item.getAxis("left").logMode
    labels = [label.text for _s, label in w.legend.items]
    assert labels[0].endswith("(plan)") and len(labels) == len(c.cost_by_hardware)


def test_cost_line_colours_survive_a_theme_switch(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "cost")
    w.update_chart(c, e)
    before = {k: w.curve_items[k].opts["pen"].style() for k in w.curve_items if k[:3] == "hw:"}
    w.set_theme("presentation")
    w.set_theme("normal")
    after = {k: w.curve_items[k].opts["pen"].style() for k in before}
    assert before == after


def test_lifetime_items_hold_the_curves(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "lifetime")
    w.update_chart(c, e)
    np.testing.assert_array_equal(w.series("total")[1], c.lifetime_total_usd)
    np.testing.assert_array_equal(w.series("train")[1], c.lifetime_train_usd)
    np.testing.assert_array_equal(w.series("inference")[1], c.lifetime_inference_usd)
    ox, oy = w.series("optimum")
    assert ox[0] == c.lifetime_optimum_params and oy[0] == c.lifetime_optimum_usd
    assert "saves" in w.text_items["optimum"].toPlainText()


def test_hardware_bars_hold_every_row_and_highlight_the_plan(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "hardware")
    w.update_chart(c, e)
    bars = w.bar_items["cost"].opts
    np.testing.assert_allclose(bars["width"], [r["cost_usd"] for r in c.hardware_rows])
    np.testing.assert_allclose(
        w.bar_items["days"].opts["width"], [r["wall_clock_days"] for r in c.hardware_rows]
    )
    err = w.error_items["cost"].opts
    np.testing.assert_allclose(err["x"] - err["left"], [r["cost_usd_p10"] for r in c.hardware_rows])
    np.testing.assert_allclose(
        err["x"] + err["right"], [r["cost_usd_p90"] for r in c.hardware_rows]
    )
    plan = [i for i, r in enumerate(c.hardware_rows) if r["is_plan"]]
    assert len(plan) == 1 and c.hardware_rows[plan[0]]["id"] == e.hardware
    brushes = bars["brushes"]
    plan_color = QtGui.QColor(w.theme.plan_color)
    assert [b.color() == plan_color for b in brushes] == [r["is_plan"] for r in c.hardware_rows]
    ticks = w.plot_items[0].getAxis("left")._tickLevels[0]  # noqa: SLF001
    assert len(ticks) == len(c.hardware_rows) and sum("◆" in t for _v, t in ticks) == 1


def test_isoflop_items_hold_the_profiles(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "isoflop")
    w.update_chart(c, e)
    pr = isoflop_profiles(get_law(s.law), e.params, e.tokens)
    for k, prof in enumerate(pr.profiles):
        np.testing.assert_array_equal(w.series(f"profile_{k}")[0], prof.params)
        np.testing.assert_array_equal(w.series(f"profile_{k}")[1], prof.loss)
    ox, oy = w.series("optima")
    np.testing.assert_allclose(ox, [p.optimum_params for p in pr.profiles])
    np.testing.assert_allclose(oy, [p.optimum_loss for p in pr.profiles])
    px, py = w.series("plan")
    assert px[0] == pytest.approx(e.params) and py[0] == pytest.approx(pr.plan_loss)
    assert "best size is" in w._texts["subtitle"]  # noqa: SLF001


def test_laws_chart_holds_every_law_and_a_loaded_one(qtbot, data, tmp_path):
    s, e, c = data
    w = _widget(qtbot, "laws")
    w.update_chart(c, e)
    d = law_disagreement(comparison_laws(get_law(s.law)), s.law, e.params, e.tokens)
    for cv in d.curves:
        x, y = w.series(f"law:{cv.law_id}")
        np.testing.assert_array_equal(x, cv.compute_flops)
        np.testing.assert_array_equal(np.isfinite(y), cv.in_fitted_range)
        np.testing.assert_array_equal(
            y[cv.in_fitted_range], cv.tokens_per_param[cv.in_fitted_range]
        )
        _bx, by = w.series(f"law:{cv.law_id}:beyond")
        assert np.all(np.isfinite(by[~cv.in_fitted_range]))  # dashed where it extrapolates
        assert w.series(f"law:{cv.law_id}:at_plan")[1][0] == pytest.approx(cv.plan_tokens_per_param)
    assert w.series("plan")[1][0] == pytest.approx(e.tokens / e.params)
    n_items = len(w.plot_item.items)
    # a law loaded from a file joins the comparison as its own line
    law_file = tmp_path / "my-law.yaml"
    save_law_file(
        replace(get_law("epoch-2024"), id="my-law", name="My refit", alpha=0.36), law_file
    )
    s2, e2, c2 = _data(Scenario(law=str(law_file)))
    w.update_chart(c2, e2)
    assert "law:my-law" in w.curve_items
    names = [label.text for _s, label in w.legend.items]
    assert any(n.startswith("My refit") and "(plan's law)" in n for n in names)
    w.update_chart(c, e)  # back: the loaded law's line empties, no item is rebuilt
    assert len(w.series("law:my-law")[0]) == 0
    assert len(w.plot_item.items) == n_items + 4


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_update_reuses_items_and_follows_new_data(qtbot, data, other_data, kind):
    s, e, c = data
    _, e2, c2 = other_data
    w = _widget(qtbot, kind)
    w.update_chart(c, e)
    w.update_chart(c2, e2)  # a second update may add series (more laws or chips), no more
    items = dict(w.curve_items)
    n_items = [len(p.items) for p in w.plot_items]
    w.update_chart(c, e)
    w.update_chart(c2, e2)
    assert w.curve_items == items
    assert all(w.curve_items[k] is items[k] for k in items)
    assert [len(p.items) for p in w.plot_items] == n_items
    assert w._texts["subtitle"] and w._texts["footnote"]  # noqa: SLF001


def test_update_follows_new_data(qtbot, data, other_data):
    _, e2, c2 = other_data
    w = _widget(qtbot, "frontier")
    w.update_chart(data[2], data[1])
    w.update_chart(c2, e2)
    np.testing.assert_array_equal(w.series("frontier")[1], c2.frontier_loss)
    assert not w.band.isVisible()  # chinchilla-2022 has no parameter samples
    cost = _widget(qtbot, "cost")
    cost.update_chart(c2, e2)
    assert "a100-80gb" not in c2.cost_by_hardware  # no fp8 on Ampere: no line
    assert "hw:a100-80gb" not in cost.curve_items


def test_an_update_with_the_same_data_leaves_the_curves_alone(qtbot, data, other_data):
    """Dragging the GPU slider leaves the frontier as it was: its curves are not rebuilt (nor
    repainted); new data, and the old data again, are shown with the legend to match."""
    _, e, c = data
    _, e2, c2 = other_data
    w = _widget(qtbot, "frontier")
    w.update_chart(c, e)
    rebuilt = []
    for item in w.curve_items.values():
        item.sigPlotChanged.connect(lambda *_a: rebuilt.append(1))
    same = replace(c, frontier_compute_flops=c.frontier_compute_flops.copy(),
                   frontier_loss=c.frontier_loss.copy())  # equal values, other arrays
    w.update_chart(same, e)
    assert rebuilt == []

    def band_in_legend():
        return next(lab for _s, lab in w.legend.items if lab.text.startswith("P10")).isVisible()

    assert band_in_legend() == (c.frontier_loss_p10 is not None)
    w.update_chart(c2, e2)
    assert rebuilt
    np.testing.assert_array_equal(w.series("frontier")[1], c2.frontier_loss)
    assert not band_in_legend()
    w.update_chart(c, e)
    np.testing.assert_array_equal(w.series("frontier")[1], c.frontier_loss)
    np.testing.assert_array_equal(w.curve_items["frontier"].getData()[1], c.frontier_loss)
    assert band_in_legend() == (c.frontier_loss_p10 is not None)
    label = w.text_items["target"].toPlainText().strip()
    assert label.startswith(f"plan: loss {c.target_loss:.3f}")


def test_the_frontier_band_is_rebuilt_once_per_update_and_matches_pyqtgraphs(qtbot, data,
                                                                           other_data):
    """Both band edges change on an edit: the band's path is built once (pyqtgraph's own
    FillBetweenItem builds it on each edge's change), and it is the path pyqtgraph's item
    builds from the same two curves."""
    import pyqtgraph as pg

    _, e, c = data
    _, e2, c2 = other_data
    if c2.frontier_loss_p10 is None:
        c2 = replace(c2, frontier_loss_p10=c2.frontier_loss - 0.01,
                     frontier_loss_p90=c2.frontier_loss + 0.01)
    w = _widget(qtbot, "frontier")
    w.update_chart(c, e)
    builds = []
    w.curve_items["band_p10"].sigPlotChanged.connect(lambda *_a: builds.append("p10"))
    w.curve_items["band_p90"].sigPlotChanged.connect(lambda *_a: builds.append("p90"))
    paths = []
    orig = w.band.setPath
    w.band.setPath = lambda path: (paths.append(path), orig(path))[1]
    w.update_chart(c2, e2)
    assert builds == ["p10", "p90"]  # both edges changed ...
    assert len(paths) == 1  # ... and the band was built once
    ref = pg.FillBetweenItem(w.curve_items["band_p10"], w.curve_items["band_p90"])
    assert w.band.path() == ref.path()
    assert w.band.path().elementCount() > 2 * len(c2.frontier_compute_flops) - 2


def test_set_view_shows_the_ranges_two_range_calls_show(qtbot, data):
    """One ``set_view`` gives the view ``setXRange`` then ``setYRange`` give, paddings
    included."""
    w = _widget(qtbot, "frontier")
    p = w.plot_item
    vb = p.getViewBox()
    for x, y, px, py in (((20.0, 26.0), (1.9, 3.4), 0.02, 0.05), ((0.0, 1.0), (-3.0, 7.0), 0, 0),
                         ((5.0, 2.0), (10.0, 11.0), 0.1, 0.2)):
        p.setXRange(*x, padding=px)
        p.setYRange(*y, padding=py)
        want = vb.viewRange()
        p.setXRange(-100, 100, padding=0)
        p.setYRange(-100, 100, padding=0)
        w.set_view(p, x, y, px, py)
        np.testing.assert_allclose(vb.viewRange(), want, rtol=1e-12, atol=1e-12)


def _pixels(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format.Format_ARGB32)
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, : 4 * img.width()].copy()


def test_tiled_grid_columns_are_the_pixels_of_their_rectangles(qtbot):
    """Vertical grid lines filled as one tiled row cover the pixels (and colours) of each
    line's own fillRect, and ``_rows_of`` names the rows Qt fills: random rectangles, with
    fractional edges and half-pixel tops."""
    from PySide6 import QtCore

    from estimator.gui.charts.axes import SmartAxis, _rows_of

    rng = np.random.default_rng(11)
    colour = QtGui.QColor(232, 232, 232, 45)
    axis = SmartAxis(orientation="bottom")

    def render(paint):
        img = QtGui.QImage(320, 140, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(QtGui.QColor(20, 30, 40))
        qp = QtGui.QPainter(img)
        paint(qp)
        qp.end()
        return _pixels(img)

    for k in range(60):
        top = rng.uniform(2, 30) if k % 3 else round(rng.uniform(2, 30)) + 0.5
        height = rng.uniform(20, 100)
        width = (1.0, 1.5, 2.0)[k % 3]
        if k % 10 == 9:  # lines closer than their width: a pixel filled twice
            xs = np.sort(rng.uniform(5, 40, size=12))
        else:
            xs = 5 + np.cumsum(rng.uniform(4, 30, size=int(rng.integers(3, 25))))
            xs = xs[xs < 315]
        rects = [QtCore.QRectF(x - width / 2, top, width, height) for x in xs]
        lo, hi = _rows_of(rects[0])

        def each(qp, rects=rects):
            for r in rects:
                qp.fillRect(r, colour)

        def tiled(qp, rects=rects, lo=lo, hi=hi):
            axis._fill_columns(qp, rects, lo, hi, colour.rgba())

        want = render(each)
        rows = np.flatnonzero((want != render(lambda qp: None)).any(axis=1))
        assert (int(rows[0]), int(rows[-1]) + 1) == (lo, hi)
        axis.__dict__.pop("_column_rows", None)
        np.testing.assert_array_equal(render(tiled), want)
        if k % 10 != 9 and len(rects) >= 3:
            assert axis._column_rows  # the tiled row was used


def test_grid_line_rectangles_cover_the_pixels_of_qts_aliased_lines(qtbot):
    """The fast grid path fills, for a horizontal or vertical aliased line, exactly the pixels
    (and colours) Qt's own drawLine paints: random positions, translations and widths."""
    import pyqtgraph as pg
    from PySide6 import QtCore

    from estimator.gui.charts.axes import _aliased_line_rect

    rng = np.random.default_rng(7)
    colour = QtGui.QColor(232, 232, 232, 45)

    def render(paint, shift):
        img = QtGui.QImage(300, 120, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(0)
        qp = QtGui.QPainter(img)
        qp.translate(*shift)
        paint(qp)
        qp.end()
        return _pixels(img)

    for k in range(120):
        pen = pg.mkPen(colour, width=(1.0, 1.5, 2.0)[k % 3])
        if k % 2:
            y = rng.uniform(10, 100)
            a, b = QtCore.QPointF(rng.uniform(200, 280), y), QtCore.QPointF(rng.uniform(5, 20), y)
        else:
            x = rng.uniform(10, 280)
            a, b = QtCore.QPointF(x, rng.uniform(5, 20)), QtCore.QPointF(x, rng.uniform(80, 110))
        shift = (rng.uniform(0, 5), rng.uniform(0, 5))

        def line(qp, pen=pen, a=a, b=b):
            qp.setPen(pen)
            qp.drawLine(a, b)

        def fill(qp, pen=pen, a=a, b=b):
            t = qp.transform()
            qp.resetTransform()
            qp.fillRect(_aliased_line_rect(pen, t.map(a), t.map(b)), pen.color())

        want = render(line, shift)
        assert want.any()
        np.testing.assert_array_equal(render(fill, shift), want, err_msg=f"line {k}")
    assert _aliased_line_rect(pg.mkPen(colour), QtCore.QPointF(0, 0), QtCore.QPointF(5, 5)) \
        is None  # a slanted line is drawn as a line
    dashed = pg.mkPen(colour, style=QtCore.Qt.PenStyle.DashLine)
    assert _aliased_line_rect(dashed, QtCore.QPointF(0, 0), QtCore.QPointF(5, 0)) is None


@pytest.mark.parametrize("kind", ["frontier", "gpus"])
def test_the_fast_grid_draws_the_chart_pyqtgraph_draws(qtbot, data, kind):
    """A chart on screen looks the same, pixel for pixel, with its grid drawn as pyqtgraph
    draws it (lines)."""
    from estimator.gui.charts.axes import SmartAxis

    _, e, c = data
    w = _widget(qtbot, kind)
    w.resize(900, 600)
    w.show()
    w.update_chart(c, e)
    axes = [it for it in w.view.scene().items() if isinstance(it, SmartAxis)]
    assert axes and all(a.grid for a in axes)

    def grab(fast: bool):
        for a in axes:
            a.fast_grid = fast
            a.picture = None  # draw again
        return _pixels(w.view.grab().toImage())

    grab(True)  # the first paint applies the new ranges
    ours = grab(True)
    theirs = grab(False)
    assert theirs.shape == ours.shape
    np.testing.assert_array_equal(ours, theirs)


def test_set_theme_keeps_data(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "lifetime")
    w.update_chart(c, e)
    w.set_theme("presentation")
    assert w.theme is THEMES["presentation"].chart
    np.testing.assert_array_equal(w.series("total")[1], c.lifetime_total_usd)
    with pytest.raises(InputError, match="print, presentation, normal"):
        w.set_theme("neon")


def test_bad_kind_is_a_clear_error(qtbot):
    with pytest.raises(
        InputError, match="use one of frontier, isoloss, cost, lifetime, hardware, isoflop, laws"
    ):
        create_chart("pie")


# -- footnotes -----------------------------------------------------------------------------


def test_summarised_warnings_keep_the_first_clause():
    w = [
        "extrapolating 204x beyond the range law 'epoch-2024' was fitted on (5.7e+07-1.6e+10 "
        "params, 8.2e+08-3.2e+11 tokens): treat the plan as a guide",
        "law 'kaplan-2020' counts non-embedding parameters and uses another dataset/tokenizer: "
        "its losses are not comparable with the Chinchilla-family laws",
        "law 'kaplan-2020' counts non-embedding parameters and uses another dataset/tokenizer: "
        "its losses are not comparable with the Chinchilla-family laws",
    ]
    assert summarise_warnings(w) == [
        "extrapolating 204x beyond the range law 'epoch-2024' was fitted on",
        "law 'kaplan-2020' counts non-embedding parameters and uses another dataset/tokenizer",
    ]
    many = [f"caveat number {i}: details" for i in range(6)]
    out = summarise_warnings(many, max_items=3)
    assert out == ["caveat number 0", "caveat number 1", "4 more caveats in the report"]
    long = summarise_warnings(["word " * 60], max_chars=50)[0]
    assert len(long) <= 50 and long.endswith("…") and "wor…" not in long


def test_footnote_carries_the_estimates_warnings(qtbot, far_data, data):
    s, e, c = far_data
    assert any("extrapolating" in w for w in e.warnings)
    text = footnote_text(e)
    assert text.startswith("Law: Epoch AI 2024")
    assert "Caveats: extrapolating" in text and "(5.7e+07" not in text
    w = _widget(qtbot, "frontier")
    w.update_chart(c, e)
    assert "Caveats: extrapolating" in w.footnote_plain
    # below the warning threshold the footnote still says how far the plan extrapolates
    _s, e0, _c = data
    assert not any("extrapolat" in x for x in e0.warnings)
    assert f"{e0.extrapolation_factor:.1f}x beyond the range" in footnote_text(e0)


def test_long_footnotes_wrap_to_the_chart_width(qtbot, far_data):
    s, e, c = far_data
    w = _widget(qtbot, "cost")
    w.resize(700, 450)
    w.update_chart(c, e)
    w.fit_texts(700)
    html = w.footnote_label.text
    assert html.count("<br>") >= 2
    fm = QtGui.QFontMetricsF(w.make_font(w.theme.footnote_px))
    for line in html.split("<br>"):
        plain = line.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        if " " in plain:  # a single unbreakable word may be wider
            assert fm.horizontalAdvance(plain) <= 700


# -- clipping for formats without clip paths -----------------------------------------------


def test_clip_polyline_cuts_at_the_box():
    x = np.linspace(0, 4, 41)
    y = (x - 2) ** 2
    cx, cy = clip_polyline(x, y, (0.5, 3.5, 0.0, 2.0))
    ok = np.isfinite(cx)
    assert cx[ok].min() == pytest.approx(2 - math.sqrt(2), abs=0.02)
    assert cy[ok].max() == pytest.approx(2.0)
    assert np.all((cx[ok] >= 0.5) & (cx[ok] <= 3.5) & (cy[ok] >= 0) & (cy[ok] <= 2 + 1e-12))
    # a curve leaving and re-entering becomes two pieces
    x2 = np.array([0.0, 1, 2, 3, 4])
    y2 = np.array([0.0, 5, 0, 5, 0])
    px, _py = clip_polyline(x2, y2, (0, 4, 0, 1))
    assert np.isnan(px).sum() == 2
    assert len(clip_polyline([0, 1], [9, 9], (0, 1, 0, 1))[0]) == 0


# -- CLI -----------------------------------------------------------------------------------


def _cli(*args, cwd):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "estimator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_chart_writes_every_kind_at_the_requested_size(tmp_path, capsys):
    # in this process (the command's own process is tested by the themes test below): twelve
    # interpreters each importing Qt took 14 s of the suite
    from estimator.cli import main

    for kind in CHART_KINDS:
        out = tmp_path / f"{kind}.png"
        code = main(["chart", kind, "--out", str(out), "--width", "640", "--height", "400"])
        assert code == 0, capsys.readouterr().err
        img = QtGui.QImage(str(out))
        assert (img.width(), img.height()) == (640, 400)
        assert QtGui.QColor(img.pixel(2, 2)).name() == "#ffffff"  # print style by default


def _mediabox(path) -> tuple[float, float]:
    """The first page's size in points."""
    import re

    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", path.read_bytes())
    return float(m.group(1)), float(m.group(2))


def test_cli_chart_themes_and_vector_sizes(tmp_path):
    r = _cli(
        "chart",
        "cost",
        "--out",
        "x.pdf",
        "--width",
        "960",
        "--height",
        "600",
        "--theme",
        "normal",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert _mediabox(tmp_path / "x.pdf") == pytest.approx((720, 450))  # 96 px per inch
    r = _cli(
        "chart",
        "isoflop",
        "--out",
        "x.svg",
        "--width",
        "800",
        "--height",
        "500",
        "--theme",
        "presentation",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    head = (tmp_path / "x.svg").read_text(encoding="utf-8")[:600]
    assert 'width="800px"' in head and 'height="500px"' in head


def test_cli_chart_errors_are_one_line(tmp_path):
    r = _cli("chart", "isoloss", "--out", "x.gif", cwd=tmp_path)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if "propagateSizeHints" not in ln]
    assert len(lines) == 1 and ".png, .svg or .pdf" in lines[0]
    assert "Traceback" not in r.stderr
    r = _cli("chart", "pie", "--out", "x.png", cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "isoflop" in r.stderr
    r = _cli("chart", "cost", "--out", "x.png", "--theme", "neon", cwd=tmp_path)
    assert r.returncode != 0 and "print" in r.stderr and "Traceback" not in r.stderr


def test_export_chart_checks_before_working(tmp_path):
    with pytest.raises(InputError, match="unknown chart kind 'pie'"):
        export_chart("pie", Scenario(), tmp_path / "x.png")
    with pytest.raises(InputError, match="unknown chart theme"):
        export_chart("cost", Scenario(), tmp_path / "x.png", theme="neon")
    with pytest.raises(InputError, match="width must be"):
        export_chart("cost", Scenario(), tmp_path / "x.png", width_px=20000)


@pytest.mark.parametrize("kind", QT_FREE_KINDS)
def test_a_chart_is_heavy_exactly_when_its_data_runs_the_engine(qtbot, kind, monkeypatch):
    """``update_is_heavy`` (the window defers such an update while edits come in) tells the
    truth: a heavy update runs estimates or layout searches beyond one plan's (a comparison,
    a GPU sweep, a sensitivity); a light one reads the curves (and serving plans). Once shown,
    the same data is light; the GPU chart stays light when only the GPU count moves."""
    import estimator.engine as engine
    import estimator.training.run as run_model
    from estimator.engine import clear_caches

    s = Scenario(gpus=1000)  # not a count of the sweep's own grid
    e = estimate(s)
    c = compute_curves(s, e)
    e2 = estimate(replace(s, gpus=1200))
    c2 = compute_curves(replace(s, gpus=1200), e2)
    clear_caches()  # kept runs and sweeps would hide the searches
    work = {"estimates": 0, "counts": 0}

    def counting(orig, what):
        def f(*a, **k):
            work[what] += 1 if what == "estimates" else sum(len(cs) for _j, cs, _b in a[0])
            return orig(*a, **k)
        return f

    monkeypatch.setattr(engine, "_run", counting(engine._run, "estimates"))
    monkeypatch.setattr(run_model, "_best_many", counting(run_model._best_many, "counts"))

    def update(curves, est) -> bool:
        work.update(estimates=0, counts=0)
        w.update_chart(curves, est)
        return work["estimates"] > 0 or work["counts"] > 2

    w = _widget(qtbot, kind)
    said = w.update_is_heavy(c, e)
    assert said == update(c, e) == type(w).heavy, (kind, work)
    assert not w.update_is_heavy(c, e) and not update(c, e)  # shown: kept
    if kind == "gpus":  # a GPU edit: the other counts are kept, the plan's count searched
        assert not w.update_is_heavy(c2, e2)
        assert not update(c2, e2) and 0 < work["counts"] <= 2
        assert w.data.plan_gpus == 1200 and 1200 in w.data.gpus




def test_a_change_of_view_range_keeps_the_curves_paths(qtbot, data):
    """Zooming or a new range (every edit sets one) does not rebuild the curves' paths:
    pyqtgraph's off-screen clipping re-processes every curve on each range change; the
    charts turn it off (their data spans a few decades)."""
    _s, e, c = data
    w = _widget(qtbot, "isoloss")
    w.update_chart(c, e)
    curves = [it for it in w.curve_items.values() if it.xData is not None and len(it.xData) > 1]
    assert curves
    paths = [it.curve.getPath() for it in curves]
    (x0, x1), (y0, y1) = w.plot_item.getViewBox().viewRange()
    w.plot_item.setYRange(y0 - 0.5, y1 + 0.5, padding=0)
    w.plot_item.setXRange(x0 - 0.5, x1 + 0.5, padding=0)
    assert all(it.curve.path is p for it, p in zip(curves, paths, strict=True))
