"""Days and cost against the number of GPUs for the plan on its hardware (issue 11): the run
model's best layout at each count (:func:`estimator.chart_data.gpu_sweep`), wall-clock days and
training cost side by side on log axes, with the plan's count, the memory floor and the
useful-batch ceiling (past it more GPUs do not shorten the run) marked."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.chart_data import GpuSweepData, gpu_sweep, gpu_sweep_kept
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.errors import EstimatorError
from estimator.gui.charts.base import ChartWidget, log_range
from estimator.report import hardware_short_name


def _split(x: np.ndarray, y: np.ndarray, ok: np.ndarray, ceiling: int):
    """(x, y) inside the useful batch and beyond it (the beyond part starts at the last point
    inside, so the two join); non-fitting counts dropped."""
    x, y = x[ok], y[ok]
    inside = x <= ceiling
    if not inside.any():
        return (x[:0], y[:0]), (x, y)
    last = int(np.flatnonzero(inside)[-1])
    return (x[inside], y[inside]), (x[last:], y[last:])


def no_faster_beyond(d: GpuSweepData) -> bool:
    """True when no GPU count past the useful-batch ceiling finishes sooner than the fastest
    count up to it (the run model's usual shape; a small model's layouts can still speed up
    there, and the label then says only that the batch outgrows the useful one)."""
    days = np.asarray(d.wall_clock_days)
    ok = np.asarray(d.fits) & np.isfinite(days)
    inside = ok & (d.gpus <= d.max_useful_gpus)
    beyond = ok & (d.gpus > d.max_useful_gpus)
    if not inside.any() or not beyond.any():
        return True
    return bool(days[beyond].min() >= days[inside].min() * (1 - 1e-9))


class GpusChart(ChartWidget):
    kind = "gpus"
    heavy = True
    legend_columns = 3
    column_stretch = (1, 1)

    def build(self) -> None:
        pd = self.new_plot("count", "plain", True, True)
        pc = self.new_plot("count", "usd", True, True)
        pd.setLabel("bottom", "GPUs")
        pc.setLabel("bottom", "GPUs")
        pd.setLabel("left", "Wall-clock (days)")
        pc.setLabel("left", "Training cost (USD)")
        pc.setXLink(pd)
        self.data: GpuSweepData | None = None
        self.vlines: dict[str, pg.InfiniteLine] = {}
        for panel, p in (("days", pd), ("cost", pc)):
            self.add_curve(p, panel, connect="finite")
            self.add_curve(p, f"{panel}:beyond", connect="finite")
            self.add_curve(p, f"{panel}:plan")
            for name in ("plan", "ceiling", "floor"):
                line = pg.InfiniteLine(angle=90)
                p.addItem(line, ignoreBounds=True)
                self.vlines[f"{panel}:{name}"] = line
        self.add_text(pd, "ceiling", anchor=(1.0, 0.0))
        self.add_text(pd, "floor", anchor=(0.0, 1.0))
        self.add_text(pd, "plan", anchor=(-0.08, 1.1))
        self.add_text(pc, "cost:plan", anchor=(-0.08, 1.1))
        self.message_hides = tuple(self.vlines.values())
        c = self.curve_items
        self._ceiling_sample = pg.PlotDataItem()
        self._floor_sample = pg.PlotDataItem()
        self.legend.addItem(c["days"], "Best layout at each GPU count")
        self.legend.addItem(c["days:beyond"], "beyond the useful batch")
        self.legend.addItem(c["days:plan"], "The plan")
        self.legend.addItem(self._ceiling_sample, "Useful-batch ceiling (max useful GPUs)")
        self.legend.addItem(self._floor_sample, "Memory floor (min GPUs)")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        main, warn = t.palette[0], t.palette[3 % len(t.palette)]
        for panel in ("days", "cost"):
            c[panel].setPen(self.pen(main, 1.2))
            c[f"{panel}:beyond"].setPen(self.pen(main, 0.9, QtCore.Qt.PenStyle.DashLine))
            self.marker(c[f"{panel}:plan"], "star", t.plan_color, 1.5)
            self.vlines[f"{panel}:plan"].setPen(
                self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))
            self.vlines[f"{panel}:ceiling"].setPen(self.pen(warn, 0.9))
            self.vlines[f"{panel}:floor"].setPen(
                self.pen(t.muted, 0.9, QtCore.Qt.PenStyle.DotLine))
        self._ceiling_sample.setPen(self.pen(warn, 0.9))
        self._floor_sample.setPen(self.pen(t.muted, 0.9, QtCore.Qt.PenStyle.DotLine))
        for name in ("ceiling", "floor"):
            self.text_items[name].setFont(self.make_font(t.annotation_px * 0.9))
        self.text_items["ceiling"].setColor(warn)

    def subtitle(self, est: Estimate) -> str:
        d = self.data
        if d is None:
            return f"{units.si(est.params)} params × {units.si(est.tokens)} tokens"
        size = (f"{units.si(est.total_params)} total / {units.si(est.params)} active params"
                if est.total_params > est.params * (1 + 1e-9) else f"{units.si(est.params)} params")
        return (f"{size} × {units.si(est.tokens)} tokens on "
                f"{hardware_short_name(d.hardware_name)} at "
                f"{units.usd_per_hour(d.price_usd_per_hour)} · plan: {d.plan_gpus:,} GPUs, "
                f"{units.days(d.plan_days)}, {units.usd(d.plan_cost_usd)} · "
                f"memory floor {d.min_gpus_for_memory:,} · useful-batch ceiling "
                f"{d.max_useful_gpus:,} GPUs")

    def footnote(self, est: Estimate) -> str:
        return ("Each point: the run model's fastest layout that fits at that GPU count "
                "(estimator.training.run.sweep_gpus), priced at the plan's price per GPU-hour; "
                "past the ceiling the batch outgrows the useful batch and needs extra tokens "
                "(McCandlish et al. 2018), so GPUs there buy little or no speed\n"
                + super().footnote(est))

    def update_is_heavy(self, curves: Curves, est: Estimate) -> bool:
        """Heavy unless only the GPU count moved: the other counts' sweep is then kept and
        one count is searched (dragging the GPU slider follows live)."""
        return super().update_is_heavy(curves, est) and not gpu_sweep_kept(est)

    def set_data(self, c: Curves, est: Estimate) -> None:
        try:
            d = self.memo(self.estimate_key(est), lambda: gpu_sweep(est))
        except EstimatorError as exc:
            self.data = None
            self.show_message(f"No GPU sweep: {exc}")
            return
        self.hide_message()
        self.data = d
        self.legend.setVisible(True)
        x = np.asarray(d.gpus, dtype=float)
        items = self.curve_items
        pd, pc = self.plot_items
        for panel, y in (("days", d.wall_clock_days), ("cost", d.cost_usd)):
            (xi, yi), (xb, yb) = _split(x, np.asarray(y), np.asarray(d.fits), d.max_useful_gpus)
            items[panel].setData(xi, yi)
            items[f"{panel}:beyond"].setData(xb, yb)
            plan_y = d.plan_days if panel == "days" else d.plan_cost_usd
            items[f"{panel}:plan"].setData([d.plan_gpus], [plan_y])
            items[f"{panel}:plan"].setZValue(20)
            self.vlines[f"{panel}:plan"].setPos(math.log10(d.plan_gpus))
            self.vlines[f"{panel}:ceiling"].setPos(math.log10(d.max_useful_gpus))
            floor = self.vlines[f"{panel}:floor"]
            floor.setVisible(d.min_gpus_for_memory > 0)
            floor.setPos(math.log10(max(1, d.min_gpus_for_memory)))
            ok = np.isfinite(y) & (y > 0)
            lo, hi = log_range(np.asarray(y)[ok])
            if hi - lo < 0.3:
                lo, hi = lo - 0.15, hi + 0.15
            plot = pd if panel == "days" else pc
            plot.setYRange(lo, hi, padding=0.06)
        xlo, xhi = log_range(x)
        pd.setXRange(xlo, xhi, padding=0.02)
        # labels: the ceiling at the top of the days panel, left of its line; the floor at
        # the bottom, right of its line; the plan beside its star
        (vx0, vx1), (vy0, vy1) = pd.vb.viewRange()
        cx = math.log10(d.max_useful_gpus)
        ceil = self.text_items["ceiling"]
        ceil.setText(f"useful-batch ceiling: {d.max_useful_gpus:,} GPUs\n"
                     + ("more GPUs do not shorten the run" if no_faster_beyond(d) else
                        "beyond it the batch outgrows the useful batch"))
        right = cx > vx0 + 0.55 * (vx1 - vx0)
        ceil.setAnchor((1.0, 0.0) if right else (0.0, 0.0))
        ceil.setPos(cx, vy1 - 0.02 * (vy1 - vy0))
        fl = self.text_items["floor"]
        fl.setText(f"memory floor: {d.min_gpus_for_memory:,} GPUs")
        fl.setVisible(d.min_gpus_for_memory > 0)
        fl.setPos(math.log10(max(1, d.min_gpus_for_memory)), vy0 + 0.02 * (vy1 - vy0))
        for name, value in (("plan", units.days(d.plan_days)),
                            ("cost:plan", units.usd(d.plan_cost_usd))):
            txt = self.text_items[name]
            txt.setText(f"plan: {d.plan_gpus:,} GPUs, {value}")
            yv = d.plan_days if name == "plan" else d.plan_cost_usd
            # right of the star in the left part of the panel, else left of it
            right_side = math.log10(d.plan_gpus) < vx0 + 0.45 * (vx1 - vx0)
            txt.setAnchor((-0.08, 1.1) if right_side else (1.08, 1.1))
            txt.setPos(math.log10(d.plan_gpus), math.log10(yv))
