"""The N-D plane: iso-loss contours of the law, the compute-optimal line, the plan, the
inference-aware optimum (Sardana et al. 2023) and the box the law was fitted on."""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore

from estimator import units
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.charts.base import ChartWidget, finite_xy

MAX_ISO_LEVELS = 8


class IsoLossChart(ChartWidget):
    kind = "isoloss"

    def build(self) -> None:
        p = self.new_plot("count", "count", True, True)
        p.setLabel("bottom", "Model size N (parameters)")
        p.setLabel("left", "Training tokens D")
        self.add_curve(p, "fitted_box")
        for k in range(MAX_ISO_LEVELS):
            self.add_curve(p, f"contour_{k}")
            self.add_text(p, f"contour_{k}", anchor=(0.5, 0.5))
        self.add_curve(p, "optimal")
        self.add_curve(p, "lifetime_optimum")
        self.add_curve(p, "plan")
        self.add_text(p, "plan", anchor=(-0.08, -0.1))
        self.legend.addItem(self.curve_items["contour_0"], "Iso-loss contour")
        self.legend.addItem(self.curve_items["optimal"], "Compute-optimal line")
        self.legend.addItem(self.curve_items["plan"], "The plan")
        self.legend.addItem(self.curve_items["lifetime_optimum"], "Inference-aware optimum")
        self.legend.addItem(self.curve_items["fitted_box"], "Law's fitted range")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        for k in range(MAX_ISO_LEVELS):
            c[f"contour_{k}"].setPen(self.pen(t.muted, 0.55))
            self.text_items[f"contour_{k}"].setColor(t.muted)
            self.text_items[f"contour_{k}"].setFont(self.make_font(t.annotation_px * 0.85))
        c["optimal"].setPen(self.pen(t.palette[0], 1.3))
        c["fitted_box"].setPen(self.pen(t.palette[2], 0.6, QtCore.Qt.PenStyle.DashLine))
        self.marker(c["plan"], "star", t.plan_color, 1.5)
        self.marker(c["lifetime_optimum"], "d", t.optimum_color, 1.1)

    def subtitle(self, est: Estimate) -> str:
        return (
            f"Plan: {units.si(est.params)} params × {units.si(est.tokens)} tokens, "
            f"{units.flops(est.train_flops_6nd)} ({est.tokens_per_param:.1f} tokens/param) · "
            "contours labelled with loss in nats/token"
        )

    def set_data(self, c: Curves, est: Estimate) -> None:
        items, t = self.curve_items, self.theme
        x0, x1 = math.log10(c.iso_params[0]), math.log10(c.iso_params[-1])
        y0, y1 = math.log10(c.iso_tokens[0]), math.log10(c.iso_tokens[-1])
        plan_k = (
            int(np.argmin(np.abs(np.asarray(c.iso_levels) - c.target_loss)))
            if len(c.iso_levels)
            else -1
        )
        for k in range(MAX_ISO_LEVELS):
            item, label = items[f"contour_{k}"], self.text_items[f"contour_{k}"]
            if k >= len(c.iso_contours):
                item.setData([], [])
                item.setVisible(False)
                label.setVisible(False)
                continue
            n, d = finite_xy(*c.iso_contours[k], positive_x=True, positive_y=True)
            item.setData(n, d)
            is_plan = k == plan_k
            item.setPen(self.pen(t.plan_color if is_plan else t.muted, 0.8 if is_plan else 0.55))
            item.setVisible(len(n) > 1)
            label.setVisible(False)
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
                    label.setColor(t.plan_color if is_plan else t.muted)
                    label.setPos(lx[j], ly[j])
                    label.setVisible(True)
        items["optimal"].setData(
            *finite_xy(c.optimal_params, c.optimal_tokens, positive_x=True, positive_y=True)
        )
        items["plan"].setData([c.plan_params], [c.plan_tokens])
        plan_txt = self.text_items["plan"]
        plan_txt.setText(
            f"  plan: {units.si(c.plan_params)} params,\n  {units.si(c.plan_tokens)} tokens"
        )
        plan_txt.setPos(math.log10(c.plan_params), math.log10(c.plan_tokens))
        t_opt = None
        if c.lifetime_inference_tokens > 0 and math.isfinite(c.lifetime_optimum_params):
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
        self.legend_visible(
            {"Inference-aware optimum": show_opt, "Law's fitted range": box_visible}
        )
        p = self.plot_item
        self.set_view(p, (x0, x1), (y0, y1))
