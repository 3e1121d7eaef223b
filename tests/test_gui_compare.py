"""Compare: the window's current scenario (unsaved) and four scenario files, driven through
the real window; differences listed as the fields declare them, results as the engine computes
them, the chart overlays every plan, exports are written and the PNG shows the chart; a sixth
plan and bad files are refused with a message."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from estimator import units  # noqa: E402
from estimator.engine import estimate  # noqa: E402
from estimator.gui.compare_dialog import (  # noqa: E402
    MAX_OTHERS,
    CompareDialog,
    input_differences,
)
from estimator.scenario import Scenario, save_scenario  # noqa: E402

pytestmark = pytest.mark.gui


OTHERS = {
    "b200": dict(hardware="b200", gpus=2048),
    "cheap": dict(price_tier="spot"),
    "bigger": dict(mode="compute", compute_flops=3e24),
    "serving": dict(inference_tokens_per_day=1e11, deployment_days=365.0),
}


def _files(folder) -> list[str]:
    paths = []
    for name, changes in OTHERS.items():
        p = folder / f"{name}.yaml"
        save_scenario(replace(Scenario(), **changes), p)
        paths.append(str(p))
    return paths


def _gray(img: QtGui.QImage) -> np.ndarray:
    g = img.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    a = np.frombuffer(g.constBits(), dtype=np.uint8, count=g.sizeInBytes())
    return a.reshape(g.height(), g.bytesPerLine())[:, : g.width()].astype(float)


def test_five_scenarios_compared_listed_charted_and_exported(gui_window, gui_env, qtbot):
    tmp, warnings = gui_env
    w = gui_window
    w.inputs.field("gpus").set_text_and_commit("512")  # the current scenario, unsaved
    w.session.flush()
    assert w.session.dirty and w.session.path is None
    current = w.session.scenario
    d = w.compare_scenarios(*_files(tmp))
    assert isinstance(d, CompareDialog) and d.isVisible()
    plans = d.plans
    assert len(plans) == 5 and plans[0].current and plans[0].scenario == current
    names = [p.name for p in plans]
    assert names == ["Untitled (current)", "b200", "cheap", "bigger", "serving"]
    assert all(n in d.windowTitle() for n in names)
    # inputs that differ: exactly the fields changed, by label, with the current plan first;
    # the compute-mode plan uses a budget instead of the reference model ("—": not used)
    labels = {name: label for name, label, _t, _v in input_differences(plans)}
    changed = {"gpus", "hardware", "price_tier", "mode", "compute_flops", "match_params",
               "match_tokens", "inference_tokens_per_day", "deployment_days"}
    assert set(labels) == changed
    from estimator.scenario import FIELDS

    assert d.rows[FIELDS["gpus"].label] == ["512", "2048", "1024", "1024", "1024"]
    assert d.rows[FIELDS["match_params"].label] == ["70B", "70B", "70B", "—", "70B"]
    assert "target_loss" not in labels  # no plan targets a loss: never listed
    assert d.rows[FIELDS["compute_flops"].label][3] == "3e24 FLOPs"
    assert d.rows[FIELDS["compute_flops"].label][0] == "—"
    # results: each plan's own estimate, as the registry formats it
    ests = [estimate(p.scenario) for p in plans]
    cost = d.rows["Training cost (USD)"]
    for text, e in zip(cost, ests, strict=True):
        assert text.startswith(units.usd(e.cost_usd))
    ratio = ests[1].cost_usd / ests[0].cost_usd - 1
    assert cost[1].endswith(f"({ratio:+.0%})".replace("-", "−"))
    # the chart: every plan at its (compute, loss), the frontier of the law, names in titles
    ch = d.chart
    for i, e in enumerate(ests):
        x, y = ch.series(f"plan:{i}")
        assert x[0] == pytest.approx(e.train_flops_6nd) and y[0] == pytest.approx(e.loss)
    fx, fy = ch.series("frontier:0")
    assert len(fx) > 50 and np.all(np.diff(fy) < 0)  # loss falls along the frontier
    assert all(n in ch.title for n in names)
    widths = ch.train_bars.opts["width"]
    np.testing.assert_allclose(widths, [e.cost_usd for e in ests])
    # exports: table CSV (numbers in full precision) and the chart in three formats
    table = tmp / "out" / "compare.csv"
    table.parent.mkdir()
    assert d.export_table(table)
    rows = list(csv.reader(io.StringIO(table.read_text(encoding="utf-8"))))
    assert rows[0][4:] == names
    cost_row = next(r for r in rows if r[:2] == ["result", "cost_usd"])
    assert [float(v) for v in cost_row[4:]] == pytest.approx([e.cost_usd for e in ests],
                                                              rel=1e-12)
    gpus_row = next(r for r in rows if r[:2] == ["input", "gpus"])
    assert gpus_row[4:] == ["512", "2048", "1024", "1024", "1024"]
    for ext in ("png", "svg", "pdf"):
        out = tmp / "out" / f"compare.{ext}"
        assert d.export_chart(out, 1000, 625), d.status.text()
        assert out.stat().st_size > 2000
    img = QtGui.QImage(str(tmp / "out" / "compare.png"))
    assert (img.width(), img.height()) == (1000, 625)
    a = _gray(img)
    assert a[0].min() > 200  # a white print background at the edge
    assert (a < 128).mean() > 0.01  # text, axes and bars drawn: not a blank picture
    colors = QtGui.QImage(str(tmp / "out" / "compare.png")).convertToFormat(
        QtGui.QImage.Format.Format_RGB32)
    rgb = np.frombuffer(colors.constBits(), dtype=np.uint8,
                        count=colors.sizeInBytes()).reshape(625, -1, 4)[:, :1000, :3]
    saturated = (rgb.max(axis=2).astype(int) - rgb.min(axis=2)) > 80
    assert saturated.mean() > 0.005  # the coloured plans and bars are there
    assert b"Compared plans" in (tmp / "out" / "compare.svg").read_bytes()
    assert (tmp / "out" / "compare.pdf").read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp / "out" / "compare.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "b200" in text and "serving" in text
    # a sixth plan is refused, with a message, and nothing else changes
    extra = tmp / "sixth.yaml"
    save_scenario(replace(Scenario(), gpus=4096), extra)
    assert not d.add_files([str(extra)])
    assert len(d.plans) == 5 and not d.add_button.isEnabled()
    assert f"at most {MAX_OTHERS} others" in d.status.text() and "sixth.yaml" in d.status.text()
    assert not warnings
    d.close()


def test_bad_files_get_a_clear_message_never_a_traceback(gui_window, gui_env):
    tmp, _warnings = gui_env
    w = gui_window
    bad = tmp / "bad.yaml"
    bad.write_text("gpus: lots\n", encoding="utf-8")
    binary = tmp / "blob.yaml"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    good = tmp / "good.yaml"
    save_scenario(replace(Scenario(), gpus=2048), good)
    d = w.compare_scenarios(str(bad), str(tmp / "missing.yaml"), str(binary), str(good))
    assert [p.name for p in d.plans] == ["Untitled (current)", "good"]
    text = d.status.text()
    for name in ("bad.yaml", "missing.yaml", "blob.yaml"):
        assert f"Cannot compare {name}" in text
    assert "GPUs" in text or "gpus" in text  # the field of the bad value is named
    assert "Traceback" not in text and "Error:" not in text
    # removing a plan (the current one stays)
    d.plan_list.selectAll()
    d.remove_selected()
    assert [p.name for p in d.plans] == ["Untitled (current)"]
    assert d.rows  # results of the current plan alone still show
    d.close()


def test_every_input_shows_what_each_plan_uses(gui_window, gui_env):
    tmp, _warnings = gui_env
    d = gui_window.compare_scenarios(*_files(tmp)[:1])
    d.every_input.setChecked(True)
    from estimator.scenario import FIELDS

    cat = gui_window.session.catalogue
    assert d.rows[FIELDS["hardware"].label] == [cat.profile("h100-sxm").display_name,
                                               cat.profile("b200").display_name]
    assert FIELDS["seq_len"].label in d.rows  # same in both, shown on request
    d.every_input.setChecked(False)
    assert FIELDS["seq_len"].label not in d.rows
    d.close()


def _grey_320(img: QtGui.QImage) -> np.ndarray:
    small = img.convertToFormat(QtGui.QImage.Format.Format_RGB32).scaled(
        320, 200, aspectMode=QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
        mode=QtCore.Qt.TransformationMode.SmoothTransformation)
    return _gray(small)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm not installed")
def test_vector_exports_are_the_png_picture(qtbot, tmp_path):
    """SVG and PDF of the comparison rasterised as a reader sees them match the PNG (Pearson
    r on 320x200 grey; a correct render scores about 0.99, a scale bug far less)."""
    from PySide6 import QtSvg

    from estimator.gui.compare_dialog import Plan, render_compare_chart

    s0 = Scenario()
    plans = [Plan("base (current)", s0, estimate(s0), current=True)]
    for name, changes in OTHERS.items():
        s = replace(Scenario(), **changes)
        plans.append(Plan(name, s, estimate(s)))
    d = CompareDialog(plans[0])
    qtbot.addWidget(d)
    d.others = plans[1:]
    frontiers = d.frontiers(d.plans)
    png = QtGui.QImage.fromData(render_compare_chart(d.plans, frontiers, "png", 1000, 625))
    svg = render_compare_chart(d.plans, frontiers, "svg", 1000, 625)
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(render_compare_chart(d.plans, frontiers, "pdf", 1000, 625))
    renderer = QtSvg.QSvgRenderer(QtCore.QByteArray(svg))
    svg_img = QtGui.QImage(1000, 625, QtGui.QImage.Format.Format_RGB32)
    svg_img.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(svg_img)
    renderer.render(painter)
    painter.end()
    subprocess.run(["pdftoppm", "-png", "-scale-to-x", "1000", "-scale-to-y", "625",
                    "-singlefile", str(pdf), str(tmp_path / "c")], check=True)
    pdf_img = QtGui.QImage(str(tmp_path / "c.png"))
    ref = _grey_320(png).ravel()
    for name, img in (("svg", svg_img), ("pdf", pdf_img)):
        r = np.corrcoef(ref, _grey_320(img).ravel())[0, 1]
        assert r > 0.95, (name, r)
