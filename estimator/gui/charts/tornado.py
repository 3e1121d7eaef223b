"""What moves the plan's dollars and days (issue 14): a tornado of the sensitivity to each
uncertain input (utilisation, price tiers, the law's P10/P90, demand ±50%, failure rate), the
bar from the low end's value to the high end's around the plan, biggest swing first, cost (the
lifetime total when the plan serves demand, else training) on the left and days on the right
(:func:`estimator.sensitivity.sensitivity`: every end a full engine run)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from estimator import units
from estimator.chart_data import plan_sensitivity
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.errors import EstimatorError
from estimator.gui.charts.base import ChartWidget

BAR_HEIGHT = 0.5
#: Longest input label on the left axis, in characters.
MAX_LABEL = 30


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _days(v: float) -> str:
    return f"{v:,.0f} d" if v >= 10 else f"{v:.1f} d"


class TornadoChart(ChartWidget):
    kind = "tornado"
    heavy = True
    legend_columns = 3
    column_stretch = (3, 2)

    def build(self) -> None:
        pc, pd = self.new_cost_days_plots("Cost (USD)")
        self.sens = None
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.base_lines: dict[str, pg.InfiniteLine] = {}
        for panel, p in (("cost", pc), ("days", pd)):
            for end in ("low", "high"):
                bar = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
                p.addItem(bar)
                self.bars[f"{panel}:{end}"] = bar
            line = pg.InfiniteLine(angle=90)
            p.addItem(line, ignoreBounds=True)
            self.base_lines[panel] = line
        self.message_hides = (*self.bars.values(), *self.base_lines.values())
        self._end_texts: dict[str, list[pg.TextItem]] = {"low": [], "high": []}
        self._legend_low = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self._legend_high = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self._legend_base = pg.PlotDataItem()
        self.legend.addItem(self._legend_low, "Input at its low end")
        self.legend.addItem(self._legend_high, "Input at its high end")
        self.legend.addItem(self._legend_base, "The plan")

    def _colors(self) -> tuple[str, str]:
        t = self.theme
        return t.palette[0], t.palette[1 % len(t.palette)]

    def apply_style(self) -> None:
        t = self.theme
        lo, hi = self._colors()
        for p in self.plot_items:
            p.showGrid(x=True, y=False, alpha=t.grid_alpha)
        self._legend_low.setOpts(brush=pg.mkBrush(lo), pen=pg.mkPen(None))
        self._legend_high.setOpts(brush=pg.mkBrush(hi), pen=pg.mkPen(None))
        self._legend_base.setPen(self.pen(t.foreground, 0.9))
        for line in self.base_lines.values():
            line.setPen(self.pen(t.foreground, 0.9))
        for texts in self._end_texts.values():
            for item in texts:
                item.setColor(t.foreground)
                item.setFont(self.make_font(t.annotation_px * 0.8))

    def subtitle(self, est: Estimate) -> str:
        s = self.sens
        if s is None:
            return ""
        what = s.metric_label.lower()
        base = units.usd(s.baseline) if s.baseline is not None else "n/a"
        top = s.swings[0] if s.swings else None
        lead = (f" · biggest: {top.label} ({units.usd(top.swing)})" if top else "")
        return (f"Bars: {what} (left) and days (right) at each input's low and high end, "
                f"biggest swing first · plan: {base}, {units.days(s.baseline_days)}" + lead)

    def footnote(self, est: Estimate) -> str:
        s = self.sens
        if s is None:
            return super().footnote(est)
        skipped = [f"{k.label} ({k.reason})" for k in s.skipped]
        line = ("Each end is a full engine run with that one input moved (estimator.sensitivity;"
                " the range of each input is over its bar)")
        if skipped:
            line += "\nNot varied: " + " · ".join(skipped)
        return line + "\n" + super().footnote(est)

    def set_data(self, c: Curves, est: Estimate) -> None:
        try:
            s = self.memo(self.estimate_key(est), lambda: plan_sensitivity(est))
        except EstimatorError as exc:
            self.sens = None
            self.show_message(f"No sensitivity: {exc}")
            return
        if not s.swings:
            self.sens = s
            self.show_message("No input of this plan can be varied: "
                              + "; ".join(f"{k.label}: {k.reason}" for k in s.skipped))
            return
        self.hide_message()
        self.sens = s
        lo_c, hi_c = self._colors()
        rows = list(s.swings)
        n = len(rows)
        y = np.arange(n)[::-1].astype(float)  # biggest on top
        pc, pd = self.plot_items
        for panel, plot in (("cost", pc), ("days", pd)):
            metric = s.metric if panel == "cost" else "wall_clock_days"
            base = s.baseline if panel == "cost" else s.baseline_days
            lows = np.array([w.metric_at(metric)[0] for w in rows], dtype=float)
            highs = np.array([w.metric_at(metric)[1] for w in rows], dtype=float)
            for end, v, col in (("low", lows, lo_c), ("high", highs, hi_c)):
                x0 = np.minimum(v, base)
                self.bars[f"{panel}:{end}"].setOpts(
                    x0=x0, y=y, height=np.full(n, BAR_HEIGHT), width=np.abs(v - base),
                    brush=pg.mkBrush(col), pen=pg.mkPen(None))
            self.base_lines[panel].setPos(base)
            vals = np.concatenate([lows, highs, [base]])
            lo, hi = float(vals.min()), float(vals.max())
            span = hi - lo or abs(base) * 0.1 or 1.0
            left, right = lo - 0.12 * span, hi + 0.12 * span
            self.set_view(plot, (max(0.0, left) if lo >= 0 else left, right), (-0.6, n - 0.25))
            if panel == "cost":
                self._end_labels(plot, rows, y, lows, highs, base, lo_c)
        ticks = [(float(y[i]), _short(w.label)) for i, w in enumerate(rows)]
        pc.getAxis("left").setTicks([ticks, []])
        pd.getAxis("left").setTicks([[(yy, "") for yy, _ in ticks], []])

    def _end_labels(self, plot, rows, y, lows, highs, base, _color) -> None:
        """Each input's range as a caption over its bar, centred on the cost panel:
        "spot $1.52 → capacity-block $4.92" (:func:`range_text`)."""
        texts = self._end_texts["low"]
        while len(texts) < len(rows):
            item = pg.TextItem(anchor=(0.5, 1.0))
            plot.addItem(item, ignoreBounds=True)
            texts.append(item)
            self.apply_style()
        (x0, x1) = plot.vb.viewRange()[0]
        for i, w in enumerate(rows):
            item = texts[i]
            item.setText(range_text(w.low_text, w.high_text))
            item.setPos((x0 + x1) / 2, y[i] + BAR_HEIGHT / 2 + 0.02)
            item.setVisible(True)
        for item in texts[len(rows):]:
            item.setVisible(False)


def range_text(low: str, high: str) -> str:
    """'MFU 36.1% at goodput 80%', 'MFU 59.1% at goodput 80%' -> 'MFU 36.1% → 59.1% at
    goodput 80%': the words both ends share at the start and the end said once."""
    a, b = low.split(), high.split()
    pre = 0
    while pre < min(len(a), len(b)) - 1 and a[pre] == b[pre]:
        pre += 1
    suf = 0
    while suf < min(len(a), len(b)) - pre - 1 and a[-1 - suf] == b[-1 - suf]:
        suf += 1
    mid_a = " ".join(a[pre:len(a) - suf])
    mid_b = " ".join(b[pre:len(b) - suf])
    head = " ".join(a[:pre])
    tail = " ".join(a[len(a) - suf:]) if suf else ""
    return " ".join(x for x in (head, f"{mid_a} → {mid_b}", tail) if x)
