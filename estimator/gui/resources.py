"""Files the window ships with (the app icon), found in the installed wheel or a source checkout."""

from __future__ import annotations

from pathlib import Path


def icon_path() -> Path | None:
    """The app icon: shipped in the wheel as estimator/resources/icon.svg, or the source
    checkout's top-level resources/icon.svg."""
    for candidate in (Path(__file__).resolve().parents[1] / "resources" / "icon.svg",
                      Path(__file__).resolve().parents[2] / "resources" / "icon.svg"):
        if candidate.is_file():
            return candidate
    return None
