"""Start the desktop window: ``estimator gui [SCENARIO.yaml]`` or ``estimator-gui``.

Sets the application and organisation names (QSettings keys), the theme, a ``sys.excepthook``
that logs unexpected errors and shows a short message instead of crashing, and offers to
restore autosaved work after a crash.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # before anything imports pyqtgraph

log = logging.getLogger("estimator.gui")

_window = None
_showing_error = False


def excepthook(exc_type, exc, tb) -> None:
    """Log an unexpected exception and tell the user briefly; never crash the window."""
    global _showing_error
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.error("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None or _showing_error:
        return
    _showing_error = True
    try:
        from estimator.errors import EstimatorError
        from estimator.gui.session import friendly_message

        if isinstance(exc, EstimatorError):
            text = friendly_message(exc)
        else:
            text = ("Something went wrong while updating the window. Your inputs are kept and "
                    "unsaved work is autosaved; the details were written to the log.")
        from estimator.textsafe import rich_plain

        parent = _window if _window is not None and _window.isVisible() else None
        if parent is not None:
            parent.statusBar().showMessage(text, 10000)
        QtWidgets.QMessageBox.warning(parent, "Something went wrong", rich_plain(text))
    finally:
        _showing_error = False


def main(argv: list[str] | None = None, *, after_show=None) -> int:
    """Open the window; ``argv`` may hold one scenario file to open. Returns the exit code.

    ``after_show(app, window)``, when given, is called once the window is shown, before the
    event loop starts (the benchmarks use it to time the first paint)."""
    global _window
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from estimator.gui.display import display_problem, qt_problem

    problem = qt_problem() or display_problem()
    if problem is not None:  # Qt would abort the process with a cryptic message: say the fix
        sys.stderr.write(f"estimator: error: {problem}\n")
        return 2
    from PySide6 import QtCore, QtGui, QtWidgets

    from estimator.gui import settings

    QtCore.QCoreApplication.setOrganizationName(settings.ORGANIZATION)
    QtCore.QCoreApplication.setApplicationName(settings.APPLICATION)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0], *argv])
    app.setApplicationDisplayName(settings.APPLICATION)
    from estimator.gui.resources import icon_path

    icon = icon_path()
    if icon is not None:
        app.setWindowIcon(QtGui.QIcon(str(icon)))
    app.setStyle("Fusion")
    sys.excepthook = excepthook

    from estimator.gui.window import MainWindow

    window = MainWindow()
    _window = window
    geometry = settings.value("geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
        window.show()
    else:  # first start: the window's own size, or the whole screen of a smaller laptop
        screen = app.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        if avail is not None and (avail.width() < 1600 or avail.height() < 1000):
            window.showMaximized()
        else:
            window.show()
    if after_show is not None:
        after_show(app, window)
    paths = [a for a in argv if not a.startswith("-")]
    if paths:  # opening a file never discards other windows' autosaves: they are offered next
        window.load_file(paths[0])
    QtCore.QTimer.singleShot(0, window.offer_restore)
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
