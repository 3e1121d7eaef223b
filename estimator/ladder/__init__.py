"""Plan the scaling-law experiment before a big run: a ladder of small runs, costed on the
hardware through the engine, with the precision it will give predicted by simulation; and the
review of its results. See docs/ladder.md.

* :mod:`estimator.ladder.prior`: the prior over the law and the measured loss noise;
* :mod:`estimator.ladder.design`: ladder families and designs;
* :mod:`estimator.ladder.costing`: one run's cost (:func:`cost_run`, the one engine call);
* :mod:`estimator.ladder.simulate`: simulated ladders fitted by the project's fitter;
* :mod:`estimator.ladder.plan`: :func:`plan_ladder`;
* :mod:`estimator.ladder.review`: :func:`review_ladder`, after the runs.
"""

from estimator.ladder.costing import CostCache, RunCost, RunHardware, choose_gpus, cost_run
from estimator.ladder.design import Design, Family, default_families
from estimator.ladder.plan import LadderCancelled, LadderPlan, Target, plan_ladder
from estimator.ladder.prior import Prior, make_prior, reference_loss_noise
from estimator.ladder.review import LadderReview, review_ladder

__all__ = [
    "CostCache", "Design", "Family", "LadderCancelled", "LadderPlan", "LadderReview", "Prior",
    "RunCost", "RunHardware", "Target", "choose_gpus", "cost_run", "default_families",
    "make_prior", "plan_ladder", "reference_loss_noise", "review_ladder",
]
