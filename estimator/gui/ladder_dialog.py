"""Plan a scaling ladder: the small runs to buy before a big run, costed on the hardware, with
the precision they will give predicted by simulation. The window only calls
:func:`estimator.ladder.plan_ladder` (off the GUI thread, cancellable) and draws its result."""

from __future__ import annotations

import math
import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from estimator import units  # noqa: E402
from estimator.errors import EstimatorError  # noqa: E402

OKABE_BLUE = (0, 114, 178)
OKABE_ORANGE = (230, 159, 0)
OKABE_VERMILION = (213, 94, 0)
OKABE_GREY = (120, 120, 120)

TARGET_KINDS = (
    ("compute", "Big run compute (FLOPs)", "1e24"),
    ("loss", "Big run loss (nats/token)", "2.0"),
    ("budget", "Big run budget (USD)", "3e6"),
)
TABLE_COLUMNS = ("role", "params", "tokens", "tokens/param", "FLOPs", "GPUs", "GPU-hours",
                 "cost", "days")


class _PlanWorker(QtCore.QThread):
    """Runs :func:`plan_ladder` off the GUI thread (a plan takes 10-30 s)."""

    # payload: (fraction 0-1, message)
    progress = QtCore.Signal(float, str)
    # payload: LadderPlan
    done = QtCore.Signal(object)
    # payload: one-line message
    failed = QtCore.Signal(str)
    # payload: none
    cancelled = QtCore.Signal()

    def __init__(self, kwargs: dict, parent=None):
        super().__init__(parent)
        self.kwargs = kwargs
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    def run(self) -> None:
        from estimator.ladder import LadderCancelled, plan_ladder

        try:
            plan = plan_ladder(**self.kwargs, progress=lambda f, m: self.progress.emit(f, m),
                               cancel=lambda: self._stop)
        except LadderCancelled:
            self.cancelled.emit()
            return
        except EstimatorError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # never a traceback dialog
            self.failed.emit(f"planning failed unexpectedly ({exc.__class__.__name__}: {exc})")
            return
        self.done.emit(plan)


def _style(plot: pg.PlotWidget) -> None:
    for ax in ("left", "bottom"):
        plot.getAxis(ax).setTextPen("k")
        plot.getAxis(ax).setPen("k")
    plot.showGrid(x=True, y=True, alpha=0.2)


