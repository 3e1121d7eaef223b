"""How the scaling laws disagree: compute-optimal tokens per parameter against compute for every
built-in law (Kaplan 2020, Hoffmann 2022, Epoch 2024) and the plan's own law when it is a loaded
one, solid inside each law's fitted range and dashed beyond it, with each law's optimum at the
plan's compute and the plan marked. Data: :func:`estimator.law_curves.law_disagreement`."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.charts.base import ChartWidget, scenario_law
from estimator.law_curves import (
    CHINCHILLA_TOKENS_PER_PARAM,
    LawDisagreement,
    comparison_laws,
    law_disagreement,
)

RULE_LABEL = f"{CHINCHILLA_TOKENS_PER_PARAM:.0f} tokens/param (Hoffmann et al. 2022, Table 3)"


def _short_law_name(name: str) -> str:
    """'Epoch AI 2024 (Chinchilla refit)' -> 'Epoch AI 2024'; 'Kaplan et al. 2020 joint L(N, D)'
    -> 'Kaplan et al. 2020'; 'Hoffmann et al. 2022 Approach 3 (as published)' keeps its
    approach (Approaches 1-2 give about 20 tokens/param, Approach 3 several times more)."""
    cut = name.split(" joint")[0].split(" (")[0]
    return cut.strip() or name


def _tpp(v: float) -> str:
    """Tokens per parameter to two significant figures: 93, 18, 1.6."""
    return f"{v:,.0f}" if v >= 10 else f"{v:.2g}"


class LawsChart(ChartWidget):
    kind = "laws"
    legend_columns = 2

    def build(self) -> None:
        p = self.new_plot("flops", "plain", True, True)
        p.setLabel("bottom", "Training compute C = 6ND (FLOPs)")
        p.setLabel("left", "Tokens per parameter D/N")
        self._plot = p
        self.plan_vline = pg.InfiniteLine(angle=90)
        p.addItem(self.plan_vline, ignoreBounds=True)
        self.add_curve(p, "rule")
        self.add_curve(p, "plan")
        self.add_text(p, "plan", anchor=(-0.08, 1.05))
        self.add_text(p, "rule", anchor=(1.0, 1.0))
        self._law_ids: list[str] = []  # laws with items, in creation order
        self._legend_key: tuple | None = None
        self._styled_for: tuple | None = None  # (plan's law, laws) the pens were set for
        self.data: LawDisagreement | None = None
        # a legend-only sample for the dashed style
        self._dashed_sample = pg.PlotDataItem()
        self.legend.addItem(self.curve_items["plan"], "The plan")
        self.legend.addItem(self.curve_items["rule"], RULE_LABEL)
        self.legend.addItem(self._dashed_sample, "dashed: beyond the law's fitted range")

    def _law_color(self, i: int):
        colors = self.line_colors()
        return colors[i % len(colors)]

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        self.plan_vline.setPen(self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))
        c["rule"].setPen(self.pen(t.muted, 0.6, QtCore.Qt.PenStyle.DotLine))
        self.text_items["rule"].setColor(t.muted)
        self.text_items["rule"].setFont(self.make_font(t.annotation_px * 0.85))
        self.text_items["rule"].fill = pg.mkBrush(None)
        self.marker(c["plan"], "star", t.plan_color, 1.5)
        self._dashed_sample.setPen(self.pen(t.muted, 0.9, QtCore.Qt.PenStyle.DashLine))
        for i, lid in enumerate(self._law_ids):
            self._style_law(i, lid)

    def _style_law(self, i: int, lid: str) -> None:
        t = self.theme
        color = self._law_color(i)
        is_plan = self.data is not None and lid == self.data.plan_law_id
        w = 1.35 if is_plan else 0.9
        self.curve_items[f"law:{lid}"].setPen(self.pen(color, w))
        self.curve_items[f"law:{lid}:beyond"].setPen(
            self.pen(color, w * 0.8, QtCore.Qt.PenStyle.DashLine)
        )
        self.marker(self.curve_items[f"law:{lid}:at_plan"], "o", color, 0.75)
        label = self.text_items[f"law:{lid}"]
        label.setColor(color)
        label.setFont(self.make_font(t.annotation_px * 0.9, bold=is_plan))

    def _ensure_law(self, lid: str) -> None:
        if f"law:{lid}" in self.curve_items:
            return
        p = self._plot
        self.add_curve(p, f"law:{lid}:beyond", connect="finite")
        self.add_curve(p, f"law:{lid}", connect="finite")
        self.add_curve(p, f"law:{lid}:at_plan")
        self.add_text(p, f"law:{lid}", anchor=(-0.1, 0.5))
        self._law_ids.append(lid)

    def subtitle(self, est: Estimate) -> str:
        d = self.data
        if d is None:
            return ""
        parts = [
            f"{_short_law_name(c.law_name)}: {_tpp(c.plan_tokens_per_param)}"
            for c in sorted(d.curves, key=lambda c: c.plan_tokens_per_param)
        ]
        return (
            f"Compute-optimal tokens/param at the plan's {units.flops(d.plan_compute_flops)} · "
            + " · ".join(parts)
            + f" · the plan: {_tpp(d.plan_tokens_per_param)} under {_short_law_name(est.law_name)}"
        )

    def set_data(self, c: Curves, est: Estimate) -> None:
        law = scenario_law(est)
        laws = comparison_laws(law)
        plan_key = next((k for k, v in laws.items() if v is law), law.id)
        d = law_disagreement(laws, plan_key, est.params, est.tokens)
        self.data = d
        curves = {cv.law_id: cv for cv in d.curves}
        for lid in curves:
            self._ensure_law(lid)
        ys = [d.plan_tokens_per_param, CHINCHILLA_TOKENS_PER_PARAM]
        legend_key = tuple(curves)
        rebuild = legend_key != self._legend_key
        self._legend_key = legend_key
        if rebuild:
            for lid in self._law_ids:
                self.legend.removeItem(self.curve_items[f"law:{lid}"])
        x_plan = math.log10(d.plan_compute_flops)
        for lid in self._law_ids:
            items = [self.curve_items[f"law:{lid}{s}"] for s in ("", ":beyond", ":at_plan")]
            label = self.text_items[f"law:{lid}"]
            cv = curves.get(lid)
            if cv is None:
                for it in items:
                    it.setData([], [])
                label.setVisible(False)
                continue
            inside = cv.in_fitted_range
            # the dashed part overlaps the solid one by a point at each end, so they join
            beyond = ~inside | np.convolve(~inside, [1, 1, 1], mode="same").astype(bool)
            items[0].setData(cv.compute_flops, np.where(inside, cv.tokens_per_param, np.nan))
            items[1].setData(cv.compute_flops, np.where(beyond, cv.tokens_per_param, np.nan))
            items[2].setData([d.plan_compute_flops], [cv.plan_tokens_per_param])
            label.setText(_tpp(cv.plan_tokens_per_param))
            label.setPos(x_plan, math.log10(cv.plan_tokens_per_param))
            # the plan's own law's value is the plan's star when the plan is compute-optimal
            near_plan = abs(math.log10(cv.plan_tokens_per_param / d.plan_tokens_per_param)) < 0.06
            label.setVisible(not near_plan)
            ys.extend(cv.tokens_per_param.tolist())
            if rebuild:
                name = _short_law_name(cv.law_name)
                if not cv.comparable:
                    name += " (non-embedding N)"
                if lid == plan_key:
                    name += " (plan's law)"
                self.legend.addItem(items[0], name)
        # pens only when the plan's law or the set of laws changes (setting them costs a
        # quarter of a redraw)
        if self._styled_for != (plan_key, tuple(self._law_ids)):
            self._styled_for = (plan_key, tuple(self._law_ids))
            for i, lid in enumerate(self._law_ids):
                self._style_law(i, lid)
        if rebuild:
            self.restyle_legend()
        self.curve_items["plan"].setData([d.plan_compute_flops], [d.plan_tokens_per_param])
        self.curve_items["plan"].setZValue(20)
        self.plan_vline.setPos(x_plan)
        ptxt = self.text_items["plan"]
        ptxt.setText(f"plan: {_tpp(d.plan_tokens_per_param)} tokens/param")
        ptxt.setPos(x_plan, math.log10(d.plan_tokens_per_param))
        c0 = float(min(cv.compute_flops[0] for cv in d.curves)) if d.curves else 1e20
        c1 = float(max(cv.compute_flops[-1] for cv in d.curves)) if d.curves else 1e26
        self.curve_items["rule"].setData([c0, c1], [CHINCHILLA_TOKENS_PER_PARAM] * 2)
        self.text_items["rule"].setText(f"{CHINCHILLA_TOKENS_PER_PARAM:.0f} tokens/param")
        self.text_items["rule"].setPos(math.log10(c1), math.log10(CHINCHILLA_TOKENS_PER_PARAM))
        yv = np.asarray(ys, dtype=float)
        yv = yv[np.isfinite(yv) & (yv > 0)]
        p = self._plot
        self.set_view(p, (math.log10(c0), math.log10(c1)),
                      (math.log10(yv.min()), math.log10(yv.max())), 0.02, 0.08)
