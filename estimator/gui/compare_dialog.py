"""Compare plans: the window's current scenario (saved or not) and up to four scenario files.

The dialog lists the inputs that differ (labels and values as :mod:`estimator.fields` declares
them, only the inputs each scenario uses: :meth:`Scenario.relevant`) and the key results side
by side (every quantity of :data:`estimator.quantities.QUANTITIES` that applies to a plan), and
overlays the plans on one chart: each plan on its law's compute-optimal frontier (loss against
training compute C = 6ND, Hoffmann et al. 2022 eq. 4), and each plan's training cost and
training + lifetime inference cost (Sardana et al. 2023) as bars. The chart exports through the
charts' one painting path (:mod:`estimator.gui.charts.export`: PNG, SVG and PDF are the same
picture) and the table as CSV (atomic, numbers in full precision, text guarded by
:func:`estimator.textsafe.csv_cell`).

The comparison itself (:func:`input_differences`, :func:`result_rows`, :func:`table_csv`) is
plain data so tests check it without reading widgets.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from estimator import units  # noqa: E402
from estimator.engine import Estimate, estimate  # noqa: E402
from estimator.errors import EstimatorError, InputError  # noqa: E402
from estimator.fields import format_value  # noqa: E402
from estimator.fileio import with_suffix  # noqa: E402
from estimator.gui.charts.base import ChartWidget, finite_xy  # noqa: E402
from estimator.quantities import QUANTITIES, Quantity  # noqa: E402
from estimator.scenario import FIELDS, Scenario, load_scenario  # noqa: E402
from estimator.textsafe import csv_cell, csv_value, rich_plain  # noqa: E402

MAX_OTHERS = 4
"""Scenarios compared with the current one (five plans stay readable side by side)."""
SCENARIO_FILTER = "Scenarios (*.yaml *.yml);;All files (*)"
EXPORT_FORMATS = (("png", "PNG image"), ("svg", "SVG vector"), ("pdf", "PDF document"))
EXPORT_SIZE_PX = (1600, 1000)
BAR_HEIGHT = 0.36
FRONTIER_DECADES = 1.0  # the frontier spans the plans' compute this far each side


# ---------------------------------------------------------------------------------------
# The comparison as data
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One compared scenario: its name (the scenario's name, else the file's stem), the file
    (None: the window's current scenario) and its estimate."""

    name: str
    scenario: Scenario
    estimate: Estimate
    path: Path | None = None
    current: bool = False


def plan_name(scenario: Scenario, path: Path | None, current: bool = False) -> str:
    name = (scenario.name or "").strip()
    if not name:
        name = path.stem if path is not None else "Untitled"
    return f"{name} (current)" if current else name


def load_plan(path: str | Path, catalogue=None) -> Plan:
    """A scenario file and its estimate. Raises InputError naming the file (with the field
    labels the window uses) for a file that cannot be read, validated or estimated."""
    from estimator.gui.session import friendly_message

    p = Path(path)
    try:
        s = load_scenario(p)
        est = estimate(s, catalogue=catalogue)
    except (EstimatorError, OSError, ValueError) as exc:
        msg = friendly_message(exc) if isinstance(exc, EstimatorError) else str(exc)
        if p.name not in msg:
            msg = f"{p.name}: {msg}"
        raise InputError(msg, value=str(p)) from None
    return Plan(plan_name(s, p), s, est, path=p)


def unique_names(plans: Sequence[Plan]) -> list[Plan]:
    """The plans with names made unique ("base", "base (2)") so columns and legends differ."""
    seen: dict[str, int] = {}
    out = []
    for plan in plans:
        n = seen.get(plan.name, 0) + 1
        seen[plan.name] = n
        out.append(plan if n == 1 else Plan(f"{plan.name} ({n})", plan.scenario, plan.estimate,
                                            plan.path, plan.current))
    return out


