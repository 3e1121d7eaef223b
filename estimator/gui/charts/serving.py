"""Serving as the batch grows (issue 13): output tokens/s per chip against tokens/s per user
(1 / TPOT) on the plan's replica, with the latency targets and the chosen batch marked, and
the cost per million output and input tokens against the batch, the KV-cache capacity marked
(:func:`estimator.chart_data.serving_sweep` over :func:`estimator.serving.plan.sweep_batch`)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.chart_data import ServingSweepData, serving_sweep
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.errors import EstimatorError
from estimator.gui.charts.base import ChartWidget, log_range
from estimator.report import hardware_short_name

#: Batches labelled along the throughput curve (those in the sweep).
LABELLED_BATCHES = (1, 8, 64, 512)


def _ms(s: float) -> str:
    return f"{s * 1e3:,.0f} ms" if s * 1e3 >= 10 else f"{s * 1e3:.2g} ms"


def _usd_per_m(v: float) -> str:
    return f"${v:,.2f}" if v >= 0.1 else f"${v:.2g}"


class ServingChart(ChartWidget):
    kind = "serving"
    legend_columns = 3
    column_stretch = (1, 1)

    def build(self) -> None:
        pt = self.new_plot("plain", "plain", True, True)
        pc = self.new_plot("count", "usd", True, True)
        pt.setLabel("bottom", "Speed per user (output tokens/s/user = 1 / TPOT)")
        pt.setLabel("left", "Throughput (output tokens/s/chip)")
        pc.setLabel("bottom", "Batch (sequences in flight per replica)")
        pc.setLabel("left", "Cost per million tokens (USD)")
        self.data: ServingSweepData | None = None
        for name in ("meets", "misses", "chosen", "ticks"):
            self.add_curve(pt, name, connect="finite")
        for name in ("output", "input", "cost_chosen"):
            self.add_curve(pc, name, connect="finite")
        self.tpot_line = pg.InfiniteLine(angle=90)
        pt.addItem(self.tpot_line, ignoreBounds=True)
        self.batch_line = pg.InfiniteLine(angle=90)
        self.kv_line = pg.InfiniteLine(angle=90)
        for ln in (self.batch_line, self.kv_line):
            pc.addItem(ln, ignoreBounds=True)
        self.message_hides = (self.tpot_line, self.batch_line, self.kv_line)
        self.add_text(pt, "chosen", anchor=(-0.06, 1.05))
        self.add_text(pt, "tpot", anchor=(0.0, 1.0))
        self.add_text(pc, "kv", anchor=(1.0, 0.0))
        self.add_text(pc, "cost_chosen", anchor=(-0.06, 1.05))
        self._batch_labels: list[pg.TextItem] = []
        self._tpot_sample = pg.PlotDataItem()
        self._kv_sample = pg.PlotDataItem()
        c = self.curve_items
        self.legend.addItem(c["meets"], "Throughput as the batch grows")
        self.legend.addItem(c["misses"], "misses a latency target")
        self.legend.addItem(c["chosen"], "Chosen batch")
        self.legend.addItem(c["output"], "Per million output tokens")
        self.legend.addItem(c["input"], "Per million input tokens")
        self.legend.addItem(self._tpot_sample, "TPOT target")
        self.legend.addItem(self._kv_sample, "KV-cache capacity")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        main, other = t.palette[0], t.palette[1 % len(t.palette)]
        warn = t.palette[3 % len(t.palette)]
        c["meets"].setPen(self.pen(main, 1.2))
        c["misses"].setPen(self.pen(main, 0.9, QtCore.Qt.PenStyle.DotLine))
        self.marker(c["ticks"], "o", main, 0.55)
        self.marker(c["chosen"], "star", t.plan_color, 1.5)
        c["output"].setPen(self.pen(t.palette[2 % len(t.palette)], 1.2))
        c["input"].setPen(self.pen(other, 1.0, QtCore.Qt.PenStyle.DashLine))
        self.marker(c["cost_chosen"], "star", t.plan_color, 1.3)
        self.tpot_line.setPen(self.pen(warn, 0.9, QtCore.Qt.PenStyle.DashLine))
        self.kv_line.setPen(self.pen(warn, 0.9, QtCore.Qt.PenStyle.DashLine))
        self.batch_line.setPen(self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine))
        self._tpot_sample.setPen(self.pen(warn, 0.9, QtCore.Qt.PenStyle.DashLine))
        self._kv_sample.setPen(self.pen(warn, 0.9, QtCore.Qt.PenStyle.DashLine))
        for name in ("tpot", "kv"):
            self.text_items[name].setColor(warn)
            self.text_items[name].setFont(self.make_font(t.annotation_px * 0.9))
        for lab in self._batch_labels:
            lab.setColor(t.muted)
            lab.setFont(self.make_font(t.annotation_px * 0.8))

    def subtitle(self, est: Estimate) -> str:
        d = self.data
        if d is None:
            return f"Serving on {est.inference_hardware}"
        size = (f"{units.si(est.total_params)} total / {units.si(est.params)} active params"
                if est.total_params > est.params * (1 + 1e-9) else f"{units.si(est.params)} params")
        targets = [f"TTFT ≤ {_ms(d.ttft_target_s)}" if d.ttft_target_s else "",
                   f"TPOT ≤ {_ms(d.tpot_target_s)}" if d.tpot_target_s else ""]
        targets = [x for x in targets if x]
        chips = f"{d.chips_per_replica} chip{'s' if d.chips_per_replica > 1 else ''}"
        return (f"{size} on {chips} of {hardware_short_name(d.hardware_name)} per replica · "
                f"{d.input_tokens_per_request:,.0f} in / {d.output_tokens_per_request:,.0f} "
                f"out tokens per request · "
                + (", ".join(targets) if targets else "no latency targets (offline)")
                + f" · chosen batch {d.chosen_batch:,}: {d.bound_label} binds")

    def footnote(self, est: Estimate) -> str:
        d = self.data
        extra = ""
        if d is not None:
            extra = (f"At the chosen batch: {d.chosen_output_tokens_per_s_per_chip:,.0f} output "
                     f"tokens/s/chip, {d.chosen_tokens_per_s_per_user:,.1f} tokens/s/user, "
                     f"TTFT {_ms(d.chosen_ttft_s)}, TPOT {_ms(d.chosen_tpot_s)} · "
                     f"{_usd_per_m(d.chosen_cost_per_million_output_tokens_usd)} per M output, "
                     f"{_usd_per_m(d.chosen_cost_per_million_input_tokens_usd)} per M input at "
                     f"{units.usd_per_hour(d.price_usd_per_hour)} per chip-hour\n")
        return extra + super().footnote(est)

    def set_data(self, c: Curves, est: Estimate) -> None:
        try:
            d = self.memo(self.estimate_key(est), lambda: serving_sweep(est))
        except EstimatorError as exc:
            self.data = None
            self.show_message(f"No serving chart: {exc}")
            return
        self.hide_message()
        self.data = d
        items = self.curve_items
        pt, pc = self.plot_items
        u = np.asarray(d.tokens_per_s_per_user)
        thr = np.asarray(d.output_tokens_per_s_per_chip)
        ok = np.asarray(d.meets_targets)
        # the curve solid where the targets are met, dotted where not; the dotted part
        # overlaps the solid one by a point so they join
        miss = ~ok
        joint = miss.copy()  # a miss or next to one (np.convolve's "same" grows a sweep of
        joint[1:] |= miss[:-1]  # two points, a model that fits only batches 1 and 2, to three)
        joint[:-1] |= miss[1:]
        items["meets"].setData(u, np.where(ok, thr, np.nan))
        items["misses"].setData(u, np.where(joint, thr, np.nan))
        items["misses"].setVisible(bool((~ok).any()))
        self.legend_visible({"misses a latency target": bool((~ok).any()),
                             "TPOT target": d.tpot_target_s is not None})
        b = np.asarray(d.batch)
        tick = np.isin(b, LABELLED_BATCHES)
        items["ticks"].setData(u[tick], thr[tick])
        items["chosen"].setData([d.chosen_tokens_per_s_per_user],
                                [d.chosen_output_tokens_per_s_per_chip])
        items["chosen"].setZValue(20)
        while len(self._batch_labels) < len(LABELLED_BATCHES):
            lab = pg.TextItem(anchor=(1.15, 0.5))  # left of the point: the curve falls right
            pt.addItem(lab, ignoreBounds=True)
            self._batch_labels.append(lab)
            self.apply_style()
        for lab, bb in zip(self._batch_labels, LABELLED_BATCHES, strict=True):
            j = np.flatnonzero(b == bb)
            near_chosen = abs(math.log10(bb / max(d.chosen_batch, 1))) < 0.5
            lab.setVisible(bool(j.size) and not near_chosen)
            if j.size:
                lab.setText(f"b={bb}")
                lab.setPos(math.log10(u[j[0]]), math.log10(thr[j[0]]))
        xlo, xhi = log_range(u)
        ylo, yhi = log_range(thr)
        tp = d.tpot_target_s
        self.tpot_line.setVisible(tp is not None)
        if tp is not None:
            xlo, xhi = min(xlo, math.log10(1 / tp)), max(xhi, math.log10(1 / tp))
        self.set_view(pt, (xlo, xhi), (ylo, yhi), 0.06, 0.08)
        (vx0, vx1), (vy0, vy1) = pt.vb.viewRange()
        ttxt = self.text_items["tpot"]
        ttxt.setVisible(tp is not None)
        if tp is not None:
            self.tpot_line.setPos(math.log10(1 / tp))
            ttxt.setText(f" TPOT target {_ms(tp)}\n ({1 / tp:,.0f} tokens/s/user)")
            ttxt.setPos(math.log10(1 / tp), vy0 + 0.02 * (vy1 - vy0))
        ctxt = self.text_items["chosen"]
        ctxt.setText(f"batch {d.chosen_batch:,}: {d.chosen_output_tokens_per_s_per_chip:,.0f} "
                     f"tok/s/chip\nat {d.chosen_tokens_per_s_per_user:,.1f} tok/s/user")
        left = math.log10(d.chosen_tokens_per_s_per_user) < vx0 + 0.5 * (vx1 - vx0)
        high = math.log10(d.chosen_output_tokens_per_s_per_chip) > vy0 + 0.6 * (vy1 - vy0)
        ctxt.setAnchor((-0.06 if left else 1.06, -0.15 if high else 1.05))
        ctxt.setPos(math.log10(d.chosen_tokens_per_s_per_user),
                    math.log10(d.chosen_output_tokens_per_s_per_chip))
        # cost against batch
        co = np.asarray(d.cost_per_million_output_tokens_usd)
        ci = np.asarray(d.cost_per_million_input_tokens_usd)
        items["output"].setData(b, co)
        items["input"].setData(b, ci)
        items["cost_chosen"].setData([d.chosen_batch],
                                     [d.chosen_cost_per_million_output_tokens_usd])
        items["cost_chosen"].setZValue(20)
        self.batch_line.setPos(math.log10(max(d.chosen_batch, 1)))
        top = float(max(b.max(), d.kv_capacity_batch if d.kv_capacity_batch <= 4 * b.max()
                        else b.max()))
        lo, hi = log_range(np.concatenate([co, ci]))
        self.set_view(pc, (0.0, math.log10(max(top, 2.0))), (lo, hi), 0.04, 0.08)
        (_cx0, _cx1), (cy0, cy1) = pc.vb.viewRange()
        kv = self.text_items["kv"]
        kv_in = d.kv_capacity_batch <= top
        self.kv_line.setVisible(kv_in)
        kv.setVisible(kv_in)
        self.kv_line.setPos(math.log10(max(d.kv_capacity_batch, 1)))
        kv.setText(f"KV cache full\nat batch {d.kv_capacity_batch:,} ")
        kv.setPos(math.log10(max(d.kv_capacity_batch, 1)), cy1 - 0.02 * (cy1 - cy0))
        cc = self.text_items["cost_chosen"]
        cc.setText(f"{_usd_per_m(d.chosen_cost_per_million_output_tokens_usd)} per M output\n"
                   f"{_usd_per_m(d.chosen_cost_per_million_input_tokens_usd)} per M input")
        cx0, cx1 = pc.vb.viewRange()[0]
        left = math.log10(max(d.chosen_batch, 1)) < cx0 + 0.55 * (cx1 - cx0)
        cc.setAnchor((-0.06, 1.05) if left else (1.06, -0.1))
        cc.setPos(math.log10(max(d.chosen_batch, 1)),
                  math.log10(d.chosen_cost_per_million_output_tokens_usd))
