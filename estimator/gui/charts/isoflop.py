"""IsoFLOP profiles (Hoffmann et al. 2022, Fig. 3 left): loss against model size at a few fixed
compute budgets around the plan, each profile's minimum marked, the plan on its own budget's
profile. Shows why the plan's size was chosen and what a bigger or smaller model costs in loss.
Data: :func:`estimator.law_curves.isoflop_profiles`."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.charts.base import ChartWidget, scenario_law
from estimator.law_curves import ISOFLOP_BUDGETS, IsoFlopProfiles, isoflop_profiles

# The y-range shows each profile within this many decades of its minimum (the U's walls
# rise steeply further out and would squash the minima together).
VIEW_DECADES = 0.8


def _budget_colors(n: int, dark: bool) -> list[QtCore.Qt.GlobalColor]:
    """A sequential ramp (viridis: perceptually uniform, colour-blind safe), low compute dark
    to high compute light; kept off the end that vanishes on the background."""
    cmap = pg.colormap.get("viridis")
    lo, hi = (0.3, 1.0) if dark else (0.0, 0.78)
    xs = np.linspace(lo, hi, max(n, 2))[:n]
    return [cmap.map(float(x), mode="qcolor") for x in xs]


class IsoFlopChart(ChartWidget):
    kind = "isoflop"

    def build(self) -> None:
        p = self.new_plot("count", "plain", True, False)
        p.setLabel("bottom", "Model size N (parameters); tokens D = C / 6N")
        p.setLabel("left", "Final loss (nats/token)")
        self.add_curve(p, "fitted_max")
        for k in range(ISOFLOP_BUDGETS):
            self.add_curve(p, f"profile_{k}")
            self.add_text(p, f"budget_{k}", anchor=(0.5, -0.25))
        self.add_curve(p, "optima_path")
        self.add_curve(p, "optima")
        self.add_curve(p, "plan")
        self.add_text(p, "plan", anchor=(0.5, 1.5))
        self.add_text(p, "fitted_max", anchor=(1.02, 0.0))
        self.profiles: IsoFlopProfiles | None = None
        c = self.curve_items
        self.legend.addItem(c[f"profile_{ISOFLOP_BUDGETS // 2}"], "Loss at a fixed compute budget")
        self.legend.addItem(c["optima"], "Best model size per budget")
        self.legend.addItem(c["plan"], "The plan")
        self.legend.addItem(c["fitted_max"], "Largest model the law was fitted on")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        colors = _budget_colors(ISOFLOP_BUDGETS, dark=self._dark())
        for k in range(ISOFLOP_BUDGETS):
            c[f"profile_{k}"].setPen(self.pen(colors[k], 1.0))
            self.text_items[f"budget_{k}"].setColor(colors[k])
            self.text_items[f"budget_{k}"].setFont(self.make_font(t.annotation_px * 0.85))
        c["optima_path"].setPen(self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))
        self.marker(c["optima"], "o", t.foreground, 0.7)
        self.marker(c["plan"], "star", t.plan_color, 1.5)
        c["fitted_max"].setPen(self.pen(t.palette[2], 0.6, QtCore.Qt.PenStyle.DashLine))
        self.text_items["fitted_max"].setColor(t.palette[2])
        self.text_items["fitted_max"].setFont(self.make_font(t.annotation_px * 0.85))
        self.text_items["fitted_max"].fill = pg.mkBrush(None)

    def _dark(self) -> bool:
        return pg.mkColor(self.theme.background).lightness() < 128

    def subtitle(self, est: Estimate) -> str:
        pr = self.profiles
        if pr is None:
            return ""
        best = pr.plan_profile
        gap = pr.plan_loss - best.optimum_loss
        lo, hi = pr.profiles[0].compute_flops, pr.profiles[-1].compute_flops
        where = (
            "the plan is at it"
            if gap < 5e-5
            else f"the plan's {units.si(pr.plan_params)} loses {gap:.4f} nats/token against it"
        )
        return (
            f"{pr.law_name} · budgets {units.flops(lo)} to {units.flops(hi)} · at the plan's "
            f"{units.flops(pr.plan_compute_flops)} the best size is "
            f"{units.si(best.optimum_params)} params and {where}"
        )

    def set_data(self, c: Curves, est: Estimate) -> None:
        pr = isoflop_profiles(scenario_law(est), est.params, est.tokens)
        self.profiles = pr
        items, texts = self.curve_items, self.text_items
        y_lo, y_hi = math.inf, -math.inf
        x_lo, x_hi = math.inf, -math.inf
        for k in range(ISOFLOP_BUDGETS):
            item, label = items[f"profile_{k}"], texts[f"budget_{k}"]
            if k >= len(pr.profiles) or len(pr.profiles[k].params) < 2:
                item.setData([], [])
                label.setVisible(False)
                continue
            prof = pr.profiles[k]
            item.setData(prof.params, prof.loss)
            label.setText(units.flops(prof.compute_flops))
            label.setPos(math.log10(prof.optimum_params), prof.optimum_loss)
            label.setVisible(True)
            near = np.abs(np.log10(prof.params / prof.optimum_params)) <= VIEW_DECADES
            if k == pr.plan_index:
                near |= np.abs(np.log10(prof.params / pr.plan_params)) <= 0.05
            y_lo = min(y_lo, prof.optimum_loss, float(prof.loss.min()))
            y_hi = max(y_hi, float(prof.loss[near].max()))
            x_lo = min(x_lo, float(prof.params[0]))
            x_hi = max(x_hi, float(prof.params[-1]))
        opt_n = [p.optimum_params for p in pr.profiles]
        opt_l = [p.optimum_loss for p in pr.profiles]
        items["optima"].setData(opt_n, opt_l)
        items["optima_path"].setData(opt_n, opt_l)
        items["plan"].setData([pr.plan_params], [pr.plan_loss])
        ptxt = texts["plan"]
        ptxt.setText(f"plan: {units.si(pr.plan_params)} params, loss {pr.plan_loss:.3f}")
        ptxt.setPos(math.log10(pr.plan_params), pr.plan_loss)
        if not math.isfinite(y_lo):  # nothing drawable
            y_lo, y_hi, x_lo, x_hi = pr.plan_loss - 0.1, pr.plan_loss + 0.1, 1e8, 1e12
        pad = 0.06 * (y_hi - y_lo or 0.1)
        y0, y1 = y_lo - pad, y_hi + pad
        fmax = pr.fitted_params_range[1]
        show_fit = bool(x_lo < fmax < x_hi)
        if show_fit:
            items["fitted_max"].setData([fmax, fmax], [y0, y1])
            texts["fitted_max"].setText(f"fitted up to {units.si(fmax)} params ")
            texts["fitted_max"].setPos(math.log10(fmax), y1)
        else:
            items["fitted_max"].setData([], [])
        items["fitted_max"].setVisible(show_fit)
        texts["fitted_max"].setVisible(show_fit)
        self.legend_visible({"Largest model the law was fitted on": show_fit})
        p = self.plot_item
        self.set_view(p, (math.log10(x_lo), math.log10(x_hi)), (y0, y1), 0.01, 0.0)