def input_text(name: str, value: Any, catalogue=None) -> str:
    """An input as the window shows it: its value with the field's unit, hardware and laws by
    their names; "—" when a plan does not use or set it."""
    if value is None:
        return "—"
    if catalogue is not None and name in ("hardware", "inference_hardware", "law"):
        try:
            if name == "law":
                return catalogue.law(value).name
            return catalogue.profile(value).display_name
        except EstimatorError:
            return str(value)
    spec = FIELDS.get(name)
    if spec is not None and spec.kind == "choice" and isinstance(value, str):
        return value.replace("_", "-")
    text = format_value(spec, value)
    if spec is not None and spec.unit and spec.kind not in ("count", "usd", "choice", "ref"):
        text += f" {spec.unit}"
    return text


def input_differences(plans: Sequence[Plan], every: bool = False, catalogue=None
                      ) -> list[tuple[str, str, list[str], list[Any]]]:
    """(field name, label, text per plan, value per plan) of every input whose value differs
    between the plans (``every``: every input any plan uses). Only the inputs each scenario
    uses count (:meth:`Scenario.relevant`): a stale target of another mode is no difference."""
    used = [p.scenario.relevant() for p in plans]
    out = []
    for name, spec in FIELDS.items():
        if not any(name in u for u in used):
            continue
        values = [u.get(name) for u in used]
        if not every and all(v == values[0] for v in values):
            continue
        if every and all(v is None for v in values):
            continue
        out.append((name, spec.label, [input_text(name, v, catalogue) for v in values], values))
    return out


def _result_quantities(plans: Sequence[Plan]) -> list[Quantity]:
    return [q for q in QUANTITIES if q.key != "train_flops_6nd"
            and any(q.applies(p.estimate) for p in plans)]


def relative_change(value: Any, base: Any) -> str:
    """" (+12%)" of ``value`` against ``base`` (the current plan); "" when not numeric."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not isinstance(base, (int, float)) or not base or value == base
            or not math.isfinite(value) or not math.isfinite(base)):
        return ""
    return f" ({(value - base) / abs(base):+.0%})".replace("-", "−")


def result_rows(plans: Sequence[Plan]) -> list[tuple[str, str, list[str], list[Any]]]:
    """(quantity key, label with unit, text per plan, value per plan) of every result that
    applies to a plan; the others' texts carry their change against the first plan."""
    out = []
    for q in _result_quantities(plans):
        values = [getattr(p.estimate, q.key, None) if q.applies(p.estimate) else None
                  for p in plans]
        texts = [q.short_text(v) + (relative_change(v, values[0]) if i else "")
                 for i, v in enumerate(values)]
        plain = not q.unit or q.unit == "ratio" or q.unit.lower() in q.label.lower()
        out.append((q.key, q.label if plain else f"{q.label} ({q.unit})", texts, values))
    return out