class LadderDialog(QtWidgets.QDialog):
    """Choose a target and a ladder budget, plan, and look at the runs, their cost and the
    band the ladder buys against its budget."""

    def __init__(self, parent=None, *, hardware: str = "h100-sxm", gpus: int = 1024,
                 price_tier: str = "on_demand", law: str = "epoch-2024"):
        super().__init__(parent)
        self.setWindowTitle("Plan a scaling ladder")
        self.resize(1200, 820)
        self.plan = None
        self._worker: _PlanWorker | None = None
        self.law = law

        # -- inputs ------------------------------------------------------------------------
        self.target_kind = QtWidgets.QComboBox()
        for key, label, _ in TARGET_KINDS:
            self.target_kind.addItem(label, key)
        self.target_value = QtWidgets.QLineEdit(TARGET_KINDS[0][2])
        self.target_kind.currentIndexChanged.connect(
            lambda i: self.target_value.setText(TARGET_KINDS[i][2]))
        self.budget = QtWidgets.QLineEdit("20000")
        self.hardware = QtWidgets.QComboBox()
        self.hardware.setEditable(True)
        try:
            from estimator.hardware import builtin_profiles

            self.hardware.addItems(sorted(builtin_profiles()))
        except EstimatorError:
            pass
        self.hardware.setCurrentText(hardware)
        self.gpus = QtWidgets.QSpinBox()
        self.gpus.setRange(1, 10_000_000)
        self.gpus.setValue(int(gpus))
        self.price_tier = QtWidgets.QComboBox()
        self.price_tier.addItems(["on_demand", "reserved", "spot"])
        self.price_tier.setCurrentText(price_tier)
        self.prior = QtWidgets.QComboBox()
        for key, label in (("samples", "law's samples"), ("point", "law's constants only"),
                           ("wide", "wide (new domain)")):
            self.prior.addItem(label, key)
        self.plan_button = QtWidgets.QPushButton("Plan")
        self.plan_button.setDefault(True)
        self.plan_button.clicked.connect(self.start_plan)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_plan)

        form = QtWidgets.QGridLayout()
        form.addWidget(self.target_kind, 0, 0)
        form.addWidget(self.target_value, 0, 1)
        form.addWidget(QtWidgets.QLabel("Ladder budget (USD)"), 0, 2)
        form.addWidget(self.budget, 0, 3)
        form.addWidget(QtWidgets.QLabel("Prior"), 0, 4)
        form.addWidget(self.prior, 0, 5)
        form.addWidget(QtWidgets.QLabel("Hardware"), 1, 0)
        form.addWidget(self.hardware, 1, 1)
        form.addWidget(QtWidgets.QLabel("Most GPUs per run"), 1, 2)
        form.addWidget(self.gpus, 1, 3)
        form.addWidget(QtWidgets.QLabel("Price"), 1, 4)
        form.addWidget(self.price_tier, 1, 5)
        form.addWidget(self.plan_button, 0, 6)
        form.addWidget(self.cancel_button, 1, 6)

        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.status = QtWidgets.QLabel("Choose the big run and the ladder budget, then Plan.")
        self.status.setWordWrap(True)
        self.status.setObjectName("ladderStatus")

        # -- results -----------------------------------------------------------------------
        from estimator.gui.charts import SmartAxis  # readable log ticks

        pg.setConfigOptions(antialias=True)
        self.nd_plot = pg.PlotWidget(background="w", axisItems={
            "bottom": SmartAxis("bottom", fmt="count"), "left": SmartAxis("left", fmt="count")})
        self.nd_plot.setTitle("Runs on the N-D plane", color="k")
        self.nd_plot.setLogMode(x=True, y=True)
        self.nd_plot.setLabel("bottom", "parameters N")
        self.nd_plot.setLabel("left", "training tokens D")
        self.nd_plot.addLegend(offset=(10, 10), labelTextColor="k")
        self.fit_runs = self.nd_plot.plot([], [], pen=None, symbol="o", symbolSize=8,
                                          symbolBrush=pg.mkBrush(*OKABE_BLUE, 200),
                                          symbolPen=None, name="fitted runs")
        self.holdout_run = self.nd_plot.plot([], [], pen=None, symbol="t", symbolSize=12,
                                             symbolBrush=pg.mkBrush(*OKABE_ORANGE, 230),
                                             symbolPen=None, name="held-out run")
        self.target_line = self.nd_plot.plot(
            [], [], pen=pg.mkPen(OKABE_GREY, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
            name="target compute C = 6ND")
        self.target_band = self.nd_plot.plot([], [], pen=pg.mkPen(OKABE_VERMILION, width=5),
                                             name="predicted N*, D* (P10-P90)")
        self.target_point = self.nd_plot.plot([], [], pen=None, symbol="star", symbolSize=16,
                                              symbolBrush=pg.mkBrush(*OKABE_VERMILION),
                                              symbolPen=None, name="target N*, D* (law)")
        self.curve_plot = pg.PlotWidget(background="w", axisItems={
            "bottom": SmartAxis("bottom", fmt="usd"), "left": SmartAxis("left")})
        self.curve_plot.setTitle("Band against ladder budget", color="k")
        self.curve_plot.setLogMode(x=True, y=True)
        self.curve_plot.setLabel("bottom", "ladder budget (USD)")
        self.curve_plot.setLabel("left", "fitted N* / true N*")
        self.curve_plot.addLegend(offset=(10, 10), labelTextColor="k")
        self.curve_hi = self.curve_plot.plot([], [], pen=pg.mkPen(OKABE_BLUE, width=2),
                                             symbol="o", symbolSize=6,
                                             name="P90 of fitted / true N*")
        self.curve_lo = self.curve_plot.plot([], [], pen=pg.mkPen(OKABE_BLUE, width=2,
                                                                   style=QtCore.Qt.PenStyle.DotLine),
                                             symbol="o", symbolSize=6, name="P10")
        # fitted = true (log mode: the line sits at log10(1) = 0)
        self.curve_plot.addItem(pg.InfiniteLine(0.0, angle=0, pen=pg.mkPen(OKABE_GREY, width=1)))
        self.curve_mark = pg.InfiniteLine(angle=90, pen=pg.mkPen(OKABE_VERMILION, width=1.5))
        self.curve_mark.setVisible(False)
        self.curve_plot.addItem(self.curve_mark)
        for p in (self.nd_plot, self.curve_plot):
            _style(p)

        self.table = QtWidgets.QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)

        self.save_button = QtWidgets.QPushButton("Save runs CSV…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_runs)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.reject)

        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.nd_plot, 1)
        plots.addWidget(self.curve_plot, 1)
        lower = QtWidgets.QHBoxLayout()
        lower.addWidget(self.table, 3)
        lower.addWidget(self.summary, 2)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(close)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addLayout(plots, 3)
        lay.addLayout(lower, 2)
        lay.addLayout(bottom)

    # -- inputs ----------------------------------------------------------------------------
    def _number(self, edit: QtWidgets.QLineEdit, what: str) -> float:
        text = edit.text().strip().replace("$", "").replace(",", "")
        try:
            v = units.parse_number(text)
        except ValueError:
            raise EstimatorError(
                f"{what} '{edit.text()}' is not a number (e.g. 1e24, 20k)") from None
        if not (math.isfinite(v) and v > 0):
            raise EstimatorError(f"{what} must be a positive number")
        return v

    def plan_kwargs(self) -> dict:
        """The :func:`plan_ladder` arguments from the inputs (EstimatorError if unreadable)."""
        from estimator.ladder import RunHardware, Target

        kind = self.target_kind.currentData()
        value = self._number(self.target_value, self.target_kind.currentText())
        field = {"compute": "compute_flops", "loss": "loss", "budget": "budget_usd"}[kind]
        target = Target(**{field: value})
        return {"target": target,
                "ladder_budget_usd": self._number(self.budget, "the ladder budget"),
                "hardware": RunHardware(hardware=self.hardware.currentText().strip(),
                                        max_gpus=int(self.gpus.value()),
                                        price_tier=self.price_tier.currentText()),
                "law": self.law, "prior": self.prior.currentData()}

    # -- actions ---------------------------------------------------------------------------
    def start_plan(self, **overrides) -> None:
        """Plan off the GUI thread; ``overrides`` go to :func:`plan_ladder` (tests use fewer
        simulations)."""
        try:
            kwargs = {**self.plan_kwargs(), **overrides}
        except EstimatorError as exc:
            self._error(str(exc))
            return
        self.plan_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.save_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setStyleSheet("")
        self.status.setText("Planning: costing runs and simulating ladders…")
        self._worker = _PlanWorker(kwargs, self)
        self._worker.progress.connect(self._progress)
        self._worker.done.connect(self.show_plan)
        self._worker.failed.connect(self._error)
        self._worker.cancelled.connect(self._cancelled)
        self._worker.finished.connect(self._finished)
        self._worker.start()

    def cancel_plan(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.status.setText("Cancelling…")

    def wait_for_plan(self, timeout_ms: int = 120_000) -> bool:
        """Block until the running plan ends (tests and scripts)."""
        if self._worker is None:
            return True
        ok = self._worker.wait(timeout_ms)
        QtWidgets.QApplication.processEvents()
        return ok

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        self.status.setText(f"Planning: {message}…")

    def _finished(self) -> None:
        self.plan_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _cancelled(self) -> None:
        self.progress.setValue(0)
        self.status.setStyleSheet("")
        self.status.setText("Cancelled. Change the inputs and Plan again.")

    def _error(self, message: str) -> None:
        self.status.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.status.setText(message)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._worker is not None and self._worker.isRunning():
            self._worker.cancel()
            self._worker.wait(5000)
        super().closeEvent(event)

    def reject(self) -> None:
        if self._worker is not None and self._worker.isRunning():
            self._worker.cancel()
            self._worker.wait(5000)
        super().reject()

    # -- results ---------------------------------------------------------------------------
    def show_plan(self, plan) -> None:
        self.plan = plan
        d = plan.to_dict()
        runs = d["runs"]
        fit = [r for r in runs if not r["holdout"]]
        hold = [r for r in runs if r["holdout"]]
        self.fit_runs.setData([r["params"] for r in fit], [r["tokens"] for r in fit])
        self.holdout_run.setData([r["params"] for r in hold], [r["tokens"] for r in hold])
        t, pr = d["target"], d["predicted"]
        c = t["compute_flops"]
        n_all = [r["params"] for r in runs] + [t["params_opt"], pr["params_opt_p10"],
                                               pr["params_opt_p90"]]
        ns = np.geomspace(min(n_all) / 2, max(n_all) * 2, 50)
        self.target_line.setData(ns, c / (6.0 * ns))
        band_n = np.geomspace(pr["params_opt_p10"], pr["params_opt_p90"], 20)
        self.target_band.setData(band_n, c / (6.0 * band_n))
        self.target_point.setData([t["params_opt"]], [t["tokens_opt"]])
        rows = [r for r in d["budget_curve"] if r.get("design")]
        self.curve_hi.setData([r["budget_usd"] for r in rows],
                              [r["params_opt_error_p90"] for r in rows])
        self.curve_lo.setData([r["budget_usd"] for r in rows],
                              [r["params_opt_error_p10"] for r in rows])
        self.curve_mark.setPos(math.log10(d["ladder_budget_usd"]))  # log-mode x
        self.curve_mark.setVisible(True)

        self.table.setRowCount(len(runs))
        for i, r in enumerate(runs):
            cells = ("held out" if r["holdout"] else "fit", units.si(r["params"]),
                     units.si(r["tokens"]), f"{r['tokens_per_param']:.1f}",
                     f"{r['train_flops']:.2e}", str(r["gpus"]), f"{r['gpu_hours']:,.1f}",
                     units.usd(r["cost_usd"]), f"{r['wall_clock_days']:.2f}")
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                                          | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        de = d["design"]
        lines = [
            f"<b>{de['name']}</b>: {len(runs)} runs, {units.usd(d['total_cost_usd'])} of "
            f"{units.usd(d['ladder_budget_usd'])}",
            f"Target {units.flops(c)}: N* {units.si(t['params_opt'])}, D* "
            f"{units.si(t['tokens_opt'])} under '{d['prior']['law']}'; big run "
            f"{units.usd(t['big_run']['cost_usd'])}",
            f"After the ladder (P10–P90 of {pr['simulations']} simulated ladders): N* "
            f"{units.si(pr['params_opt_p10'])}–{units.si(pr['params_opt_p90'])}, D* "
            f"{units.si(pr['tokens_opt_p10'])}–{units.si(pr['tokens_opt_p90'])}, loss "
            f"{pr['loss_at_target_p10']:.3f}–{pr['loss_at_target_p90']:.3f}",
            f"Fitted N* within ×{pr['params_opt_error_p10']:.2f}–×"
            f"{pr['params_opt_error_p90']:.2f} of the truth; expected misallocation "
            f"{units.usd(pr['expected_waste_usd'])} of the big run",
            f"Assumed noise: sd {d['assumed_loss_noise']:.4f} of log loss (Hoffmann's runs "
            "around epoch-2024)" if d["noise_source"].startswith("standard") else
            f"Assumed noise: sd {d['assumed_loss_noise']:.4f} of log loss",
            f"Why: {de['why']}",
        ]
        if d.get("fidelity"):
            lines.append(f"Check: {d['fidelity']['note']}")
        lines += [f"<i>{w}</i>" for w in d["warnings"]]
        self.summary.setText("<br>".join(lines))
        self.progress.setValue(1000)
        self.status.setStyleSheet("")
        self.status.setText(f"Planned in {d['seconds']:.1f} s. Save the runs as a CSV, fill in "
                            "their losses, and review them with 'estimator ladder --results'.")
        self.save_button.setEnabled(True)

    def save_runs(self, path: str | None = None) -> str | None:
        """Write the planned runs as a CSV to fill in (atomic)."""
        from pathlib import Path

        from estimator.fileio import atomic_write_text

        if self.plan is None:
            return None
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save ladder runs",
                                                            str(Path.home() / "ladder.csv"),
                                                            "CSV files (*.csv)")
            if not path:
                return None
        try:
            atomic_write_text(Path(path), self.plan.runs_csv())
        except OSError as exc:
            self._error(f"could not save the runs: {exc.strerror or exc}")
            return None
        self.status.setText(f"Saved the runs to {path}.")
        return str(path)


def open_ladder_dialog(window) -> LadderDialog:
    """Open the dialog from the main window (Tools menu), seeded with its scenario's hardware,
    GPUs, price tier and law."""
    from estimator.gui.theme import apply_theme

    s = getattr(getattr(window, "session", None), "scenario", None)
    kwargs = {} if s is None else {"hardware": s.hardware, "gpus": s.gpus,
                                   "price_tier": s.price_tier, "law": s.law}
    dialog = LadderDialog(window, **kwargs)
    apply_theme(dialog, getattr(window, "theme", "normal"))
    dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    window.ladder_dialog = dialog
    return dialog
