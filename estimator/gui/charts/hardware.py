"""The plan on every hardware profile: training cost and wall-clock as horizontal bars
(median) with P10-P90 whiskers, cheapest on top, the plan's chip highlighted."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from estimator import units
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.charts.base import ChartWidget
from estimator.report import hardware_short_name

BAR_HEIGHT = 0.62


class HardwareChart(ChartWidget):
    kind = "hardware"
    heavy = True

    def build(self) -> None:
        pc, pd = self.new_cost_days_plots("Training cost (USD)")
        self.bar_items: dict[str, pg.BarGraphItem] = {}
        self.error_items: dict[str, pg.ErrorBarItem] = {}
        for name, p in (("cost", pc), ("days", pd)):
            bar = pg.BarGraphItem(x0=[0], y=[0], height=[BAR_HEIGHT], width=[0])
            err = pg.ErrorBarItem(x=np.array([0.0]), y=np.array([0.0]))
            p.addItem(bar)
            p.addItem(err)
            self.bar_items[name] = bar
            self.error_items[name] = err
        self._bar_texts: dict[str, list[pg.TextItem]] = {"cost": [], "days": []}
        self._legend_plan = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self._legend_other = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self.legend.addItem(self._legend_plan, "Plan's hardware")
        self.legend.addItem(self._legend_other, "Other hardware")
        self.legend.addItem(self.error_items["cost"], "P10–P90")

    def apply_style(self) -> None:
        t = self.theme
        for p in self.plot_items:
            p.showGrid(x=True, y=False, alpha=t.grid_alpha)
        self._legend_plan.setOpts(brush=pg.mkBrush(t.plan_color), pen=pg.mkPen(None))
        self._legend_other.setOpts(brush=pg.mkBrush(t.palette[0]), pen=pg.mkPen(None))
        for err in self.error_items.values():
            err.setData(pen=pg.mkPen(t.foreground, width=self._px(1.6)))

    def subtitle(self, est: Estimate) -> str:
        return (
            f"Plan: {units.si(est.params)} params × {units.si(est.tokens)} tokens, "
            f"{units.flops(est.train_flops_6nd)} · {est.gpus:,} chips each, {est.precision} · "
            "bars: median, whiskers: P10–P90"
        )

    def update_is_heavy(self, curves: Curves, est: Estimate) -> bool:
        """Heavy while the curves' comparison over every profile is still to be run."""
        return curves.hardware_pending

    def set_data(self, c: Curves, est: Estimate) -> None:
        t = self.theme
        rows = list(c.hardware_rows)
        n = len(rows)
        y = np.arange(n)[::-1].astype(float)  # cheapest on top
        brushes = [pg.mkBrush(t.plan_color if r["is_plan"] else t.palette[0]) for r in rows]
        pc, pd = self.plot_items
        for name, key, plot in (("cost", "cost_usd", pc), ("days", "wall_clock_days", pd)):
            v = np.array([r[key] for r in rows], dtype=float)
            lo = np.array([r[f"{key}_p10"] for r in rows], dtype=float)
            hi = np.array([r[f"{key}_p90"] for r in rows], dtype=float)
            self.bar_items[name].setOpts(
                x0=np.zeros(n),
                y=y,
                height=np.full(n, BAR_HEIGHT),
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
            texts = self._bar_texts[name]
            while len(texts) < n:  # one value label per row, created once
                item = pg.TextItem(anchor=(0, 0.5))
                plot.addItem(item, ignoreBounds=True)
                texts.append(item)
            for i, item in enumerate(texts):
                if i < n:
                    item.setText(" " + (units.usd(v[i]) if name == "cost" else f"{v[i]:,.0f} d"))
                    item.setColor(t.foreground)
                    item.setFont(self.make_font(t.annotation_px * 0.9))
                    item.setPos(hi[i], y[i])
                    item.setVisible(True)
                else:
                    item.setVisible(False)
            top = float(np.max(hi)) if n else 1.0
            self.set_view(plot, (0, top * 1.28), (-0.6, n - 0.4))
        ticks = [
            (float(y[i]), hardware_short_name(r["name"]) + ("  ◆" if r["is_plan"] else ""))
            for i, r in enumerate(rows)
        ]
        pc.getAxis("left").setTicks([ticks, []])
        pd.getAxis("left").setTicks([[(yy, "") for yy, _ in ticks], []])
