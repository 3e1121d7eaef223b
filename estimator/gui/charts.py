"""Charts: pyqtgraph plots of :class:`estimator.curves.Curves`, and their export to PNG, SVG and
PDF for proposals and slides.

One :class:`ChartWidget` per chart kind. It builds its scene once and
:meth:`ChartWidget.update_chart` only sets data on the existing items, so the window can
redraw on every slider move. Every chart explains itself: a title, a subtitle with the plan's
key numbers, axis labels with units, a legend and a footnote with the law and hardware
assumptions and the date.

Log axes use :class:`SmartAxis`, which always labels 3-8 ticks with human units ("1e21",
"10 B", "$1 M") even over less than a decade (pyqtgraph's own log axis shows almost no labels
there). Colours are the Okabe-Ito colour-blind-safe palette, with line styles as a second cue.

Export renders the scene at the requested pixel size with fonts and pens scaled to it (not
pyqtgraph's ``ImageExporter``, which keeps cosmetic pens one pixel thin at large widths); SVG goes
through ``QSvgGenerator`` (pyqtgraph's ``SVGExporter`` breaks on PySide6 >= 6.11, issue 3495)
and PDF through ``QPdfWriter``. Files are written atomically.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # before pyqtgraph picks a Qt binding

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from estimator import units  # noqa: E402
from estimator.curves import Curves  # noqa: E402
from estimator.errors import InputError  # noqa: E402
from estimator.report import assumptions_line, hardware_short_name  # noqa: E402
from estimator.scenario import Scenario  # noqa: E402
from estimator.engine import Estimate  # noqa: E402

CHART_KINDS = ("frontier", "isoloss", "cost", "lifetime", "hardware")
CLI_CHART_KINDS = ("frontier", "isoloss", "hardware", "lifetime")
EXPORT_SUFFIXES = (".png", ".svg", ".pdf")
MAX_EXPORT_PX = 16000
# Reference canvas for the theme's sizes: an export of this size uses them as they are,
# larger exports scale fonts and pens up with the pixel size.
REFERENCE_SIZE_PX = (1000, 625)
MAX_ISO_LEVELS = 8

# Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, yellow, black.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_DASHES = (
    QtCore.Qt.PenStyle.SolidLine,
    QtCore.Qt.PenStyle.DashLine,
    QtCore.Qt.PenStyle.DotLine,
    QtCore.Qt.PenStyle.DashDotLine,
)

TITLES = {
    "frontier": "Loss vs training compute on the compute-optimal frontier",
    "isoloss": "Model size vs training tokens, with iso-loss contours",
    "cost": "Training cost to reach a target loss, by hardware",
    "lifetime": "Lifetime cost vs model size at the plan's loss",
    "hardware": "The plan on every hardware profile",
}


@dataclass(frozen=True)
class Theme:
    """Colours and sizes (pixels at the reference canvas; exports scale them)."""

    name: str
    background: str
    foreground: str
    muted: str
    grid_alpha: float
    palette: tuple[str, ...]
    plan_color: str
    optimum_color: str
    title_px: float
    subtitle_px: float
    label_px: float
    tick_px: float
    legend_px: float
    footnote_px: float
    annotation_px: float
    line_width: float
    marker_px: float
    band_alpha: int


THEMES: dict[str, Theme] = {
    "normal": Theme(
        name="normal",
        background="#1e1f22",
        foreground="#e8e8e8",
        muted="#a0a4aa",
        grid_alpha=0.18,
        palette=(
            "#56B4E9",
            "#E69F00",
            "#009E73",
            "#F0E442",
            "#CC79A7",
            "#D55E00",
            "#0072B2",
            "#BBBBBB",
        ),
        plan_color="#D55E00",
        optimum_color="#009E73",
        title_px=17,
        subtitle_px=13,
        label_px=13,
        tick_px=12,
        legend_px=12,
        footnote_px=11,
        annotation_px=12,
        line_width=2.0,
        marker_px=13,
        band_alpha=70,
    ),
    "presentation": Theme(
        name="presentation",
        background="#ffffff",
        foreground="#1a1a1a",
        muted="#5a5a5a",
        grid_alpha=0.22,
        palette=OKABE_ITO[:6] + ("#000000", "#999999"),
        plan_color="#D55E00",
        optimum_color="#009E73",
        title_px=24,
        subtitle_px=16,
        label_px=17,
        tick_px=16,
        legend_px=15,
        footnote_px=12.5,
        annotation_px=15,
        line_width=3.2,
        marker_px=17,
        band_alpha=60,
    ),
}


def _theme(name: str) -> Theme:
    if isinstance(name, Theme):
        return name
    if name not in THEMES:
        raise InputError(f"unknown chart theme '{name}': use one of {', '.join(THEMES)}")
    return THEMES[name]


def _check_kind(kind: str, allowed=CHART_KINDS) -> str:
    if kind not in allowed:
        raise InputError(f"unknown chart kind '{kind}': use one of {', '.join(allowed)}")
    return kind


def _check_suffix(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise InputError(
            f"{Path(path).name}: cannot export a chart as "
            f"'{suffix or '(no suffix)'}'; name the file .png, .svg or .pdf"
        )
    return suffix


# --------------------------------------------------------------------------------------
# Tick labels
# --------------------------------------------------------------------------------------


def _mantissa(m: float, digits: int) -> str:
    """``m`` with ``digits`` significant digits, never in e-notation: 10, 1.5, 250."""
    if m == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(m)) + 1e-12))
    return f"{m:.{decimals}f}"


def _sci(v: float, digits: int) -> str:
    """1e21, 2.5e21."""
    if v == 0:
        return "0"
    e = math.floor(math.log10(abs(v)) + 1e-12)
    txt = _mantissa(v / 10**e, digits)
    if abs(float(txt)) >= 10:
        e += 1
        txt = _mantissa(v / 10**e, digits)
    if "." in txt:
        txt = txt.rstrip("0").rstrip(".")
    return f"{txt}e{e}"


def _prefix_fmt(v: float, digits: int, sep: str = " ") -> str:
    if abs(v) >= 1e18:
        return _sci(v, digits)
    for scale, prefix in ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale * 0.9995:
            return f"{_mantissa(v / scale, digits)}{sep}{prefix}"
    return _mantissa(v, digits)


def format_tick(v: float, fmt: str, digits: int = 2) -> str:
    """One tick label: fmt 'flops' -> '1e21', 'count' -> '10 B', 'usd' -> '$1 M',
    'days' -> '20', 'plain' -> '%g'."""
    if not math.isfinite(v):
        return ""
    if fmt == "flops":
        return _sci(v, digits)
    if fmt == "count":
        return _prefix_fmt(v, digits)
    if fmt == "usd":
        if v < 0:
            return "−" + format_tick(-v, fmt, digits)
        return "$" + _prefix_fmt(v, digits)
    return _mantissa(v, digits)


def _unique_labels(values, fmt: str) -> list[str]:
    """The fewest significant digits (1-5) that tell every tick apart."""
    labels: list[str] = []
    for digits in range(1, 6):
        labels = [format_tick(v, fmt, digits) for v in values]
        if len(set(labels)) == len(labels):
            break
    return labels


def _nice_step(raw: float) -> float:
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exp >= raw:
            return m * 10**exp
    return 10 ** (exp + 1)


def log_tick_values(lo: float, hi: float, max_labels: int = 6) -> tuple[list[float], list[float]]:
    """Major (labelled) and minor tick positions in log10 units for a log axis spanning
    [lo, hi] (log10). At least 3 majors whenever the range allows: decades (every k-th when
    there are too many), then 1-3-10 or 1-2-5 mantissas, then evenly spaced values for ranges
    narrower than a factor of ~3."""
    lo, hi = sorted((float(lo), float(hi)))
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo <= 1e-12:
        return [], []
    max_labels = max(3, int(max_labels))
    span = hi - lo
    eps = 1e-9 * max(1.0, span)

    def decades(k: int) -> list[float]:
        start = math.ceil(lo / k - eps) * k
        return [float(start + i * k) for i in range(int((hi + eps - start) // k) + 1)]

    majors: list[float] = []
    if span >= 1.5:
        for k in (1, 2, 3, 4, 5, 10, 20, 50, 100):
            majors = decades(k)
            if len(majors) <= max_labels:
                break
    if len(majors) < 3 and span < 3:
        for mant in ((1, 3), (1, 2, 5), (1, 2, 3, 5, 7), tuple(range(1, 10))):
            v = [
                d + math.log10(m)
                for d in range(math.floor(lo) - 1, math.ceil(hi) + 1)
                for m in mant
            ]
            v = [x for x in v if lo - eps <= x <= hi + eps]
            if len(v) > max_labels + 1:
                break
            if len(v) > len(majors):
                majors = v
            if len(v) >= 3:
                break
    if len(majors) < 3 and span < 1:  # less than a decade: linear steps in value space
        a, b = 10**lo, 10**hi
        for parts in (4, 8, 16):
            step = _nice_step((b - a) / parts)
            first = math.ceil(a / step - 1e-9) * step
            vals = [first + i * step for i in range(int((b - first) / step + 1e-9) + 1)]
            lin = [math.log10(x) for x in vals if x > 0]
            if len(lin) > len(majors):
                majors = lin
            if len(majors) >= 3:
                break
    minors: list[float] = []
    if span <= 3.5:
        for d in range(math.floor(lo) - 1, math.ceil(hi) + 1):
            for m in range(1, 10):
                x = d + math.log10(m)
                if lo <= x <= hi and all(abs(x - y) > 1e-6 for y in majors):
                    minors.append(x)
    elif len(majors) >= 2 and majors[1] - majors[0] > 1.5:
        minors = [
            float(d)
            for d in range(math.ceil(lo), math.floor(hi) + 1)
            if all(abs(d - y) > 1e-6 for y in majors)
        ]
    return majors, minors


class SmartAxis(pg.AxisItem):
    """An axis whose tick labels stay readable: human units, and on log axes at least three
    labelled ticks over any range (custom :func:`log_tick_values`)."""

    def __init__(self, orientation: str, fmt: str = "plain", **kwargs):
        super().__init__(orientation, **kwargs)
        self.fmt = fmt
        self.tick_px = 12.0
        self.enableAutoSIPrefix(False)

    def _max_labels(self, size: float) -> int:
        per = self.tick_px * (5.0 if self.orientation in ("top", "bottom") else 2.6)
        return max(3, min(8, int(size / max(per, 1.0))))

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph API)
        # Called from paint(): an exception there takes PySide down, so fall back instead.
        try:
            return self._tick_values(minVal, maxVal, size)
        except Exception:  # noqa: BLE001
            return super().tickValues(minVal, maxVal, size)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        try:
            return self._tick_strings(values, spacing)
        except Exception:  # noqa: BLE001
            return [""] * len(values)

    def _tick_values(self, minVal, maxVal, size):  # noqa: N803
        if self.logMode:
            majors, minors = log_tick_values(minVal, maxVal, self._max_labels(size))
            return [(1.0, majors), (None, minors)]
        lo, hi = sorted((minVal, maxVal))
        if hi - lo <= 0:
            return []
        step = _nice_step((hi - lo) / max(3, self._max_labels(size)))
        majors = list(np.arange(math.ceil(lo / step - 1e-9) * step, hi + step * 1e-9, step))
        # No minor ticks on linear axes: their grid lines halved the redraw rate while a
        # slider moves (each is a separate alpha-blended line) and add little to reading.
        return [(step, majors)]

    def _tick_strings(self, values, spacing):
        if spacing is None:
            return [""] * len(values)
        if self.logMode:
            return _unique_labels([10.0**v for v in values], self.fmt)
        vals = [0.0 if abs(v) < spacing * 1e-6 else v for v in values]
        if self.fmt in ("plain", "days"):
            places = max(0, -math.floor(math.log10(spacing) + 1e-9)) if spacing > 0 else 0
            return [f"{v:,.{places}f}" for v in vals]
        return _unique_labels(vals, self.fmt)


class _Sample(pg.GraphicsWidget):
    """A legend swatch that scales with the chart: a line with the item's pen and symbol, a
    filled box for bars and bands, a whisker for error bars."""

    sigClicked = QtCore.Signal(object)  # the legend connects it; swatches are not clickable

    def __init__(self, item):
        super().__init__()
        self.item = item
        self.set_px(12.0)

    def set_px(self, px: float) -> None:
        """Size the swatch for a legend font of ``px`` pixels."""
        self.prepareGeometryChange()
        self._w, self._h = 2.6 * px, 1.3 * px
        self.setFixedWidth(self._w)
        self.setFixedHeight(self._h)

    def boundingRect(self):  # noqa: N802 (Qt API)
        return QtCore.QRectF(0, 0, self._w, self._h)

    def paint(self, p, *args):
        from pyqtgraph.graphicsItems.ScatterPlotItem import drawSymbol

        item, w, h = self.item, self._w, self._h
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        if isinstance(item, pg.FillBetweenItem):
            p.setPen(pg.mkPen(None))
            p.setBrush(item.brush())
            p.drawRect(QtCore.QRectF(0.1 * w, 0.15 * h, 0.8 * w, 0.7 * h))
            return
        if isinstance(item, pg.BarGraphItem):
            p.setPen(pg.mkPen(None))
            p.setBrush(pg.mkBrush(item.opts.get("brush")))
            p.drawRect(QtCore.QRectF(0.1 * w, 0.15 * h, 0.8 * w, 0.7 * h))
            return
        if isinstance(item, pg.ErrorBarItem):
            pen = pg.mkPen(item.opts.get("pen"))
            p.setPen(pen)
            p.drawLine(QtCore.QPointF(0.15 * w, h / 2), QtCore.QPointF(0.85 * w, h / 2))
            p.drawLine(QtCore.QPointF(0.15 * w, 0.2 * h), QtCore.QPointF(0.15 * w, 0.8 * h))
            p.drawLine(QtCore.QPointF(0.85 * w, 0.2 * h), QtCore.QPointF(0.85 * w, 0.8 * h))
            return
        opts = item.opts
        pen = opts.get("pen")
        if pen is not None:
            pen = pg.mkPen(pen)
            if pen.style() != QtCore.Qt.PenStyle.NoPen:
                p.setPen(pen)
                p.drawLine(QtCore.QPointF(0.05 * w, h / 2), QtCore.QPointF(0.95 * w, h / 2))
        symbol = opts.get("symbol")
        if symbol is not None:
            so = item.scatter.opts
            p.translate(w / 2, h / 2)
            drawSymbol(
                p, symbol, min(so["size"], h * 1.1), pg.mkPen(so["pen"]), pg.mkBrush(so["brush"])
            )


class _Legend(pg.LegendItem):
    """A legend in its own layout row under the plot (never over the data), in columns."""

    def updateSize(self):  # noqa: N802 (pyqtgraph API)
        lay = self.layout
        widths = [0.0] * max(1, lay.columnCount())
        heights = [0.0] * max(1, lay.rowCount())
        for row in range(lay.rowCount()):
            for col in range(lay.columnCount()):
                item = lay.itemAt(row, col)
                if item is not None and (not hasattr(item, "isVisible") or item.isVisible()):
                    hint = item.effectiveSizeHint(QtCore.Qt.SizeHint.PreferredSize)
                    widths[col] = max(widths[col], hint.width())
                    heights[row] = max(heights[row], hint.height())
        spacing = lay.verticalSpacing() if lay.verticalSpacing() >= 0 else 0
        height = sum(heights) + spacing * max(0, sum(h > 0 for h in heights) - 1) + 4
        width = sum(widths) + lay.horizontalSpacing() * max(0, len(widths) - 1)
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.setMinimumWidth(min(width, 200))
        self.updateGeometry()


def _wrap(text: str, font: QtGui.QFont, avail: float) -> str:
    """Break ``text`` at ' · ' (then spaces) into lines no wider than ``avail`` pixels."""
    fm = QtGui.QFontMetricsF(font)
    if avail <= 0 or fm.horizontalAdvance(text) <= avail:
        return text
    lines: list[str] = []
    cur = ""
    for sep, parts in ((" · ", text.split(" · ")),):
        for part in parts:
            cand = part if not cur else f"{cur}{sep}{part}"
            if cur and fm.horizontalAdvance(cand) > avail:
                lines.append(cur)
                cur = part
            else:
                cur = cand
    lines.append(cur)
    out = []
    for line in lines:  # a single part still too wide: break at spaces
        words, cur = line.split(" "), ""
        for wd in words:
            cand = wd if not cur else f"{cur} {wd}"
            if cur and fm.horizontalAdvance(cand) > avail:
                out.append(cur)
                cur = wd
            else:
                cur = cand
        out.append(cur)
    return "<br>".join(out)


def _finite_xy(x, y, positive_y: bool = False, positive_x: bool = False):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if positive_x:
        ok &= x > 0
    if positive_y:
        ok &= y > 0
    return x[ok], y[ok]


class ChartWidget(QtWidgets.QWidget):
    """One chart: title, subtitle, plot(s), legend and footnote in one pyqtgraph scene.

    ``curve_items`` maps names to the PlotDataItems (data in real units: ``item.xData``;
    ``item.getData()`` returns log10 values on log axes). The hardware chart keeps its bars in
    ``bar_items`` and its error bars in ``error_items``. ``scale`` multiplies every font and
    pen size (exports use it to draw at print weight)."""

    def __init__(self, kind: str, theme: str = "normal", parent=None, *, scale: float = 1.0):
        super().__init__(parent)
        self.kind = _check_kind(kind)
        self.theme = _theme(theme)
        self.scale = float(scale)
        self.curves: Curves | None = None
        self.estimate: Estimate | None = None
        self.curve_items: dict[str, pg.PlotDataItem] = {}
        self.bar_items: dict[str, pg.BarGraphItem] = {}
        self.error_items: dict[str, pg.ErrorBarItem] = {}
        self.text_items: dict[str, pg.TextItem] = {}
        self.plot_items: list[pg.PlotItem] = []
        self._footnote_text = ""
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(320, 220)
        lay.addWidget(self.view)
        self._build()
        self._apply_theme()

    # -- public ------------------------------------------------------------------------
    @property
    def plot_item(self) -> pg.PlotItem:
        return self.plot_items[0]

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a named curve in real units (FLOPs, params, USD ...)."""
        item = self.curve_items[name]
        return np.asarray(item.xData), np.asarray(item.yData)

    def set_theme(self, theme: str) -> None:
        self.theme = _theme(theme)
        self._apply_theme()
        if self.curves is not None and self.estimate is not None:
            self.update_chart(self.curves, self.estimate)

    def update_chart(self, curves: Curves, estimate: Estimate) -> None:
        """Show new data: setData on the existing items, never a rebuild."""
        self.curves = curves
        self.estimate = estimate
        getattr(self, f"_update_{self.kind}")(curves, estimate)
        self._set_texts(estimate)

    def export(self, path: str | Path, width_px: int = 1600, height_px: int = 1000) -> None:
        """Write the chart (title and footnote included) to PNG, SVG or PDF by suffix.
        PNG has exactly ``width_px`` x ``height_px`` pixels, with fonts and pens scaled up
        for print."""
        if self.curves is None or self.estimate is None:
            raise InputError("nothing to export yet: the chart has no estimate to show")
        render_chart_file(
            self.kind,
            self.theme.name,
            self.curves,
            self.estimate,
            path,
            width_px=width_px,
            height_px=height_px,
        )

    # -- sizes ---------------------------------------------------------------------------
    def _px(self, v: float) -> float:
        return v * self.scale

    def _font(self, px: float, bold: bool = False) -> QtGui.QFont:
        f = QtGui.QFont()
        f.setPixelSize(max(1, round(self._px(px))))
        f.setBold(bold)
        return f

    def _pen(self, color, width: float = 1.0, style=QtCore.Qt.PenStyle.SolidLine):
        pen = pg.mkPen(color, width=self._px(self.theme.line_width * width))
        pen.setStyle(style)
        pen.setCapStyle(
            QtCore.Qt.PenCapStyle.FlatCap
            if style != QtCore.Qt.PenStyle.SolidLine
            else QtCore.Qt.PenCapStyle.RoundCap
        )
        return pen

    # -- building ------------------------------------------------------------------------
    def _new_plot(self, bottom: str, left: str, log_x: bool, log_y: bool) -> pg.PlotItem:
        axes = {"bottom": SmartAxis("bottom", bottom), "left": SmartAxis("left", left)}
        p = pg.PlotItem(axisItems=axes)
        p.setLogMode(x=log_x, y=log_y)
        p.setMenuEnabled(False)
        p.hideButtons()
        p.vb.setMouseEnabled(x=False, y=False)
        p.showGrid(x=True, y=True)
        self.plot_items.append(p)
        return p

    def _curve(self, plot: pg.PlotItem, name: str, **kw) -> pg.PlotDataItem:
        item = pg.PlotDataItem(**kw)
        plot.addItem(item)
        self.curve_items[name] = item
        return item

    def _text(self, plot: pg.PlotItem, name: str, anchor=(0, 1)) -> pg.TextItem:
        item = pg.TextItem(anchor=anchor)
        item.setZValue(100)  # above every line
        plot.addItem(item, ignoreBounds=True)
        self.text_items[name] = item
        return item

    def _build(self) -> None:
        ci = self.view.ci
        self.title_label = pg.LabelItem(justify="left")
        self.subtitle_label = pg.LabelItem(justify="left")
        self.footnote_label = pg.LabelItem(justify="left")
        self.legend = _Legend(sampleType=_Sample, verSpacing=self._px(2), horSpacing=self._px(8))
        getattr(self, f"_build_{self.kind}")()
        ncol = len(self.plot_items)
        ci.addItem(self.title_label, row=0, col=0, colspan=ncol)
        ci.addItem(self.subtitle_label, row=1, col=0, colspan=ncol)
        for i, p in enumerate(self.plot_items):
            ci.addItem(p, row=2, col=i)
        ci.addItem(self.legend, row=3, col=0, colspan=ncol)
        ci.addItem(self.footnote_label, row=4, col=0, colspan=ncol)
        ci.layout.setRowStretchFactor(2, 1)
        self.legend.setColumnCount({"cost": 4, "hardware": 3}.get(self.kind, 3))
        for i in range(ncol):
            ci.layout.setColumnStretchFactor(i, 3 if (ncol > 1 and i == 0) else 2)

    def _build_frontier(self) -> None:
        p = self._new_plot("flops", "plain", True, False)
        p.setLabel("bottom", "Training compute C = 6ND (FLOPs)")
        p.setLabel("left", "Final loss (nats/token)")
        lo = self._curve(p, "band_p10")
        hi = self._curve(p, "band_p90")
        self.band = pg.FillBetweenItem(lo, hi)
        p.addItem(self.band)
        self._curve(p, "frontier")
        self.target_vline = pg.InfiniteLine(angle=90)
        self.target_hline = pg.InfiniteLine(angle=0)
        p.addItem(self.target_vline, ignoreBounds=True)
        p.addItem(self.target_hline, ignoreBounds=True)
        self._curve(p, "target")
        self._text(p, "target", anchor=(0, 1))
        self.legend.addItem(self.curve_items["frontier"], "Compute-optimal frontier")
        self.legend.addItem(self.band, "P10–P90 over law samples")
        self.legend.addItem(self.curve_items["target"], "The plan")

    def _build_isoloss(self) -> None:
        p = self._new_plot("count", "count", True, True)
        p.setLabel("bottom", "Model size N (parameters)")
        p.setLabel("left", "Training tokens D")
        self._curve(p, "fitted_box")
        for k in range(MAX_ISO_LEVELS):
            self._curve(p, f"contour_{k}")
            self._text(p, f"contour_{k}", anchor=(0.5, 0.5))
        self._curve(p, "optimal")
        self._curve(p, "lifetime_optimum")
        self._curve(p, "plan")
        self._text(p, "plan", anchor=(-0.08, -0.1))
        self.legend.addItem(self.curve_items["contour_0"], "Iso-loss contour")
        self.legend.addItem(self.curve_items["optimal"], "Compute-optimal line")
        self.legend.addItem(self.curve_items["plan"], "The plan")
        self.legend.addItem(self.curve_items["lifetime_optimum"], "Inference-aware optimum")
        self.legend.addItem(self.curve_items["fitted_box"], "Law's fitted range")

    def _build_cost(self) -> None:
        p = self._new_plot("plain", "usd", False, True)
        p.setLabel("bottom", "Target loss (nats/token)")
        p.setLabel("left", "Training cost (USD)")
        self.plan_vline = pg.InfiniteLine(angle=90)
        p.addItem(self.plan_vline, ignoreBounds=True)
        self._cost_ids: list[str] = []
        self._cost_plot = p
        self._curve(p, "plan")
        self._text(p, "plan", anchor=(-0.08, 1.1))

    def _build_lifetime(self) -> None:
        p = self._new_plot("count", "usd", True, True)
        p.setLabel("bottom", "Model size N (parameters) trained to the plan's loss")
        p.setLabel("left", "Cost (USD)")
        self._curve(p, "train")
        self._curve(p, "inference")
        self._curve(p, "total")
        self._curve(p, "compute_optimal")
        self._curve(p, "plan")
        self._curve(p, "optimum")
        self._text(p, "optimum", anchor=(0.5, 0))
        self._text(p, "plan", anchor=(-0.1, 1.1))
        self.legend.addItem(self.curve_items["total"], "Training + lifetime inference")
        self.legend.addItem(self.curve_items["train"], "Training")
        self.legend.addItem(self.curve_items["inference"], "Lifetime inference")
        self.legend.addItem(self.curve_items["plan"], "The plan")
        self.legend.addItem(self.curve_items["optimum"], "Inference-aware optimum")
        self.legend.addItem(self.curve_items["compute_optimal"], "Compute-optimal model")

    def _build_hardware(self) -> None:
        pc = self._new_plot("usd", "plain", False, False)
        pd = self._new_plot("plain", "plain", False, False)
        pc.setLabel("bottom", "Training cost (USD)")
        pd.setLabel("bottom", "Wall-clock (days)")
        pd.setYLink(pc)
        pd.getAxis("left").setStyle(showValues=False)
        for name, p in (("cost", pc), ("days", pd)):
            bar = pg.BarGraphItem(x0=[0], y=[0], height=[0.6], width=[0])
            err = pg.ErrorBarItem(x=np.array([0.0]), y=np.array([0.0]))
            p.addItem(bar)
            p.addItem(err)
            self.bar_items[name] = bar
            self.error_items[name] = err
            p.showGrid(x=True, y=False)
        self._bar_texts: dict[str, list[pg.TextItem]] = {"cost": [], "days": []}
        self._legend_plan = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self._legend_other = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self.legend.addItem(self._legend_plan, "Plan's hardware")
        self.legend.addItem(self._legend_other, "Other hardware")
        self.legend.addItem(self.error_items["cost"], "P10–P90")

    # -- styling -------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        t = self.theme
        self.view.setBackground(t.background)
        tick_font = self._font(t.tick_px)
        for p in self.plot_items:
            for name in ("bottom", "left"):
                ax = p.getAxis(name)
                ax.tick_px = self._px(t.tick_px)
                ax.setPen(pg.mkPen(t.foreground, width=max(1.0, self._px(1.0))))
                ax.setTextPen(pg.mkPen(t.foreground))
                ax.setTickFont(tick_font)
                ax.setStyle(
                    tickTextOffset=int(self._px(6)),
                    tickLength=int(self._px(-6)),
                    autoExpandTextSpace=True,
                    maxTextLevel=0,
                )
                label = ax.labelText
                ax.setLabel(
                    label, **{"color": t.foreground, "font-size": f"{self._px(t.label_px):.0f}px"}
                )
            p.showGrid(x=True, y=self.kind != "hardware", alpha=t.grid_alpha)
            p.getViewBox().setBorder(pg.mkPen(t.muted, width=max(1.0, self._px(0.8))))
        self.legend.setLabelTextSize(f"{self._px(t.legend_px):.0f}px")
        self.legend.setLabelTextColor(t.foreground)
        self.legend.setPen(None)
        self.legend.setBrush(None)
        self._restyle_legend()
        ci = self.view.ci
        m = self._px(14)
        ci.setContentsMargins(m, m * 0.8, m, m * 0.6)
        ci.setSpacing(self._px(6))
        label_bg = QtGui.QColor(t.background)
        label_bg.setAlpha(215)
        for item in self.text_items.values():
            item.setColor(t.foreground)
            item.setFont(self._font(t.annotation_px))
            item.fill = pg.mkBrush(label_bg)
            item.update()
        getattr(self, f"_style_{self.kind}")()

    def _marker(self, item: pg.PlotDataItem, symbol: str, color: str, size: float = 1.0) -> None:
        t = self.theme
        item.setPen(None)
        item.setSymbol(symbol)
        item.setSymbolSize(self._px(t.marker_px * size))
        item.setSymbolBrush(pg.mkBrush(color))
        item.setSymbolPen(pg.mkPen(t.background, width=self._px(1.5)))

    def _style_frontier(self) -> None:
        t, c = self.theme, self.curve_items
        c["frontier"].setPen(self._pen(t.palette[0], 1.2))
        band = QtGui.QColor(t.palette[0])
        band.setAlpha(t.band_alpha)
        self.band.setBrush(pg.mkBrush(band))
        self.band.setPen(pg.mkPen(None))
        for k in ("band_p10", "band_p90"):
            c[k].setPen(pg.mkPen(None))
        guide = self._pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine)
        self.target_vline.setPen(guide)
        self.target_hline.setPen(guide)
        self._marker(c["target"], "star", t.plan_color, 1.5)

    def _style_isoloss(self) -> None:
        t, c = self.theme, self.curve_items
        for k in range(MAX_ISO_LEVELS):
            c[f"contour_{k}"].setPen(self._pen(t.muted, 0.55))
            self.text_items[f"contour_{k}"].setColor(t.muted)
            self.text_items[f"contour_{k}"].setFont(self._font(t.annotation_px * 0.85))
        c["optimal"].setPen(self._pen(t.palette[0], 1.3))
        c["fitted_box"].setPen(self._pen(t.palette[2], 0.6, QtCore.Qt.PenStyle.DashLine))
        self._marker(c["plan"], "star", t.plan_color, 1.5)
        self._marker(c["lifetime_optimum"], "d", t.optimum_color, 1.1)

    def _style_cost(self) -> None:
        t, c = self.theme, self.curve_items
        self.plan_vline.setPen(self._pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))
        self._marker(c["plan"], "star", t.plan_color, 1.5)
        for i, pid in enumerate(self._cost_ids):
            self._style_cost_line(i, pid)

    def _style_cost_line(self, i: int, pid: str) -> None:
        """The plan's hardware: a thick line in the text colour; the others: palette colours,
        then the same colours dashed (rank ``i`` counts the plan's line as 0)."""
        t = self.theme
        plan = self.curves is not None and pid == self.curves.plan_hardware
        colors = [c for c in t.palette[:7] if c.lower() not in (t.foreground.lower(), "#000000")]
        j = max(0, i - 1)
        if plan:
            pen = self._pen(t.foreground, 1.4)
        else:
            pen = self._pen(colors[j % len(colors)], 0.85, _DASHES[(j // len(colors)) % 2])
        self.curve_items[f"hw:{pid}"].setPen(pen)

    def _style_lifetime(self) -> None:
        t, c = self.theme, self.curve_items
        c["total"].setPen(self._pen(t.palette[0], 1.3))
        c["train"].setPen(self._pen(t.palette[1], 0.8, QtCore.Qt.PenStyle.DashLine))
        c["inference"].setPen(self._pen(t.palette[4], 0.8, QtCore.Qt.PenStyle.DotLine))
        self._marker(c["plan"], "star", t.plan_color, 1.5)
        self._marker(c["optimum"], "d", t.optimum_color, 1.2)
        self._marker(c["compute_optimal"], "o", t.muted, 0.9)

    def _style_hardware(self) -> None:
        t = self.theme
        self._legend_plan.setOpts(brush=pg.mkBrush(t.plan_color), pen=pg.mkPen(None))
        self._legend_other.setOpts(brush=pg.mkBrush(t.palette[0]), pen=pg.mkPen(None))
        for err in self.error_items.values():
            err.setData(pen=pg.mkPen(t.foreground, width=self._px(1.6)))

    # -- texts ---------------------------------------------------------------------------
    def _set_texts(self, est: Estimate) -> None:
        self._texts = {
            "title": TITLES[self.kind],
            "subtitle": self._subtitle(est),
            "footnote": assumptions_line(est),
        }
        self._footnote_text = self._texts["footnote"]
        self._fit_texts()

    def _fit_texts(self, width_px: float | None = None) -> None:
        """Set title, subtitle and footnote, breaking a line at its ' · ' separators when it
        is wider than the chart; labels never force the layout wider than the canvas."""
        texts = getattr(self, "_texts", None)
        if not texts:
            return
        t = self.theme
        avail = (width_px or self.view.width()) - self._px(36)
        for label, key, px, color, bold in (
            (self.title_label, "title", t.title_px, t.foreground, True),
            (self.subtitle_label, "subtitle", t.subtitle_px, t.muted, False),
            (self.footnote_label, "footnote", t.footnote_px, t.muted, False),
        ):
            text = _wrap(texts[key], self._font(px, bold), avail)
            label.setText(text, color=color, size=f"{self._px(px):.0f}px", bold=bold)
            label.setMinimumWidth(0) if False else None

    def _fit_footnote(self, width_px: float | None = None) -> None:
        self._fit_texts(width_px)

    def resizeEvent(self, event):  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_footnote()

    def _subtitle(self, est: Estimate) -> str:
        c = self.curves
        plan = (
            f"{units.si(est.params)} params × {units.si(est.tokens)} tokens, "
            f"{units.flops(est.train_flops_6nd)}"
        )
        if self.kind == "frontier":
            band = ""
            if c is not None and c.frontier_loss_p10 is not None:
                band = " · shaded: P10–P90 of the frontier over the law's parameter samples"
            return f"Plan: loss {est.loss:.4f} nats/token with {plan}{band}"
        if self.kind == "isoloss":
            return (
                f"Plan: {plan} ({est.tokens_per_param:.1f} tokens/param) · contours labelled "
                "with loss in nats/token"
            )
        if self.kind == "cost":
            what = c.cost_constraint if c is not None else "compute-optimal"
            return (
                f"Plan: loss {est.loss:.4f} for {units.usd(est.cost_usd)} on "
                f"{hardware_short_name(est.hardware_name)} · plans: {what} · "
                f"{est.gpus:,} chips, {est.precision}"
            )
        if self.kind == "lifetime":
            tok = units.si(c.lifetime_inference_tokens) if c is not None else "0"
            return (
                f"Loss {est.loss:.4f} nats/token · serving {tok} tokens on "
                f"{est.inference_hardware} · inference-aware optimum: Sardana et al. 2023"
            )
        return (
            f"Plan: {plan} · {est.gpus:,} chips each, {est.precision} · bars: median, "
            "whiskers: P10–P90"
        )

    # -- updates -------------------------------------------------------------------------
    def _update_frontier(self, c: Curves, est: Estimate) -> None:
        items = self.curve_items
        items["frontier"].setData(*_finite_xy(c.frontier_compute_flops, c.frontier_loss))
        has_band = c.frontier_loss_p10 is not None and c.frontier_loss_p90 is not None
        if has_band:
            items["band_p10"].setData(*_finite_xy(c.frontier_compute_flops, c.frontier_loss_p10))
            items["band_p90"].setData(*_finite_xy(c.frontier_compute_flops, c.frontier_loss_p90))
        else:
            items["band_p10"].setData([], [])
            items["band_p90"].setData([], [])
        self.band.setVisible(has_band)
        items["target"].setData([c.target_compute_flops], [c.target_loss])
        self.target_vline.setPos(math.log10(c.target_compute_flops))
        self.target_hline.setPos(c.target_loss)
        txt = self.text_items["target"]
        txt.setText(f"  plan: loss {c.target_loss:.3f}\n  {units.flops(c.target_compute_flops)}")
        txt.setPos(math.log10(c.target_compute_flops), c.target_loss)
        self._legend_visible({"P10–P90 over law samples": has_band})
        p = self.plot_item
        lo = np.concatenate([c.frontier_loss] + ([c.frontier_loss_p10] if has_band else []))
        hi = np.concatenate([c.frontier_loss] + ([c.frontier_loss_p90] if has_band else []))
        p.setXRange(
            math.log10(c.frontier_compute_flops[0]),
            math.log10(c.frontier_compute_flops[-1]),
            padding=0.02,
        )
        p.setYRange(float(np.min(lo)), float(np.max(hi)), padding=0.05)

    def _update_isoloss(self, c: Curves, est: Estimate) -> None:
        items = self.curve_items
        x0, x1 = math.log10(c.iso_params[0]), math.log10(c.iso_params[-1])
        y0, y1 = math.log10(c.iso_tokens[0]), math.log10(c.iso_tokens[-1])
        plan_k = (
            int(np.argmin(np.abs(np.asarray(c.iso_levels) - c.target_loss)))
            if len(c.iso_levels)
            else -1
        )
        for k in range(MAX_ISO_LEVELS):
            item, label = items[f"contour_{k}"], self.text_items[f"contour_{k}"]
            if k < len(c.iso_contours):
                n, d = _finite_xy(*c.iso_contours[k], positive_x=True, positive_y=True)
                item.setData(n, d)
                item.setPen(
                    self._pen(
                        self.theme.plan_color if k == plan_k else self.theme.muted,
                        0.8 if k == plan_k else 0.55,
                    )
                )
                item.setVisible(len(n) > 1)
                label.setVisible(len(n) > 1)
                if len(n) > 1:
                    # label where the contour crosses 86% of the height, kept off the edges
                    lx, ly = np.log10(n), np.log10(d)
                    inner = (
                        (lx > x0 + 0.04 * (x1 - x0))
                        & (lx < x1 - 0.05 * (x1 - x0))
                        & (ly > y0 + 0.06 * (y1 - y0))
                        & (ly < y1 - 0.06 * (y1 - y0))
                    )
                    if inner.any():
                        idx = np.flatnonzero(inner)
                        j = idx[int(np.argmin(np.abs(ly[idx] - (y0 + 0.86 * (y1 - y0)))))]
                        label.setText(f"{c.iso_levels[k]:.3f}")
                        label.setColor(self.theme.plan_color if k == plan_k else self.theme.muted)
                        label.setPos(lx[j], ly[j])
                    label.setVisible(bool(inner.any()))
            else:
                item.setData([], [])
                item.setVisible(False)
                label.setVisible(False)
        items["optimal"].setData(
            *_finite_xy(c.optimal_params, c.optimal_tokens, positive_x=True, positive_y=True)
        )
        items["plan"].setData([c.plan_params], [c.plan_tokens])
        plan_txt = self.text_items["plan"]
        plan_txt.setText(
            f"  plan: {units.si(c.plan_params)} params,\n  {units.si(c.plan_tokens)} tokens"
        )
        plan_txt.setPos(math.log10(c.plan_params), math.log10(c.plan_tokens))
        show_opt = bool(
            c.lifetime_inference_tokens > 0 and math.isfinite(c.lifetime_optimum_params)
        )
        if show_opt:
            t_opt = est.lifetime_optimal["tokens"] if est.lifetime_optimal else None
            if est.compute_optimal is not None:  # the plan is the lifetime optimum
                t_opt = est.tokens
            show_opt = t_opt is not None
        if show_opt:
            items["lifetime_optimum"].setData([c.lifetime_optimum_params], [t_opt])
        else:
            items["lifetime_optimum"].setData([], [])
        items["lifetime_optimum"].setVisible(show_opt)
        # the law's fitted box, clipped to the view
        pn0, pn1 = c.fitted_params_range
        td0, td1 = c.fitted_tokens_range
        bx0, bx1 = max(pn0, c.iso_params[0]), min(pn1, c.iso_params[-1])
        by0, by1 = max(td0, c.iso_tokens[0]), min(td1, c.iso_tokens[-1])
        box_visible = bool(bx0 < bx1 and by0 < by1)
        if box_visible:
            items["fitted_box"].setData([bx0, bx1, bx1, bx0, bx0], [by0, by0, by1, by1, by0])
        else:
            items["fitted_box"].setData([], [])
        items["fitted_box"].setVisible(box_visible)
        self._legend_visible(
            {"Inference-aware optimum": show_opt, "Law's fitted range": box_visible}
        )
        p = self.plot_item
        p.setXRange(x0, x1, padding=0)
        p.setYRange(y0, y1, padding=0)

    def _update_cost(self, c: Curves, est: Estimate) -> None:
        p = self._cost_plot
        # one line per profile, plan's first, the rest cheapest first at the plan's loss
        i_plan = int(np.argmin(np.abs(c.cost_losses - c.target_loss)))
        ids = sorted(
            c.cost_by_hardware,
            key=lambda k: (k != c.plan_hardware, float(c.cost_by_hardware[k][i_plan])),
        )
        for pid in ids:
            if f"hw:{pid}" not in self.curve_items:
                self._curve(p, f"hw:{pid}")
                self._cost_ids.append(pid)
        # legend in the current order, rebuilt only when the order or the plan's chip changes
        # (re-adding 11 entries on every edit was the most expensive part of a redraw)
        legend_key = (tuple(ids), c.plan_hardware)
        rebuild = legend_key != getattr(self, "_cost_legend_key", None)
        self._cost_legend_key = legend_key
        if rebuild:
            for pid in self._cost_ids:
                self.legend.removeItem(self.curve_items[f"hw:{pid}"])
        for pid in self._cost_ids:
            if pid not in c.cost_by_hardware:
                self.curve_items[f"hw:{pid}"].setData([], [])
                self.curve_items[f"hw:{pid}"].setVisible(False)
        for rank, pid in enumerate(ids):
            item = self.curve_items[f"hw:{pid}"]
            item.setData(*_finite_xy(c.cost_losses, c.cost_by_hardware[pid], positive_y=True))
            item.setVisible(True)
            item.setZValue(10 if pid == c.plan_hardware else 0)
            self._style_cost_line(rank, pid)
            if rebuild:
                name = hardware_short_name(c.hardware_names.get(pid, pid))
                self.legend.addItem(item, name + (" (plan)" if pid == c.plan_hardware else ""))
        if rebuild:
            self._restyle_legend()
        self.curve_items["plan"].setData([c.target_loss], [c.plan_cost_usd])
        self.curve_items["plan"].setZValue(20)
        self.plan_vline.setPos(c.target_loss)
        txt = self.text_items["plan"]
        txt.setText(f"  plan: {units.usd(c.plan_cost_usd)}")
        txt.setPos(c.target_loss, math.log10(c.plan_cost_usd))
        allv = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in c.cost_by_hardware.values()])
        p.setXRange(float(c.cost_losses[0]), float(c.cost_losses[-1]), padding=0.02)
        if len(allv):
            p.setYRange(math.log10(allv.min()), math.log10(allv.max()), padding=0.04)

    def _update_lifetime(self, c: Curves, est: Estimate) -> None:
        items = self.curve_items
        items["total"].setData(
            *_finite_xy(c.lifetime_params, c.lifetime_total_usd, positive_y=True)
        )
        items["train"].setData(
            *_finite_xy(c.lifetime_params, c.lifetime_train_usd, positive_y=True)
        )
        has_inf = bool(np.any(c.lifetime_inference_usd > 0))
        items["inference"].setData(
            *_finite_xy(c.lifetime_params, c.lifetime_inference_usd, positive_y=True)
        )
        items["inference"].setVisible(has_inf)
        items["plan"].setData([c.plan_params], [c.plan_lifetime_usd])
        ptxt = self.text_items["plan"]
        ptxt.setText(f"plan: {units.si(c.plan_params)} params, {units.usd(c.plan_lifetime_usd)}")
        ptxt.setPos(math.log10(c.plan_params), math.log10(c.plan_lifetime_usd))
        items["optimum"].setData([c.lifetime_optimum_params], [c.lifetime_optimum_usd])
        distinct = bool(abs(c.lifetime_compute_optimal_params / c.plan_params - 1) > 1e-3)
        if distinct and math.isfinite(c.lifetime_compute_optimal_usd):
            items["compute_optimal"].setData(
                [c.lifetime_compute_optimal_params], [c.lifetime_compute_optimal_usd]
            )
        else:
            items["compute_optimal"].setData([], [])
        items["compute_optimal"].setVisible(distinct)
        saving = c.plan_lifetime_usd - c.lifetime_optimum_usd
        txt = self.text_items["optimum"]
        if saving > 1e-6 * c.plan_lifetime_usd:
            txt.setText(
                f"optimum: {units.si(c.lifetime_optimum_params)} params, "
                f"{units.usd(c.lifetime_optimum_usd)}\n"
                f"saves {units.usd(saving)} "
                f"({saving / c.plan_lifetime_usd:.0%}) vs the plan"
            )
        else:
            txt.setText(
                f"optimum: {units.si(c.lifetime_optimum_params)} params, "
                f"{units.usd(c.lifetime_optimum_usd)}"
            )
        self._legend_visible({"Lifetime inference": has_inf, "Compute-optimal model": distinct})
        p = self.plot_item
        x = c.lifetime_params
        ys = np.concatenate(
            [c.lifetime_total_usd, c.lifetime_train_usd]
            + ([c.lifetime_inference_usd] if has_inf else [])
        )
        ys = ys[np.isfinite(ys) & (ys > 0)]
        top = min(float(ys.max()), c.lifetime_optimum_usd * 30)
        bottom = max(float(ys.min()), c.lifetime_optimum_usd / 30)
        p.setXRange(math.log10(x[0]), math.log10(x[-1]), padding=0.02)
        p.setYRange(math.log10(bottom), math.log10(top), padding=0.05)
        # annotation near the top of the view, above the optimum (the U's empty middle)
        y_lo, y_hi = math.log10(bottom), math.log10(top)
        txt.setAnchor((0.5, 0))
        txt.setPos(math.log10(c.lifetime_optimum_params), y_hi + 0.02 * (y_hi - y_lo))

    def _update_hardware(self, c: Curves, est: Estimate) -> None:
        t = self.theme
        rows = list(c.hardware_rows)
        n = len(rows)
        y = np.arange(n)[::-1].astype(float)  # cheapest on top
        brushes = [pg.mkBrush(t.plan_color if r["is_plan"] else t.palette[0]) for r in rows]
        pc, pd = self.plot_items
        for name, key, fmt in (
            ("cost", "cost_usd", units.usd),
            ("days", "wall_clock_days", units.days),
        ):
            v = np.array([r[key] for r in rows], dtype=float)
            lo = np.array([r[f"{key}_p10"] for r in rows], dtype=float)
            hi = np.array([r[f"{key}_p90"] for r in rows], dtype=float)
            self.bar_items[name].setOpts(
                x0=np.zeros(n),
                y=y,
                height=np.full(n, 0.62),
                width=v,
                brushes=brushes,
                pen=pg.mkPen(None),
            )
            self.error_items[name].setData(
                x=v,
                y=y,
                left=v - lo,
                right=hi - v,
                beam=0.28,
                pen=pg.mkPen(t.foreground, width=self._px(1.6)),
            )
            plot = pc if name == "cost" else pd
            texts = self._bar_texts[name]
            while len(texts) < n:
                item = pg.TextItem(anchor=(0, 0.5))
                plot.addItem(item, ignoreBounds=True)
                texts.append(item)
            for i, item in enumerate(texts):
                if i < n:
                    item.setText(" " + (fmt(v[i]) if name == "cost" else f"{v[i]:,.0f} d"))
                    item.setColor(t.foreground)
                    item.setFont(self._font(t.annotation_px * 0.9))
                    item.setPos(hi[i], y[i])
                    item.setVisible(True)
                else:
                    item.setVisible(False)
            top = float(np.max(hi)) if n else 1.0
            plot.setXRange(0, top * 1.28, padding=0)
            plot.setYRange(-0.6, n - 0.4, padding=0)
        ticks = [
            (float(y[i]), hardware_short_name(r["name"]) + ("  ◆" if r["is_plan"] else ""))
            for i, r in enumerate(rows)
        ]
        pc.getAxis("left").setTicks([ticks, []])
        pd.getAxis("left").setTicks([[(yy, "") for yy, _ in ticks], []])

    # -- legend helpers ------------------------------------------------------------------
    def _legend_visible(self, visible: dict[str, bool]) -> None:
        for sample, label in self.legend.items:
            key = label.text.split(" (plan)")[0]
            if key in visible:
                on = visible[key]
                sample.setVisible(on)
                label.setVisible(on)
        self.legend.updateSize()

    def _restyle_legend(self) -> None:
        t = self.theme
        for sample, label in self.legend.items:
            label.setText(label.text, color=t.foreground, size=f"{self._px(t.legend_px):.0f}px")
            if isinstance(sample, _Sample):
                sample.set_px(self._px(t.legend_px))
        self.legend.updateSize()


# --------------------------------------------------------------------------------------
# Rendering and export
# --------------------------------------------------------------------------------------


def _layout_for_render(widget: ChartWidget, w: int, h: int) -> None:
    """Size the scene to w x h pixels and settle the layout (twice: axes widen to fit their
    tick labels on the first paint)."""
    view = widget.view
    # The view widget must have the export's size: pyqtgraph measures axes (tick density,
    # label room) in the view's device pixels.
    widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.resize(w, h)
    view.resize(w, h)
    widget.show()
    QtWidgets.QApplication.processEvents()
    widget._fit_footnote(w)
    for _ in range(2):
        view.setRange(QtCore.QRectF(0, 0, w, h), padding=0)
        view.ci.layout.activate()
        QtWidgets.QApplication.processEvents()
        # full-size trial paint: axes measure their labels (and cache ticks for this size)
        img = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32)
        painter = QtGui.QPainter(img)
        view.scene().render(painter, QtCore.QRectF(0, 0, w, h), QtCore.QRectF(0, 0, w, h))
        painter.end()
        QtWidgets.QApplication.processEvents()
    view.setRange(QtCore.QRectF(0, 0, w, h), padding=0)
    view.ci.layout.activate()
    QtWidgets.QApplication.processEvents()


