"""The training run: the plan on the cluster (stage 2 of an estimate, see
:mod:`estimator.training.stage`)."""
