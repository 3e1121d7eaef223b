"""Chart export: PNG, SVG, PDF and the clipboard through one painting path.

Every format is the same picture. A fresh chart is built at the export size (fonts and pens
scaled with the canvas, markers as vector paths), laid out, and its scene painted by
:func:`paint_chart` onto a ``QImage`` (PNG, clipboard), a ``QSvgGenerator`` (SVG) or a
``QPdfWriter`` (PDF). pyqtgraph's exporters are not used: ``SVGExporter`` raises on PySide6
>= 6.11 (pyqtgraph issue 3495), and its SVG/PDF put axis ticks at another scale than the data.

Why the devices get one resolution: pyqtgraph caches axes and bars as ``QPicture`` recordings,
and Qt replays a ``QPicture`` scaled by the target device's DPI over the DPI it was recorded at
(the screen's logical DPI, 96 here). The old exports painted onto an SVG generator at 72 dpi
and a PDF writer at 160 dpi, so axes and bars came out at 0.75x and 1.67x while the curves were
right: the $30 M plan sat on the "$10 M" tick, tick labels were huge, rows went missing. Every
device here has the ``QPicture`` DPI (:func:`picture_dpi`); vector formats map one pixel to
1/96 inch (a 1600 x 1000 export is a 16.7 x 10.4 inch page), the CSS pixel.

SVG is flattened (:func:`estimator.gui.charts.svg.flatten_transforms`) so renderers without
``vector-effect="non-scaling-stroke"`` (librsvg, Inkscape, Illustrator) draw thin lines, not
black blocks, and carries no clip paths (Qt's are unreliable): export charts cut their curves
to the plot area instead. Files are written atomically.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.errors import InputError
from estimator.gui.chart_kinds import EXPORT_SUFFIXES
from estimator.gui.charts.base import ChartWidget
from estimator.gui.charts.registry import check_kind, create_chart
from estimator.gui.charts.svg import flatten_transforms
from estimator.gui.theme import EXPORT_THEME, get_theme
from estimator.scenario import Scenario

MAX_EXPORT_PX = 16000
MIN_EXPORT_PX = 16
# Reference canvas for the theme's sizes: an export of this size uses them as they are,
# larger exports scale fonts and pens up with the pixel size.
REFERENCE_SIZE_PX = (1000, 625)
CSS_DPI = 96.0  # vector formats: one exported pixel is 1/96 inch


def picture_dpi() -> int:
    """The DPI pyqtgraph's cached ``QPicture`` recordings carry (Qt's default logical DPI)."""
    _ensure_app()
    return QtGui.QPicture().logicalDpiX()


def export_scale(width_px: int, height_px: int) -> float:
    """Font and pen multiplier for an export of this size (1 on the reference canvas)."""
    return min(width_px / REFERENCE_SIZE_PX[0], height_px / REFERENCE_SIZE_PX[1])


def check_suffix(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise InputError(
            f"{Path(path).name}: cannot export a chart as "
            f"'{suffix or '(no suffix)'}'; name the file .png, .svg or .pdf",
            field="out",
            value=str(path),
            expected=".png, .svg or .pdf",
        )
    return suffix


def check_size(width_px, height_px) -> tuple[int, int]:
    for name, v in (("width", width_px), ("height", height_px)):
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not (math.isfinite(v) and MIN_EXPORT_PX <= v <= MAX_EXPORT_PX)
        ):
            raise InputError(
                f"chart {name} must be a whole number of pixels from {MIN_EXPORT_PX} to "
                f"{MAX_EXPORT_PX:,} (--{name}), got {v!r}",
                field=name,
                value=v,
                expected=f"{MIN_EXPORT_PX} to {MAX_EXPORT_PX} pixels",
            )
    return int(width_px), int(height_px)


# --------------------------------------------------------------------------------------
# The one painting path
# --------------------------------------------------------------------------------------


def layout_chart(chart: ChartWidget, w: int, h: int) -> None:
    """Size the chart's scene to w x h pixels and settle its layout (axes widen to fit their
    tick labels on the first paint, so two trial paints)."""
    view = chart.view
    # The view widget must have the export's size: pyqtgraph measures axes (tick density,
    # label room) in the view's device pixels.
    chart.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    chart.resize(w, h)
    view.resize(w, h)
    chart.show()
    QtWidgets.QApplication.processEvents()
    chart.fit_texts(w)
    dpm = round(picture_dpi() / 0.0254)
    for _ in range(2):
        view.setRange(QtCore.QRectF(0, 0, w, h), padding=0)
        view.ci.layout.activate()
        QtWidgets.QApplication.processEvents()
        img = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32)
        img.setDotsPerMeterX(dpm)
        img.setDotsPerMeterY(dpm)
        painter = QtGui.QPainter(img)
        view.scene().render(painter, QtCore.QRectF(0, 0, w, h), QtCore.QRectF(0, 0, w, h))
        painter.end()
        QtWidgets.QApplication.processEvents()
    view.setRange(QtCore.QRectF(0, 0, w, h), padding=0)
    view.ci.layout.activate()
    QtWidgets.QApplication.processEvents()


def paint_chart(chart: ChartWidget, painter: QtGui.QPainter, w: int, h: int) -> None:
    """Paint the laid-out chart into the painter's (0, 0, w, h) rectangle. The painter's
    device must have :func:`picture_dpi` (see the module docstring)."""
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
    target = QtCore.QRectF(0, 0, w, h)
    painter.fillRect(target, QtGui.QColor(chart.theme.background))
    chart.view.scene().render(painter, target, QtCore.QRectF(0, 0, w, h))


def render_to_image(chart: ChartWidget, w: int, h: int) -> QtGui.QImage:
    """The chart as a w x h image (laid out at that size first); 96 dpi in its metadata."""
    layout_chart(chart, w, h)
    img = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32)
    img.fill(QtGui.QColor(chart.theme.background))
    dpm = round(picture_dpi() / 0.0254)
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    painter = QtGui.QPainter(img)
    paint_chart(chart, painter, w, h)
    painter.end()
    img.setDotsPerMeterX(round(CSS_DPI / 0.0254))
    img.setDotsPerMeterY(round(CSS_DPI / 0.0254))
    return img


def image_bytes(img: QtGui.QImage, fmt: str = "PNG") -> bytes:
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, fmt):
        raise InputError(f"cannot encode the chart as {fmt}")
    return bytes(buf.data())


def svg_bytes(chart: ChartWidget, w: int, h: int) -> bytes:
    """The chart as SVG 1.1, w x h CSS pixels, flattened for every renderer."""
    from PySide6.QtSvg import QSvgGenerator

    layout_chart(chart, w, h)
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    # SVG Tiny 1.2 (no clip paths): Qt's SVG 1.1 clip paths outlive the painter state that
    # set them (a legend swatch drawn after a label inherits the label's clip and vanishes),
    # so export charts cut their curves to the plot themselves (ChartWidget.clip_for_export).
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setResolution(picture_dpi())
    gen.setSize(QtCore.QSize(w, h))
    gen.setViewBox(QtCore.QRect(0, 0, w, h))
    gen.setTitle(chart.title)
    gen.setDescription(chart.footnote_plain)
    painter = QtGui.QPainter(gen)
    paint_chart(chart, painter, w, h)
    painter.end()
    return flatten_transforms(bytes(buf.data()), w, h)


def pdf_bytes(chart: ChartWidget, w: int, h: int) -> bytes:
    """The chart as a one-page PDF of w x h CSS pixels (w / 96 inches wide)."""
    layout_chart(chart, w, h)
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    pdf = QtGui.QPdfWriter(buf)
    pdf.setTitle(chart.title)
    pdf.setCreator("LLM cost estimator")
    dpi = picture_dpi()
    pdf.setResolution(dpi)
    size = QtGui.QPageSize(
        QtCore.QSizeF(w * 72.0 / CSS_DPI, h * 72.0 / CSS_DPI),
        QtGui.QPageSize.Unit.Point,
        "chart",
        QtGui.QPageSize.SizeMatchPolicy.ExactMatch,
    )
    pdf.setPageSize(size)
    pdf.setPageMargins(QtCore.QMarginsF(0, 0, 0, 0))
    painter = QtGui.QPainter(pdf)
    if dpi != CSS_DPI:  # device pixels per CSS pixel (1 wherever Qt's default DPI is 96)
        painter.scale(dpi / CSS_DPI, dpi / CSS_DPI)
    paint_chart(chart, painter, w, h)
    painter.end()
    return bytes(buf.data())


def export_chart_widget(
    kind: str,
    theme: str,
    curves: Curves,
    estimate: Estimate,
    width_px: int,
    height_px: int,
    options: dict | None = None,
) -> ChartWidget:
    """A chart of ``kind`` built for an export of this size, with the data set (the caller
    disposes of it); ``options``: the kind's inputs beyond the scenario."""
    w, h = check_size(width_px, height_px)
    _ensure_app()
    chart = create_chart(
        check_kind(kind), theme, scale=export_scale(w, h), for_export=True, options=options
    )
    chart.update_chart(curves, estimate)
    return chart


