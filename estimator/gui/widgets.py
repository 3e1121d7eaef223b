"""Views of a :class:`~estimator.gui.session.Session`: the message strips, the hardware
comparison table and the compare-two-scenarios dialog. The inputs panel
(:mod:`estimator.gui.inputs`) and the result cards (:mod:`estimator.gui.cards`) have modules of
their own and are re-exported here.

Views never compute: they turn user edits into ``session.set_text`` / ``session.update`` calls
and draw what the session's signals carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from estimator import units
from estimator.engine import Estimate, estimate
from estimator.gui.cards import ResultCard, ResultCards  # noqa: F401 (re-exported)
from estimator.gui.inputs import (  # noqa: F401 (re-exported)
    MODE_LABELS,
    SLIDER_STEPS,
    ChoiceField,
    InputsPanel,
    LogScale,
    NumberField,
)
from estimator.gui.session import format_field
from estimator.quantities import QUANTITIES, Quantity, columns
from estimator.scenario import FIELDS, Scenario, load_scenario


def _hint(text: str = "") -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setProperty("role", "hint")
    label.setWordWrap(True)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


# ---------------------------------------------------------------------------------------
# Message strips
# ---------------------------------------------------------------------------------------

class MessageStrip(QtWidgets.QFrame):
    """A coloured strip listing messages (warnings of the estimate, or an input problem)."""

    def __init__(self, object_name: str, icon: str, parent=None):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.icon = icon
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(2)
        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # messages quote file text
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label)
        self.messages: tuple[str, ...] = ()
        self.hide()

    def set_messages(self, messages) -> None:
        self.messages = tuple(messages)
        self.label.setText("\n".join(f"{self.icon}  {m[0].upper()}{m[1:]}" for m in self.messages))
        self.setVisible(bool(self.messages))


# ---------------------------------------------------------------------------------------
# Hardware comparison table
# ---------------------------------------------------------------------------------------

class NumericItem(QtWidgets.QTableWidgetItem):
    """A table cell shown as text and sorted by its number (UserRole)."""

    def __init__(self, text: str, value: Any):
        super().__init__(text)
        self.setData(QtCore.Qt.ItemDataRole.UserRole, value)
        if isinstance(value, (int, float)):
            self.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                  | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def sort_value(self):
        return self.data(QtCore.Qt.ItemDataRole.UserRole)

    def __lt__(self, other):  # noqa: D105 - Qt sorting hook
        a, b = self.sort_value(), getattr(other, "sort_value", lambda: None)()
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a) < str(b)


class CopyableTable(QtWidgets.QTableWidget):
    """A table whose Ctrl+C copies whole selected rows (the view's own copy is one cell)."""

    copy_requested = QtCore.Signal()  # payload: none

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if event.matches(QtGui.QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)


def _column(q: Quantity) -> tuple[str, str, Callable, Callable]:
    return (q.column, q.unit, lambda e: getattr(e, q.key),
            lambda e: q.short_text(getattr(e, q.key)))


# header, unit for copying, raw value, display text: the context columns, then every
# per-hardware quantity of the registry
TABLE_COLUMNS: tuple[tuple[str, str, Callable, Callable], ...] = (
    ("Hardware", "", lambda e: e.hardware_name, lambda e: e.hardware_name),
    ("$/GPU-h", "USD", lambda e: e.price_usd_per_hour,
     lambda e: units.usd_per_hour(e.price_usd_per_hour)),
    ("MFU", "fraction", lambda e: e.mfu, lambda e: f"{e.mfu:.0%}"),
    ("Goodput", "fraction", lambda e: e.goodput, lambda e: f"{e.goodput:.0%}"),
    *(_column(q) for q in columns()),
)
COST_COLUMN = next(i for i, c in enumerate(TABLE_COLUMNS) if c[0] == "Training cost")


def _raw(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


class ComparisonTable(QtWidgets.QWidget):
    """The current scenario on every hardware profile: sortable (numerically), copyable."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        bar = QtWidgets.QHBoxLayout()
        self.caption = _hint("")
        bar.addWidget(self.caption, 1)
        self.copy_button = QtWidgets.QPushButton("Copy table")
        self.copy_button.setToolTip("Copy every row as tab-separated values (paste into a "
                                    "spreadsheet); Ctrl+C copies the selected rows")
        self.copy_button.clicked.connect(lambda: self.copy(all_rows=True))
        bar.addWidget(self.copy_button)
        lay.addLayout(bar)
        self.table = CopyableTable(0, len(TABLE_COLUMNS))
        self.table.setObjectName("comparisonTable")
        self.table.setHorizontalHeaderLabels([c[0] for c in TABLE_COLUMNS])
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)  # a stretched last column can be cut
        header.setSortIndicatorShown(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COST_COLUMN, QtCore.Qt.SortOrder.AscendingOrder)
        lay.addWidget(self.table)
        self.table.copy_requested.connect(self.copy)
        self.estimates: list[Estimate] = []

    def show_comparison(self, comparison: list[Estimate], plan_hardware: str = "") -> None:
        self.estimates = list(comparison)
        t = self.table
        sort_col = t.horizontalHeader().sortIndicatorSection()
        order = t.horizontalHeader().sortIndicatorOrder()
        t.setSortingEnabled(False)
        t.setRowCount(len(comparison))
        bold = QtGui.QFont()
        bold.setBold(True)
        for r, e in enumerate(comparison):
            plan = e.hardware == plan_hardware
            for c, (_h, _u, raw, disp) in enumerate(TABLE_COLUMNS):
                text = disp(e)
                if c == 0 and plan:
                    text = f"{text}  (plan)"
                item = NumericItem(text, raw(e))
                if c == 0:
                    item.setData(QtCore.Qt.ItemDataRole.UserRole + 1, e.hardware)
                if c == COST_COLUMN and e.bands.get("cost_usd"):
                    b = e.bands["cost_usd"]
                    item.setToolTip(f"P10 {units.usd(b.p10)} – P90 {units.usd(b.p90)}")
                if plan:
                    item.setFont(bold)
                t.setItem(r, c, item)
        t.setSortingEnabled(True)
        t.sortByColumn(sort_col, order)
        if comparison:
            s = comparison[0].scenario
            self.caption.setText(
                f"{s.gpus:,} GPUs · {s.precision.upper()} · {s.price_tier.replace('_', '-')} "
                "prices · profiles lacking the precision are left out. Click a header to sort.")

    def column_values(self, col: int) -> list:
        t = self.table
        return [t.item(r, col).data(QtCore.Qt.ItemDataRole.UserRole) for r in range(t.rowCount())]

    def row_ids(self) -> list[str]:
        t = self.table
        return [t.item(r, 0).data(QtCore.Qt.ItemDataRole.UserRole + 1) for r in range(t.rowCount())]

    def tsv(self, rows: list[int] | None = None) -> str:
        """Rows (all when None) as TSV with a header; numbers unformatted for spreadsheets."""
        t = self.table
        rows = list(range(t.rowCount())) if rows is None else rows
        head = [h if not u or u in ("",) else f"{h} ({u})" for h, u, _r, _d in TABLE_COLUMNS]
        lines = ["\t".join(head)]
        for r in rows:
            lines.append("\t".join(_raw(t.item(r, c).data(QtCore.Qt.ItemDataRole.UserRole))
                                   for c in range(t.columnCount())))
        return "\n".join(lines) + "\n"

    def copy(self, all_rows: bool = False) -> str:
        rows = None
        if not all_rows:
            sel = sorted({i.row() for i in self.table.selectedIndexes()})
            rows = sel or None
        text = self.tsv(rows)
        QtWidgets.QApplication.clipboard().setText(text)
        return text


# ---------------------------------------------------------------------------------------
# Compare two saved scenarios
# ---------------------------------------------------------------------------------------

#: (label, key, formatter) of the compare dialog's result rows: every quantity.
RESULT_ROWS: tuple[tuple[str, str, Callable], ...] = tuple(
    (f"{q.label} ({q.unit})" if q.key == "loss" else q.label, q.key, q.text) for q in QUANTITIES
    if q.key != "train_flops_6nd")


def _input_text(name: str, v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)) and name in FIELDS:
        return format_field(name, v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _diff(a: Any, b: Any, fmt: Callable | None = None) -> str:
    if a == b:
        return ""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        d = b - a
        pct = f" ({d / a:+.0%})".replace("-", "−") if a else ""
        if fmt is not None:
            sign = "+" if d >= 0 else "−"
            return f"{sign}{fmt(abs(d))}{pct}"
        return f"{d:+.4g}".replace("-", "−") + pct
    return "changed"


class CompareScenariosDialog(QtWidgets.QDialog):
    """Two saved scenarios side by side: every input and result for A and B, and B − A."""

    def __init__(self, path_a: str | Path, path_b: str | Path, parent=None):
        super().__init__(parent)
        self.path_a, self.path_b = Path(path_a), Path(path_b)
        self.setWindowTitle(f"Compare scenarios — {self.path_a.name} vs {self.path_b.name}")
        self.resize(980, 760)
        self.a, self.b = load_scenario(self.path_a), load_scenario(self.path_b)
        self.est_a, self.est_b = estimate(self.a), estimate(self.b)
        lay = QtWidgets.QVBoxLayout(self)
        head = QtWidgets.QLabel(f"<b>A</b> = {_esc(str(self.path_a))}<br>"
                                f"<b>B</b> = {_esc(str(self.path_b))}")
        head.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(head)
        self.only_diff = QtWidgets.QCheckBox("Show only inputs that differ")
        self.only_diff.setChecked(False)
        self.only_diff.toggled.connect(self._filter)
        lay.addWidget(self.only_diff)
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels(
            ["", f"A: {self.path_a.name}", f"B: {self.path_b.name}", "B − A"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        for c in (1, 2, 3):
            h.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table)
        self.rows: dict[str, tuple[str, str, str]] = {}
        self._input_rows: list[tuple[int, bool]] = []
        self._fill()
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy table", QtWidgets.QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _section(self, title: str) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        item = QtWidgets.QTableWidgetItem(title)
        f = item.font()
        f.setBold(True)
        item.setFont(f)
        self.table.setItem(r, 0, item)
        self.table.setSpan(r, 0, 1, 4)

    def _add(self, label: str, a: str, b: str, d: str, differs: bool) -> int:
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, text in enumerate((label, a, b, d)):
            item = QtWidgets.QTableWidgetItem(text)
            if differs:
                f = item.font()
                f.setBold(True)
                item.setFont(f)
            if c:
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                      | QtCore.Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(r, c, item)
        self.rows[label] = (a, b, d)
        return r

    def _fill(self) -> None:
        self._section("Results")
        for label, key, fmt in RESULT_ROWS:
            va, vb = getattr(self.est_a, key), getattr(self.est_b, key)
            if va is None or vb is None:  # e.g. emissions without a grid intensity
                self._add(label, "—" if va is None else fmt(va), "—" if vb is None else fmt(vb),
                          "" if va == vb else "changed", va != vb)
                continue
            self._add(label, fmt(va), fmt(vb), _diff(va, vb, fmt), va != vb)
        self._section("Inputs")
        for f in fields(Scenario):
            va, vb = getattr(self.a, f.name), getattr(self.b, f.name)
            label = FIELDS[f.name].label if f.name in FIELDS else f.name.replace(
                "_", " ").capitalize()
            r = self._add(label, _input_text(f.name, va), _input_text(f.name, vb),
                          _diff(va, vb) if va is not None and vb is not None else
                          ("" if va == vb else "changed"), va != vb)
            self._input_rows.append((r, va != vb))

    def _filter(self, only: bool) -> None:
        for r, differs in self._input_rows:
            self.table.setRowHidden(r, only and not differs)

    def tsv(self) -> str:
        lines = ["\t".join(["", "A", "B", "B - A"])]
        for label, (a, b, d) in self.rows.items():
            lines.append("\t".join((label, a, b, d)))
        return "\n".join(lines) + "\n"

    def copy(self) -> None:
        QtWidgets.QApplication.clipboard().setText(self.tsv())