def _paint(
    widget: ChartWidget, painter: QtGui.QPainter, target: QtCore.QRectF, w: int, h: int
) -> None:
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
    painter.fillRect(target, QtGui.QColor(widget.theme.background))
    widget.view.scene().render(painter, target, QtCore.QRectF(0, 0, w, h))


def render_to_image(widget: ChartWidget, w: int, h: int) -> QtGui.QImage:
    _layout_for_render(widget, w, h)
    img = QtGui.QImage(w, h, QtGui.QImage.Format.Format_ARGB32)
    img.fill(QtGui.QColor(widget.theme.background))
    img.setDotsPerMeterX(3780)
    img.setDotsPerMeterY(3780)
    painter = QtGui.QPainter(img)
    _paint(widget, painter, QtCore.QRectF(0, 0, w, h), w, h)
    painter.end()
    return img


def _image_bytes(img: QtGui.QImage, fmt: str = "PNG") -> bytes:
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, fmt):
        raise InputError(f"cannot encode the chart as {fmt}")
    return bytes(buf.data())


def _svg_bytes(widget: ChartWidget, w: int, h: int, title: str) -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    _layout_for_render(widget, w, h)
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QtCore.QSize(w, h))
    gen.setViewBox(QtCore.QRect(0, 0, w, h))
    gen.setTitle(title)
    gen.setDescription(widget._footnote_text)  # noqa: SLF001
    painter = QtGui.QPainter(gen)
    _paint(widget, painter, QtCore.QRectF(0, 0, w, h), w, h)
    painter.end()
    return bytes(buf.data())


