"""The training-run model: one step from the shape, the layout and the chip; then the run.

Public API (frozen dataclasses in, frozen results out):

* :class:`Accelerator`, :class:`TrainingJob` (inputs), :class:`TrainingRun`, :class:`Layout`,
  :class:`StepBreakdown`, :class:`GpuSweep` (results);
* :func:`plan_training_run` (job, accelerator) -> TrainingRun, the fastest layout that fits;
* :func:`sweep_gpus` (job, accelerator, gpu counts) -> GpuSweep, days and hours vs GPUs;
* :func:`default_constants`, :class:`ModelConstants`: the fitted constants per chip family
  (``estimator/data/training_constants.yaml``, fitted by
  ``python -m estimator.training.calibration --write``); :func:`family_for` (vendor family,
  generation) -> the calibration family (TPU v4 is ``google-tpu-v4``).

The formulas and their sources are in :mod:`estimator.training.model` (step),
:mod:`estimator.training.search` (layouts), :mod:`estimator.training.goodput` (interruptions,
checkpoints) and ``docs/run_model.md``.
"""

from estimator.training.constants import (
    FamilyConstants,
    GlobalConstants,
    ModelConstants,
    default_constants,
    family_for,
)
from estimator.training.run import plan_training_run, sweep_gpus
from estimator.training.types import (
    FAMILIES,
    PRECISIONS,
    RECOMPUTE,
    Accelerator,
    GpuSweep,
    Layout,
    StepBreakdown,
    TrainingJob,
    TrainingRun,
)

__all__ = [
    "FAMILIES", "PRECISIONS", "RECOMPUTE", "Accelerator", "FamilyConstants", "GlobalConstants",
    "GpuSweep", "Layout", "ModelConstants", "StepBreakdown", "TrainingJob", "TrainingRun",
    "default_constants", "family_for", "plan_training_run", "sweep_gpus",
]
