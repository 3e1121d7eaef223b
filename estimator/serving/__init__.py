"""Serving model: prefill and decode rooflines, latency targets, replica size, fleet.

Public API (see ``docs/serving_model.md``):

* inputs: :class:`ServingAccelerator`, :class:`RequestMix`, :class:`LatencyTargets`,
  :class:`ServingConstants`;
* :func:`plan_serving` -> :class:`ServingPlan`; :func:`fleet` -> :class:`Fleet`;
* :func:`sweep_batch` -> :class:`BatchSweep` (curves for a chart);
* :func:`output_cost_curve` -> :class:`CostCurve` (chip-seconds per token over model sizes);
* :func:`constants_for` (the shipped constants of a chip family);
* :func:`expected_distinct_experts` (mixture-of-experts weight reads).
"""

from estimator.serving.constants import constants_for, load_constants
from estimator.serving.curves import CostCurve, output_cost_curve
from estimator.serving.inputs import (
    FAMILIES,
    PRECISIONS,
    LatencyTargets,
    RequestMix,
    ServingAccelerator,
    ServingConstants,
)
from estimator.serving.plan import (
    BOUND_LABELS,
    BatchSweep,
    Fleet,
    ServingPlan,
    fleet,
    plan_serving,
    sweep_batch,
)
from estimator.serving.roofline import expected_distinct_experts

__all__ = [
    "BOUND_LABELS", "FAMILIES", "PRECISIONS", "BatchSweep", "CostCurve", "Fleet",
    "LatencyTargets", "RequestMix", "ServingAccelerator", "ServingConstants", "ServingPlan",
    "constants_for", "expected_distinct_experts", "fleet", "load_constants",
    "output_cost_curve", "plan_serving", "sweep_batch",
]
