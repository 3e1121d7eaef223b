"""Loss against training compute along the compute-optimal frontier (Hoffmann et al. 2022
eq. 4 under C = 6ND), with the P10-P90 band over the law's parameter samples and the plan."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from estimator import units
from estimator.curves import Curves
from estimator.engine import Estimate
from estimator.gui.charts.base import ChartWidget, SteadyBand, finite_xy


class FrontierChart(ChartWidget):
    kind = "frontier"

    def build(self) -> None:
        p = self.new_plot("flops", "plain", True, False)
        p.setLabel("bottom", "Training compute C = 6ND (FLOPs)")
        p.setLabel("left", "Final loss (nats/token)")
        lo = self.add_curve(p, "band_p10")
        hi = self.add_curve(p, "band_p90")
        self.band = SteadyBand(lo, hi)
        p.addItem(self.band)
        self.add_curve(p, "frontier")
        self.target_vline = pg.InfiniteLine(angle=90)
        self.target_hline = pg.InfiniteLine(angle=0)
        p.addItem(self.target_vline, ignoreBounds=True)
        p.addItem(self.target_hline, ignoreBounds=True)
        self.add_curve(p, "target")
        self.add_text(p, "target", anchor=(0, 1))
        self.legend.addItem(self.curve_items["frontier"], "Compute-optimal frontier")
        self.legend.addItem(self.band, "P10–P90 over law samples")
        self.legend.addItem(self.curve_items["target"], "The plan")

    def apply_style(self) -> None:
        t, c = self.theme, self.curve_items
        c["frontier"].setPen(self.pen(t.palette[0], 1.2))
        band = pg.mkColor(t.palette[0])
        band.setAlpha(t.band_alpha)
        self.band.setBrush(pg.mkBrush(band))
        self.band.setPen(pg.mkPen(None))
        for k in ("band_p10", "band_p90"):
            c[k].setPen(pg.mkPen(None))
        guide = self.pen(t.muted, 0.45, QtCore.Qt.PenStyle.DashLine)
        self.target_vline.setPen(guide)
        self.target_hline.setPen(guide)
        self.marker(c["target"], "star", t.plan_color, 1.5)

    def subtitle(self, est: Estimate) -> str:
        c = self.curves
        band = ""
        if c is not None and c.frontier_loss_p10 is not None:
            band = " · shaded: P10–P90 of the frontier over the law's parameter samples"
        return (
            f"Plan: loss {est.loss:.4f} nats/token with {units.si(est.params)} params × "
            f"{units.si(est.tokens)} tokens, {units.flops(est.train_flops_6nd)}{band}"
        )

    def set_data(self, c: Curves, est: Estimate) -> None:
        items = self.curve_items
        items["frontier"].setData(*finite_xy(c.frontier_compute_flops, c.frontier_loss))
        has_band = c.frontier_loss_p10 is not None and c.frontier_loss_p90 is not None
        with self.band.edges():
            if has_band:
                items["band_p10"].setData(*finite_xy(c.frontier_compute_flops,
                                                     c.frontier_loss_p10))
                items["band_p90"].setData(*finite_xy(c.frontier_compute_flops,
                                                     c.frontier_loss_p90))
            else:
                items["band_p10"].setData([], [])
                items["band_p90"].setData([], [])
        self.band.setVisible(has_band)
        items["target"].setData([c.target_compute_flops], [c.target_loss])
        self.target_vline.setPos(math.log10(c.target_compute_flops))
        self.target_hline.setPos(c.target_loss)
        txt = self.text_items["target"]
        txt.setText(f"  plan: loss {c.target_loss:.3f}\n  {units.flops(c.target_compute_flops)}")
        txt.setPos(math.log10(c.target_compute_flops), c.target_loss)
        self.legend_visible({"P10–P90 over law samples": has_band})
        lo = np.concatenate([c.frontier_loss] + ([c.frontier_loss_p10] if has_band else []))
        hi = np.concatenate([c.frontier_loss] + ([c.frontier_loss_p90] if has_band else []))
        lo, hi = lo[np.isfinite(lo)], hi[np.isfinite(hi)]
        p = self.plot_item
        self.set_view(p, (math.log10(c.frontier_compute_flops[0]),
                          math.log10(c.frontier_compute_flops[-1])),
                      (float(np.min(lo)), float(np.max(hi))), 0.02, 0.05)
