"""The shared base of every chart: one pyqtgraph scene with a title, a subtitle with the plan's
key numbers, the plot(s), a legend under the plot and a footnote with the law, the hardware, the
date and the estimate's caveats.

Each chart kind is a subclass in its own module (``frontier.py``, ``isoloss.py`` ...) that
builds its items once (:meth:`ChartWidget.build`), styles them for a theme
(:meth:`ChartWidget.apply_style`) and on every estimate only sets data on them
(:meth:`ChartWidget.set_data`), so the window can redraw on every slider move.

Sizes (fonts, pens, markers) are the theme's, multiplied by ``scale``: exports draw at print
weight by scaling with the canvas (:func:`estimator.gui.charts.export.export_scale`).
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # before pyqtgraph picks a Qt binding

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from estimator.curves import Curves  # noqa: E402
from estimator.engine import Estimate  # noqa: E402
from estimator.errors import InputError  # noqa: E402
from estimator.gui.chart_kinds import CHART_TITLES  # noqa: E402
from estimator.gui.charts.axes import SmartAxis  # noqa: E402
from estimator.gui.theme import ChartTheme, chart_theme  # noqa: E402
from estimator.report import assumptions_line  # noqa: E402

DASHES = (
    QtCore.Qt.PenStyle.SolidLine,
    QtCore.Qt.PenStyle.DashLine,
    QtCore.Qt.PenStyle.DotLine,
    QtCore.Qt.PenStyle.DashDotLine,
)

# Footnote caveats: at most this many of the estimate's warnings, each cut to a clause.
MAX_CAVEATS = 3
MAX_CAVEAT_CHARS = 120
# Below the estimate's own warning threshold the footnote still says how far the plan lies
# outside the law's fitted range, from this factor on.
EXTRAPOLATION_NOTE_FACTOR = 1.5


# --------------------------------------------------------------------------------------
# Footnote text
# --------------------------------------------------------------------------------------


def _caveat(text: str, max_chars: int = MAX_CAVEAT_CHARS) -> str:
    """One warning cut to its first clause: parentheticals dropped, cut at ': ' or '; ',
    then at a word boundary with an ellipsis when still longer than ``max_chars``."""
    t = re.sub(r"\s*\([^()]*\)", "", " ".join(str(text).split()))
    t = re.split(r":\s|;\s", t, maxsplit=1)[0].strip().rstrip(".,;:")
    if len(t) > max_chars:
        cut = t[: max_chars - 1]
        cut = cut[: cut.rfind(" ")] if " " in cut else cut
        t = cut.rstrip(".,;:") + "…"
    return t


def summarise_warnings(
    warnings: Iterable[str], max_items: int = MAX_CAVEATS, max_chars: int = MAX_CAVEAT_CHARS
) -> list[str]:
    """The warnings as short caveats for a footnote: one clause each, duplicates dropped, at
    most ``max_items`` (then "and N more in the report")."""
    out: list[str] = []
    for w in warnings:
        c = _caveat(w, max_chars)
        if c and c not in out:
            out.append(c)
    if len(out) > max_items:
        rest = len(out) - (max_items - 1)
        out = out[: max_items - 1] + [f"{rest} more caveats in the report"]
    return out


def caveats(est: Estimate) -> list[str]:
    """The footnote's caveats for an estimate: its warnings, and how far the plan lies beyond
    the law's fitted range when that is more than 1.5x but below the warning threshold."""
    warnings = list(est.warnings)
    xf = float(getattr(est, "extrapolation_factor", 1.0) or 1.0)
    if xf >= EXTRAPOLATION_NOTE_FACTOR and not any("extrapolat" in w for w in warnings):
        warnings.insert(0, f"the plan lies {xf:.1f}x beyond the range the law was fitted on")
    return summarise_warnings(warnings)


def footnote_text(est: Estimate) -> str:
    """Law, hardware and date (:func:`estimator.report.assumptions_line`), then a line of
    caveats from the estimate's warnings."""
    line = assumptions_line(est)
    cav = caveats(est)
    if cav:
        line += "\nCaveats: " + " · ".join(cav)
    return line


