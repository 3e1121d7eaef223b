"""The chart kinds, by name, with their titles: plain data with no Qt, so the CLI can build its
``chart`` subcommand without importing Qt (the charts themselves are in
:mod:`estimator.gui.charts`, one module per kind)."""

from __future__ import annotations

# Window tab order; the two charts that explain the plan's model size come after the
# original five so existing tab positions stay.
CHART_KINDS = ("frontier", "isoloss", "cost", "lifetime", "hardware", "isoflop", "laws")

CHART_TITLES = {
    "frontier": "Loss vs training compute on the compute-optimal frontier",
    "isoloss": "Model size vs training tokens, with iso-loss contours",
    "cost": "Training cost to reach a target loss, by hardware",
    "lifetime": "Lifetime cost vs model size at the plan's loss",
    "hardware": "The plan on every hardware profile",
    "isoflop": "IsoFLOP profiles: loss vs model size at fixed compute",
    "laws": "Compute-optimal tokens per parameter: how the scaling laws disagree",
}

# Short names: window tabs, CLI help.
CHART_SHORT_TITLES = {
    "frontier": "Loss vs compute",
    "isoloss": "Size vs tokens",
    "cost": "Cost vs loss",
    "lifetime": "Lifetime cost",
    "hardware": "Hardware",
    "isoflop": "IsoFLOP profiles",
    "laws": "Laws compared",
}

EXPORT_SUFFIXES = (".png", ".svg", ".pdf")
