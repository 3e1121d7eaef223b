"""The desktop face of the estimator (PySide6 + pyqtgraph). Nothing outside this package
imports Qt; the core in :mod:`estimator` computes, this package draws."""