def _wrap_line(
    text: str, fm: QtGui.QFontMetricsF, avail: float, seps: tuple[str, ...] = (" · ", ", ", " ")
) -> list[str]:
    """Lines no wider than ``avail``, broken at the first separator that helps: ' · ' between
    facts, then ', ' inside a list, then spaces (never inside a word)."""
    if fm.horizontalAdvance(text) <= avail or not seps:
        return [text]
    sep, rest = seps[0], seps[1:]
    parts = text.split(sep)
    if len(parts) == 1:
        return _wrap_line(text, fm, avail, rest)
    lines: list[str] = []
    cur = ""
    for part in parts:
        cand = part if not cur else f"{cur}{sep}{part}"
        if cur and fm.horizontalAdvance(cand) > avail:
            lines.append(cur)
            cur = part
        else:
            cur = cand
    lines.append(cur)
    out: list[str] = []
    for i, line in enumerate(lines):  # a line still too wide: break it at the next separator
        keep = sep.rstrip() if sep.strip() and i < len(lines) - 1 and sep != " · " else ""
        out.extend(_wrap_line(line + keep, fm, avail, rest))
    return out


def wrap_text(text: str, font: QtGui.QFont, avail: float) -> str:
    """``text`` broken into lines no wider than ``avail`` pixels: at newlines, then at ' · ',
    ', ' and spaces (never inside a word). Returns the lines, HTML-escaped, joined by <br>."""
    fm = QtGui.QFontMetricsF(font)
    out: list[str] = []
    for para in text.split("\n"):
        out.extend([para] if avail <= 0 else _wrap_line(para, fm, avail))
    return "<br>".join(_html_escape(line) for line in out)


