"""Axis ticks that stay readable: human units ("1e21", "10 B", "$1 M") and, on log axes, at
least three labelled ticks over any range (pyqtgraph's own log axis shows almost no labels over
less than a decade)."""

from __future__ import annotations

import math
import os
from itertools import pairwise

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # before pyqtgraph picks a Qt binding

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtGui  # noqa: E402


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
    labelled ticks over any range (custom :func:`log_tick_values`). Labels at the ends of the
    axis may overhang it by half a label (pyqtgraph drops them otherwise, so a bar chart lost
    its "$0" and a range ending on a round number its last label)."""

    def __init__(self, orientation: str, fmt: str = "plain", **kwargs):
        super().__init__(orientation, **kwargs)
        self.fmt = fmt
        self.tick_px = 12.0
        # how far end labels may overhang the axis, in tick-font pixels (low end, high end);
        # about half of the widest label ("$2.5 M", "1.5e23") by default
        self.overhang = (3.2, 3.2)
        self.enableAutoSIPrefix(False)
        #: grid lines filled as rectangles on raster devices (:meth:`drawPicture`)
        self.fast_grid = True

    def boundingRect(self):  # noqa: N802 (Qt API)
        r = super().boundingRect()
        lo, hi = (f * self.tick_px for f in self.overhang)
        if self.orientation in ("top", "bottom"):
            return r.adjusted(-lo, 0, hi, 0)
        return r.adjusted(0, -min(hi, 0.8 * self.tick_px), 0, min(lo, 0.8 * self.tick_px))

    def _max_labels(self, size: float) -> int:
        per = self.tick_px * (5.0 if self.orientation in ("top", "bottom") else 2.6)
        return max(3, min(8, int(size / max(per, 1.0))))

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph API)
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

    def paint(self, p, opt, widget):
        # pyqtgraph records the axis in a QPicture and replays it; we keep its draw specs
        # instead and draw them, so grid lines can take the fast path below on screen.
        if self.picture is None:  # pyqtgraph's mark that the axis changed
            picture = QtGui.QPicture()
            painter = QtGui.QPainter(picture)  # the specs measure text with its font
            try:
                if self.style["tickFont"]:
                    painter.setFont(self.style["tickFont"])
                self._specs = self.generateDrawSpecs(painter)
            finally:
                painter.end()
            self.picture = picture
        if getattr(self, "_specs", None) is None:
            return
        p.save()
        try:
            self.drawPicture(p, *self._specs)
        finally:
            p.restore()

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802 (pyqtgraph API)
        """pyqtgraph's drawing, except that on a raster device (the screen, PNG) the
        semi-transparent grid lines are filled as the rectangles an aliased square-capped
        line covers: Qt draws an aliased line with alpha about 25x slower than the fill,
        which cost 1-2 ms per chart paint. The pixels are the same (tests/test_charts.py);
        vector devices (SVG, PDF) get lines."""
        fast = self.fast_grid and p.paintEngine() is not None and \
            p.paintEngine().type() == QtGui.QPaintEngine.Type.Raster
        tr = p.transform()
        if fast and tr.m12() == 0 and tr.m21() == 0:
            rest = []
            # a pixmap row tiled down the plot only where a device pixel is a pixel and
            # fills are aliased (exports antialias: their fills keep the one-by-one path)
            tile = p.device() is not None and p.device().devicePixelRatioF() == 1.0 and \
                not p.testRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            columns: dict[tuple[int, int, int], list[QtCore.QRectF]] = {}
            p.save()
            p.resetTransform()
            for pen, p1, p2 in tickSpecs:
                rect = _aliased_line_rect(pen, tr.map(QtCore.QPointF(p1[0], p1[1])),
                                          tr.map(QtCore.QPointF(p2[0], p2[1])))
                if rect is None:
                    rest.append((pen, p1, p2))
                elif tile and rect.width() <= 2.0 and rect.height() > 8.0:
                    columns.setdefault(_rows_of(rect) + (pen.color().rgba(),), []).append(rect)
                else:
                    p.fillRect(rect, pen.color())
            for (lo, hi, rgba), rects in columns.items():
                self._fill_columns(p, rects, lo, hi, rgba)
            p.restore()
            tickSpecs = rest
        super().drawPicture(p, axisSpec, tickSpecs, textSpecs)

    def _fill_columns(self, p: QtGui.QPainter, rects: list[QtCore.QRectF], lo: int, hi: int,
                      rgba: int) -> None:
        """Fill vertical grid lines (device rectangles covering rows ``lo``..``hi``) of one
        colour: Qt fills an alpha rectangle one row at a time, so a tall thin one costs a
        call per row (a log axis's 20 lines: 2 ms). The lines' one row, filled exactly as
        fillRect fills it, is tiled down the rows instead: the same pixels, one blit."""
        color = QtGui.QColor.fromRgba(rgba)
        cols = sorted(_columns_of(r) for r in rects)
        overlap = any(b[0] < a[1] for a, b in pairwise(cols))  # a pixel filled twice
        if len(rects) < 3 or hi <= lo or overlap:
            for r in rects:
                p.fillRect(r, color)
            return
        x0 = math.floor(min(r.left() for r in rects)) - 1
        x1 = math.ceil(max(r.right() for r in rects)) + 1
        key = (rgba, x0, x1, tuple((r.left(), r.width()) for r in rects))
        cache = self.__dict__.setdefault("_column_rows", {})
        row = cache.get(key)
        if row is None:
            img = QtGui.QImage(x1 - x0, 1, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            img.fill(0)
            q = QtGui.QPainter(img)
            for r in rects:  # one row (y 0..1) of each rectangle, the same columns
                q.fillRect(QtCore.QRectF(r.left() - x0, 0.0, r.width(), 1.0), color)
            q.end()
            if len(cache) > 16:
                cache.clear()
            row = cache[key] = QtGui.QPixmap.fromImage(img)
        p.drawTiledPixmap(QtCore.QRect(x0, lo, x1 - x0, hi - lo), row)

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


def _rows_of(rect: QtCore.QRectF) -> tuple[int, int]:
    """The device rows ``[lo, hi)`` an aliased fill of ``rect`` covers: those whose centre
    lies in ``(top, bottom]`` (Qt's raster rule, checked on random rectangles in
    tests/test_charts.py)."""
    return math.floor(rect.top() + 0.5), math.floor(rect.bottom() + 0.5)


def _columns_of(rect: QtCore.QRectF) -> tuple[int, int]:
    """The device columns ``[lo, hi)`` an aliased fill of ``rect`` covers (as rows)."""
    return math.floor(rect.left() + 0.5), math.floor(rect.right() + 0.5)


def _aliased_line_rect(pen: QtGui.QPen, a: QtCore.QPointF, b: QtCore.QPointF):
    """The rectangle (device pixels) an aliased, square-capped, cosmetic solid line from
    ``a`` to ``b`` covers when it is horizontal or vertical, or None for any other line."""
    if not pen.isCosmetic() or pen.style() != QtCore.Qt.PenStyle.SolidLine \
            or pen.capStyle() != QtCore.Qt.PenCapStyle.SquareCap \
            or pen.brush().style() != QtCore.Qt.BrushStyle.SolidPattern:
        return None
    w = pen.widthF() or 1.0  # width 0: one device pixel
    if a.y() == b.y():
        lo, hi = sorted((a.x(), b.x()))
        return QtCore.QRectF(lo - w / 2, a.y() - w / 2, hi - lo + w, w)
    if a.x() == b.x():
        lo, hi = sorted((a.y(), b.y()))
        return QtCore.QRectF(a.x() - w / 2, lo - w / 2, w, hi - lo + w)
    return None
