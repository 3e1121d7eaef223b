"""LLM training and serving cost estimator: scaling laws, hardware profiles and costs.

The core (everything outside :mod:`estimator.gui`) is pure Python + numpy/scipy and never
imports Qt; the CLI and the desktop window are two faces of the same engine.
"""

__version__ = "0.1.0"