def _html_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def finite_xy(x, y, positive_y: bool = False, positive_x: bool = False):
    """(x, y) as float arrays without the non-finite (and, on log axes, non-positive) points."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if positive_x:
        ok &= x > 0
    if positive_y:
        ok &= y > 0
    return x[ok], y[ok]


# --------------------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------------------


def _same_array(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


class SteadyCurve(pg.PlotDataItem):
    """A curve that ignores being given again the data it shows: an edit that leaves a
    chart's data as it was (dragging the GPU slider on the frontier) would otherwise rebuild
    every path and repaint the plot. Only ``setData(x, y)`` is compared; any other call is
    applied as given."""

    def setData(self, *args, **kwargs):  # noqa: N802 (pyqtgraph API)
        given = getattr(self, "_given", None)
        if len(args) == 2 and not kwargs:
            if given is not None and _same_array(given[0], args[0]) \
                    and _same_array(given[1], args[1]):
                return
            super().setData(*args)
            self._given = (np.array(args[0], copy=True), np.array(args[1], copy=True))
            return
        super().setData(*args, **kwargs)
        self._given = None


class SteadyText(pg.TextItem):
    """A text item that ignores being given the text it shows (pyqtgraph re-lays it out and
    repaints it otherwise)."""

    def setText(self, text, color=None):  # noqa: N802 (pyqtgraph API)
        if color is None and text == getattr(self, "_shown", None):
            return
        if color is None:
            super().setText(text)
        else:
            super().setText(text, color)
        self._shown = text if color is None else None


class SteadyBand(pg.FillBetweenItem):
    """A band between two curves whose path is rebuilt once when both edges are given new
    data inside :meth:`edges` (pyqtgraph rebuilds it on each curve's change: twice per
    edit, each time building both edges' paths)."""

    _held = False
    _stale = False

    def curveChanged(self):  # noqa: N802 (pyqtgraph API)
        if self._held:
            self._stale = True
            return
        super().curveChanged()

    @contextmanager
    def edges(self):
        """Set both edges' data inside this block; the path follows once, at its end."""
        self._held, self._stale = True, False
        try:
            yield
        finally:
            self._held = False
            if self._stale:
                self.updatePath()


class LegendSwatch(pg.GraphicsWidget):
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
            p.setPen(pg.mkPen(item.opts.get("pen")))
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


class Legend(pg.LegendItem):
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


# --------------------------------------------------------------------------------------
# The base chart
# --------------------------------------------------------------------------------------


class ChartWidget(QtWidgets.QWidget):
    """One chart: title, subtitle, plot(s), legend and footnote in one pyqtgraph scene.

    ``curve_items`` maps names to the PlotDataItems (data in real units: ``item.xData``;
    ``item.getData()`` returns log10 values on log axes); ``text_items`` the annotations.
    ``scale`` multiplies every font and pen size. ``for_export`` draws markers as vector paths
    (not pyqtgraph's cached bitmaps) so SVG and PDF stay vector and every format matches.

    Subclasses set :attr:`kind` and implement :meth:`build`, :meth:`apply_style`, :meth:`set_data`
    and :meth:`subtitle`.
    """

    kind: ClassVar[str] = ""
    #: True when the chart's data runs the engine many times (every hardware profile, a GPU
    #: sweep, a sensitivity): the window updates it while edits come in only once they pause
    heavy: ClassVar[bool] = False
    legend_columns: ClassVar[int] = 3
    #: relative widths of the plots side by side (default: the first 3, the others 2)
    column_stretch: ClassVar[tuple[int, ...] | None] = None

    def __init__(
        self,
        theme: str = "normal",
        parent=None,
        *,
        scale: float = 1.0,
        for_export: bool = False,
        options: dict | None = None,
    ):
        super().__init__(parent)
        #: kind-specific inputs that are not the scenario's (e.g. the break-even's purchase
        #: price), fixed for the chart's life: :meth:`build` may lay out by them
        self.options: dict = dict(options or {})
        self.theme: ChartTheme = chart_theme(theme)
        self.scale = float(scale)
        self.for_export = bool(for_export)
        self.curves: Curves | None = None
        self.estimate: Estimate | None = None
        self.curve_items: dict[str, pg.PlotDataItem] = {}
        self.text_items: dict[str, pg.TextItem] = {}
        self.plot_items: list[pg.PlotItem] = []
        self._texts: dict[str, str] = {}
        self._label_state: dict[str, tuple] = {}  # what each text label shows now
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(320, 220)
        lay.addWidget(self.view)
        self.title_label = pg.LabelItem(justify="left")
        self.subtitle_label = pg.LabelItem(justify="left")
        self.footnote_label = pg.LabelItem(justify="left")
        self.legend = Legend(
            sampleType=LegendSwatch, verSpacing=self._px(2), horSpacing=self._px(8)
        )
        self.build()
        self._assemble()
        self._apply_theme()

    # -- subclass hooks ------------------------------------------------------------------
    def build(self) -> None:
        """Create the plots and items (once) and the legend entries."""
        raise NotImplementedError

    def apply_style(self) -> None:
        """Pens, brushes and markers of this kind's items for :attr:`theme` and :attr:`scale`."""

    def set_data(self, curves: Curves, est: Estimate) -> None:
        """setData on the existing items and set the view ranges; never create items per
        update (except where the number of series grows, e.g. hardware profiles)."""
        raise NotImplementedError

    def subtitle(self, est: Estimate) -> str:
        raise NotImplementedError

    def footnote(self, est: Estimate) -> str:
        return footnote_text(est)

    # -- public ---------------------------------------------------------------------------
    @property
    def title(self) -> str:
        """The kind's title, with the scenario's name when it has one (issue 14)."""
        name = self.estimate.scenario.name.strip() if self.estimate is not None else ""
        return f"{CHART_TITLES[self.kind]} — {name}" if name else CHART_TITLES[self.kind]

    @property
    def plot_item(self) -> pg.PlotItem:
        return self.plot_items[0]

    @property
    def footnote_plain(self) -> str:
        """The footnote as plain text (the SVG description, tests)."""
        return self._texts.get("footnote", "")

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of a named curve in real units (FLOPs, params, USD ...)."""
        item = self.curve_items[name]
        if item.xData is None:
            return np.empty(0), np.empty(0)
        return np.asarray(item.xData), np.asarray(item.yData)

    def set_theme(self, theme: str) -> None:
        self.theme = chart_theme(theme)
        self._apply_theme()
        if self.curves is not None and self.estimate is not None:
            self.update_chart(self.curves, self.estimate)

    def update_chart(self, curves: Curves, estimate: Estimate) -> None:
        """Show new data: setData on the existing items, never a rebuild."""
        self.curves = curves
        self.estimate = estimate
        self.set_data(curves, estimate)
        if self.for_export:
            self.clip_for_export()
        self._texts = {
            "title": self.title,
            "subtitle": self.subtitle(estimate),
            "footnote": self.footnote(estimate),
        }
        self.fit_texts()
        # New ranges are applied to the view boxes when the scene prepares to paint; doing it
        # inside the paint moves items and schedules a second full paint of the chart
        self.view.scene().prepareForPaint()

    def export(
        self,
        path: str | Path,
        width_px: int = 1600,
        height_px: int = 1000,
        theme: str | None = None,
    ) -> None:
        """Write the chart (title and footnote included) to PNG, SVG or PDF by suffix, at
        ``width_px`` x ``height_px`` (vector formats: that size at 96 px per inch) in
        ``theme`` (default: the print theme, whatever this widget shows)."""
        from estimator.gui.charts.export import render_chart_file
        from estimator.gui.theme import EXPORT_THEME

        if self.curves is None or self.estimate is None:
            raise InputError("nothing to export yet: the chart has no estimate to show")
        render_chart_file(
            self.kind,
            theme or EXPORT_THEME,
            self.curves,
            self.estimate,
            path,
            width_px=width_px,
            height_px=height_px,
        )

    def clip_for_export(self) -> None:
        """Cut every line to its plot's view and drop markers outside it, so a format without
        clipping (SVG) draws nothing outside the plot (the view clips on screen)."""
        for item in self.curve_items.values():
            vb = item.getViewBox()
            if vb is None or item.xData is None or len(item.xData) == 0:
                continue
            has_pen = item.opts.get("pen") is not None and (
                pg.mkPen(item.opts["pen"]).style() != QtCore.Qt.PenStyle.NoPen
            )
            if not has_pen and item.opts.get("symbol") is None:
                continue  # an invisible helper (e.g. the edges of a filled band)
            log_x, log_y = item.opts.get("logMode", (False, False))
            (vx0, vx1), (vy0, vy1) = vb.viewRange()
            x = np.asarray(item.xData, dtype=float)
            y = np.asarray(item.yData, dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                dx = np.log10(x) if log_x else x
                dy = np.log10(y) if log_y else y
            if has_pen:
                cx, cy = clip_polyline(dx, dy, (vx0, vx1, vy0, vy1))
            else:
                keep = (dx >= vx0) & (dx <= vx1) & (dy >= vy0) & (dy <= vy1)
                cx, cy = dx[keep], dy[keep]
            if len(cx) == len(dx) and np.array_equal(cx, dx) and np.array_equal(cy, dy):
                continue
            item.setData(10.0**cx if log_x else cx, 10.0**cy if log_y else cy, connect="finite")

    # -- data built from the estimate ---------------------------------------------------------
    def update_is_heavy(self, curves: Curves, est: Estimate) -> bool:
        """Would showing ``est`` run the engine many times (a comparison, a sweep, a
        sensitivity)? A :attr:`heavy` chart says no when it keeps what it needs; the window
        defers a heavy update while edits come in."""
        return self.heavy and not self.memo_kept(self.estimate_key(est))

    def memo_kept(self, key) -> bool:
        """True when :meth:`memo` holds the value of ``key``."""
        memo = self.__dict__.get("_memo", {})
        return "value" in memo and memo.get("key") == key

    def memo(self, key, build):
        """``build()`` once per ``key`` (the last value is kept): charts that run an engine
        over the estimate (a sweep, a sensitivity) redo it only when the estimate changes."""
        memo = self.__dict__.setdefault("_memo", {})
        if memo.get("key") != key or "value" not in memo:
            memo.clear()
            memo["value"] = build()
            memo["key"] = key
        return memo["value"]

    @staticmethod
    def estimate_key(est: Estimate) -> tuple:
        """What identifies an estimate's data: its scenario and its headline numbers (a
        reloaded law or profile changes them)."""
        return (est.scenario, est.law_id, est.hardware, est.cost_usd, est.wall_clock_days,
                est.params, est.lifetime_total_cost_usd)

    def show_message(self, text: str) -> None:
        """Say why there is nothing to draw (in the first plot, centred) instead of empty
        axes: every curve and label hidden, the legend too; :meth:`hide_message` undoes it."""
        p = self.plot_items[0]
        if "message" not in self.text_items:
            self.add_text(p, "message", anchor=(0.5, 0.5))
            self._apply_theme()
        for item in self.curve_items.values():
            item.setData([], [])
        for name, item in self.text_items.items():
            item.setVisible(name == "message")
        for extra in getattr(self, "message_hides", ()):
            extra.setVisible(False)
        msg = self.text_items["message"]
        msg.setText("\n".join(textwrap.wrap(text, 72)) or text)
        for q in self.plot_items:
            q.getAxis("left").setStyle(showValues=False)
            q.getAxis("bottom").setStyle(showValues=False)
        (x0, x1), (y0, y1) = p.vb.viewRange()
        msg.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        self.legend.setVisible(False)
        self._message_shown = True

    def hide_message(self) -> None:
        if not getattr(self, "_message_shown", False):
            return
        self._message_shown = False
        for name, item in self.text_items.items():
            item.setVisible(name != "message")
        for extra in getattr(self, "message_hides", ()):
            extra.setVisible(True)
        for q in self.plot_items:
            q.getAxis("left").setStyle(showValues=True)
            q.getAxis("bottom").setStyle(showValues=True)
        self.legend.setVisible(True)

    # -- sizes ----------------------------------------------------------------------------
    def _px(self, v: float) -> float:
        return v * self.scale

    def make_font(self, px: float, bold: bool = False) -> QtGui.QFont:
        f = QtGui.QFont()
        f.setPixelSize(max(1, round(self._px(px))))
        f.setBold(bold)
        return f

    def pen(self, color, width: float = 1.0, style=QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
        """A pen ``width`` times the theme's line width, scaled."""
        pen = pg.mkPen(color, width=self._px(self.theme.line_width * width))
        pen.setStyle(style)
        pen.setCapStyle(
            QtCore.Qt.PenCapStyle.FlatCap
            if style != QtCore.Qt.PenStyle.SolidLine
            else QtCore.Qt.PenCapStyle.RoundCap
        )
        return pen

    def marker(self, item: pg.PlotDataItem, symbol: str, color: str, size: float = 1.0) -> None:
        """Show ``item`` as markers only (no line)."""
        t = self.theme
        item.setPen(None)
        item.setSymbol(symbol)
        item.setSymbolSize(self._px(t.marker_px * size))
        item.setSymbolBrush(pg.mkBrush(color))
        item.setSymbolPen(pg.mkPen(t.background, width=self._px(1.5)))

    def line_colors(self) -> list[str]:
        """The palette without colours that vanish on the background or read as text."""
        t = self.theme
        drop = {t.foreground.lower(), t.background.lower(), "#000000", "#ffffff"}
        return [c for c in t.palette[:7] if c.lower() not in drop]

    # -- building helpers -----------------------------------------------------------------
    def new_cost_days_plots(self, cost_label: str) -> tuple[pg.PlotItem, pg.PlotItem]:
        """A cost plot (USD, labelled ``cost_label``) and a wall-clock plot beside it, for
        horizontal bars: the two share their rows (the days plot shows no row labels of its
        own), and the cost axis's last label may not run into the days plot."""
        pc = self.new_plot("usd", "plain", False, False)
        pd = self.new_plot("plain", "plain", False, False)
        pc.setLabel("bottom", cost_label)
        pd.setLabel("bottom", "Wall-clock (days)")
        pd.setYLink(pc)
        pd.getAxis("left").setStyle(showValues=False)
        pc.getAxis("bottom").overhang = (3.2, 0.4)
        return pc, pd

    def new_plot(self, bottom: str, left: str, log_x: bool, log_y: bool) -> pg.PlotItem:
        """A plot with :class:`SmartAxis` axes formatting ``bottom``/``left`` values
        ('flops', 'count', 'usd', 'plain', 'days'), fixed (not mouse-driven) ranges."""
        axes = {"bottom": SmartAxis("bottom", bottom), "left": SmartAxis("left", left)}
        p = pg.PlotItem(axisItems=axes)
        p.setLogMode(x=log_x, y=log_y)
        p.setMenuEnabled(False)
        p.hideButtons()
        p.vb.setMouseEnabled(x=False, y=False)
        p.showGrid(x=True, y=True)
        self.plot_items.append(p)
        return p

    def add_curve(self, plot: pg.PlotItem, name: str, **kw) -> pg.PlotDataItem:
        if self.for_export:
            # vector markers, not pyqtgraph's bitmap atlas; antialiased lines drawn as one
            # path (pyqtgraph draws wide aliased lines segment by segment: jagged, and dashes
            # restart on every segment)
            kw.setdefault("useCache", False)
            kw.setdefault("antialias", True)
        # no off-screen clipping of y: it re-processes every curve on each change of the
        # view's range (each edit, twice); it guards zooms of a million-fold, and the data of
        # these charts spans a few decades at most
        kw.setdefault("dynamicRangeLimit", None)
        item = SteadyCurve(**kw)
        plot.addItem(item)
        self.curve_items[name] = item
        return item

    def add_text(self, plot: pg.PlotItem, name: str, anchor=(0, 1)) -> pg.TextItem:
        item = SteadyText(anchor=anchor)
        item.setZValue(100)  # above every line
        plot.addItem(item, ignoreBounds=True)
        self.text_items[name] = item
        return item

    def _assemble(self) -> None:
        ci = self.view.ci
        ncol = len(self.plot_items)
        ci.addItem(self.title_label, row=0, col=0, colspan=ncol)
        ci.addItem(self.subtitle_label, row=1, col=0, colspan=ncol)
        for i, p in enumerate(self.plot_items):
            ci.addItem(p, row=2, col=i)
        ci.addItem(self.legend, row=3, col=0, colspan=ncol)
        ci.addItem(self.footnote_label, row=4, col=0, colspan=ncol)
        ci.layout.setRowStretchFactor(2, 1)
        self.legend.setColumnCount(self.legend_columns)
        for i in range(ncol):
            stretch = 3 if (ncol > 1 and i == 0) else 2
            if self.column_stretch is not None and i < len(self.column_stretch):
                stretch = self.column_stretch[i]
            ci.layout.setColumnStretchFactor(i, stretch)

    # -- styling --------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        t = self.theme
        self.view.setBackground(t.background)
        tick_font = self.make_font(t.tick_px)
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
                ax.setLabel(
                    ax.labelText,
                    **{"color": t.foreground, "font-size": f"{self._px(t.label_px):.0f}px"},
                )
            p.showGrid(x=True, y=True, alpha=t.grid_alpha)
            p.getViewBox().setBorder(pg.mkPen(t.muted, width=max(1.0, self._px(0.8))))
        self.legend.setLabelTextSize(f"{self._px(t.legend_px):.0f}px")
        self.legend.setLabelTextColor(t.foreground)
        self.legend.setPen(None)
        self.legend.setBrush(None)
        ci = self.view.ci
        m = self._px(14)
        ci.setContentsMargins(m, m * 0.8, m, m * 0.6)
        ci.setSpacing(self._px(6))
        label_bg = QtGui.QColor(t.background)
        label_bg.setAlpha(215)
        for item in self.text_items.values():
            item.setColor(t.foreground)
            item.setFont(self.make_font(t.annotation_px))
            item.fill = pg.mkBrush(label_bg)
            item.update()
        self.apply_style()
        self.restyle_legend()

    # -- texts ----------------------------------------------------------------------------
    def fit_texts(self, width_px: float | None = None) -> None:
        """Set title, subtitle and footnote, breaking lines at newlines, ' · ' separators,
        then spaces so none is wider than the chart."""
        if not self._texts:
            return
        t = self.theme
        avail = (width_px or self.view.width()) - self._px(36)
        for label, key, px, color, bold in (
            (self.title_label, "title", t.title_px, t.foreground, True),
            (self.subtitle_label, "subtitle", t.subtitle_px, t.muted, False),
            (self.footnote_label, "footnote", t.footnote_px, t.muted, False),
        ):
            text = wrap_text(self._texts[key], self.make_font(px, bold), avail)
            state = (text, color, px, bold, self.scale)
            if self._label_state.get(key) == state:
                continue  # unchanged: setting it would re-lay out the whole scene
            self._label_state[key] = state
            label.setText(text, color=color, size=f"{self._px(px):.0f}px", bold=bold)

    def resizeEvent(self, event):  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.fit_texts()

    @staticmethod
    def set_view(plot: pg.PlotItem, x: tuple[float, float], y: tuple[float, float],
                 x_padding: float = 0.0, y_padding: float = 0.0) -> None:
        """Show ``x`` and ``y`` (view coordinates), each widened by its padding (a fraction of
        its span, on both sides, as ``setXRange(..., padding=)``), in one view update:
        ``setXRange`` then ``setYRange`` update the view, its axes and grid twice."""
        def pad(r, f):
            lo, hi = float(min(r)), float(max(r))
            d = (hi - lo) * f
            return (lo - d, hi + d)

        plot.getViewBox().setRange(xRange=pad(x, x_padding), yRange=pad(y, y_padding),
                                   padding=0)

    # -- legend helpers -------------------------------------------------------------------
    def legend_visible(self, visible: dict[str, bool]) -> None:
        """Show or hide legend entries by label (a " (plan)" suffix is ignored)."""
        changed = False
        for sample, label in self.legend.items:
            key = label.text.split(" (plan)")[0]
            # the state asked for last (isVisible also reads the legend's own visibility)
            if key in visible and getattr(label, "_asked_visible", None) != visible[key]:
                sample.setVisible(visible[key])
                label.setVisible(visible[key])
                label._asked_visible = visible[key]
                changed = True
        if changed:
            self.legend.updateSize()

    def restyle_legend(self) -> None:
        t = self.theme
        for sample, label in self.legend.items:
            label.setText(label.text, color=t.foreground, size=f"{self._px(t.legend_px):.0f}px")
            if isinstance(sample, LegendSwatch):
                sample.set_px(self._px(t.legend_px))
        self.legend.updateSize()


