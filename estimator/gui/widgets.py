"""Views of a :class:`~estimator.gui.session.Session`: the message strips and the hardware
comparison table (comparing scenarios: :mod:`estimator.gui.compare_dialog`). The inputs panel
(:mod:`estimator.gui.inputs`) and the result cards (:mod:`estimator.gui.cards`) have modules of
their own and are re-exported here.

Views never compute: they turn user edits into ``session.set_text`` / ``session.update`` calls
and draw what the session's signals carry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from estimator import units
from estimator.engine import Estimate
from estimator.gui.cards import ResultCard, ResultCards  # noqa: F401 (re-exported)
from estimator.gui.inputs import (  # noqa: F401 (re-exported)
    MODE_LABELS,
    SLIDER_STEPS,
    ChoiceField,
    InputsPanel,
    LogScale,
    NumberField,
)
from estimator.quantities import Quantity, columns


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
        #: called before a copy (the window brings rows that wait for a burst of edits to
        #: end up to date: a copy never carries an earlier plan's rows)
        self.before_copy: Callable[[], None] | None = None

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
        if self.before_copy is not None:
            self.before_copy()
        rows = None
        if not all_rows:
            sel = sorted({i.row() for i in self.table.selectedIndexes()})
            rows = sel or None
        text = self.tsv(rows)
        QtWidgets.QApplication.clipboard().setText(text)
        return text

