"""Persistent window settings (QSettings): recent scenario files, theme, geometry; and where
unsaved work is autosaved.

``ESTIMATOR_SETTINGS_DIR`` and ``ESTIMATOR_AUTOSAVE_DIR`` override the locations (tests use them
so they never touch the user's configuration).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore

ORGANIZATION = "llm-cost-estimator"
APPLICATION = "LLM Cost Estimator"
ENV_SETTINGS_DIR = "ESTIMATOR_SETTINGS_DIR"
ENV_AUTOSAVE_DIR = "ESTIMATOR_AUTOSAVE_DIR"
MAX_RECENT = 8
AUTOSAVE_NAME = "autosave.yaml"
AUTOSAVE_META = "autosave.json"


def qsettings() -> QtCore.QSettings:
    """The application's settings store (an INI file; ``$ESTIMATOR_SETTINGS_DIR`` if set)."""
    folder = os.environ.get(ENV_SETTINGS_DIR)
    if folder:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError:  # an unwritable folder: settings are then not kept, nothing fails
            pass
        return QtCore.QSettings(str(Path(folder) / "settings.ini"),
                                QtCore.QSettings.Format.IniFormat)
    return QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                            ORGANIZATION, APPLICATION)


def autosave_dir() -> Path:
    """Folder of the autosave file: ``$ESTIMATOR_AUTOSAVE_DIR`` or the app-data location."""
    folder = os.environ.get(ENV_AUTOSAVE_DIR)
    if not folder:
        folder = QtCore.QStandardPaths.writableLocation(
            QtCore.QStandardPaths.StandardLocation.AppDataLocation)
        if not folder:
            folder = str(Path.home() / ".llm-cost-estimator")
    return Path(folder)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v]


def recent_files() -> list[str]:
    return _as_list(qsettings().value("recent_files"))[:MAX_RECENT]


def set_recent_files(paths: list[str]) -> None:
    s = qsettings()
    s.setValue("recent_files", list(paths)[:MAX_RECENT])
    s.sync()


def add_recent_file(path: str | Path) -> list[str]:
    """Put ``path`` first in the recent list (no duplicates, at most MAX_RECENT)."""
    p = str(Path(path).resolve())
    paths = [p] + [q for q in recent_files() if q != p]
    set_recent_files(paths[:MAX_RECENT])
    return paths[:MAX_RECENT]


def prune_recent_files() -> tuple[list[str], list[str]]:
    """Drop files that no longer exist; returns (kept, removed)."""
    paths = recent_files()
    kept = [p for p in paths if Path(p).is_file()]
    removed = [p for p in paths if p not in kept]
    if removed:
        set_recent_files(kept)
    return kept, removed


def value(key: str, default=None):
    return qsettings().value(key, default)


def set_value(key: str, val) -> None:
    s = qsettings()
    s.setValue(key, val)
    s.sync()