def render_chart(
    kind: str,
    theme: str,
    curves: Curves,
    estimate: Estimate,
    fmt: str,
    *,
    width_px: int = 1600,
    height_px: int = 1000,
    options: dict | None = None,
) -> bytes:
    """Chart ``kind`` in ``theme`` as the bytes of a ``fmt`` file ('png', 'svg' or 'pdf')."""
    fmt = fmt.lower().lstrip(".")
    if "." + fmt not in EXPORT_SUFFIXES:
        raise InputError(
            f"cannot export a chart as '{fmt}'; use png, svg or pdf",
            field="format",
            value=fmt,
            expected="png, svg or pdf",
        )
    get_theme(theme)
    w, h = check_size(width_px, height_px)
    chart = export_chart_widget(kind, theme, curves, estimate, w, h, options)
    try:
        if fmt == "png":
            return image_bytes(render_to_image(chart, w, h))
        if fmt == "svg":
            return svg_bytes(chart, w, h)
        return pdf_bytes(chart, w, h)
    finally:
        chart.hide()
        chart.deleteLater()


def render_chart_file(
    kind: str,
    theme: str,
    curves: Curves,
    estimate: Estimate,
    path: str | Path,
    *,
    width_px: int = 1600,
    height_px: int = 1000,
    options: dict | None = None,
) -> None:
    """Draw chart ``kind`` offscreen at the export size and write it by the file's suffix."""
    check_kind(kind)
    suffix = check_suffix(path)
    data = render_chart(
        kind, theme, curves, estimate, suffix, width_px=width_px, height_px=height_px,
        options=options,
    )
    write_file(path, data, "the chart")


