"""Test setup shared by every test module: headless Qt, PySide6 for pyqtgraph."""

import os

# Before any Qt import: render offscreen (CI has no display) and never let pyqtgraph pick PyQt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# Prices are aged against this date, so which quotes are stale does not change with the day
# the suite runs (estimator.hardware.current_date).
os.environ.setdefault("ESTIMATOR_TODAY", "2026-11-30")
