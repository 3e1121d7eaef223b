"""Training cost to reach each target loss on every hardware profile (same GPUs, precision,
utilisation policy and price tier as the plan), the plan's chip drawn thick, the plan marked."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.charts.base import DASHES, ChartWidget, finite_xy
from estimator.report import hardware_short_name


class CostChart(ChartWidget):
    kind = "cost"
    heavy = True
    legend_columns = 4

    def build(self) -> None:
        p = self.new_plot("plain", "usd", False, True)
        p.setLabel("bottom", "Target loss (nats/token)")
        p.setLabel("left", "Training cost (USD)")
        self.plan_vline = pg.InfiniteLine(angle=90)
        p.addItem(self.plan_vline, ignoreBounds=True)
        self._cost_plot = p
        self._ids: list[str] = []  # every profile line created so far
        self._rank: dict[str, int] = {}  # profile -> position in the current order
        self._legend_key: tuple | None = None
        self.add_curve(p, "plan")
        self.add_text(p, "plan", anchor=(-0.08, 1.1))

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        self.plan_vline.setPen(self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))
        self.marker(c["plan"], "star", t.plan_color, 1.5)
        for pid, rank in self._rank.items():
            self._style_line(rank, pid)

    def _style_line(self, rank: int, pid: str) -> None:
        """The plan's hardware: a thick line in the text colour; the others: palette colours,
        then the same colours dashed (``rank`` counts the plan's line as 0)."""
        t = self.theme
        if self.curves is not None and pid == self.curves.plan_hardware:
            pen = self.pen(t.foreground, 1.4)
        else:
            colors = self.line_colors()
            j = max(0, rank - 1)
            pen = self.pen(colors[j % len(colors)], 0.85, DASHES[(j // len(colors)) % 2])
        self.curve_items[f"hw:{pid}"].setPen(pen)

    def subtitle(self, est: Estimate) -> str:
        what = self.curves.cost_constraint if self.curves is not None else "compute-optimal"
        return (
            f"Plan: loss {est.loss:.4f} for {units.usd(est.cost_usd)} on "
            f"{hardware_short_name(est.hardware_name)} · plans: {what} · "
            f"{est.gpus:,} chips, {est.precision}"
        )

    def update_is_heavy(self, curves: Curves, est: Estimate) -> bool:
        """Heavy while the curves' comparison over every profile is still to be run."""
        return curves.hardware_pending

    def set_data(self, c: Curves, est: Estimate) -> None:
        p = self._cost_plot
        # one line per profile, plan's first, the rest cheapest first at the plan's loss
        i_plan = int(np.argmin(np.abs(c.cost_losses - c.target_loss)))
        ids = sorted(
            c.cost_by_hardware,
            key=lambda k: (k != c.plan_hardware, float(c.cost_by_hardware[k][i_plan])),
        )
        for pid in ids:
            if f"hw:{pid}" not in self.curve_items:
                self.add_curve(p, f"hw:{pid}")
                self._ids.append(pid)
        # legend in the current order, rebuilt only when the order or the plan's chip changes
        # (re-adding 11 entries on every edit was the most expensive part of a redraw)
        legend_key = (tuple(ids), c.plan_hardware)
        rebuild = legend_key != self._legend_key
        self._legend_key = legend_key
        if rebuild:
            for pid in self._ids:
                self.legend.removeItem(self.curve_items[f"hw:{pid}"])
        for pid in self._ids:
            if pid not in c.cost_by_hardware:
                self.curve_items[f"hw:{pid}"].setData([], [])
                self.curve_items[f"hw:{pid}"].setVisible(False)
        self._rank = {pid: rank for rank, pid in enumerate(ids)}
        for rank, pid in enumerate(ids):
            item = self.curve_items[f"hw:{pid}"]
            item.setData(*finite_xy(c.cost_losses, c.cost_by_hardware[pid], positive_y=True))
            item.setVisible(True)
            item.setZValue(10 if pid == c.plan_hardware else 0)
            self._style_line(rank, pid)
            if rebuild:
                name = hardware_short_name(c.hardware_names.get(pid, pid))
                self.legend.addItem(item, name + (" (plan)" if pid == c.plan_hardware else ""))
        if rebuild:
            self.restyle_legend()
        self.curve_items["plan"].setData([c.target_loss], [c.plan_cost_usd])
        self.curve_items["plan"].setZValue(20)
        self.plan_vline.setPos(c.target_loss)
        txt = self.text_items["plan"]
        txt.setText(f"  plan: {units.usd(c.plan_cost_usd)}")
        txt.setPos(c.target_loss, math.log10(c.plan_cost_usd))
        allv = np.concatenate(
            [v[np.isfinite(v) & (v > 0)] for v in c.cost_by_hardware.values()] or [np.empty(0)]
        )
        p.setXRange(float(c.cost_losses[0]), float(c.cost_losses[-1]), padding=0.02)
        if len(allv):
            p.setYRange(math.log10(allv.min()), math.log10(allv.max()), padding=0.04)