def log_range(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """(min, max) of log10 of the finite positive values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return 0.0, 1.0
    return math.log10(float(v.min())), math.log10(float(v.max()))


_LAW_CACHE: dict[tuple[str, float], object] = {}


def scenario_law(est: Estimate):
    """The scaling law of the estimate's scenario (built-in by id, or a law file; a file is
    re-read only when it changes, so a redraw never waits on the disk)."""
    from estimator.laws import get_law

    key = est.scenario.law
    if not isinstance(key, (str, Path)) or not str(key).endswith((".yaml", ".yml")):
        return get_law(key)
    try:
        stamp = os.path.getmtime(key)
    except OSError:
        stamp = -1.0
    cached = _LAW_CACHE.get((str(key), stamp))
    if cached is None:
        cached = get_law(key)
        if len(_LAW_CACHE) > 16:
            _LAW_CACHE.clear()
        _LAW_CACHE[(str(key), stamp)] = cached
    return cached


def clip_polyline(x, y, box: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The polyline through (x, y) cut to ``box`` = (x0, x1, y0, y1), in the same units: the
    pieces inside, each segment crossing the edge ended on it, pieces separated by NaN (draw
    with ``connect="finite"``). Exports use it for curves that leave the view: SVG has no
    reliable clipping from Qt (SVG Tiny has none; Qt's SVG 1.1 clip paths outlive the
    painter state that set them), so nothing may be drawn outside the plot."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x0, x1, y0, y1 = box
    if len(x) < 2:
        keep = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        return x[keep], y[keep]
    xa, ya, dx, dy = x[:-1], y[:-1], np.diff(x), np.diff(y)
    # Liang-Barsky: each segment's parameter interval [t0, t1] inside the box
    t0 = np.zeros(len(dx))
    t1 = np.ones(len(dx))
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, xa - x0), (dx, x1 - xa), (-dy, ya - y0), (dy, y1 - ya)):
            r = q / p
            parallel = p == 0
            outside = parallel & (q < 0)
            t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
            t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
            t1 = np.where(outside, -1.0, t1)
    ok = (t0 <= t1) & np.isfinite(dx) & np.isfinite(dy)
    xs: list[float] = []
    ys: list[float] = []
    last_end = None
    for i in np.flatnonzero(ok):
        sx, sy = xa[i] + t0[i] * dx[i], ya[i] + t0[i] * dy[i]
        ex, ey = xa[i] + t1[i] * dx[i], ya[i] + t1[i] * dy[i]
        if last_end != i or t0[i] > 0:  # a new piece
            if xs:
                xs.append(np.nan)
                ys.append(np.nan)
            xs.append(sx)
            ys.append(sy)
        xs.append(ex)
        ys.append(ey)
        last_end = i + 1 if t1[i] >= 1 else None
    return np.asarray(xs), np.asarray(ys)
