"""Fit your own scaling law: import a runs CSV, fit, inspect residuals and held-out error, and
use the law everywhere a built-in one is. The window only calls :mod:`estimator.fitting`.

Also the window's side of law files (:func:`use_law_file`, :func:`open_law_file`): a saved or
opened law joins the Law picker and becomes the scenario's law; a law in the user law folder
(:func:`estimator.catalogue.user_law_dir`) is referred to by its id, any other by its path."""

from __future__ import annotations

import math
import os
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from estimator.errors import EstimatorError  # noqa: E402
from estimator.fileio import MAX_CSV_BYTES  # noqa: E402
from estimator.textsafe import html_text  # noqa: E402

OKABE_BLUE = (0, 114, 178)
OKABE_ORANGE = (230, 159, 0)
OKABE_GREY = (120, 120, 120)


class _FitWorker(QtCore.QThread):
    """Runs the fit off the GUI thread (a full grid and bootstrap take a second or two)."""

    # payload: (RunsData, FitResult)
    done = QtCore.Signal(object, object)
    # payload: one-line message
    failed = QtCore.Signal(str)

    def __init__(
        self, path: str, exclude_flagged: bool, bootstrap: int, holdout_above, parent=None
    ):
        super().__init__(parent)
        self.args = (path, exclude_flagged, bootstrap, holdout_above)

    def run(self) -> None:
        from estimator import fitting

        path, exclude, k, holdout = self.args
        try:
            runs = fitting.read_runs_csv(path, exclude_flagged=exclude)
            result = fitting.fit_law(runs, bootstrap_k=k, seed=0, holdout_above=holdout)
        except EstimatorError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # never a traceback dialog
            self.failed.emit(f"the fit failed unexpectedly ({exc.__class__.__name__}: {exc})")
            return
        self.done.emit(runs, result)


