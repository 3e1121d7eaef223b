"""Mixture of experts (issue 12): the trade of total memory against training compute at one
loss. At each expert count E (1, 2, 4 ... 128 Switch top-1 experts) the joint dense/MoE law of
Ludziejewski et al. 2025 (arXiv:2502.05172) gives the compute-optimal model for the loss; more
experts need less compute and more parameters in memory. Each E is drawn at its total
parameters (memory) and at its active parameters (compute per token), joined at the same
compute (:func:`estimator.chart_data.moe_tradeoff`); the plan is marked."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.chart_data import WEIGHT_BYTES, MoeTradeoff, moe_tradeoff
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.errors import EstimatorError
from estimator.gui.charts.base import ChartWidget, log_range, scenario_law


def _gb(v: float) -> str:
    return f"{v / 1e3:,.1f} TB" if v >= 1e3 else f"{v:,.0f} GB"


class MoeChart(ChartWidget):
    kind = "moe"
    legend_columns = 3

    def build(self) -> None:
        p = self.new_plot("count", "flops", True, True)
        p.setLabel("bottom", "Parameters (total = weights in memory; active = used per token)")
        p.setLabel("left", "Training compute 6 N_act D (FLOPs)")
        self.data: MoeTradeoff | None = None
        for name in ("joins", "total", "total:beyond", "beyond_pts", "active", "plan",
                     "plan_active"):
            self.add_curve(p, name, connect="finite")
        self.add_text(p, "plan", anchor=(-0.08, 1.1))
        self._labels: list[pg.TextItem] = []
        self._cost_axis_note = None
        c = self.curve_items
        self.legend.addItem(c["total"], "Total parameters (memory) at E experts")
        self.legend.addItem(c["active"], "Active parameters (per token)")
        self.legend.addItem(c["beyond_pts"], "E beyond the law's fitted range")
        self.legend.addItem(c["plan"], "The plan (total)")
        self.legend.addItem(c["plan_active"], "The plan (active)")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        main, other = t.palette[0], t.palette[1 % len(t.palette)]
        c["joins"].setPen(self.pen(t.muted, 0.5, QtCore.Qt.PenStyle.DotLine))
        c["total"].setPen(self.pen(main, 1.2))
        c["total"].setSymbol("o")
        c["total"].setSymbolSize(self._px(t.marker_px * 0.8))
        c["total"].setSymbolBrush(pg.mkBrush(main))
        c["total"].setSymbolPen(pg.mkPen(t.background, width=self._px(1.2)))
        c["total:beyond"].setPen(self.pen(main, 0.9, QtCore.Qt.PenStyle.DashLine))
        bp = c["beyond_pts"]
        bp.setPen(self.pen(main, 0.9, QtCore.Qt.PenStyle.DashLine))
        bp.setSymbol("o")
        bp.setSymbolSize(self._px(t.marker_px * 0.8))
        bp.setSymbolBrush(pg.mkBrush(t.background))
        bp.setSymbolPen(pg.mkPen(main, width=self._px(1.5)))
        self.marker(c["active"], "t", other, 0.8)
        self.marker(c["plan"], "star", t.plan_color, 1.5)
        self.marker(c["plan_active"], "star", t.plan_color, 1.0)
        for lab in self._labels:
            lab.setColor(t.foreground)
            lab.setFont(self.make_font(t.annotation_px * 0.85))

    def subtitle(self, est: Estimate) -> str:
        d = self.data
        if d is None:
            return ""
        i8 = int(np.argmin(np.abs(d.experts - 8)))
        saving = 1 - d.train_flops[i8] / d.train_flops[0]
        more = d.total_params[i8] / d.total_params[0]
        return (f"Loss {d.target_loss:.4f} nats/token under the joint law · E = "
                f"{d.experts[i8]:g}: {saving:.0%} less compute than dense for {more:.1f}x the "
                f"weights · at the plan's {units.usd(d.usd_per_flop * 1e21)} per 1e21 FLOPs: "
                f"dense {units.usd(d.cost_usd[0])}, E = {d.experts[-1]:g} "
                f"{units.usd(d.cost_usd[-1])}")

    def footnote(self, est: Estimate) -> str:
        d = self.data
        if d is None:
            return super().footnote(est)
        return (f"Trade: {d.law_name} (arXiv:2502.05172, eq. 1/6; compute-optimal "
                f"allocation eq. 7 at each E; E = Switch top-1 experts of the dense FFN's size, "
                f"fitted on E ≤ {d.experts_fitted_max:g}) · target: {d.target} · memory: "
                f"weights at {WEIGHT_BYTES:g} bytes/param\n" + super().footnote(est))

    def set_data(self, c: Curves, est: Estimate) -> None:
        try:
            d = self.memo(self.estimate_key(est),
                          lambda: moe_tradeoff(est, scenario_law(est)))
        except EstimatorError as exc:
            self.data = None
            self.show_message(f"No expert trade-off: {exc}")
            return
        self.hide_message()
        self.data = d
        items = self.curve_items
        p = self.plot_item
        fit = np.asarray(d.in_fitted_range)
        tot, act, fl = (np.asarray(a) for a in (d.total_params, d.active_params, d.train_flops))
        items["total"].setData(tot[fit], fl[fit])
        beyond = ~fit | np.convolve(~fit, [1, 1, 1], mode="same").astype(bool)
        items["total:beyond"].setData(np.where(beyond, tot, np.nan), fl)
        items["total:beyond"].setVisible(bool((~fit).any()))
        # markers only (the legend swatch shows the dashed line with a hollow marker)
        items["beyond_pts"].setData(tot[~fit], fl[~fit])
        items["beyond_pts"].setPen(None)
        items["active"].setData(act, fl)
        # each E's active and total at the same compute, joined by a dotted segment
        jx = np.column_stack([act, tot, np.full_like(act, np.nan)]).ravel()
        jy = np.column_stack([fl, fl, np.full_like(fl, np.nan)]).ravel()
        items["joins"].setData(jx, jy)
        items["plan"].setData([d.plan_total_params], [d.plan_train_flops])
        items["plan"].setZValue(20)
        has_active = d.plan_total_params > d.plan_active_params * (1 + 1e-9)
        items["plan_active"].setData([d.plan_active_params] if has_active else [],
                                     [d.plan_train_flops] if has_active else [])
        self.legend_visible({"The plan (active)": has_active,
                             "E beyond the law's fitted range": bool((~fit).any())})
        while len(self._labels) < len(d.experts):
            lab = pg.TextItem(anchor=(-0.12, 0.5))
            lab.setZValue(50)
            p.addItem(lab, ignoreBounds=True)
            self._labels.append(lab)
            self.apply_style()
        for i, lab in enumerate(self._labels):
            if i >= len(d.experts):
                lab.setVisible(False)
                continue
            lab.setVisible(True)
            lab.setText(f"E={d.experts[i]:g} · {_gb(d.weights_gb[i])}")
            lab.setPos(math.log10(tot[i]), math.log10(fl[i]))
        xs = np.concatenate([tot, act, [d.plan_total_params, d.plan_active_params]])
        ys = np.concatenate([fl, [d.plan_train_flops]])
        xlo, xhi = log_range(xs)
        ylo, yhi = log_range(ys)
        # room on the right for the last label
        # and above the top point for the plan's label
        self.set_view(p, (xlo - 0.06 * (xhi - xlo), xhi + 0.22 * (xhi - xlo)),
                      (ylo - 0.06 * (yhi - ylo), yhi + 0.2 * (yhi - ylo)))
        ptxt = self.text_items["plan"]
        tag = (f"{units.si(d.plan_total_params)} total / {units.si(d.plan_active_params)} active"
               if has_active else f"{units.si(d.plan_total_params)} params")
        law = "" if d.plan_on_law else f" ({est.law_name.split(' (')[0]})"
        ptxt.setText(f"plan{law}: {tag}, {units.flops(d.plan_train_flops)}")
        # on the curve: above-left of the star (the curve falls to the right); off it (another
        # law's plan, left of the curve): above-right
        ptxt.setAnchor((1.04, 1.08) if d.plan_on_law else (0.08, 1.08))
        ptxt.setPos(math.log10(d.plan_total_params), math.log10(d.plan_train_flops))
