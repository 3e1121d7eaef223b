"""The chart kinds, by name, with their titles: plain data with no Qt, so the CLI can build its
``chart`` subcommand without importing Qt (the charts themselves are in
:mod:`estimator.gui.charts`, one module per kind)."""

from __future__ import annotations

# Window tab order; the charts added later come after the original five so existing tab
# positions stay: the two that explain the plan's model size, then the planning charts (GPU
# count, serving, experts, sensitivity, break-even).
CHART_KINDS = ("frontier", "isoloss", "cost", "lifetime", "hardware", "isoflop", "laws",
               "gpus", "serving", "moe", "tornado", "breakeven")

CHART_TITLES = {
    "frontier": "Loss vs training compute on the compute-optimal frontier",
    "isoloss": "Model size vs training tokens, with iso-loss contours",
    "cost": "Training cost to reach a target loss, by hardware",
    "lifetime": "Lifetime cost vs model size at the plan's loss",
    "hardware": "The plan on every hardware profile",
    "isoflop": "IsoFLOP profiles: loss vs model size at fixed compute",
    "laws": "Compute-optimal tokens per parameter: how the scaling laws disagree",
    "gpus": "Days and cost vs number of GPUs",
    "serving": "Serving: throughput per chip vs speed per user, and cost per token",
    "moe": "Mixture of experts: total memory vs training compute at the same loss",
    "tornado": "What moves the cost and the days: sensitivity to the uncertain inputs",
    "breakeven": "Break-even: cumulative cost vs tokens served, by hardware",
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
    "gpus": "GPU count",
    "serving": "Serving",
    "moe": "Experts",
    "tornado": "Sensitivity",
    "breakeven": "Break-even",
}

EXPORT_SUFFIXES = (".png", ".svg", ".pdf")