class FitDialog(QtWidgets.QDialog):
    """Import runs, fit L = E + A/N^alpha + B/D^beta, look at it, and use it."""

    # payload: path of the saved law YAML
    law_saved = QtCore.Signal(str)

    def __init__(self, parent=None, *, save_dir: str | Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Fit a scaling law to your runs")
        self.resize(1100, 760)
        self.runs = None
        self.result = None
        self._worker: _FitWorker | None = None
        self.save_dir = Path(save_dir) if save_dir else None

        # -- inputs ------------------------------------------------------------------------
        self.path_edit = QtWidgets.QLineEdit()
        self.path_edit.setPlaceholderText(
            "runs.csv with columns params (N), tokens (D) or compute (C), and loss"
        )
        browse = QtWidgets.QPushButton("Import CSV…")
        browse.clicked.connect(self._browse)
        self.exclude = QtWidgets.QCheckBox("Drop rows flagged in an 'excluded…' column")
        self.exclude.setChecked(False)
        self.exclude.setEnabled(False)
        self.exclude.setToolTip("Import a CSV first: offered when it has a flag column")
        self.flag_column: str | None = None
        self.path_edit.textChanged.connect(self._sniff_flag_column)
        self.bootstrap = QtWidgets.QSpinBox()
        self.bootstrap.setRange(0, 5000)
        self.bootstrap.setValue(200)
        self.bootstrap.setSuffix(" resamples")
        self.holdout = QtWidgets.QLineEdit()
        self.holdout.setPlaceholderText("e.g. 1e21 (optional)")
        self.fit_button = QtWidgets.QPushButton("Fit")
        self.fit_button.setDefault(True)
        self.fit_button.clicked.connect(self.start_fit)

        form = QtWidgets.QGridLayout()
        form.addWidget(QtWidgets.QLabel("Runs file"), 0, 0)
        form.addWidget(self.path_edit, 0, 1, 1, 3)
        form.addWidget(browse, 0, 4)
        form.addWidget(self.exclude, 1, 1, 1, 2)
        form.addWidget(QtWidgets.QLabel("Bootstrap"), 2, 0)
        form.addWidget(self.bootstrap, 2, 1)
        form.addWidget(QtWidgets.QLabel("Hold out runs above (FLOPs)"), 2, 2)
        form.addWidget(self.holdout, 2, 3)
        form.addWidget(self.fit_button, 2, 4)

        self.status = QtWidgets.QLabel("Import a CSV of your runs and press Fit.")
        self.status.setWordWrap(True)
        self.status.setObjectName("fitStatus")

        # -- results -----------------------------------------------------------------------
        self.table = QtWidgets.QTableWidget(5, 4)
        self.table.setHorizontalHeaderLabels(["parameter", "value", "std. error", "95% interval"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for i, name in enumerate(("E", "A", "B", "alpha", "beta")):
            self.table.setItem(i, 0, QtWidgets.QTableWidgetItem(name))
        self.table.setMaximumHeight(190)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)

        pg.setConfigOptions(antialias=True)
        self.fit_plot = pg.PlotWidget(background="w")
        self.fit_plot.setTitle("Observed vs fitted loss", color="k")
        self.fit_plot.setLabel("bottom", "fitted loss (nats/token)")
        self.fit_plot.setLabel("left", "observed loss (nats/token)")
        self.fit_plot.addLegend(offset=(10, 10), labelTextColor="k")
        self.diag = self.fit_plot.plot(
            [],
            [],
            pen=pg.mkPen(OKABE_GREY, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
            name="observed = fitted",
        )
        self.fit_points = self.fit_plot.plot(
            [],
            [],
            pen=None,
            symbol="o",
            symbolSize=6,
            symbolBrush=pg.mkBrush(*OKABE_BLUE, 160),
            symbolPen=None,
            name="runs (fit on all)",
        )
        from estimator.gui.charts import SmartAxis  # readable log ticks ("1e21")

        self.res_plot = pg.PlotWidget(
            background="w", axisItems={"bottom": SmartAxis("bottom", fmt="flops")}
        )
        self.res_plot.setTitle("Residuals vs training compute", color="k")
        self.res_plot.setLogMode(x=True, y=False)
        self.res_plot.setLabel("bottom", "training compute C = 6ND (FLOPs)")
        self.res_plot.setLabel("left", "log(observed / fitted)")
        self.res_plot.getAxis("left").enableAutoSIPrefix(False)
        self.res_plot.addLegend(offset=(10, 10), labelTextColor="k")
        self.res_plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen(OKABE_GREY, width=1)))
        self.res_points = self.res_plot.plot(
            [],
            [],
            pen=None,
            symbol="o",
            symbolSize=6,
            symbolBrush=pg.mkBrush(*OKABE_BLUE, 160),
            symbolPen=None,
            name="all-runs fit",
        )
        self.holdout_points = self.res_plot.plot(
            [],
            [],
            pen=None,
            symbol="t",
            symbolSize=9,
            symbolBrush=pg.mkBrush(*OKABE_ORANGE, 220),
            symbolPen=None,
            name="held-out runs (fit on the rest)",
        )
        for p in (self.fit_plot, self.res_plot):
            for ax in ("left", "bottom"):
                p.getAxis(ax).setTextPen("k")
                p.getAxis(ax).setPen("k")
            p.showGrid(x=True, y=True, alpha=0.2)

        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.fit_plot)
        plots.addWidget(self.res_plot)

        self.law_id = QtWidgets.QLineEdit("my-fit")
        self.use_button = QtWidgets.QPushButton("Save law and use it…")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.save_and_use)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.reject)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(QtWidgets.QLabel("Law id"))
        bottom.addWidget(self.law_id)
        bottom.addStretch(1)
        bottom.addWidget(self.use_button)
        bottom.addWidget(close)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.status)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.table, 3)
        top.addWidget(self.summary, 2)
        lay.addLayout(top)
        lay.addLayout(plots, 1)
        lay.addLayout(bottom)

    # -- actions ---------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Import runs", "", "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.path_edit.setText(path)

    def _sniff_flag_column(self, _text: str = "") -> str | None:
        """Offer "Drop flagged rows" only when the CSV has a flag column (one of
        :data:`estimator.fitting.FLAG_ALIASES`), ticked then: a plain CSV fits as it is."""
        from estimator import fitting

        path = self.path_edit.text().strip()
        found = None
        try:  # only a regular file of a sane size is read (never a FIFO or a device)
            if path and os.path.isfile(path) and os.path.getsize(path) <= MAX_CSV_BYTES:
                header = fitting.read_header(path)
                found = next((n for n in fitting.FLAG_ALIASES if n in header), None)
        except (EstimatorError, OSError):
            found = None
        if found != self.flag_column:
            self.exclude.setChecked(found is not None)
        self.flag_column = found
        self.exclude.setEnabled(found is not None)
        if found is not None:
            self.exclude.setText(f"Drop rows flagged in the '{found}' column")
            self.exclude.setToolTip("Rows with 1, true, yes or x in that column are left out")
        else:
            self.exclude.setText("Drop flagged rows (this file has no flag column)")
            self.exclude.setToolTip("A column named " + ", ".join(fitting.FLAG_ALIASES)
                                    + " with 1 for the runs to leave out enables this")
        return found

    def _holdout_value(self):
        from estimator.units import parse_number

        text = self.holdout.text().strip()
        if not text:
            return None
        try:
            v = parse_number(text)
        except ValueError:
            raise EstimatorError(
                f"hold-out threshold '{text}' is not a number of FLOPs (e.g. 1e21)"
            ) from None
        if v <= 0:
            raise EstimatorError("the hold-out threshold must be a positive number of FLOPs")
        return v

    def start_fit(self) -> None:
        path = self.path_edit.text().strip()
        if not path:
            self._error("choose a runs CSV first (Import CSV…)")
            return
        try:
            holdout = self._holdout_value()
        except EstimatorError as exc:
            self._error(str(exc))
            return
        self.fit_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(
            "Fitting: 4,500 L-BFGS starts"
            + (f" and {self.bootstrap.value()} bootstrap refits" if self.bootstrap.value() else "")
            + "…"
        )
        exclude = self._sniff_flag_column() is not None and self.exclude.isChecked()
        self._worker = _FitWorker(path, exclude, self.bootstrap.value(), holdout, self)
        self._worker.done.connect(self._show)
        self._worker.failed.connect(self._error)
        self._worker.finished.connect(lambda: self.fit_button.setEnabled(True))
        self._worker.start()

    def wait_for_fit(self, timeout_ms: int = 60_000) -> bool:
        """Block until the running fit ends (tests and scripts)."""
        if self._worker is None:
            return True
        ok = self._worker.wait(timeout_ms)
        QtWidgets.QApplication.processEvents()
        return ok

    def _error(self, message: str) -> None:
        self.status.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # messages quote file text
        self.status.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.status.setText(message)

    def _show(self, runs, result) -> None:
        self.runs, self.result = runs, result
        iv = result.intervals or {}
        se = result.stderr or {}
        for i, name in enumerate(("E", "A", "B", "alpha", "beta")):
            self.table.setItem(i, 1, QtWidgets.QTableWidgetItem(f"{getattr(result, name):.5g}"))
            self.table.setItem(
                i, 2, QtWidgets.QTableWidgetItem(f"{se[name]:.3g}" if name in se else "—")
            )
            self.table.setItem(
                i,
                3,
                QtWidgets.QTableWidgetItem(
                    f"[{iv[name][0]:.4g}, {iv[name][1]:.4g}]" if name in iv else "—"
                ),
            )
        fr = result.fitted_range
        lines = [
            f"<b>{result.n_runs} runs</b> fitted ({result.n_skipped} skipped, "
            f"{result.n_excluded} excluded); objective {result.objective:.6g} "
            f"(Huber δ = {result.delta:g} on log loss, best of {result.n_starts:,} starts)",
            f"Fitted range: N {fr.params_min:.3g}–{fr.params_max:.3g}, "
            f"D {fr.tokens_min:.3g}–{fr.tokens_max:.3g}. Estimates far outside it are "
            "flagged as extrapolation.",
        ]
        if result.n_bootstrap:
            lines.append(
                f"Bootstrap: {result.n_bootstrap} resamples (seed {result.bootstrap_seed}); "
                "the samples travel with the saved law and give P10–P90 bands."
            )
        if result.holdout is not None:
            h = result.holdout
            lines.append(
                f"Held out {h.n_holdout} runs above {self._holdout_value():.3g} FLOPs: "
                f"mean abs error {h.mean_abs_error:.4f} nats, max relative error "
                f"{h.max_rel_error:.1%} (fit on {h.n_train})."
            )
        for line, reason in list(result.skipped)[:5]:
            lines.append(f"Skipped line {line}: {html_text(reason)}")
        self.summary.setText("<br>".join(lines))
        # plots
        fitted = np.asarray(result.predict(runs.params, runs.tokens), dtype=float)
        obs = np.asarray(runs.loss, dtype=float)
        lo, hi = float(min(fitted.min(), obs.min())), float(max(fitted.max(), obs.max()))
        self.diag.setData([lo, hi], [lo, hi])
        self.fit_points.setData(fitted, obs)
        compute = 6.0 * np.asarray(runs.params) * np.asarray(runs.tokens)
        self.res_points.setData(compute, np.log(obs / fitted))  # log mode takes raw x
        if result.holdout is not None and result.holdout.predictions:
            preds = result.holdout.predictions
            hc = np.array([p["compute_flops"] for p in preds], dtype=float)
            hr = np.array([math.log(p["loss"] / p["predicted"]) for p in preds], dtype=float)
            self.holdout_points.setData(hc, hr)
        else:
            self.holdout_points.setData([], [])
        self.status.setStyleSheet("")
        self.status.setText(
            f"Fit done in {result.seconds:.2f} s"
            + (f" + bootstrap {result.bootstrap_seconds:.1f} s" if result.n_bootstrap else "")
            + ". Save the law to use it in estimates."
        )
        self.use_button.setEnabled(True)

    def save_and_use(self, path: str | None = None) -> str | None:
        """Save the fitted law as YAML (atomic) and announce it with ``law_saved``."""
        from estimator import fitting

        if self.result is None:
            return None
        law_id = self.law_id.text().strip() or "my-fit"
        if not path:
            start = str(_save_folder(self.save_dir) / f"{law_id}.yaml")
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Save fitted law", start, "Law files (*.yaml)"
            )
            if not path:
                return None
        try:
            fitting.save_fitted_law(self.result, path, law_id)
            from estimator.laws import load_law_file

            load_law_file(path)  # prove it loads before offering it
        except (EstimatorError, OSError) as exc:
            self._error(f"could not save the law: {exc}")
            return None
        self.status.setStyleSheet("")
        self.status.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.status.setText(f"Saved law '{law_id}' to {path}.")
        self.law_saved.emit(str(path))
        return str(path)

    def show_use_result(self, ok: bool, message: str) -> None:
        """What the window did with the saved law (used, or why it cannot estimate with it)."""
        if ok:
            self.status.setStyleSheet("")
            self.status.setText(f"{self.status.text()} {message}")
        else:
            self._error(message)