def _pdf_bytes(widget: ChartWidget, w: int, h: int, title: str) -> bytes:
    _layout_for_render(widget, w, h)
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    pdf = QtGui.QPdfWriter(buf)
    pdf.setTitle(title)
    pdf.setCreator("LLM cost estimator")
    width_in = 10.0  # a 10-inch wide page, height by the aspect ratio
    pdf.setResolution(max(30, round(w / width_in)))
    size = QtGui.QPageSize(
        QtCore.QSizeF(width_in * 72, width_in * 72 * h / w),
        QtGui.QPageSize.Unit.Point,
        "chart",
        QtGui.QPageSize.SizeMatchPolicy.ExactMatch,
    )
    pdf.setPageSize(size)
    pdf.setPageMargins(QtCore.QMarginsF(0, 0, 0, 0))
    painter = QtGui.QPainter(pdf)
    target = QtCore.QRectF(0, 0, pdf.width(), pdf.height())
    _paint(widget, painter, target, w, h)
    painter.end()
    return bytes(buf.data())


def _check_size(width_px, height_px) -> tuple[int, int]:
    for name, v in (("width", width_px), ("height", height_px)):
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not (math.isfinite(v) and 16 <= v <= MAX_EXPORT_PX)
        ):
            raise InputError(
                f"chart {name} must be a whole number of pixels from 16 to "
                f"{MAX_EXPORT_PX:,} (--{name}), got {v!r}"
            )
    return int(width_px), int(height_px)


