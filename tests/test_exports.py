"""Exports are the picture a reader sees: every SVG and PDF export, rasterised the way a reader's
viewer does (Qt's SVG renderer, librsvg's rsvg-convert, poppler's pdftoppm), matches the PNG
export of the same chart at the same size, for every chart kind and theme.

Similarity: both pictures scaled to 320 x 200 grey levels, Pearson correlation. A correct
render scores about 0.99; the exports before the fix scored 0.41-0.93 (axes and bars at
another scale than the curves), and the test below that reproduces that bug scores under 0.95.

pdftoppm is in Debian's poppler-utils, rsvg-convert in librsvg2-bin; tests that need one skip
with the package to install when it is missing."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6 import QtCore, QtGui  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from estimator.curves import compute_curves  # noqa: E402
from estimator.engine import estimate  # noqa: E402
from estimator.errors import InputError  # noqa: E402
from estimator.gui.charts import (  # noqa: E402
    CHART_KINDS,
    copy_chart_to_clipboard,
    create_chart,
    render_chart,  # noqa: E402
)
from estimator.gui.charts.export import export_chart_widget, layout_chart, paint_chart  # noqa: E402
from estimator.gui.charts.svg import flatten_transforms  # noqa: E402
from estimator.gui.theme import CHART_THEME_NAMES, chart_theme  # noqa: E402
from estimator.hardware import load_profiles  # noqa: E402
from estimator.scenario import Scenario  # noqa: E402

pytestmark = pytest.mark.gui
W, H = 960, 600
# Correlation floors. Measured at 960 x 600: Qt's SVG renderer >= 0.994; poppler >= 0.979 on
# light themes (the lifetime chart, whose dense minor grid poppler antialiases differently) and
# >= 0.973 on the dark one (light text on dark: poppler's and Qt's text antialiasing differ most
# there); librsvg >= 0.965 (it picks its own fonts). The scale bug these catch scored <= 0.92.
MIN_R_QT_SVG = 0.98
MIN_R_PDF = {"normal": 0.965}
MIN_R_PDF_LIGHT = 0.97
MIN_R_RSVG = 0.95

PDFTOPPM = shutil.which("pdftoppm")
RSVG = shutil.which("rsvg-convert")
needs_pdftoppm = pytest.mark.skipif(
    PDFTOPPM is None, reason="pdftoppm not installed (apt-get install poppler-utils)"
)
needs_rsvg = pytest.mark.skipif(
    RSVG is None, reason="rsvg-convert not installed (apt-get install librsvg2-bin)"
)


@pytest.fixture(scope="module")
def data():
    profiles = load_profiles()
    s = Scenario()
    e = estimate(s, profiles=profiles)
    return s, e, compute_curves(s, e, profiles=profiles)


_CACHE: dict[tuple[str, str], dict[str, bytes]] = {}


def _exports(kind: str, theme: str, data) -> dict[str, bytes]:
    """PNG, SVG and PDF bytes of one chart (rendered once per module run)."""
    key = (kind, theme)
    if key not in _CACHE:
        _s, e, c = data
        _CACHE[key] = {
            fmt: render_chart(kind, theme, c, e, fmt, width_px=W, height_px=H)
            for fmt in ("png", "svg", "pdf")
        }
    return _CACHE[key]


def _grey(img: QtGui.QImage) -> np.ndarray:
    img = img.scaled(
        320,
        200,
        QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
        QtCore.Qt.TransformationMode.SmoothTransformation,
    )
    img = img.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    a = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
    return a.reshape(img.height(), img.bytesPerLine())[:, : img.width()].astype(float)


def similarity(a: QtGui.QImage, b: QtGui.QImage) -> float:
    """Pearson correlation of the two pictures as 320 x 200 grey levels."""
    return float(np.corrcoef(_grey(a).ravel(), _grey(b).ravel())[0, 1])


def _png(data: bytes) -> QtGui.QImage:
    img = QtGui.QImage.fromData(data, "PNG")
    assert (img.width(), img.height()) == (W, H)
    return img


def _qt_svg(data: bytes, background: str) -> QtGui.QImage:
    renderer = QSvgRenderer(QtCore.QByteArray(data))
    assert renderer.isValid()
    img = QtGui.QImage(W, H, QtGui.QImage.Format.Format_ARGB32)
    img.fill(QtGui.QColor(background))
    p = QtGui.QPainter(img)
    renderer.render(p)
    p.end()
    return img


def _rsvg(data: bytes, tmp_path: Path) -> QtGui.QImage:
    src, out = tmp_path / "x.svg", tmp_path / "x-rsvg.png"
    src.write_bytes(data)
    subprocess.run(
        [RSVG, "-w", str(W), "-h", str(H), str(src), "-o", str(out)], check=True, timeout=60
    )
    return QtGui.QImage(str(out))


def _pdf_pages(
    data: bytes, tmp_path: Path, width: int = W, height: int = H, stem: str = "p"
) -> list[QtGui.QImage]:
    src = tmp_path / f"{stem}.pdf"
    src.write_bytes(data)
    args = [PDFTOPPM, "-png", "-scale-to-x", str(width), "-scale-to-y", str(height)]
    subprocess.run([*args, str(src), str(tmp_path / stem)], check=True, timeout=120)
    pages = sorted(tmp_path.glob(f"{stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [QtGui.QImage(str(p)) for p in pages]


KIND_THEME = [(k, t) for t in CHART_THEME_NAMES for k in CHART_KINDS]


# -- the same picture in every format --------------------------------------------------------


@pytest.mark.parametrize("kind,theme", KIND_THEME)
def test_svg_as_qt_renders_it_is_the_png(qtbot, data, kind, theme):
    ex = _exports(kind, theme, data)
    r = similarity(_png(ex["png"]), _qt_svg(ex["svg"], chart_theme(theme).background))
    assert r >= MIN_R_QT_SVG, f"{kind}/{theme}: SVG vs PNG r = {r:.3f}"


@needs_rsvg
@pytest.mark.parametrize("kind,theme", KIND_THEME)
def test_svg_as_librsvg_renders_it_is_the_png(qtbot, data, tmp_path, kind, theme):
    """librsvg ignores vector-effect="non-scaling-stroke": unflattened, a 2 px curve drawn
    under a data-to-page matrix became a 120 px band and the error bars black blocks."""
    ex = _exports(kind, theme, data)
    r = similarity(_png(ex["png"]), _rsvg(ex["svg"], tmp_path))
    assert r >= MIN_R_RSVG, f"{kind}/{theme}: librsvg SVG vs PNG r = {r:.3f}"


@needs_pdftoppm
@pytest.mark.parametrize("kind,theme", KIND_THEME)
def test_pdf_as_poppler_renders_it_is_the_png(qtbot, data, tmp_path, kind, theme):
    ex = _exports(kind, theme, data)
    pages = _pdf_pages(ex["pdf"], tmp_path)
    assert len(pages) == 1
    r = similarity(_png(ex["png"]), pages[0])
    floor = MIN_R_PDF.get(theme, MIN_R_PDF_LIGHT)
    assert r >= floor, f"{kind}/{theme}: PDF vs PNG r = {r:.3f}"


@needs_pdftoppm
def test_the_picture_test_catches_the_old_scale_bug(qtbot, data, tmp_path):
    """Painting on a PDF writer whose DPI differs from pyqtgraph's QPicture caches (the old
    exports used 160 dpi) puts axes and bars at another scale: the similarity drops."""
    _s, e, c = data
    chart = export_chart_widget("hardware", "print", c, e, W, H)
    layout_chart(chart, W, H)
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    pdf = QtGui.QPdfWriter(buf)
    pdf.setResolution(160)
    pdf.setPageSize(
        QtGui.QPageSize(
            QtCore.QSizeF(W * 0.75, H * 0.75),
            QtGui.QPageSize.Unit.Point,
            "chart",
            QtGui.QPageSize.SizeMatchPolicy.ExactMatch,
        )
    )
    pdf.setPageMargins(QtCore.QMarginsF(0, 0, 0, 0))
    painter = QtGui.QPainter(pdf)
    painter.scale(160 / 96, 160 / 96)
    paint_chart(chart, painter, W, H)
    painter.end()
    chart.deleteLater()
    wrong = _pdf_pages(bytes(buf.data()), tmp_path)[0]
    good = _png(_exports("hardware", "print", data)["png"])
    assert similarity(good, wrong) < 0.95
    # and two different charts are not similar either
    other = _png(_exports("cost", "print", data)["png"])
    assert similarity(good, other) < 0.9


# -- what the files say about themselves ----------------------------------------------------


def test_vector_exports_are_the_size_asked_at_96_px_per_inch(qtbot, data):
    ex = _exports("frontier", "print", data)
    root = ET.fromstring(ex["svg"])
    assert (root.get("width"), root.get("height")) == (f"{W}px", f"{H}px")
    assert root.get("viewBox") == f"0 0 {W} {H}"
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", ex["pdf"])
    assert (float(m.group(1)), float(m.group(2))) == pytest.approx((W * 0.75, H * 0.75))
    img = _png(ex["png"])
    assert img.dotsPerMeterX() == round(96 / 0.0254)


def test_svg_is_flat_text_and_vector(qtbot, data):
    """No shape keeps a data-to-page matrix (readers without non-scaling-stroke draw it
    right), markers are paths not bitmaps, the footnote is in the file."""
    svg = _exports("lifetime", "print", data)["svg"].decode("utf-8")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    shapes = {"path", "polyline", "polygon", "rect", "line"}
    for g in root.iter(ns + "g"):
        if any(ch.tag.removeprefix(ns) in shapes for ch in g):
            t = g.get("transform")
            assert t is None or t.startswith("matrix(1,0,0,1,"), t
    assert "<image" not in svg  # the plan's star and the optimum are vectors
    assert "non-scaling-stroke" not in svg
    assert "Law: Epoch AI 2024" in svg and "<text" in svg


def test_flatten_transforms_applies_matrices_exactly():
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<g stroke="#000" stroke-width="2" transform="matrix(2,0,0,-3,10,100)">'
        b'<polyline vector-effect="non-scaling-stroke" points="1,1 2,2"/>'
        b'<path vector-effect="non-scaling-stroke" d="M0,0 L1,1 C1,2 2,2 3,3 Z"/></g>'
        b'<g fill="#f00" stroke="none" transform="matrix(2,0,0,2,1,1)">'
        b'<rect x="1" y="1" width="2" height="3"/></g>'
        b'<g stroke="#000" stroke-width="1" transform="matrix(2,0,0,2,0,0)">'
        b'<polyline points="0,0 1,1"/></g>'
        b'<g stroke="#000" stroke-width="1" transform="matrix(2,0,0,5,0,0)">'
        b'<polyline points="0,0 1,1"/></g>'
        b'<g transform="matrix(2,0,0,2,0,0)"><text x="1" y="1">kept</text></g></svg>'
    )
    out = flatten_transforms(svg, 300, 200).decode()
    root = ET.fromstring(out)
    assert (root.get("width"), root.get("height")) == ("300px", "200px")
    assert 'points="12,97 14,94"' in out
    assert 'd="M 10,100 L 12,97 C 12,94 14,94 16,91 Z"' in out
    assert 'd="M 3,3 L 7,3 L 7,9 L 3,9 Z"' in out  # a rect under the matrix
    assert 'stroke-width="2"' in out  # a scaling stroke under a uniform x2 matrix widens
    assert "matrix(2,0,0,5,0,0)" in out  # a scaling stroke under a non-uniform one: kept
    assert '<text x="1" y="1">kept</text>' in out


# -- defaults and the clipboard -------------------------------------------------------------


def test_exports_default_to_print_style_whatever_the_window_shows(qtbot, data, tmp_path):
    _s, e, c = data
    w = create_chart("frontier", "normal")  # the dark window theme
    qtbot.addWidget(w)
    w.update_chart(c, e)
    out = tmp_path / "f.png"
    w.export(out, 800, 500)
    img = QtGui.QImage(str(out))
    assert QtGui.QColor(img.pixel(3, 3)).name() == chart_theme("print").background
    w.export(tmp_path / "dark.png", 800, 500, theme="normal")
    dark = QtGui.QImage(str(tmp_path / "dark.png"))
    assert QtGui.QColor(dark.pixel(3, 3)).name() == chart_theme("normal").background


def test_copy_to_clipboard_puts_the_picture_and_svg(qtbot, data):
    _s, e, c = data
    clip = QtGui.QGuiApplication.clipboard()
    clip.clear()
    img = copy_chart_to_clipboard("isoflop", c, e, width_px=800, height_px=500)
    got = clip.image()
    assert (got.width(), got.height()) == (800, 500)
    assert similarity(got, img) > 0.999
    mime = clip.mimeData()
    assert mime.hasImage()
    svg = bytes(mime.data("image/svg+xml"))
    assert ET.fromstring(svg).get("width") == "800px"
    with pytest.raises(InputError, match="width must be"):
        copy_chart_to_clipboard("isoflop", c, e, width_px=5, height_px=500)


def test_big_exports_draw_thicker_lines(qtbot, data):
    """A 4x larger export draws the frontier about 4x thicker, not a 1-pixel cosmetic line."""
    _s, e, c = data

    def line_px(w, h):
        img = QtGui.QImage.fromData(
            render_chart("frontier", "presentation", c, e, "png", width_px=w, height_px=h), "PNG"
        )
        img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
        target = QtGui.QColor(chart_theme("presentation").palette[0])
        col = img.width() // 3
        hits = 0
        for yy in range(img.height()):
            px = QtGui.QColor(img.pixel(col, yy))
            if (
                abs(px.red() - target.red())
                + abs(px.green() - target.green())
                + abs(px.blue() - target.blue())
            ) < 60:
                hits += 1
        return hits

    ratio = line_px(3200, 2000) / max(1, line_px(800, 500))
    assert 2.5 < ratio < 8  # a cosmetic 1-pixel pen would give about 1


def test_export_errors_are_clear(qtbot, tmp_path, data):
    _s, e, c = data
    w = create_chart("frontier")
    qtbot.addWidget(w)
    with pytest.raises(InputError, match="nothing to export"):
        w.export(tmp_path / "x.png")
    w.update_chart(c, e)
    with pytest.raises(InputError, match=r"name the file \.png, \.svg or \.pdf"):
        w.export(tmp_path / "x.jpg")
    with pytest.raises(InputError, match="width must be"):
        w.export(tmp_path / "x.png", width_px=0)
    with pytest.raises(InputError, match="cannot write the chart"):
        w.export(tmp_path / "missing-folder" / "x.png")
    with pytest.raises(InputError, match="unknown chart theme"):
        w.export(tmp_path / "x.png", theme="neon")
    out = tmp_path / "ok.png"
    w.export(out, 400, 250)
    assert out.stat().st_mode & 0o044  # a new file gets normal permissions, not 0600