def copy_chart_to_clipboard(
    kind: str,
    curves: Curves,
    estimate: Estimate,
    *,
    width_px: int = 1600,
    height_px: int = 1000,
    theme: str = EXPORT_THEME,
) -> QtGui.QImage:
    """Put chart ``kind`` on the clipboard: as an image (what every application pastes) and
    as SVG (``image/svg+xml``, for applications that take vectors). Returns the image."""
    w, h = check_size(width_px, height_px)
    get_theme(theme)
    chart = export_chart_widget(kind, theme, curves, estimate, w, h)
    try:
        img = render_to_image(chart, w, h)
        svg = svg_bytes(chart, w, h)
    finally:
        chart.hide()
        chart.deleteLater()
    mime = QtCore.QMimeData()
    mime.setImageData(img)
    mime.setData("image/svg+xml", QtCore.QByteArray(svg))
    QtGui.QGuiApplication.clipboard().setMimeData(mime)
    return img


def write_file(path: str | Path, data: bytes, what: str) -> None:
    """Atomic write; a new file gets the usual permissions (umask), not the temp file's 0600."""
    from estimator.fileio import atomic_write_bytes

    p = Path(path)
    existed = p.exists()
    try:
        atomic_write_bytes(p, data)
        if not existed:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(p, 0o666 & ~umask)
    except OSError as exc:
        raise InputError(
            f"{p}: cannot write {what} ({exc.strerror or exc}); check the "
            "folder exists and is writable",
            field="out",
            value=str(p),
        ) from None


_APP: QtWidgets.QApplication | None = None


def _ensure_app() -> QtWidgets.QApplication:
    """The running QApplication, or a new one (offscreen when there is no display)."""
    global _APP
    app = QtWidgets.QApplication.instance()
    if app is not None:
        return app
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    QtCore.qInstallMessageHandler(_quiet_qt_messages)
    _APP = QtWidgets.QApplication(["estimator"])
    return _APP


def _quiet_qt_messages(mode, context, message: str) -> None:
    """Headless exports keep stderr for our one-line errors: drop the offscreen plugin's
    harmless notice, pass everything else through."""
    if "propagateSizeHints" in message:
        return
    sys.stderr.write(message + "\n")


def export_chart(
    kind: str,
    scenario: Scenario,
    out,
    *,
    width_px: int = 1600,
    height_px: int = 1000,
    theme: str = EXPORT_THEME,
    options: dict | None = None,
) -> None:
    """Headless export: estimate the scenario, compute its curves and write chart ``kind`` to
    ``out`` (.png, .svg or .pdf) in ``theme`` (default: print); ``options``: the kind's
    inputs beyond the scenario (the break-even's rent-or-own prices). Raises InputError with
    the fix for a bad kind, suffix, size or theme before doing any work."""
    from estimator.curves import compute_curves
    from estimator.engine import estimate
    from estimator.hardware import load_profiles

    check_kind(kind)
    check_suffix(out)
    check_size(width_px, height_px)
    get_theme(theme)
    profiles = load_profiles()
    est = estimate(scenario, profiles=profiles)
    curves = compute_curves(scenario, est, profiles=profiles)
    render_chart_file(kind, theme, curves, est, out, width_px=width_px, height_px=height_px,
                      options=options)


__all__ = [
    "copy_chart_to_clipboard",
    "export_chart",
    "export_scale",
    "layout_chart",
    "paint_chart",
    "pdf_bytes",
    "picture_dpi",
    "render_chart",
    "render_chart_file",
    "render_to_image",
    "svg_bytes",
    "write_file",
]
