"""Break-even (issue 14): cumulative training + serving cost against output tokens served for
the plan on its hardware and the chips cheapest somewhere up to twice its lifetime demand
(:func:`estimator.chart_data.plan_break_even` over :func:`estimator.breakeven.break_even`),
each crossing marked; with a purchase price, depreciation and electricity price
(``options``), a second panel: renting against owning the plan's chips per year against
occupancy (:func:`estimator.breakeven.rent_or_own`); ``options["hardware"]``: chips to add
to the lines."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.chart_data import plan_break_even
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.errors import EstimatorError
from estimator.gui.charts.base import DASHES, ChartWidget

#: Options of the rent-or-own panel (all three needed; nothing defaults a purchase price).
RENT_OWN_OPTIONS = ("purchase_usd_per_chip", "depreciation_years", "usd_per_kwh")
MAX_LINES = 6


class BreakevenChart(ChartWidget):
    kind = "breakeven"
    heavy = True
    legend_columns = 3

    @property
    def rent_own_on(self) -> bool:
        """The rent-or-own panel is drawn when every one of :data:`RENT_OWN_OPTIONS` is given."""
        return all(self.options.get(k) is not None for k in RENT_OWN_OPTIONS)

    def build(self) -> None:
        p = self.new_plot("count", "usd", False, False)
        p.setLabel("bottom", "Output tokens served")
        p.setLabel("left", "Training + serving, cumulative (USD)")
        self.be = None
        self.ro = None
        for i in range(MAX_LINES):
            self.add_curve(p, f"line:{i}")
        self.add_curve(p, "crossings")
        self.add_text(p, "crossing", anchor=(0.0, 1.15))
        self.demand_line = pg.InfiniteLine(angle=90)
        p.addItem(self.demand_line, ignoreBounds=True)
        self.add_text(p, "demand", anchor=(0.0, 0.0))
        self._cross_labels: list[pg.TextItem] = []
        self.message_hides = [self.demand_line]
        self._legend_key = None
        if self.rent_own_on:
            q = self.new_plot("plain", "usd", False, False)
            q.setLabel("bottom", "Occupancy (share of hours in use)")
            q.setLabel("left", "Cost per year (USD)")
            self.add_curve(q, "rent")
            self.add_curve(q, "own")
            self.add_curve(q, "ro_cross")
            self.add_text(q, "ro_cross", anchor=(0.0, 1.15))
            self.ro_line = pg.InfiniteLine(angle=90)
            q.addItem(self.ro_line, ignoreBounds=True)
            self.message_hides.append(self.ro_line)
        self.legend.addItem(self.curve_items["crossings"], "Where two lines cross")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        colors = self.line_colors()
        for i in range(MAX_LINES):
            is_plan = self.be is not None and i < len(self.be.lines) and self.be.lines[i].is_plan
            if is_plan:
                c[f"line:{i}"].setPen(self.pen(t.foreground, 1.4))
            else:
                j = i
                c[f"line:{i}"].setPen(self.pen(colors[j % len(colors)], 1.0,
                                               DASHES[(j // len(colors)) % 2]))
        self.marker(c["crossings"], "o", t.plan_color, 1.0)
        self.demand_line.setPen(self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))
        self.text_items["demand"].setColor(t.muted)
        self.text_items["demand"].setFont(self.make_font(t.annotation_px * 0.85))
        for lab in self._cross_labels:
            lab.setColor(t.foreground)
            lab.setFont(self.make_font(t.annotation_px * 0.85))
        if self.rent_own_on:
            c["rent"].setPen(self.pen(t.palette[0], 1.2))
            c["own"].setPen(self.pen(t.palette[1 % len(t.palette)], 1.2,
                                     QtCore.Qt.PenStyle.DashLine))
            self.marker(c["ro_cross"], "o", t.plan_color, 1.0)
            self.ro_line.setPen(self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))

    def subtitle(self, est: Estimate) -> str:
        be = self.be
        if be is None:
            return ""
        sw = be.switches
        if sw:
            c = sw[0]
            names = {ln.key: ln.label for ln in be.lines}
            head = (f"{names[c.cheaper_before]} is cheaper up to {units.si(c.x)} tokens, "
                    f"{names[c.cheaper_after]} beyond")
        else:
            head = (f"{be.cheapest_at(be.x[-1]).label} is cheapest at every volume shown: "
                    "no line crosses the lowest")
            names = {ln.key: ln.label for ln in be.lines}
            plan = next((ln.key for ln in be.lines if ln.is_plan), None)
            mine = [c for c in be.crossings if plan in (c.a, c.b) and c.x <= be.x[-1]]
            if mine:
                c = mine[0]
                head += (f" · {names[c.cheaper_before]} is cheaper than "
                         f"{names[c.cheaper_after]} up to {units.si(c.x)} tokens")
        ro = self.ro
        if ro is not None:
            head += (" · owning pays above "
                     f"{ro.break_even_occupancy:.0%} occupancy" if ro.break_even_occupancy
                     is not None else " · renting is cheaper at every occupancy")
        return head + f" · the plan's lifetime demand: {units.si(be.baseline_x)} tokens"

    def footnote(self, est: Estimate) -> str:
        be = self.be
        if be is None:
            return super().footnote(est)
        line = ("Cost = training + serving per output token × tokens × peak-to-mean "
                "(the fleet is paid for at the peak) · lines: the plan's hardware and every "
                "chip cheapest somewhere up to twice the plan's demand")
        if self.ro is not None:
            line += " · " + self.ro.notes[0]
        elif not self.rent_own_on:
            line += (" · rent vs own: give a purchase price per chip, depreciation years and "
                     "an electricity price")
        return line + "\n" + super().footnote(est)

    def set_data(self, c: Curves, est: Estimate) -> None:
        try:
            be = self.memo(self.estimate_key(est), lambda: self._build(est))
        except EstimatorError as exc:
            self.be = None
            self.show_message(f"No break-even: {exc}")
            return
        self.hide_message()
        be, ro = be
        self.be, self.ro = be, ro
        items = self.curve_items
        p = self.plot_items[0]
        x = np.asarray(be.x)
        key = tuple((ln.key, ln.is_plan) for ln in be.lines)
        if key != self._legend_key:
            for i in range(MAX_LINES):
                self.legend.removeItem(items[f"line:{i}"])
            self.legend.removeItem(items["crossings"])
            for i, ln in enumerate(be.lines[:MAX_LINES]):
                self.legend.addItem(items[f"line:{i}"], ln.label + (" (plan)" if ln.is_plan
                                                                    else ""))
            self.legend.addItem(items["crossings"], "Where two lines cross")
            self._legend_key = key
            self.apply_style()
            self.restyle_legend()
        ys = []
        for i in range(MAX_LINES):
            item = items[f"line:{i}"]
            if i < len(be.lines):
                y = be.lines[i].cost_at(x)
                item.setData(x, y)
                item.setVisible(True)
                item.setZValue(10 if be.lines[i].is_plan else 0)
                ys.append(y)
            else:
                item.setData([], [])
                item.setVisible(False)
        cross = [cr for cr in be.crossings if cr.x <= x[-1]]
        items["crossings"].setData([cr.x for cr in cross], [cr.cost_usd for cr in cross])
        items["crossings"].setZValue(20)
        names = {ln.key: ln.label for ln in be.lines}
        while len(self._cross_labels) < len(cross):
            lab = pg.TextItem(anchor=(-0.05, 1.1))
            lab.setZValue(60)
            p.addItem(lab, ignoreBounds=True)
            self._cross_labels.append(lab)
            self.apply_style()
        yv = np.concatenate(ys) if ys else np.array([0.0, 1.0])
        self.set_view(p, (0, float(x[-1])), (0, float(yv.max())), 0.02, 0.04)
        for i, lab in enumerate(self._cross_labels):
            if i >= len(cross):
                lab.setVisible(False)
                continue
            cr = cross[i]
            lab.setVisible(True)
            lab.setText(f"{units.si(cr.x)} tokens: {names[cr.cheaper_after].split(' (')[0]} "
                        f"cheaper beyond")
            lab.setAnchor((1.05, -0.1) if cr.x > 0.6 * x[-1] else (-0.05, 1.1))
            lab.setPos(cr.x, cr.cost_usd)
        self.text_items["crossing"].setText("")
        self.legend_visible({"Where two lines cross": bool(cross)})
        show = be.baseline_x > 0
        self.demand_line.setVisible(show)
        dtxt = self.text_items["demand"]
        dtxt.setVisible(show)
        if show:
            self.demand_line.setPos(be.baseline_x)
            dtxt.setText(f" plan's lifetime demand\n {units.si(be.baseline_x)} tokens")
            dtxt.setPos(be.baseline_x, float(yv.max()) * 1.02)
            dtxt.setAnchor((0.0, 0.0))
        if self.rent_own_on and ro is not None:
            q = self.plot_items[1]
            ox = np.asarray(ro.x)
            r_line, o_line = ro.lines
            items["rent"].setData(ox, r_line.cost_at(ox))
            items["own"].setData(ox, o_line.cost_at(ox))
            u = ro.break_even_occupancy
            items["ro_cross"].setData([u] if u is not None else [],
                                      [r_line.cost_at(u)] if u is not None else [])
            self.ro_line.setPos(ro.baseline_x)
            rt = self.text_items["ro_cross"]
            rt.setText(f"owning pays above {u:.0%}" if u is not None else "")
            if u is not None:
                rt.setPos(u, r_line.cost_at(u))
            top = max(float(np.max(r_line.cost_at(ox))), float(np.max(o_line.cost_at(ox))))
            self.set_view(q, (0, 1), (0, top), 0.02, 0.04)
            if not self._ro_in_legend:
                self.legend.addItem(items["rent"], r_line.label)
                self.legend.addItem(items["own"], o_line.label)
                self._ro_in_legend = True
                self.restyle_legend()

    _ro_in_legend = False

    def _build(self, est: Estimate):
        be = plan_break_even(est, hardware=tuple(self.options.get("hardware") or ()))
        ro = None
        if self.rent_own_on:
            from estimator.breakeven import rent_or_own

            ro = rent_or_own(est, **{k: self.options[k] for k in RENT_OWN_OPTIONS},
                             chips=self.options.get("chips"),
                             other_usd_per_chip_year=self.options.get(
                                 "other_usd_per_chip_year") or 0.0)
        return be, ro
