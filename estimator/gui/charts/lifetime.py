"""Training, lifetime inference and total cost against model size, every model trained to the
plan's loss: the inference-aware optimum of Sardana et al. 2023 (arXiv:2401.00448) at the
bottom of the U, the plan and the compute-optimal model on it."""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore

from estimator import units
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.charts.base import ChartWidget, finite_xy
from estimator.report import hardware_short_name


class LifetimeChart(ChartWidget):
    kind = "lifetime"

    def build(self) -> None:
        p = self.new_plot("count", "usd", True, True)
        p.setLabel("bottom", "Model size N (parameters) trained to the plan's loss")
        p.setLabel("left", "Cost (USD)")
        for name in ("train", "inference", "total", "compute_optimal", "plan", "optimum"):
            self.add_curve(p, name)
        self.add_text(p, "optimum", anchor=(0.5, 0))
        self.add_text(p, "plan", anchor=(-0.1, 1.1))
        c = self.curve_items
        self.legend.addItem(c["total"], "Training + lifetime inference")
        self.legend.addItem(c["train"], "Training")
        self.legend.addItem(c["inference"], "Lifetime inference")
        self.legend.addItem(c["plan"], "The plan")
        self.legend.addItem(c["optimum"], "Inference-aware optimum")
        self.legend.addItem(c["compute_optimal"], "Compute-optimal model")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        c["total"].setPen(self.pen(t.palette[0], 1.3))
        c["train"].setPen(self.pen(t.palette[1], 0.8, QtCore.Qt.PenStyle.DashLine))
        c["inference"].setPen(self.pen(t.palette[4], 0.8, QtCore.Qt.PenStyle.DotLine))
        self.marker(c["plan"], "star", t.plan_color, 1.5)
        self.marker(c["optimum"], "d", t.optimum_color, 1.2)
        self.marker(c["compute_optimal"], "o", t.muted, 0.9)

    def _unavailable(self, est: Estimate) -> None:
        """The model fits on no serving replica: say so instead of drawing a curve."""
        for item in self.curve_items.values():
            item.setData([], [])
            item.setVisible(False)
        self.text_items["plan"].setText("")
        txt = self.text_items["optimum"]
        txt.setText(f"No lifetime curve: the model fits on no serving replica of "
                    f"{est.inference_hardware} (see the warnings)")
        txt.setAnchor((0.5, 0.5))
        self.plot_item.setXRange(math.log10(est.params) - 1, math.log10(est.params) + 1)
        self.plot_item.setYRange(0, 1)
        txt.setPos(math.log10(est.params), 0.5)
        self.legend.setVisible(False)
        self.plot_item.getAxis("left").setStyle(showValues=False)

    def subtitle(self, est: Estimate) -> str:
        c = self.curves
        tok = units.si(c.lifetime_inference_tokens) if c is not None else "0"
        # named without c.hardware_names: reading it would run the 19-profile comparison
        # that the lazy Curves keep for the hardware views
        chip = hardware_short_name(_display_name(est))
        return (
            f"Loss {est.loss:.4f} nats/token · serving {tok} tokens on {chip} · "
            "inference-aware optimum: Sardana et al. 2023"
        )

    def set_data(self, c: Curves, est: Estimate) -> None:
        items = self.curve_items
        if not c.lifetime_available:
            self._unavailable(est)
            return
        for item in items.values():
            item.setVisible(True)
        self.legend.setVisible(True)
        self.plot_item.getAxis("left").setStyle(showValues=True)
        items["total"].setData(*finite_xy(c.lifetime_params, c.lifetime_total_usd, positive_y=True))
        items["train"].setData(*finite_xy(c.lifetime_params, c.lifetime_train_usd, positive_y=True))
        has_inf = bool(np.any(c.lifetime_inference_usd > 0))
        items["inference"].setData(
            *finite_xy(c.lifetime_params, c.lifetime_inference_usd, positive_y=True)
        )
        items["inference"].setVisible(has_inf)
        items["plan"].setData([c.plan_params], [c.plan_lifetime_usd])
        ptxt = self.text_items["plan"]
        ptxt.setText(f"plan: {units.si(c.plan_params)} params, {units.usd(c.plan_lifetime_usd)}")
        ptxt.setPos(math.log10(c.plan_params), math.log10(c.plan_lifetime_usd))
        items["optimum"].setData([c.lifetime_optimum_params], [c.lifetime_optimum_usd])
        distinct = bool(abs(c.lifetime_compute_optimal_params / c.plan_params - 1) > 1e-3)
        distinct = distinct and math.isfinite(c.lifetime_compute_optimal_usd)
        if distinct:
            items["compute_optimal"].setData(
                [c.lifetime_compute_optimal_params], [c.lifetime_compute_optimal_usd]
            )
        else:
            items["compute_optimal"].setData([], [])
        items["compute_optimal"].setVisible(distinct)
        saving = c.plan_lifetime_usd - c.lifetime_optimum_usd
        txt = self.text_items["optimum"]
        head = (
            f"optimum: {units.si(c.lifetime_optimum_params)} params, "
            f"{units.usd(c.lifetime_optimum_usd)}"
        )
        if saving > 1e-6 * c.plan_lifetime_usd:
            head += f"\nsaves {units.usd(saving)} ({saving / c.plan_lifetime_usd:.0%}) vs the plan"
        txt.setText(head)
        self.legend_visible({"Lifetime inference": has_inf, "Compute-optimal model": distinct})
        p = self.plot_item
        x = c.lifetime_params
        ys = np.concatenate(
            [c.lifetime_total_usd, c.lifetime_train_usd]
            + ([c.lifetime_inference_usd] if has_inf else [])
        )
        ys = ys[np.isfinite(ys) & (ys > 0)]
        top = min(float(ys.max()), c.lifetime_optimum_usd * 30)
        bottom = max(float(ys.min()), c.lifetime_optimum_usd / 30)
        self.set_view(p, (math.log10(x[0]), math.log10(x[-1])),
                      (math.log10(bottom), math.log10(top)), 0.02, 0.05)
        # annotation near the top of the view, above the optimum (the U's empty middle)
        y_lo, y_hi = math.log10(bottom), math.log10(top)
        txt.setAnchor((0.5, 0))
        txt.setPos(math.log10(c.lifetime_optimum_params), y_hi + 0.02 * (y_hi - y_lo))


def _display_name(est: Estimate) -> str:
    """The serving chip's display name: the training chip's when they are the same, else the
    catalogue's (its id when the catalogue does not know it)."""
    if est.inference_hardware in (None, est.hardware):
        return est.hardware_name
    from estimator.catalogue import resolve
    from estimator.errors import EstimatorError

    try:
        return resolve(None).profile(est.inference_hardware).display_name
    except EstimatorError:
        return str(est.inference_hardware)
