"""Chart widgets show the curves' data; exports are real files of the requested size/format;
the CLI exports headlessly; bad kinds and suffixes fail with a one-line fix."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6 import QtGui  # noqa: E402

from estimator.curves import compute_curves  # noqa: E402
from estimator.engine import estimate  # noqa: E402
from estimator.errors import InputError  # noqa: E402
from estimator.gui.charts import (  # noqa: E402
    CHART_KINDS,
    CLI_CHART_KINDS,
    THEMES,
    ChartWidget,
    export_chart,
    format_tick,
    log_tick_values,
)
from estimator.gui.report_pdf import save_report_pdf  # noqa: E402
from estimator.hardware import load_profiles  # noqa: E402
from estimator.scenario import Scenario  # noqa: E402

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    profiles = load_profiles()
    s = Scenario()
    e = estimate(s, profiles=profiles)
    return s, e, compute_curves(s, e, profiles=profiles)


@pytest.fixture(scope="module")
def other_data():
    profiles = load_profiles()
    s = Scenario(mode="loss", target_loss=2.1, law="chinchilla-2022", hardware="b200",
                 precision="fp8")
    e = estimate(s, profiles=profiles)
    return s, e, compute_curves(s, e, profiles=profiles)


def _widget(qtbot, kind, theme="normal"):
    w = ChartWidget(kind, theme)
    qtbot.addWidget(w)
    return w


# -- ticks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi", [(20.7, 25.9), (23.1, 23.4), (23.1, 23.12), (9.5, 11.2),
                                   (5.0, 5.05), (0.0, 12.0)])
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


def test_hardware_bars_hold_the_rows(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "hardware")
    w.update_chart(c, e)
    bars = w.bar_items["cost"].opts
    np.testing.assert_allclose(bars["width"], [r["cost_usd"] for r in c.hardware_rows])
    np.testing.assert_allclose(w.bar_items["days"].opts["width"],
                               [r["wall_clock_days"] for r in c.hardware_rows])
    err = w.error_items["cost"].opts
    np.testing.assert_allclose(err["x"] - err["left"],
                               [r["cost_usd_p10"] for r in c.hardware_rows])
    np.testing.assert_allclose(err["x"] + err["right"],
                               [r["cost_usd_p90"] for r in c.hardware_rows])


def test_update_reuses_items_and_follows_new_data(qtbot, data, other_data):
    s, e, c = data
    _, e2, c2 = other_data
    w = _widget(qtbot, "frontier")
    w.update_chart(c, e)
    item = w.curve_items["frontier"]
    n_items = len(w.plot_item.items)
    w.update_chart(c2, e2)
    assert w.curve_items["frontier"] is item and len(w.plot_item.items) == n_items
    np.testing.assert_array_equal(w.series("frontier")[1], c2.frontier_loss)
    assert not w.band.isVisible()  # chinchilla-2022 has no parameter samples
    cost = _widget(qtbot, "cost")
    cost.update_chart(c2, e2)
    assert "a100-80gb" not in c2.cost_by_hardware  # no fp8 on Ampere: no line
    assert "hw:a100-80gb" not in cost.curve_items


def test_set_theme_keeps_data(qtbot, data):
    s, e, c = data
    w = _widget(qtbot, "lifetime")
    w.update_chart(c, e)
    w.set_theme("presentation")
    assert w.theme is THEMES["presentation"]
    np.testing.assert_array_equal(w.series("total")[1], c.lifetime_total_usd)
    with pytest.raises(InputError, match="normal, presentation"):
        w.set_theme("neon")


def test_bad_kind_is_a_clear_error(qtbot):
    with pytest.raises(InputError, match="use one of frontier, isoloss, cost, lifetime, hardware"):
        ChartWidget("pie")


# -- export --------------------------------------------------------------------------------


def _pixel_spread(img: QtGui.QImage) -> float:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
    return float(arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4].std())


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_png_export_has_the_requested_size_and_content(qtbot, tmp_path, data, kind):
    s, e, c = data
    w = _widget(qtbot, kind, "presentation")
    w.update_chart(c, e)
    out = tmp_path / f"{kind}.png"
    w.export(out, width_px=1200, height_px=700)
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1200, 700)
    assert _pixel_spread(img) > 10  # not blank
    # a new file gets normal permissions, not the temp file's 0600
    assert out.stat().st_mode & 0o044


def test_png_pens_are_widened_for_large_exports(qtbot, tmp_path, data):
    """A 4x larger export draws the frontier ~4x thicker (not a 1-pixel cosmetic line)."""
    s, e, c = data
    w = _widget(qtbot, "frontier", "presentation")
    w.update_chart(c, e)
    small, big = tmp_path / "s.png", tmp_path / "b.png"
    w.export(small, 800, 500)
    w.export(big, 3200, 2000)

    def line_px(path):
        img = QtGui.QImage(str(path)).convertToFormat(QtGui.QImage.Format.Format_RGB32)
        target = QtGui.QColor(THEMES["presentation"].palette[0])
        col = img.width() // 3
        hits = 0
        for yy in range(img.height()):
            px = QtGui.QColor(img.pixel(col, yy))
            if (abs(px.red() - target.red()) + abs(px.green() - target.green())
                    + abs(px.blue() - target.blue())) < 60:
                hits += 1
        return hits

    ratio = line_px(big) / max(1, line_px(small))
    assert 2.5 < ratio < 6


@pytest.mark.parametrize("kind", ["frontier", "hardware"])
def test_svg_export_parses(qtbot, tmp_path, data, kind):
    s, e, c = data
    w = _widget(qtbot, kind)
    w.update_chart(c, e)
    out = tmp_path / f"{kind}.svg"
    w.export(out, 1000, 600)
    root = ET.parse(out).getroot()
    tags = {el.tag.split("}")[-1] for el in root.iter()}
    assert "path" in tags or "polyline" in tags
    assert "text" in tags
    text = out.read_text(encoding="utf-8")
    assert "Law: Epoch AI 2024" in text  # the footnote is in the file


def test_pdf_export(qtbot, tmp_path, data):
    s, e, c = data
    w = _widget(qtbot, "isoloss")
    w.update_chart(c, e)
    out = tmp_path / "isoloss.pdf"
    w.export(out)
    assert out.read_bytes().startswith(b"%PDF")
    assert out.stat().st_size > 5000


def test_export_errors_are_clear(qtbot, tmp_path, data):
    s, e, c = data
    w = _widget(qtbot, "frontier")
    with pytest.raises(InputError, match="nothing to export"):
        w.export(tmp_path / "x.png")
    w.update_chart(c, e)
    with pytest.raises(InputError, match=r"name the file \.png, \.svg or \.pdf"):
        w.export(tmp_path / "x.jpg")
    with pytest.raises(InputError, match="width must be"):
        w.export(tmp_path / "x.png", width_px=0)
    with pytest.raises(InputError, match="cannot write the chart"):
        w.export(tmp_path / "missing-folder" / "x.png")
    with pytest.raises(InputError, match="unknown chart kind 'pie'"):
        export_chart("pie", s, tmp_path / "x.png")


def test_headless_export_chart_every_cli_kind(qtbot, tmp_path):
    for kind in CLI_CHART_KINDS:
        out = tmp_path / f"{kind}.svg"
        export_chart(kind, Scenario(), out, theme="normal")
        assert out.stat().st_size > 1000


def test_report_pdf_with_and_without_window_charts(qtbot, tmp_path, data):
    s, e, c = data
    out = tmp_path / "report.pdf"
    save_report_pdf(out, s, e)
    assert out.read_bytes().startswith(b"%PDF")
    w = _widget(qtbot, "frontier")
    w.update_chart(c, e)
    out2 = tmp_path / "report2.pdf"
    save_report_pdf(out2, s, e, None, charts={"frontier": w})
    assert out2.read_bytes().startswith(b"%PDF")
    assert out2.stat().st_size < out.stat().st_size  # one chart instead of five
    with pytest.raises(InputError, match=r"\.pdf"):
        save_report_pdf(tmp_path / "report.docx", s, e)


# -- CLI -----------------------------------------------------------------------------------


def _cli(*args, cwd):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "estimator", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_chart_writes_a_png(tmp_path):
    r = _cli("chart", "frontier", "--out", "x.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    img = QtGui.QImage(str(tmp_path / "x.png"))
    assert (img.width(), img.height()) == (1600, 1000)


def test_cli_chart_bad_suffix_is_one_line(tmp_path):
    r = _cli("chart", "isoloss", "--out", "x.gif", cwd=tmp_path)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if "propagateSizeHints" not in ln]
    assert len(lines) == 1 and ".png, .svg or .pdf" in lines[0]
    assert "Traceback" not in r.stderr
    r = _cli("chart", "pie", "--out", "x.png", cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "frontier" in r.stderr
