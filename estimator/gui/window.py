"""The main window: inputs on the left (:mod:`estimator.gui.inputs`); on the right a summary
(headline, key cards, the other optimum, warnings, details, more cards: :mod:`estimator.gui.cards`)
over the chart tabs and the hardware table, split so the charts keep a plot area of at least
:data:`MIN_PLOT_PX` before the summary (which scrolls) gets the rest; File, Export, View, Tools
and Help menus.

The window owns a :class:`~estimator.gui.session.Session` and wires views to it in
:meth:`MainWindow._connect`; it computes nothing itself. File dialogs and questions go through
small ``_ask_*`` methods so tests can answer them.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from estimator import units
from estimator.errors import EstimatorError, ReadOnlyFileError
from estimator.fileio import with_suffix
from estimator.gui import ladder_dialog, settings
from estimator.gui.cards import AlternativeStrip, ResultCards
from estimator.gui.chart_kinds import CHART_KINDS, CHART_SHORT_TITLES, CHART_TITLES
from estimator.gui.inputs import InputsPanel
from estimator.gui.pending import PendingBadge
from estimator.gui.session import Session, friendly_message
from estimator.gui.theme import THEME_NAMES, apply_theme, chart_theme
from estimator.gui.widgets import (
    ComparisonTable,
    MessageStrip,
)
from estimator.textsafe import rich_plain

log = logging.getLogger(__name__)

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
try:  # the charts are built by a sibling module; the window runs without them
    from estimator.gui.charts import ChartWidget, create_chart
except Exception as exc:  # noqa: BLE001 - any import failure: run without charts
    log.warning("charts unavailable: %s", exc)
    ChartWidget = None

APP_TITLE = "LLM Cost Estimator"
AUTOSAVE_INTERVAL_MS = 5000
#: Tab titles: the chart kinds' short names (a new kind brings its own).
CHART_TAB_TITLES = CHART_SHORT_TITLES
#: The least height of every chart's plot area (its ViewBox) the window keeps, in pixels.
MIN_PLOT_PX = 300
#: How long after the last edit the summary above the charts fits its content again (it only
#: grows while edits come in). A judgement: longer than the gaps of a slider drag or of typing.
SUMMARY_SETTLE_MS = 600
#: Estimates closer together than this (s) are one burst of edits (a slider dragged, typing):
#: a heavy chart or the hardware table on screen (each runs the engine many times, 30-150 ms)
#: keeps its data and follows when the burst ends. A judgement: a drag's or typing's gaps are
#: 10-200 ms, deliberate edits seconds apart.
EDIT_BURST_S = 0.5
#: How long after the last edit of a burst a heavy view on screen updates (ms). A judgement:
#: long enough that a drag's pauses do not stall it, short enough to follow a released slider.
HEAVY_PAUSE_MS = 300
#: Plot-area overhead (axes, subtitle, legend, tab bar) assumed before a chart is measured.
CHART_OVERHEAD_GUESS_PX = {"normal": 230, "presentation": 290}
#: The inputs column's width by theme (wider when its minimum needs more).
INPUTS_WIDTH_PX = {"normal": 372, "presentation": 450}
CHART_FORMATS = (("png", "PNG image"), ("svg", "SVG vector"), ("pdf", "PDF document"))
REPORT_FORMATS = (("md", "Markdown"), ("csv", "CSV"), ("json", "JSON"),
                  ("xlsx", "Spreadsheet with live formulas"), ("pdf", "PDF with charts"),
                  ("pptx", "Slides with charts"))
EXPORT_SIZE_PX = (1600, 1000)
SCENARIO_FILTER = "Scenarios (*.yaml *.yml);;All files (*)"
#: Windows opened for restored work (kept alive here; each removes itself when closed).
_OTHER_WINDOWS: list = []


class _ChartSlot(QtWidgets.QWidget):
    """A chart tab's page: its chart is built into it the first time it is needed."""

    def __init__(self, kind: str, parent=None):
        super().__init__(parent)
        self.kind = kind
        self.setObjectName(f"chartSlot_{kind}")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)


class _ChartTabs(QtWidgets.QTabWidget):
    """The chart tabs. Their pages are slots, so ``setCurrentWidget`` and ``indexOf`` also
    take the chart a slot holds."""

    def setCurrentWidget(self, widget) -> None:  # noqa: N802 (Qt API)
        super().setCurrentWidget(getattr(widget, "_slot", widget))

    def indexOf(self, widget) -> int:  # noqa: N802 (Qt API)
        return super().indexOf(getattr(widget, "_slot", widget))