def _save_folder(save_dir: Path | None) -> Path:
    """Where the save dialog starts: the given folder, else the user law folder (a law saved
    there is listed in every session), else the home folder."""
    if save_dir is not None:
        return save_dir
    from estimator.catalogue import user_law_dir

    folder = user_law_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path.home()
    return folder


# ---------------------------------------------------------------------------------------
# Law files in the window
# ---------------------------------------------------------------------------------------

LAW_FILTER = "Law files (*.yaml *.yml);;All files (*)"


def law_ref_for(path: str | Path, catalogue) -> str:
    """How a scenario names the law in ``path``: its id when the catalogue loaded that very
    file (a law in the user law folder), else the path."""
    real = os.path.realpath(str(path))
    for lid, origin in catalogue.law_origin.items():
        if origin != "built-in" and os.path.realpath(origin) == real:
            return lid
    return str(path)


def use_law_file(window, path: str | Path) -> tuple[bool, str]:
    """Make the law in ``path`` the window's law: it joins the Law picker and is selected, and
    the estimate follows. Returns (used, message); when the scenario cannot be estimated with
    the law, the message says why (the law stays listed, the last estimate stays)."""
    from estimator.gui.session import friendly_message

    session = window.session
    cat = session.catalogue
    try:
        law = cat.law(str(path))  # read and validated once (cached by file)
    except (EstimatorError, OSError) as exc:
        return False, f"Cannot use the law file: {friendly_message(exc)}"
    cat = session.catalogue  # reloaded if the file went into the user law folder
    ref = law_ref_for(path, cat)
    window.inputs.add_law(ref)
    before = dict(session.errors)
    ok = session.update(law=ref)
    session.flush()
    if ok and session.scenario.law == ref:
        window.inputs.refresh_laws()
        return True, f"The window now uses the law '{law.id}'."
    new = [msg for name, msg in session.errors.items() if before.get(name) != msg]
    why = new[0] if new else next(iter(session.errors.values()), "the estimate failed")
    return False, (f"The law '{law.id}' is listed under Law, but the window cannot estimate "
                   f"this scenario with it: {why}")


def open_law_file(window, path: str | None = None) -> bool:
    """File > Open law…: ask for a law file, load it, list and select it."""
    if not isinstance(path, (str, os.PathLike)):  # None, or a QAction's "checked" flag
        path = None
    if path is None:
        path = window._ask_open_path("Open a scaling-law file", LAW_FILTER)
        if not path:
            return False
    ok, message = use_law_file(window, path)
    if ok:
        window.statusBar().showMessage(f"Opened law {Path(path).name}. {message}", 8000)
    else:
        window._error("Cannot use the law", message)
    return ok
