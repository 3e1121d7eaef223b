"""Serving: the model on the serving hardware (stage 3 of an estimate, see
:mod:`estimator.serving.stage`)."""