class _Charts(dict):
    """The window's charts by kind, each built the first time it is asked for: one is on
    screen at a time, and building all twelve before the first paint took half a second.
    As a mapping it holds every kind, in :data:`CHART_KINDS` order (iterating builds the
    missing ones); :meth:`built` gives those that exist, for work that should not build."""

    def __init__(self, make):
        super().__init__()
        self._make = make

    def __missing__(self, kind: str):
        if kind not in CHART_KINDS:
            raise KeyError(kind)
        chart = self._make(kind)
        dict.__setitem__(self, kind, chart)
        return chart

    def built(self) -> dict:
        return {k: dict.__getitem__(self, k) for k in CHART_KINDS if dict.__contains__(self, k)}

    def get(self, kind, default=None):
        return self[kind] if kind in CHART_KINDS else default

    def __contains__(self, kind) -> bool:
        return kind in CHART_KINDS

    def __len__(self) -> int:
        return len(CHART_KINDS)

    def __iter__(self):
        return iter(CHART_KINDS)

    def keys(self):
        return list(CHART_KINDS)

    def values(self):
        return [self[k] for k in CHART_KINDS]

    def items(self):
        return [(k, self[k]) for k in CHART_KINDS]


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, session: Session | None = None, theme: str | None = None, parent=None):
        super().__init__(parent)
        self.session = session or Session(parent=self)
        if self.session.parent() is None:
            self.session.setParent(self)
        self.theme = theme or str(settings.value("theme", "normal"))
        if self.theme not in THEME_NAMES:
            self.theme = "normal"
        self.charts: dict[str, ChartWidget] = {}
        self._stale: set[str] = set()
        self.last_redraw_ms = 0.0
        self.resize(1600, 1000)
        self.setMinimumSize(1100, 700)
        self._build()
        self.cards.set_expanded(str(settings.value("more_results", False)).lower()
                                in ("true", "1"))
        self._build_menus()
        self._connect()
        self.set_theme(self.theme)
        from estimator.gui.autosave import Slot

        self.autosave_slot = Slot(settings.autosave_dir())
        self.autosave_failure = ""
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()
        if self.session.estimate is None:
            self.session.set_scenario(self.session.pending)
        else:
            self._show_estimate(self.session.estimate, self.session.curves)
        self._update_title()

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        self.inputs = InputsPanel(self.session)
        scroll = QtWidgets.QScrollArea()
        scroll.setObjectName("inputsScroll")
        scroll.setWidget(self.inputs)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        split.addWidget(scroll)
        self.inputs_scroll = scroll

        # the results: a summary (headline, key cards, strips, more cards) over the charts,
        # split so the user can trade one for the other; the summary scrolls when short
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.setObjectName("resultsSplitter")
        right.setChildrenCollapsible(False)
        right.setHandleWidth(7)
        self.results_splitter = right
        summary = QtWidgets.QWidget()
        summary.setObjectName("summary")
        rl = QtWidgets.QVBoxLayout(summary)
        rl.setContentsMargins(12, 8, 12, 6)
        rl.setSpacing(6)
        head = QtWidgets.QHBoxLayout()
        head.setSpacing(8)
        self.headline = QtWidgets.QLabel()
        self.headline.setObjectName("headline")
        self.headline.setProperty("role", "headline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(self.headline, 1)
        self.warnings_badge = QtWidgets.QToolButton()
        self.warnings_badge.setObjectName("warningsBadge")
        self.warnings_badge.setToolTip("Show the estimate's warnings")
        self.warnings_badge.clicked.connect(self._show_warnings)
        self.warnings_badge.hide()
        head.addWidget(self.warnings_badge, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        rl.addLayout(head)
        self._head = head
        self.subhead = QtWidgets.QLabel()
        self.subhead.setProperty("role", "subhead")
        self.details = QtWidgets.QLabel()
        self.details.setObjectName("details")
        self.details.setProperty("role", "subhead")
        for label in (self.headline, self.subhead, self.details):  # names from files:
            label.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # never rich text
        for label in (self.subhead, self.details):
            label.setWordWrap(True)
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_strip = MessageStrip("errorStrip", "✖")
        self.warnings_strip = MessageStrip("warningsStrip", "⚠")
        self.autosave_strip = MessageStrip("autosaveStrip", "⚠")
        self.files_strip = MessageStrip("filesStrip", "⚠")
        rl.addWidget(self.error_strip)
        rl.addWidget(self.autosave_strip)
        rl.addWidget(self.files_strip)
        self.cards = ResultCards()
        self.cards.expanded_changed.connect(self._on_more_results)
        head.addWidget(self.cards.more_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        rl.addWidget(self.cards)
        self.alternative = AlternativeStrip()
        self.alternative.use_requested.connect(lambda o: self.session.update(optimize=o))
        rl.addWidget(self.alternative)
        rl.addWidget(self.warnings_strip)
        rl.addWidget(self.subhead)
        rl.addWidget(self.details)
        rl.addStretch(1)
        self.summary = summary
        top = QtWidgets.QScrollArea()
        top.setObjectName("summaryScroll")
        top.setWidget(summary)
        top.setWidgetResizable(True)
        top.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        top.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        top.setMinimumHeight(60)
        self.summary_scroll = top
        right.addWidget(top)

        charts_box = QtWidgets.QWidget()
        charts_box.setObjectName("chartsBox")
        cl = QtWidgets.QVBoxLayout(charts_box)
        cl.setContentsMargins(12, 0, 12, 6)
        self.tabs = _ChartTabs()
        self.tabs.setObjectName("chartTabs")
        self.tabs.setDocumentMode(False)
        self.tabs.setUsesScrollButtons(True)  # tabs that do not fit scroll; none is cut
        self.tabs.setElideMode(QtCore.Qt.TextElideMode.ElideNone)
        if ChartWidget is not None:
            self.charts = _Charts(self._make_chart)
        self._slots: dict[str, _ChartSlot] = {}
        for kind in CHART_KINDS:
            if ChartWidget is not None:
                widget: QtWidgets.QWidget = _ChartSlot(kind)
                self._slots[kind] = widget
            else:
                widget = QtWidgets.QLabel("Charts are not available in this installation.")
                widget.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            i = self.tabs.addTab(widget, CHART_TAB_TITLES.get(kind, kind))
            self.tabs.setTabToolTip(i, CHART_TITLES.get(kind, ""))
        self.comparison = ComparisonTable()
        self.comparison.before_copy = self.refresh_table
        self.tabs.addTab(self.comparison, "Hardware table")
        self.export_button = QtWidgets.QToolButton()
        self.export_button.setText("Export chart…")
        self.export_button.setObjectName("exportChartButton")
        self.export_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolTip("Copy the chart on screen, or save it as PNG, SVG or PDF")
        self.export_button.setMenu(QtWidgets.QMenu(self.export_button))
        self.export_button.menu().aboutToShow.connect(self._fill_export_button_menu)
        self.tabs.setCornerWidget(self.export_button, QtCore.Qt.Corner.TopRightCorner)
        self.tabs.currentChanged.connect(self._on_tab)
        cl.addWidget(self.tabs, 1)
        self.charts_box = charts_box
        right.addWidget(charts_box)
        right.setStretchFactor(0, 0)
        right.setStretchFactor(1, 1)
        right.splitterMoved.connect(lambda *_a: self._remember_split())
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 1220])
        self.splitter = split
        self.setCentralWidget(split)
        self._chart_overhead: dict[str, int] = {}
        self._measured_width = -1
        self._user_summary_px: int | None = None
        self._to_measure: list[str] = []  # charts still to get data after the first paint
        self._measure_after_paint = False
        self._charts_ready = False  # every chart built and given data after the first paint
        # a timer of the window's own: it dies with the window (a closed window's pending
        # measurement never runs on a deleted one)
        self._measure_timer = QtCore.QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(0)
        self._measure_timer.timeout.connect(self._measure_next)
        self._layout_timer = QtCore.QTimer(self)
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(0)
        self._layout_timer.timeout.connect(self.fit_layout)
        # While edits come in (a slider dragged), the summary above the charts may grow but
        # does not shrink: the charts keep their size instead of jumping by a line each time a
        # text wraps or a warning comes and goes. It fits its content again once edits pause.
        self._settle_timer = QtCore.QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(SUMMARY_SETTLE_MS)
        self._settle_timer.timeout.connect(self.fit_layout)
        # Heavy views (a chart with ``heavy``, the hardware table) follow a burst of edits
        # when it ends; each edit still updates the summary and the light charts at once
        self.edit_burst_s = EDIT_BURST_S
        self._last_estimate_s = -math.inf
        self._badges: dict[str, PendingBadge] = {}
        self._heavy_timer = QtCore.QTimer(self)
        self._heavy_timer.setSingleShot(True)
        self._heavy_timer.setInterval(HEAVY_PAUSE_MS)
        self._heavy_timer.timeout.connect(self._end_burst)
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        from estimator.gui.resources import icon_path

        icon = icon_path()
        if icon is not None:
            self.setWindowIcon(QtGui.QIcon(str(icon)))

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self.act_new = m.addAction("&New", QtGui.QKeySequence.StandardKey.New, self.new_scenario)
        self.act_open = m.addAction("&Open…", QtGui.QKeySequence.StandardKey.Open,
                                    self.open_scenario)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self.rebuild_recent_menu)
        self.act_open_law = m.addAction("Open &law…", self.open_law_file)
        m.addSeparator()
        self.act_save = m.addAction("&Save", QtGui.QKeySequence.StandardKey.Save, self.save)
        self.act_save_as = m.addAction("Save &As…", QtGui.QKeySequence.StandardKey.SaveAs,
                                       self.save_as)
        m.addSeparator()
        self.act_compare = m.addAction("&Compare scenarios…", self.compare_scenarios)
        m.addSeparator()
        m.addAction("&Quit", QtGui.QKeySequence.StandardKey.Quit, self.close)

        e = mb.addMenu("&Export")
        self.act_copy_chart = e.addAction(
            "&Copy chart image", QtGui.QKeySequence("Ctrl+Shift+C"),
            lambda: self.current_chart_kind() and self.copy_chart(self.current_chart_kind()))
        self.act_copy_chart.setEnabled(ChartWidget is not None)
        e.addSeparator()
        for kind in CHART_KINDS:
            sub = e.addMenu(f"Chart: {CHART_TAB_TITLES.get(kind, kind)}")
            sub.setEnabled(ChartWidget is not None)
            self._add_chart_actions(sub, kind)
        e.addSeparator()
        rep = e.addMenu("&Report")
        for ext, label in REPORT_FORMATS:
            rep.addAction(f"{label} (.{ext})…", lambda x=ext: self.export_report_dialog(x))

        v = mb.addMenu("&View")
        group = QtGui.QActionGroup(self)
        self.theme_actions: dict[str, QtGui.QAction] = {}
        for name, label, key in (("normal", "&Normal theme", "Ctrl+Shift+N"),
                                 ("presentation", "&Presentation theme", "Ctrl+Shift+P")):
            act = v.addAction(label, QtGui.QKeySequence(key), lambda n=name: self.set_theme(n))
            act.setCheckable(True)
            group.addAction(act)
            self.theme_actions[name] = act

        t = mb.addMenu("&Tools")
        self.act_fit = t.addAction("&Fit a scaling law to your runs…", self.open_fit_dialog)
        self.act_ladder = t.addAction("Plan a scaling &ladder…",
                                      lambda: ladder_dialog.open_ladder_dialog(self))

        h = mb.addMenu("&Help")
        h.addAction("&About", self._about)

    def _connect(self) -> None:
        s = self.session
        s.estimate_changed.connect(self._show_estimate)
        s.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.error_changed.connect(self._show_errors)
        s.dirty_changed.connect(lambda _d: self._update_title())
        s.path_changed.connect(lambda _p: self._update_title())

    # -- views -----------------------------------------------------------------------------
    def _show_estimate(self, est, curves) -> None:
        from estimator.engine import layout_text
        from estimator.report import describe_target, serving_phrase

        s = est.scenario
        now = time.monotonic()
        burst = now - self._last_estimate_s < self.edit_burst_s
        self._last_estimate_s = now
        self.cards.show_estimate(est)
        self.alternative.show_estimate(est)
        target = describe_target(s)
        self.headline.setText(
            target[0].upper() + target[1:] if s.mode == "loss"
            else f"Loss {est.loss:.3f} nats/token  ·  {target}")
        user = " (user profile)" if est.provenance.get("hardware", "built-in") != "built-in" else ""
        self.subhead.setText(
            f"{est.law_name}  ·  {s.gpus:,} × {est.hardware_name}{user}, "
            f"{est.precision.upper()}, MFU {est.mfu:.0%}, goodput {est.goodput:.0%}, "
            f"{units.usd_per_hour(est.price_usd_per_hour)}/GPU-hour")
        co2 = (f", grid {s.grid_kg_co2_per_kwh:.3g} kg CO2e/kWh"
               if s.grid_kg_co2_per_kwh is not None else "")
        self.details.setText(
            f"Parallel layout: {layout_text(est.parallel_layout)} · global batch "
            f"{_si(est.global_batch_tokens)} tokens · step {est.step_time_s:,.2f} s\n"
            f"Serving {serving_phrase(est)} · {_si(s.output_tokens_per_day)} output tokens/day "
            f"for {s.deployment_days:g} days\n"
            f"Energy at PUE {s.pue:.3g}{co2}"
            + (f"\nBands: P10–P90 from {est.uncertainty_source}" if est.uncertainty_source
               else "\nNo P10–P90 bands for this estimate"))
        self.warnings_strip.set_messages(est.warnings)
        n = len(est.warnings)
        self.warnings_badge.setText(f"⚠ {n} warning{'s' if n != 1 else ''}")
        self.warnings_badge.setVisible(n > 0)
        self._show_file_problems()
        # only the tab on screen redraws now; the others when they are shown (dragging a
        # slider stays fluid), and every one before an export
        self._stale = set(self.charts) | {"table"}  # the kinds (nothing is built here)
        t0 = time.perf_counter()
        waits = self._refresh_visible(defer_heavy=burst)
        self.last_redraw_ms = (time.perf_counter() - t0) * 1000
        self.status_label.setText(
            f"Updated · estimate {self.session.last_compute_ms:.0f} ms, "
            + ("the view follows when the edits pause" if waits
               else f"view {self.last_redraw_ms:.0f} ms"))
        # Lay out what the new texts resized now, then fit the summary and the charts to it,
        # so the window paints once per edit: left to the event loop, the layouts settle
        # after the first paint and the window is painted again, the chart with it
        QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.LayoutRequest)
        self.fit_layout(editing=True)
        self._settle_timer.start()

    def _show_warnings(self) -> None:
        """Bring the warnings strip into view (the warnings badge was clicked)."""
        self.summary_scroll.ensureWidgetVisible(self.warnings_strip, 0, 0)

    def _on_more_results(self, _open: bool) -> None:
        settings.set_value("more_results", bool(_open))
        self._user_summary_px = None
        self._layout_timer.start()

    def _show_file_problems(self) -> None:
        """User law and profile files that failed to load (and were skipped)."""
        errors = self.session.catalogue.errors
        lines = [f"{friendly_message(e)} (skipped)" for e in errors[:5]]
        if len(errors) > 5:
            lines.append(f"… and {len(errors) - 5} more user files failed to load")
        self.files_strip.set_messages(lines)

    def _refresh_visible(self, defer_heavy: bool = False) -> bool:
        """Bring the view on screen up to date; with ``defer_heavy`` (an edit inside a burst)
        a heavy chart or the hardware table is marked and updated when the burst ends (True
        then)."""
        kind = self.current_chart_kind()
        if kind is not None:
            chart = self.charts[kind]
            s = self.session
            if defer_heavy and kind in self._stale and s.curves is not None \
                    and s.estimate is not None and chart.update_is_heavy(s.curves, s.estimate):
                self._defer(kind, chart)
                return True
            self.refresh_chart(kind)
        elif self.tabs.currentWidget() is self.comparison:
            if defer_heavy and "table" in self._stale:
                # over the rows' bottom right: the button bar above them stays clear
                self._defer("table", self.comparison.table.viewport(), corner="bottom")
                return True
            self.refresh_table()
        return False

    def _end_burst(self) -> None:
        """The edits paused: the heavy view on screen gets the current plan's data."""
        pending = [k for k in self._badges if self.view_pending(k)]
        t0 = time.perf_counter()
        self._refresh_visible()
        if any(not self.view_pending(k) for k in pending):  # the view on screen was updated
            self.last_redraw_ms = (time.perf_counter() - t0) * 1000
            self.status_label.setText(
                f"Updated · estimate {self.session.last_compute_ms:.0f} ms, "
                f"view {self.last_redraw_ms:.0f} ms")

    def _defer(self, key: str, host: QtWidgets.QWidget, corner: str = "top") -> None:
        badge = self._badges.get(key)
        if badge is None:
            badge = self._badges[key] = PendingBadge(host, corner)
        badge.set_pending(True)
        self._heavy_timer.start()  # restarted by each edit of the burst

    def view_pending(self, key: str) -> bool:
        """True while chart ``key`` (or ``"table"``) shows an earlier plan's data, marked,
        waiting for a burst of edits to end."""
        badge = self._badges.get(key)
        return badge is not None and not badge.isHidden()

    def _settled(self, key: str) -> None:
        badge = self._badges.get(key)
        if badge is not None:
            badge.set_pending(False)

    def refresh_chart(self, kind: str) -> None:
        """Give chart ``kind`` the session's current data if it has not got it yet."""
        s = self.session
        if kind not in self._stale or s.curves is None or s.estimate is None:
            return
        try:
            self.charts[kind].update_chart(s.curves, s.estimate)
        except Exception:  # noqa: BLE001 - a chart bug must not break the estimate
            log.exception("chart %s failed to update", kind)
        self._stale.discard(kind)
        self._settled(kind)

    def refresh_table(self) -> None:
        s = self.session
        if "table" not in self._stale or s.estimate is None:
            return
        self.comparison.show_comparison(s.comparison, s.estimate.hardware)
        self._stale.discard("table")
        self._settled("table")

    def refresh_all(self) -> None:
        """Bring every chart and the table up to date (before exports and reports)."""
        self.session.flush()
        for kind in self.charts:
            self.refresh_chart(kind)
        self.refresh_table()

    def _show_errors(self, _name: str = "", _message: str = "") -> None:
        errors = self.session.errors
        if errors:
            self.error_strip.set_messages(
                ["Showing the last valid estimate — fix the highlighted field: "
                 + next(iter(errors.values()))])
        else:
            self.error_strip.set_messages([])

    def _update_title(self) -> None:
        name = self.session.path.name if self.session.path else "Untitled"
        self.setWindowTitle(f"{name}{'*' if self.session.dirty else ''} — {APP_TITLE}")

    def _make_chart(self, kind: str) -> ChartWidget:
        """Build the chart of ``kind`` into its tab (:class:`_Charts` calls this)."""
        chart = create_chart(kind, theme=self.theme)
        _screen_chart(chart)
        chart.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        chart.customContextMenuRequested.connect(
            lambda pos, k=kind: self._chart_menu(k).exec(self.charts[k].mapToGlobal(pos)))
        chart.view.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        chart.view.customContextMenuRequested.connect(
            lambda pos, k=kind: self._chart_menu(k).exec(self.charts[k].view.mapToGlobal(pos)))
        slot = self._slots[kind]
        slot.layout().addWidget(chart)
        chart._slot = slot
        return chart

    def _on_tab(self, index: int) -> None:
        self.current_chart()  # built when first shown
        self.export_button.setEnabled(self.current_chart_kind() is not None)
        self._refresh_visible()
        self._layout_timer.start()

    def current_chart_kind(self) -> str | None:
        return getattr(self.tabs.currentWidget(), "kind", None)

    def _built_charts(self) -> dict:
        """The charts built so far (all of them, when the charts are a plain dict)."""
        built = getattr(self.charts, "built", None)
        return built() if built is not None else dict(self.charts)

    def current_chart(self):
        """The chart on screen (built now if it was not), or None (the table)."""
        kind = self.current_chart_kind()
        return None if kind is None else self.charts[kind]

    def _add_chart_actions(self, menu: QtWidgets.QMenu, kind: str) -> None:
        """Copy image, Export… (style and size), then quick exports with the last options."""
        menu.addAction("Copy image", lambda: self.copy_chart(kind))
        menu.addAction("Export…", lambda: self.export_chart_with_options(kind))
        menu.addSeparator()
        for ext, label in CHART_FORMATS:
            menu.addAction(f"Export as {label} (.{ext})…",
                           lambda x=ext: self.export_chart_dialog(kind, x))

    def _chart_menu(self, kind: str) -> QtWidgets.QMenu:
        menu = QtWidgets.QMenu(self)
        self._add_chart_actions(menu, kind)
        return menu

    def _fill_export_button_menu(self) -> None:
        menu = self.export_button.menu()
        menu.clear()
        kind = self.current_chart_kind()
        if kind is None:
            return
        self._add_chart_actions(menu, kind)

    # -- theme -----------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        if name not in THEME_NAMES:
            return
        self.theme = name
        apply_theme(self, name)
        for chart in self._built_charts().values():  # charts built later take self.theme
            if chart.theme is not chart_theme(name):  # built in it: nothing to restyle
                chart.set_theme(name)
        self.theme_actions[name].setChecked(True)
        settings.set_value("theme", name)
        self._chart_overhead.clear()  # type sizes changed: measure the charts again
        self._measured_width = -1
        self._user_summary_px = None
        self._fit_inputs(reset=True)
        self.fit_layout()

    def _fit_inputs(self, reset: bool = False) -> None:
        """Make the inputs column wide enough for its widest row (no clipping, no h-scroll);
        ``reset`` (a theme switch) gives it the theme's own width again, so a large theme
        never leaves the column wide for good."""
        self.inputs.ensurePolished()
        for w in self.inputs.findChildren(QtWidgets.QWidget):
            w.ensurePolished()
        need = self.inputs.minimumSizeHint().width() + \
            self.inputs_scroll.verticalScrollBar().sizeHint().width() + 4
        self.inputs_scroll.setMinimumWidth(need)
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        want = max(need, INPUTS_WIDTH_PX.get(self.theme, need)) if reset else max(need, sizes[0])
        want = min(want, max(need, total // 2))
        if want != sizes[0]:
            self.splitter.setSizes([want, max(1, total - want)])

    def fit_layout(self, editing: bool = False) -> None:
        """Lay the results out for the window's size: cards in as many columns as fit, and
        the charts given at least :data:`MIN_PLOT_PX` of plot height before the summary
        above them gets the rest (it scrolls when that is not enough). ``editing`` (an edit
        just shown): the summary may grow but keeps its height rather than shrink, so the
        charts do not change size while a slider is dragged; the settle timer fits it again
        :data:`SUMMARY_SETTLE_MS` after the last edit."""
        viewport = self.summary_scroll.viewport().width()
        margins = self.summary.layout().contentsMargins()
        self.cards.reflow(max(100, viewport - margins.left() - margins.right()))
        self._measure_chart()
        right = self.results_splitter
        avail = right.height() - right.handleWidth()
        if avail <= 0:
            return
        need = self.chart_need()
        lay = self.summary.layout()
        width = max(100, viewport)
        content = (lay.totalHeightForWidth(width) if lay.hasHeightForWidth()
                   else self.summary.sizeHint().height())
        want = self._user_summary_px if self._user_summary_px is not None else content + 2
        # the headline and the key cards stay on screen whatever the size; then the charts'
        # plot floor; then the rest of the summary
        key_block = self.cards.y() + self.cards.key_grid.geometry().bottom() + 6
        low = max(self.summary_scroll.minimumHeight(), min(key_block, avail // 2))
        top = max(low, min(want, avail - need))
        sizes = right.sizes()
        if editing and sizes and self._user_summary_px is None:
            top = max(top, min(sizes[0], max(low, avail - need)))
        if sizes and abs(sizes[0] - top) > 1:
            right.setSizes([top, avail - top])
            # lay the resized chart out and apply its view's new size now: left to its paint,
            # the plot moves during the paint and Qt paints the chart a second time
            QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.LayoutRequest)
            shown = self._built_charts().get(self.current_chart_kind())
            if shown is not None:
                shown.view.scene().prepareForPaint()

    def chart_need(self) -> int:
        """Height the chart area needs for a :data:`MIN_PLOT_PX` plot: the largest overhead
        measured (tab bar, margins, subtitle, axes, legend) of any chart, plus the plot."""
        guess = CHART_OVERHEAD_GUESS_PX.get(self.theme, 260)
        over = max(self._chart_overhead.values(), default=guess)
        return over + MIN_PLOT_PX + 4

    def _measure_chart(self) -> None:
        """Record how much of the chart area each chart with data spends outside its plots
        (tab bar, margins, subtitle, axes, legend) at the current width: a hidden chart's
        scene is laid out at the visible page's size to measure it."""
        page = self.tabs.currentWidget()
        if page is None or page.height() < 50 or not self.charts_box.isVisible():
            return
        extra = self.charts_box.height() - page.height()
        size = QtCore.QSizeF(page.width(), page.height())
        resized = page.width() != self._measured_width
        self._measured_width = page.width()
        grew = False
        built = self._built_charts()
        shown = built.get(getattr(page, "kind", None))  # the chart on screen
        for kind, chart in built.items():
            if chart.estimate is None:
                continue
            if chart is not shown and kind in self._chart_overhead and not resized:
                continue  # a hidden chart is measured again only at a new width
            ci = chart.view.ci
            if chart is not shown:
                ci.setGeometry(QtCore.QRectF(QtCore.QPointF(0, 0), size))
            ci.layout.activate()
            heights = [p.getViewBox().height() for p in chart.plot_items if p.isVisible()]
            if not heights:
                continue
            over = int(round(extra + page.height() - min(heights)))
            if over != self._chart_overhead.get(kind):
                grew = grew or over > self._chart_overhead.get(kind, -1)
                self._chart_overhead[kind] = over
        if grew and self.charts_box.height() - max(self._chart_overhead.values()) < MIN_PLOT_PX:
            self._layout_timer.start()  # grow the charts to the new need

    def plot_heights(self) -> dict[str, list[float]]:
        """The plot-area (ViewBox) heights of every chart as laid out now (tests)."""
        return {k: [p.getViewBox().height() for p in c.plot_items]
                for k, c in self.charts.items()}

    def _remember_split(self) -> None:
        """The user dragged the results splitter: keep the summary's height they chose."""
        self._user_summary_px = self.results_splitter.sizes()[0]

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._user_summary_px = None
        self._layout_timer.start()

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        QtCore.QTimer.singleShot(0, self._first_layout)

    def _first_layout(self) -> None:
        """On first show: the inputs column and the results are fitted to the window (the chart
        on screen is built and has its data). The other charts are built and get theirs after
        the first paint, one per turn of the event loop, each measured as it comes
        (:meth:`_measure_next`): the window appears without waiting for twelve charts and
        answers input while they are drawn."""
        self._fit_inputs(reset=True)
        self.fit_layout()
        built = self._built_charts()
        self._to_measure = [k for k in self.charts if k not in built or built[k].estimate is None]
        self._measure_after_paint = True

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self._measure_after_paint:
            self._measure_after_paint = False
            self._measure_timer.start()

    def _measure_next(self) -> None:
        """Build the next chart that has never had data and give it its data (it is then
        measured by :meth:`fit_layout`), and schedule the one after; the layout is fitted once
        all are."""
        while self._to_measure:
            kind = self._to_measure.pop(0)
            if self.charts[kind].estimate is None:
                self.refresh_chart(kind)
                self._measure_timer.start()
                return
        self._charts_ready = True
        self.fit_layout()

    def charts_ready(self) -> bool:
        """True once the start-up work is done: the first layout, the first paint and every
        chart off screen built and given its data (:meth:`_measure_next`)."""
        return self._charts_ready

    # -- dialogs (tests replace these) -----------------------------------------------------
    def _ask_save_path(self, title: str, suggested: str, file_filter: str) -> str | None:
        path, _f = QtWidgets.QFileDialog.getSaveFileName(self, title, suggested, file_filter)
        return path or None

    def _ask_export_options(self, kind: str):
        from estimator.gui.charts.export_dialog import ask_export_options

        chart = self.charts[kind]
        return ask_export_options(kind, chart.curves, chart.estimate, self)

    def _ask_open_path(self, title: str, file_filter: str = SCENARIO_FILTER) -> str | None:
        start = str(self.session.path.parent) if self.session.path else ""
        path, _f = QtWidgets.QFileDialog.getOpenFileName(self, title, start, file_filter)
        return path or None

    def _error(self, title: str, message: str) -> None:
        # text from files (names, paths) is shown as it is, never rendered as rich text
        QtWidgets.QMessageBox.warning(self, title, rich_plain(message))

    def _default_dir(self) -> str:
        if self.session.path:
            return str(self.session.path.parent)
        return str(settings.value("last_dir", str(Path.home())))

    # -- files -----------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Before discarding the scenario: ask to save unsaved work. False = cancel."""
        if not self.session.dirty:
            return True
        mb = QtWidgets.QMessageBox
        name = self.session.path.name if self.session.path else "Untitled"
        answer = mb.question(
            self, "Unsaved changes",
            rich_plain(f"Save the changes to {name} before continuing?"),
            mb.StandardButton.Save | mb.StandardButton.Discard | mb.StandardButton.Cancel,
            mb.StandardButton.Save)
        if answer == mb.StandardButton.Save:
            return self.save()
        return answer == mb.StandardButton.Discard

    def new_scenario(self) -> None:
        if not self.maybe_save():
            return
        self.session.new()
        self.remove_autosave()

    def open_scenario(self, path: str | None = None) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            path = self._ask_open_path("Open scenario")
            if not path:
                return False
        return self.load_file(path)

    def load_file(self, path: str | Path) -> bool:
        """Open a scenario without asking (the dirty prompt is the caller's)."""
        try:
            self.session.open(path)
        except (EstimatorError, OSError) as exc:
            self._error("Cannot open scenario", friendly_message(exc))
            return False
        settings.add_recent_file(path)
        settings.set_value("last_dir", str(Path(path).resolve().parent))
        self.remove_autosave()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def save(self) -> bool:
        if self.session.path is None:
            return self.save_as()
        return self._save_to(self.session.path)

    def save_as(self) -> bool:
        suggested = str(Path(self._default_dir()) / (
            self.session.path.name if self.session.path else "scenario.yaml"))
        path = self._ask_save_path("Save scenario as", suggested, SCENARIO_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".yaml"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        """Save to ``path``: a symlink is written through to its target; a read-only file is
        replaced only when the user confirms (it stays read-only)."""
        try:
            try:
                self.session.save(path)
            except ReadOnlyFileError:
                mb = QtWidgets.QMessageBox
                answer = mb.question(
                    self, "Read-only file",
                    rich_plain(f"{path} is read-only. Replace it anyway? (It stays read-only.)"),
                    mb.StandardButton.Yes | mb.StandardButton.No, mb.StandardButton.No)
                if answer != mb.StandardButton.Yes:
                    self.statusBar().showMessage(f"Not saved: {path} is read-only", 8000)
                    return False
                self.session.save(path, overwrite_readonly=True)
        except (EstimatorError, OSError) as exc:
            self._error("Cannot save scenario", friendly_message(exc))
            return False
        settings.add_recent_file(path)
        settings.set_value("last_dir", str(Path(path).resolve().parent))
        self.remove_autosave()
        note = " (fields with errors were not saved)" if self.session.errors else ""
        self.statusBar().showMessage(f"Saved {path}{note}", 5000)
        return True

    def rebuild_recent_menu(self) -> list[str]:
        kept, removed = settings.prune_recent_files()
        self.recent_menu.clear()
        if removed:
            names = ", ".join(Path(p).name for p in removed)
            self.statusBar().showMessage(
                f"Removed {len(removed)} missing file(s) from Open Recent: {names}", 8000)
        for p in kept:
            self.recent_menu.addAction(Path(p).name, lambda q=p: self.open_recent(q)).setToolTip(p)
        if kept:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: settings.set_recent_files([]))
        else:
            self.recent_menu.addAction("No recent scenarios").setEnabled(False)
        self.recent_removed = removed
        return kept

    def open_recent(self, path: str) -> bool:
        if not Path(path).is_file():
            settings.set_recent_files([p for p in settings.recent_files() if p != path])
            self._error("File not found",
                        f"{path} no longer exists; it was removed from the recent files.")
            return False
        return self.open_scenario(path)

    def compare_scenarios(self, *paths: str):
        """Compare the current scenario (saved or not) with up to four scenario files (asked
        for when none are given): differences, results, one chart, exports."""
        from estimator.gui.compare_dialog import open_compare_dialog

        files = [p for p in paths if isinstance(p, (str, os.PathLike))]  # not a QAction's bool
        return open_compare_dialog(self, files or None)

    def open_fit_dialog(self):
        """Fit a law to the user's runs; a saved law becomes the scenario's law."""
        try:
            from estimator.gui.fit_dialog import FitDialog
        except ImportError:
            self._error("Fit a scaling law", "Fitting is not available in this installation.")
            return None
        dialog = FitDialog(self)
        apply_theme(dialog, self.theme)
        dialog.law_saved.connect(lambda p, d=dialog: d.show_use_result(*self._use_law(p)))
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.fit_dialog = dialog
        return dialog

    def use_law_file(self, path: str) -> bool:
        """Make the law saved at ``path`` the scenario's law (it joins the law picker)."""
        return self._use_law(path)[0]

    def _use_law(self, path: str) -> tuple[bool, str]:
        from estimator.gui.fit_dialog import use_law_file

        ok, message = use_law_file(self, path)
        self.statusBar().showMessage(message, 8000)
        return ok, message

    def open_law_file(self, path: str | None = None) -> bool:
        """File > Open law…: a law file joins the Law picker and becomes the scenario's law."""
        from estimator.gui.fit_dialog import open_law_file

        return open_law_file(self, path)

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        inputs = getattr(self, "inputs", None)
        if (inputs is not None and event.type() == QtCore.QEvent.Type.ActivationChange
                and self.isActiveWindow()):
            inputs.refresh_laws()  # laws added to the user law folder meanwhile

    # -- autosave --------------------------------------------------------------------------
    @property
    def autosave_path(self) -> Path:
        """This window's own autosave file (no other window reads, writes or removes it)."""
        return self.autosave_slot.path

    def autosave_now(self) -> bool:
        """Write unsaved work to this window's autosave slot (only when dirty). A failure is
        shown in the window (a strip and the status bar) until an autosave succeeds again."""
        if not self.session.dirty:
            return False
        try:
            self.autosave_slot.write(self.session.scenario, self.session.path)
        except (EstimatorError, OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            text = (f"Autosave failed ({why}) in {self.autosave_slot.folder}: unsaved changes "
                    "are not protected against a crash; save the scenario (File > Save)")
            log.warning("autosave failed: %s", exc)
            self.autosave_failure = text
            self.autosave_strip.set_messages([text])
            self.statusBar().showMessage(text, 10000)
            return False
        if self.autosave_failure:
            self.autosave_failure = ""
            self.autosave_strip.set_messages([])
            self.statusBar().showMessage("Autosave works again", 5000)
        return True

    def remove_autosave(self) -> None:
        """Remove this window's autosave (its work was saved or discarded)."""
        try:
            self.autosave_slot.remove()
        except OSError as exc:
            log.warning("cannot remove autosave %s: %s", self.autosave_path, exc)

    def _is_pristine(self) -> bool:
        return not self.session.dirty and self.session.path is None

    def offer_restore(self) -> bool:
        """Offer every orphaned autosave (windows that crashed or were killed). The first one
        accepted restores into this window when it is still untitled and unchanged, every other
        into a window of its own. Returns True when anything was restored."""
        from estimator.gui import autosave

        folder = self.autosave_slot.folder
        autosave.sweep(folder)
        restored = False
        for orphan in autosave.find_orphans(folder):
            claimed = autosave.claim(orphan, self.autosave_slot)
            if claimed is None:  # another window took it first
                continue
            mb = QtWidgets.QMessageBox
            answer = mb.question(
                self, "Restore unsaved work?",
                rich_plain(f"The estimator closed without saving {orphan.describe()}.\n\n"
                           "Yes restores it, No discards it, Cancel keeps it for next time."),
                mb.StandardButton.Yes | mb.StandardButton.No | mb.StandardButton.Cancel,
                mb.StandardButton.Yes)
            if answer == mb.StandardButton.Cancel:
                self._unclaim(claimed, orphan)
                continue
            if answer != mb.StandardButton.Yes:
                autosave.discard(claimed)
                continue
            try:
                scenario, original = autosave.load_claimed(claimed)
            except EstimatorError as exc:
                self._error("Cannot restore", friendly_message(exc)
                            + "\n\nThe damaged autosave was removed.")
                autosave.discard(claimed)
                continue
            target = self if (self._is_pristine() and not restored) else self._new_window()
            target.session.set_scenario(scenario, path=Path(original) if original else None,
                                        dirty=True)
            if target.autosave_now():  # the work is safe under its new owner before the old
                autosave.discard(claimed)  # copy goes
            target.statusBar().showMessage("Restored unsaved work", 5000)
            restored = True
        return restored

    def _unclaim(self, claimed: Path, orphan) -> None:
        """Give a claimed autosave back (the user chose 'later'): it is offered next time."""
        if orphan.legacy:
            return
        try:
            os.rename(claimed, orphan.path)
        except OSError as exc:
            log.warning("cannot put autosave %s back: %s", claimed, exc)

    def _new_window(self) -> MainWindow:
        """Another top-level window (for a second restored scenario)."""
        w = MainWindow(theme=self.theme)
        w.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        _OTHER_WINDOWS.append(w)
        w.destroyed.connect(lambda *_a, w=w: _OTHER_WINDOWS.remove(w)
                            if w in _OTHER_WINDOWS else None)
        w.show()
        return w

    # -- export ----------------------------------------------------------------------------
    def export_chart(self, kind: str, path: str | Path, width_px: int | None = None,
                     height_px: int | None = None, theme: str | None = None) -> bool:
        """Export chart ``kind`` to ``path``; size and style default to the last export
        options (first time: 1600 x 1000 px, print style), whatever theme the window shows."""
        from estimator.gui.charts.export_dialog import load_options

        opts = load_options()
        self.refresh_all()
        try:
            self.charts[kind].export(path, width_px or opts.width_px,
                                     height_px or opts.height_px, theme=theme or opts.theme)
        except (EstimatorError, OSError, KeyError) as exc:
            self._error("Cannot export chart", friendly_message(exc))
            return False
        self.statusBar().showMessage(f"Exported {path}", 5000)
        return True

    def export_chart_dialog(self, kind: str, ext: str, width_px: int | None = None,
                            height_px: int | None = None, theme: str | None = None) -> bool:
        suggested = str(Path(self._default_dir()) / f"{self._stem()}-{kind}.{ext}")
        path = self._ask_save_path(f"Export chart as {ext.upper()}", suggested,
                                   f"{ext.upper()} (*.{ext})")
        if not path:
            return False
        path = with_suffix(path, ext)
        return self.export_chart(kind, path, width_px, height_px, theme)

    def export_chart_with_options(self, kind: str) -> bool:
        """The export dialog (format, style, size, preview), then Save… or Copy image."""
        self.refresh_all()
        opts = self._ask_export_options(kind)
        if opts is None:
            return False
        if opts.action == "copy":
            return self.copy_chart(kind, opts.width_px, opts.height_px, opts.theme)
        return self.export_chart_dialog(kind, opts.fmt, opts.width_px, opts.height_px,
                                        opts.theme)

    def copy_chart(self, kind: str, width_px: int | None = None, height_px: int | None = None,
                   theme: str | None = None) -> bool:
        """Put chart ``kind`` on the clipboard as an image (and SVG), with the last export
        options unless given."""
        from estimator.gui.charts import copy_chart_to_clipboard
        from estimator.gui.charts.export_dialog import load_options

        opts = load_options()
        self.refresh_all()
        chart = self.charts.get(kind)
        if chart is None or chart.curves is None or chart.estimate is None:
            self._error("Cannot copy chart", "There is no estimate to show yet.")
            return False
        try:
            copy_chart_to_clipboard(kind, chart.curves, chart.estimate,
                                    width_px=width_px or opts.width_px,
                                    height_px=height_px or opts.height_px,
                                    theme=theme or opts.theme)
        except EstimatorError as exc:
            self._error("Cannot copy chart", friendly_message(exc))
            return False
        self.statusBar().showMessage(
            f"Copied “{CHART_TAB_TITLES.get(kind, kind)}” to the clipboard", 5000)
        return True

    def export_report(self, path: str | Path) -> bool:
        self.refresh_all()
        s, est = self.session.scenario, self.session.estimate
        comp = self.session.comparison
        suffix = Path(path).suffix.lower()
        try:
            if suffix == ".pdf":
                from estimator.gui.report_pdf import save_report_pdf

                save_report_pdf(path, s, est, comp, self.charts)
            elif suffix == ".pptx":
                from estimator.gui.report_pptx import save_report_pptx

                save_report_pptx(path, s, est, comp, self.charts,
                                 catalogue=self.session.catalogue)
            else:
                from estimator.report import save_report

                save_report(path, s, est, comp)
        except ImportError as exc:
            self._error("Cannot export report", f"{suffix[1:].upper()} reports are not "
                        f"available in this installation ({exc.name or exc} is missing); "
                        "export Markdown, CSV or JSON instead.")
            return False
        except (EstimatorError, OSError) as exc:
            self._error("Cannot export report", friendly_message(exc))
            return False
        self.statusBar().showMessage(f"Exported {path}", 5000)
        return True

    def export_report_dialog(self, ext: str) -> bool:
        suggested = str(Path(self._default_dir()) / f"{self._stem()}-report.{ext}")
        path = self._ask_save_path(f"Export report as {ext.upper()}", suggested,
                                   f"{ext.upper()} (*.{ext})")
        if not path:
            return False
        path = with_suffix(path, ext)
        return self.export_report(path)

    def _stem(self) -> str:
        return self.session.path.stem if self.session.path else "estimate"

    # -- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not self.maybe_save():
            event.ignore()
            return
        self.autosave_timer.stop()
        self.remove_autosave()
        settings.set_value("geometry", self.saveGeometry())
        event.accept()

    def _about(self) -> None:
        QtWidgets.QMessageBox.about(
            self, f"About {APP_TITLE}",
            "Cost and hardware estimates for training and serving large language models, "
            "from published scaling laws (Hoffmann et al. 2022; Besiroglu et al. 2024; "
            "Kaplan et al. 2020; Sardana et al. 2023).")


def _si(v: float) -> str:
    return units.si(v)


def _screen_chart(chart) -> None:
    """Fit a chart to the window: the tab names it and the summary above it states the law,
    the hardware and the caveats, so its own title and footnote (which every export keeps:
    exports draw a chart of their own) leave the screen and the plot gets their height."""
    ci = chart.view.ci
    for item in (getattr(chart, "title_label", None), getattr(chart, "footnote_label", None)):
        if item is not None and item in getattr(ci, "items", {}):
            ci.removeItem(item)