def table_csv(plans: Sequence[Plan], every_input: bool = False) -> str:
    """The comparison as CSV: ``section, key, label, unit`` and one column per plan (numbers
    in full precision, text guarded against spreadsheet formulas)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "label", "unit", *(csv_cell(p.name) for p in plans)])
    w.writerow(["plan", "file", "File", "", *(csv_cell(str(p.path) if p.path else "(unsaved)")
                                            for p in plans)])
    for name, label, _texts, values in input_differences(plans, every_input):
        w.writerow(["input", name, label, FIELDS[name].unit, *(csv_value(v) for v in values)])
    by_key = {q.key: q for q in QUANTITIES}
    for key, _label, _texts, values in result_rows(plans):
        q = by_key[key]
        w.writerow(["result", key, q.label, q.unit, *(csv_value(v) for v in values)])
    return buf.getvalue()


def frontier_of(plan: Plan, catalogue, lo_flops: float, hi_flops: float, n: int = 120):
    """(compute FLOPs, loss) of the compute-optimal frontier of the plan's law over
    [lo, hi] (Hoffmann et al. 2022 eq. 4 under C = 6ND); None when the law is unavailable."""
    from estimator import allocation

    try:
        law = catalogue.law(plan.scenario.law)
    except EstimatorError:
        return None
    c = np.logspace(math.log10(lo_flops), math.log10(hi_flops), n)
    with np.errstate(all="ignore"):
        loss = np.asarray(allocation.optimal_loss(law, c), dtype=float)
    ok = np.isfinite(loss)
    return (c[ok], loss[ok]) if ok.sum() >= 2 else None


def chart_title(plans: Sequence[Plan]) -> str:
    names = [p.name for p in plans]
    return "Compared plans: " + ", ".join(names)


# ---------------------------------------------------------------------------------------
# The chart
# ---------------------------------------------------------------------------------------


class CompareChart(ChartWidget):
    """Every plan on its law's frontier (loss vs compute, left) and its training and
    training + lifetime inference cost (bars, right)."""

    kind = "compare"
    legend_columns = 3

    def build(self) -> None:
        pf = self.new_plot("flops", "plain", True, False)
        pf.setLabel("bottom", "Training compute C = 6ND (FLOPs)")
        pf.setLabel("left", "Final loss (nats/token)")
        pc = self.new_plot("usd", "plain", False, False)
        pc.setLabel("bottom", "Cost (USD)")
        pc.getAxis("bottom").overhang = (0.4, 0.4)
        self.train_bars = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self.life_bars = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        pc.addItem(self.life_bars)
        pc.addItem(self.train_bars)
        self._legend_train = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self._legend_life = pg.BarGraphItem(x0=[0], y=[0], height=[0], width=[0])
        self.plans: list[Plan] = []
        self.frontiers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._bar_texts: list[pg.TextItem] = []
        self._legend_built: tuple = ()

    def _assemble(self) -> None:
        super()._assemble()
        for i in range(len(self.plot_items)):  # the bars need as much room as the frontier
            self.view.ci.layout.setColumnStretchFactor(i, 1)

    @property
    def title(self) -> str:
        return chart_title(self.plans) if self.plans else "Compared plans"

    def subtitle(self, est=None) -> str:
        return ("Left: each plan (marker) on its law's compute-optimal frontier · right: "
                "training cost (dark) and training + lifetime inference cost (light)")

    def footnote(self, est=None) -> str:
        parts = []
        for p in self.plans:
            e = p.estimate
            parts.append(f"{p.name}: {e.law_name}, {e.gpus:,} × {e.hardware_name}, "
                         f"{units.usd_per_hour(e.price_usd_per_hour)}/GPU-hour")
        return " · ".join(parts)

    def colors(self) -> list[str]:
        t = self.theme
        return [t.plan_color] + [c for c in self.line_colors() if c != t.plan_color]

    def apply_style(self) -> None:
        t = self.theme
        self.plot_items[1].showGrid(x=True, y=False, alpha=t.grid_alpha)
        dark = pg.mkColor(t.muted)
        light = pg.mkColor(t.muted)
        light.setAlpha(90)
        self._legend_train.setOpts(brush=pg.mkBrush(dark), pen=pg.mkPen(None))
        self._legend_life.setOpts(brush=pg.mkBrush(light), pen=pg.mkPen(None))
        if self.plans:
            self._draw()

    def set_data(self, curves, est) -> None:  # the plans come through show_plans
        self._draw()

    def show_plans(self, plans: Sequence[Plan], frontiers: dict[str, tuple]) -> None:
        """Draw ``plans``; ``frontiers`` maps a law reference to its (compute, loss)."""
        self.plans = list(plans)
        self.frontiers = dict(frontiers)
        self._draw()
        if self.for_export:
            self.clip_for_export()
        self._texts = {"title": self.title, "subtitle": self.subtitle(),
                       "footnote": self.footnote()}
        self._label_state.clear()
        self.fit_texts()

    def set_theme(self, theme: str) -> None:
        super().set_theme(theme)
        if self.plans:
            self.show_plans(self.plans, self.frontiers)

    def _draw(self) -> None:
        t = self.theme
        pf, pc = self.plot_items
        colors = self.colors()
        plans = self.plans
        # frontiers: one per law, thin and muted (plans of one law share it)
        laws = list(dict.fromkeys(p.scenario.law for p in plans))
        styles = (QtCore.Qt.PenStyle.SolidLine, QtCore.Qt.PenStyle.DashLine,
                  QtCore.Qt.PenStyle.DotLine, QtCore.Qt.PenStyle.DashDotLine)
        for k, law in enumerate(laws):
            item = self.curve_items.get(f"frontier:{k}")
            if item is None:
                item = self.add_curve(pf, f"frontier:{k}")
            item.setPen(self.pen(t.muted, 0.9, styles[k % len(styles)]))
            data = self.frontiers.get(law)
            item.setData(*(finite_xy(*data) if data is not None else ([], [])))
        for name in [n for n in self.curve_items if n.startswith("frontier:")]:
            if int(name.split(":")[1]) >= len(laws):
                self.curve_items[name].setData([], [])
        # the plans: a marker each; plans at one point (same size and tokens) share one label
        # and nest as rings (the first largest, the current star on top)
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(plans):
            e = p.estimate
            groups.setdefault((round(math.log10(e.train_flops_6nd), 4), round(e.loss, 5)),
                              []).append(i)
        xs, ys = [], []
        for members in groups.values():
            for j, i in enumerate(members):
                e = plans[i].estimate
                item = self.curve_items.get(f"plan:{i}")
                if item is None:
                    item = self.add_curve(pf, f"plan:{i}")
                size = 1.3 + 0.75 * (len(members) - 1 - j)
                self.marker(item, "star" if i == 0 else "o", colors[i % len(colors)],
                            size + (0.4 if i == 0 else 0.0))
                item.setZValue(10 + j)
                item.setData([e.train_flops_6nd], [e.loss])
                xs.append(e.train_flops_6nd)
                ys.append(e.loss)
        labelled = {members[0]: members for members in groups.values()}
        for i, p in enumerate(plans):
            txt = self.text_items.get(f"plan:{i}")
            if txt is None:
                txt = self.add_text(pf, f"plan:{i}", anchor=(0, 1))
            txt.setColor(t.foreground)
            txt.setFont(self.make_font(t.annotation_px))
            if i in labelled:
                e = p.estimate
                txt.setText("  " + ", ".join(plans[k].name for k in labelled[i]))
                txt.setPos(math.log10(e.train_flops_6nd), e.loss)
            txt.setVisible(i in labelled)
        for name, item in self.curve_items.items():
            if name.startswith("plan:") and int(name.split(":")[1]) >= len(plans):
                item.setData([], [])
        for name, item in self.text_items.items():
            if name.startswith("plan:") and int(name.split(":")[1]) >= len(plans):
                item.setVisible(False)
        if xs:
            lx = np.log10(xs)
            pf.setXRange(float(lx.min()) - 0.6, float(lx.max()) + 0.6, padding=0)
            fl = [ys]
            for data in self.frontiers.values():
                c, loss = data
                keep = (np.log10(c) >= lx.min() - 0.6) & (np.log10(c) <= lx.max() + 0.6)
                fl.append(loss[keep])
            allv = np.concatenate([np.asarray(v, dtype=float) for v in fl])
            allv = allv[np.isfinite(allv)]
            lo, hi = float(allv.min()), float(allv.max())
            pad = max(hi - lo, 0.02) * 0.12
            pf.setYRange(lo - pad, hi + pad, padding=0)
        # costs: lifetime total behind (light), training in front (dark)
        n = len(plans)
        y = np.arange(n)[::-1].astype(float)
        train = np.array([p.estimate.cost_usd for p in plans], dtype=float)
        life = np.array([p.estimate.lifetime_total_cost_usd
                         if p.estimate.lifetime_total_cost_usd is not None else np.nan
                         for p in plans], dtype=float)
        brushes = []
        light_brushes = []
        for i in range(n):
            c = pg.mkColor(colors[i % len(colors)])
            brushes.append(pg.mkBrush(c))
            c2 = pg.mkColor(colors[i % len(colors)])
            c2.setAlpha(90)
            light_brushes.append(pg.mkBrush(c2))
        self.train_bars.setOpts(x0=np.zeros(n), y=y + BAR_HEIGHT / 2, height=np.full(n, BAR_HEIGHT),
                                width=train, brushes=brushes, pen=pg.mkPen(None))
        lw = np.nan_to_num(life, nan=0.0)
        self.life_bars.setOpts(x0=np.zeros(n), y=y - BAR_HEIGHT / 2,
                               height=np.full(n, BAR_HEIGHT), width=lw, brushes=light_brushes,
                               pen=pg.mkPen(None))
        while len(self._bar_texts) < 2 * n:
            item = pg.TextItem(anchor=(0, 0.5))
            pc.addItem(item, ignoreBounds=True)
            self._bar_texts.append(item)
        for k, item in enumerate(self._bar_texts):
            i, which = divmod(k, 2)
            if i >= n:
                item.setVisible(False)
                continue
            v = train[i] if which == 0 else life[i]
            yy = y[i] + (BAR_HEIGHT / 2 if which == 0 else -BAR_HEIGHT / 2)
            text = units.usd(v) if math.isfinite(v) else "n/a (no serving)"
            item.setText(" " + text + ("" if which == 0 else " life"))
            item.setColor(t.foreground)
            item.setFont(self.make_font(t.annotation_px * 0.9))
            item.setPos(float(v) if math.isfinite(v) else 0.0, float(yy))
            item.setVisible(True)
        top = float(np.nanmax(np.concatenate([train, life]))) if n else 1.0
        pc.setXRange(0, (top if math.isfinite(top) and top > 0 else 1.0) * 1.35, padding=0)
        pc.setYRange(-0.7, n - 0.3, padding=0)
        pc.getAxis("left").setTicks([[(float(y[i]), p.name) for i, p in enumerate(plans)], []])
        fm = QtGui.QFontMetricsF(self.make_font(t.tick_px))
        widest = max((fm.horizontalAdvance(p.name) for p in plans), default=0.0)
        pc.getAxis("left").setWidth(int(widest + self._px(16)))  # room for every name
        self._build_legend(colors)

    def _build_legend(self, colors) -> None:
        key = tuple(p.name for p in self.plans) + tuple(colors)
        if key == self._legend_built:
            return
        self._legend_built = key
        self.legend.clear()
        for i, p in enumerate(self.plans):
            self.legend.addItem(self.curve_items[f"plan:{i}"], p.name)
        laws = list(dict.fromkeys(p.scenario.law for p in self.plans))
        names = {p.scenario.law: p.estimate.law_name for p in self.plans}
        for k, law in enumerate(laws):
            self.legend.addItem(self.curve_items[f"frontier:{k}"], f"frontier: {names[law]}")
        self.legend.addItem(self._legend_train, "Training cost (dark bar)")
        self.legend.addItem(self._legend_life, "Training + lifetime inference (light bar)")
        self.restyle_legend()


def render_compare_chart(plans: Sequence[Plan], frontiers: dict, fmt: str,
                         width_px: int = EXPORT_SIZE_PX[0], height_px: int = EXPORT_SIZE_PX[1],
                         theme: str | None = None) -> bytes:
    """The comparison chart as PNG, SVG or PDF bytes, drawn fresh at the export size in the
    print style (the charts' one painting path: every format is the same picture)."""
    from estimator.gui.charts.export import (
        check_size,
        export_scale,
        image_bytes,
        pdf_bytes,
        render_to_image,
        svg_bytes,
    )
    from estimator.gui.theme import EXPORT_THEME

    w, h = check_size(width_px, height_px)
    chart = CompareChart(theme or EXPORT_THEME, scale=export_scale(w, h), for_export=True)
    try:
        chart.show_plans(plans, frontiers)
        if fmt == "png":
            return image_bytes(render_to_image(chart, w, h))
        if fmt == "svg":
            return svg_bytes(chart, w, h)
        if fmt == "pdf":
            return pdf_bytes(chart, w, h)
        raise InputError(f"cannot export a chart as '{fmt}'; use png, svg or pdf",
                         value=fmt, expected="png, svg or pdf")
    finally:
        chart.hide()
        chart.deleteLater()


# ---------------------------------------------------------------------------------------
# The dialog
# ---------------------------------------------------------------------------------------


class CompareDialog(QtWidgets.QDialog):
    """The current plan and up to :data:`MAX_OTHERS` scenario files: differences, key
    results side by side, one chart, exports."""

    def __init__(self, current: Plan, catalogue=None, parent=None):
        super().__init__(parent)
        self.catalogue = catalogue
        self.current = current
        self.others: list[Plan] = []
        self.problems: list[str] = []
        self.resize(1200, 820)
        lay = QtWidgets.QVBoxLayout(self)

        bar = QtWidgets.QHBoxLayout()
        self.plan_list = QtWidgets.QListWidget()
        self.plan_list.setObjectName("comparePlans")
        self.plan_list.setMaximumHeight(110)
        self.plan_list.setSelectionMode(
            QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        bar.addWidget(self.plan_list, 1)
        buttons = QtWidgets.QVBoxLayout()
        self.add_button = QtWidgets.QPushButton("Add scenarios…")
        self.add_button.clicked.connect(lambda: self.add_files())
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        bar.addLayout(buttons)
        lay.addLayout(bar)

        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("compareStatus")
        self.status.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # quotes file names
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.every_input = QtWidgets.QCheckBox("Show every input (not only those that differ)")
        self.every_input.toggled.connect(lambda _on: self.refresh())
        lay.addWidget(self.every_input)

        self.tabs = QtWidgets.QTabWidget()
        self.table = QtWidgets.QTableWidget(0, 1)
        self.table.setObjectName("compareTable")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.tabs.addTab(self.table, "Differences and results")
        from estimator.gui.theme import EXPORT_THEME

        self.chart = CompareChart(EXPORT_THEME)
        self.tabs.addTab(self.chart, "Chart")
        lay.addWidget(self.tabs, 1)

        bottom = QtWidgets.QHBoxLayout()
        self.export_chart_button = QtWidgets.QToolButton()
        self.export_chart_button.setText("Export chart…")
        self.export_chart_button.setPopupMode(
            QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(self.export_chart_button)
        for ext, label in EXPORT_FORMATS:
            menu.addAction(f"{label} (.{ext})…", lambda x=ext: self.export_chart_dialog(x))
        self.export_chart_button.setMenu(menu)
        self.export_table_button = QtWidgets.QPushButton("Export table (CSV)…")
        self.export_table_button.clicked.connect(self.export_table_dialog)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.reject)
        bottom.addWidget(self.export_chart_button)
        bottom.addWidget(self.export_table_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        lay.addLayout(bottom)
        #: label -> text per plan of every row shown (tests, copy)
        self.rows: dict[str, list[str]] = {}
        self.refresh()

    # -- plans -----------------------------------------------------------------------------
    @property
    def plans(self) -> list[Plan]:
        return unique_names([self.current, *self.others])

    def add_files(self, paths: Sequence[str | Path] | None = None) -> bool:
        """Add scenario files (asks when None). A file that cannot be read or estimated, or
        one beyond :data:`MAX_OTHERS`, is refused with a message; the others are added.
        Returns True when every file was added."""
        if paths is None:
            paths = self._ask_open_paths()
            if not paths:
                return False
        problems = []
        for path in paths:
            if len(self.others) >= MAX_OTHERS:
                problems.append(
                    f"{Path(path).name} was not added: Compare takes the current scenario and "
                    f"at most {MAX_OTHERS} others; remove one first")
                continue
            try:
                self.others.append(load_plan(path, self.catalogue))
            except InputError as exc:
                problems.append(f"Cannot compare {Path(path).name}: {exc}")
        self.problems = problems
        self.refresh()
        return not problems

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.plan_list.selectedIndexes()}, reverse=True)
        for r in rows:
            if r >= 1:  # row 0 is the current scenario: it stays
                del self.others[r - 1]
        self.problems = []
        self.refresh()

    # -- views -----------------------------------------------------------------------------
    def refresh(self) -> None:
        plans = self.plans
        self.setWindowTitle("Compare — " + " vs ".join(p.name for p in plans))
        self.plan_list.clear()
        for p in plans:
            where = str(p.path) if p.path else "the window's scenario (saved or not)"
            self.plan_list.addItem(f"{p.name} — {where}")
        self.add_button.setEnabled(len(self.others) < MAX_OTHERS)
        if self.problems:
            self.status.setStyleSheet("color: #c0392b; font-weight: bold;")
            self.status.setText("\n".join(self.problems))
        else:
            self.status.setStyleSheet("")
            self.status.setText(
                f"{len(plans)} plans. Add up to {MAX_OTHERS - len(self.others)} more scenario "
                "files." if len(self.others) < MAX_OTHERS else f"{len(plans)} plans (the most).")
        self._fill_table(plans)
        self.chart.show_plans(plans, self.frontiers(plans))

    def frontiers(self, plans: Sequence[Plan]) -> dict[str, tuple]:
        from estimator.catalogue import resolve

        cat = resolve(self.catalogue)
        c = [p.estimate.train_flops_6nd for p in plans]
        lo, hi = min(c) / 10**FRONTIER_DECADES, max(c) * 10**FRONTIER_DECADES
        out = {}
        for p in plans:
            if p.scenario.law not in out:
                data = frontier_of(p, cat, lo, hi)
                if data is not None:
                    out[p.scenario.law] = data
        return out

    def _fill_table(self, plans: Sequence[Plan]) -> None:
        t = self.table
        t.clear()
        t.setRowCount(0)
        t.setColumnCount(1 + len(plans))
        t.setHorizontalHeaderLabels(["", *(p.name for p in plans)])
        self.rows = {}
        from estimator.catalogue import resolve

        diffs = input_differences(plans, self.every_input.isChecked(), resolve(self.catalogue))
        self._section("Inputs that differ" if not self.every_input.isChecked() else "Inputs")
        if not diffs:
            self._row("(none: every input these plans use is the same)", [""] * len(plans),
                      [None] * len(plans))
        for _name, label, texts, values in diffs:
            self._row(label, texts, values)
        self._section("Results")
        for _key, label, texts, values in result_rows(plans):
            self._row(label, texts, values)
        h = t.horizontalHeader()  # labels at their width, the plans share the rest
        h.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        for c in range(1, t.columnCount()):
            h.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.Stretch)

    def _section(self, title: str) -> None:
        t = self.table
        r = t.rowCount()
        t.insertRow(r)
        item = QtWidgets.QTableWidgetItem(title)
        f = item.font()
        f.setBold(True)
        item.setFont(f)
        t.setItem(r, 0, item)
        t.setSpan(r, 0, 1, t.columnCount())

    def _row(self, label: str, texts: list[str], values: list[Any]) -> None:
        """One row; a plan's cell is bold where it differs from the current plan, and the
        label where any plan differs."""
        t = self.table
        r = t.rowCount()
        t.insertRow(r)
        differs = [any(v != values[0] for v in values)] + [v != values[0] for v in values]
        for c, text in enumerate([label, *texts]):
            item = QtWidgets.QTableWidgetItem(text)
            item.setToolTip(text)  # a narrow column elides; the tooltip has it whole
            if differs[c]:
                f = item.font()
                f.setBold(True)
                item.setFont(f)
            if c:
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                      | QtCore.Qt.AlignmentFlag.AlignVCenter)
            t.setItem(r, c, item)
        self.rows[label] = list(texts)

    # -- exports ---------------------------------------------------------------------------
    def export_chart(self, path: str | Path, width_px: int = EXPORT_SIZE_PX[0],
                     height_px: int = EXPORT_SIZE_PX[1]) -> bool:
        """Write the chart (PNG, SVG or PDF by suffix), atomically; a problem is a message."""
        from estimator.gui.charts.export import check_suffix, write_file
        from estimator.gui.session import friendly_message

        try:
            fmt = check_suffix(path).lstrip(".")
            plans = self.plans
            data = render_compare_chart(plans, self.frontiers(plans), fmt, width_px, height_px)
            write_file(path, data, "the chart")
        except EstimatorError as exc:
            self._error("Cannot export the chart", friendly_message(exc))
            return False
        self.status.setStyleSheet("")
        self.status.setText(f"Exported {path}")
        return True

    def export_table(self, path: str | Path) -> bool:
        """Write the comparison table as CSV, atomically."""
        from estimator.fileio import atomic_write_text, save_problem

        try:
            atomic_write_text(path, table_csv(self.plans, self.every_input.isChecked()))
        except OSError as exc:
            self._error("Cannot export the table", f"{path}: {save_problem(exc)}")
            return False
        self.status.setStyleSheet("")
        self.status.setText(f"Exported {path}")
        return True

    def export_chart_dialog(self, ext: str) -> bool:
        path = self._ask_save_path(f"Export the comparison chart as {ext.upper()}",
                                   f"compare.{ext}", f"{ext.upper()} (*.{ext})")
        if not path:
            return False
        path = with_suffix(path, ext)
        return self.export_chart(path)

    def export_table_dialog(self) -> bool:
        path = self._ask_save_path("Export the comparison table", "compare.csv",
                                   "CSV (*.csv)")
        if not path:
            return False
        if not path.lower().endswith(".csv"):
            path += ".csv"
        return self.export_table(path)

    # -- questions (tests replace these) ---------------------------------------------------
    def _ask_open_paths(self) -> list[str]:
        paths, _f = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Compare with scenarios", "", SCENARIO_FILTER)
        return list(paths)

    def _ask_save_path(self, title: str, suggested: str, file_filter: str) -> str | None:
        path, _f = QtWidgets.QFileDialog.getSaveFileName(self, title, suggested, file_filter)
        return path or None

    def _error(self, title: str, message: str) -> None:
        self.status.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.status.setText(message)
        QtWidgets.QMessageBox.warning(self, title, rich_plain(message))


def current_plan(session) -> Plan:
    """The window's scenario and estimate (saved or not) as a plan."""
    session.flush()
    return Plan(plan_name(session.scenario, session.path, current=True), session.scenario,
                session.estimate, path=None, current=True)


def open_compare_dialog(window, paths: Sequence[str | Path] | None = None) -> CompareDialog:
    """File > Compare scenarios…: the window's current scenario against ``paths`` (asked
    for when None)."""
    from estimator.gui.theme import apply_theme

    dialog = CompareDialog(current_plan(window.session), window.session.catalogue, window)
    apply_theme(dialog, getattr(window, "theme", "normal"))
    dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    if paths is None:
        dialog.add_files()
    elif paths:
        dialog.add_files(list(paths))
    window.compare_dialog = dialog
    return dialog


__all__ = ["MAX_OTHERS", "CompareChart", "CompareDialog", "Plan", "input_differences",
           "load_plan", "open_compare_dialog", "render_compare_chart", "result_rows",
           "table_csv"]
