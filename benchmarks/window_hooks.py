"""Hooks the benchmark script (benchmarks/bench.py) uses to time the real window.

``python benchmarks/window_hooks.py first-paint`` starts the app as ``estimator gui`` does and
quits on its first paint (the start-up benchmark times that process)."""

from __future__ import annotations

import os
import time

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402


class _FirstPaint(QtCore.QObject):
    def __init__(self, app):
        super().__init__()
        self.app = app
        self.done = False

    def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
        if not self.done and event.type() == QtCore.QEvent.Type.Paint:
            self.done = True
            QtCore.QTimer.singleShot(0, self.app.quit)
        return False


def quit_after_first_paint(app, window) -> None:
    """Quit the event loop as soon as the window has painted once."""
    f = _FirstPaint(app)
    window._first_paint_filter = f  # keep a reference
    window.installEventFilter(f)
    QtCore.QTimer.singleShot(30_000, app.quit)  # never hang a benchmark


def _idle_window(size, kind: str | None = None):
    from estimator.gui.window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    w = MainWindow(theme="normal")
    w.resize(*size)
    w.show()
    # Start-up work first (the charts off screen are built one per event-loop turn after the
    # first paint; the start-up benchmark times that): an edit is timed on an idle window.
    deadline = time.perf_counter() + 30
    while not w.charts_ready() and time.perf_counter() < deadline:
        app.processEvents()
    if kind is not None:
        w.tabs.setCurrentIndex(list(w.charts).index(kind))
    for _ in range(5):
        app.processEvents()
    return app, w


def edit_to_redraw_ms(edits: int, size=(1600, 1000), kind: str | None = None) -> list[float]:
    """Milliseconds from an input edit (alternately the compute slider and the GPUs field,
    through session.update) to the window repainted: recompute, cards, the visible chart
    (``kind``, default the first tab's), and the paint Qt schedules for the changed widgets.
    The edits come back to back, as in a slider drag: a heavy chart is marked and waits."""
    values = np.logspace(22, 25, edits)

    def edit(s, i):
        if i % 2:
            s.update(mode="compute", compute_flops=float(values[i]))
        else:
            s.update(gpus=int(256 + 16 * i))

    return _timed_edits(_idle_window(size, kind), edit, edits)


def gpu_drag_ms(edits: int, size=(1600, 1000)) -> list[float]:
    """Milliseconds per edit of the GPU slider dragged on the GPU-count tab (GPU edits only:
    the chart follows live, searching the plan's count alone)."""
    return _timed_edits(_idle_window(size, "gpus"),
                        lambda s, i: s.update(gpus=int(256 + 24 * i)), edits)


def _timed_edits(app_window, edit, edits: int) -> list[float]:
    """Milliseconds of each of ``edits`` edits (``edit(session, i)``) to the repainted
    window; the window is closed after."""
    app, w = app_window
    s = w.session
    times = []
    for i in range(edits):
        t0 = time.perf_counter()
        edit(s, i)
        s.flush()
        app.processEvents()  # the posted update requests: one paint, as on screen
        times.append((time.perf_counter() - t0) * 1e3)
    s.dirty = False
    w.close()
    return times


def burst_end_ms(kinds, bursts: int = 5, size=(1600, 1000)) -> dict[str, list[float]]:
    """Per heavy chart kind: milliseconds of the update it gets when a burst of edits ends
    (the deferred comparison, sweep or sensitivity, and the paint), one per burst of three
    compute edits, each burst a new plan."""
    app, w = _idle_window(size)
    s = w.session
    out: dict[str, list[float]] = {}
    values = iter(np.logspace(22.2, 24.8, 3 * bursts * len(kinds)))
    for kind in kinds:
        w.tabs.setCurrentIndex(list(w.charts).index(kind))
        app.processEvents()
        times = []
        for _ in range(bursts):
            w.edit_burst_s = 3600.0  # the three edits are one burst
            for _e in range(3):
                s.update(mode="compute", compute_flops=float(next(values)))
                s.flush()
                app.processEvents()
            assert w.view_pending(kind), kind
            w._heavy_timer.stop()
            t0 = time.perf_counter()
            w._heavy_timer.timeout.emit()  # the burst has ended
            app.processEvents()
            times.append((time.perf_counter() - t0) * 1e3)
        out[kind] = times
    s.dirty = False
    w.close()
    return out


if __name__ == "__main__":  # the start-up benchmark's process
    import sys

    from estimator.gui.app import main

    if sys.argv[1:] == ["first-paint"]:
        raise SystemExit(main([], after_show=quit_after_first_paint))
    raise SystemExit("usage: python benchmarks/window_hooks.py first-paint")