def export_scale(width_px: int, height_px: int) -> float:
    return min(width_px / REFERENCE_SIZE_PX[0], height_px / REFERENCE_SIZE_PX[1])


def render_chart_file(
    kind: str,
    theme: str,
    curves: Curves,
    estimate: Estimate,
    path: str | Path,
    *,
    width_px: int = 1600,
    height_px: int = 1000,
) -> None:
    """Draw a chart of ``kind`` offscreen at the export size and write it by suffix."""
    _check_kind(kind)
    suffix = _check_suffix(path)
    w, h = _check_size(width_px, height_px)
    _ensure_app()
    widget = ChartWidget(kind, theme, scale=export_scale(w, h))
    try:
        widget.update_chart(curves, estimate)
        title = TITLES[kind]
        if suffix == ".png":
            data = _image_bytes(render_to_image(widget, w, h))
        elif suffix == ".svg":
            data = _svg_bytes(widget, w, h, title)
        else:
            data = _pdf_bytes(widget, w, h, title)
    finally:
        widget.deleteLater()
    write_file(path, data, "the chart")


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
            "folder exists and is writable"
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
    theme: str = "presentation",
) -> None:
    """Headless export: estimate the scenario, compute its curves and write chart ``kind`` to
    ``out`` (.png, .svg or .pdf). Raises InputError with the fix for a bad kind, suffix or
    size before doing any work."""
    from estimator.curves import compute_curves
    from estimator.hardware import load_profiles
    from estimator.engine import estimate

    _check_kind(kind)
    _check_suffix(out)
    _check_size(width_px, height_px)
    _theme(theme)
    profiles = load_profiles()
    est = estimate(scenario, profiles=profiles)
    curves = compute_curves(scenario, est, profiles=profiles)
    render_chart_file(kind, theme, curves, est, out, width_px=width_px, height_px=height_px)
