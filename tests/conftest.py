"""Test setup shared by every test module: headless Qt, PySide6 for pyqtgraph."""

import os

# Before any Qt import: render offscreen (CI has no display) and never let pyqtgraph pick PyQt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# Prices are aged against this date, so which quotes are stale does not change with the day
# the suite runs (estimator.hardware.current_date).
os.environ.setdefault("ESTIMATOR_TODAY", "2026-11-30")

import pytest  # noqa: E402


@pytest.fixture
def gui_env(tmp_path, monkeypatch):
    """For tests that drive the window: settings, autosave, user laws and profiles in
    ``tmp_path``; message-box warnings recorded as (title, text); "save changes?" when a
    window closes answered Discard. Returns ``(tmp_path, warnings)``."""
    from PySide6 import QtWidgets  # here, not at import: the engine's tests run without Qt

    from estimator.catalogue import ENV_LAW_DIR
    from estimator.gui import settings

    mb = QtWidgets.QMessageBox
    monkeypatch.setenv(settings.ENV_SETTINGS_DIR, str(tmp_path / "settings"))
    monkeypatch.setenv(settings.ENV_AUTOSAVE_DIR, str(tmp_path / "autosave"))
    monkeypatch.setenv(ENV_LAW_DIR, str(tmp_path / "laws"))
    monkeypatch.setenv("ESTIMATOR_PROFILE_DIR", str(tmp_path / "profiles"))
    (tmp_path / "laws").mkdir()
    warnings: list[tuple[str, str]] = []

    def warning(parent, title, text, *a, **k):
        warnings.append((title, text))
        return mb.StandardButton.Ok

    monkeypatch.setattr(mb, "warning", staticmethod(warning))
    monkeypatch.setattr(mb, "question", staticmethod(lambda *a, **k: mb.StandardButton.Discard))
    return tmp_path, warnings


@pytest.fixture
def gui_window(qtbot, gui_env):
    """The real window, shown, in the normal theme, in :func:`gui_env`."""
    from estimator.gui.window import MainWindow

    w = MainWindow(theme="normal")
    qtbot.addWidget(w)
    w.show()
    yield w
    w.session.dirty = False
