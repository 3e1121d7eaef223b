"""Before the window opens: can Qt reach a screen on this machine? If not, say what to install.

On Linux, Qt's ``xcb`` platform plugin needs X11/xcb libraries that a fresh machine (a server
image, a minimal container, WSL) often lacks; Qt then aborts the process with "Could not load
the Qt platform plugin "xcb"", which Python cannot catch. :func:`display_problem` checks the
libraries first (the list below is ``ldd`` of PySide6 6.10's ``libqxcb.so`` and
``libQt6XcbQpa.so.6``, plus ``libQt6Gui``'s GL/EGL/fontconfig) and returns a message naming the
packages to install, or ``None`` when the window can start.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: shared library (soname) -> (Debian/Ubuntu package, Fedora/RHEL package)
XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}


def qt_problem() -> str | None:
    """Why Qt cannot be imported at all (the ``gui`` extra not installed), or None."""
    import importlib.util

    def absent(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is None
        except (ImportError, ValueError):
            return True

    missing = [m for m in ("PySide6", "pyqtgraph") if absent(m)]
    if not missing:
        return None
    return (f"the window needs {' and '.join(missing)}, which are not installed: install the "
            "window with pip install \"llm-cost-estimator[gui]\" (from a checkout: "
            "pip install \".[gui]\"). The command line works without them.")


def missing_libraries(names=None) -> list[str]:
    """The sonames of ``names`` (default: :data:`XCB_LIBRARIES`) the dynamic loader cannot
    load."""
    missing = []
    for soname in names if names is not None else XCB_LIBRARIES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def display_problem(environ=None, platform: str | None = None, missing=None) -> str | None:
    """Why the window cannot open here (one paragraph naming the fix), or None.

    ``environ``, ``platform`` and ``missing`` (a list of missing sonames) are for tests."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if not plat.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").strip().lower()
    if qpa and not qpa.startswith("xcb"):
        return None  # offscreen, wayland, vnc...: not the xcb plugin
    if not qpa and not env.get("DISPLAY") and env.get("WAYLAND_DISPLAY"):
        return None  # Qt picks its wayland plugin
    if not env.get("DISPLAY"):
        return ("no display to open the window on (DISPLAY is not set): run it from a desktop "
                "session, or over SSH with X forwarding (ssh -X). Charts and reports work "
                "without a display: 'estimator chart ...' and 'estimator report ...'.")
    gone = missing_libraries() if missing is None else list(missing)
    if not gone:
        return None
    deb = sorted({XCB_LIBRARIES[s][0] for s in gone if s in XCB_LIBRARIES})
    rpm = sorted({XCB_LIBRARIES[s][1] for s in gone if s in XCB_LIBRARIES})
    return ("Qt's xcb platform plugin cannot load: the system libraries "
            f"{', '.join(gone)} are missing. Install them, e.g. on Debian/Ubuntu: "
            f"sudo apt install {' '.join(deb)}  (Fedora/RHEL: sudo dnf install {' '.join(rpm)}), "
            "then start the window again.")
