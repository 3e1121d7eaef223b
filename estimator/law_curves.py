"""Chart data that explains a plan's choice of model size: IsoFLOP profiles and how the scaling
laws disagree. Pure numpy (no Qt); the charts in :mod:`estimator.gui.charts` draw it.

* :func:`isoflop_profiles`: loss against model size at a few fixed compute budgets around the
  plan, each with its minimum marked and the plan on its own budget's curve (Hoffmann et al.
  2022, arXiv:2203.15556, Fig. 3 left and section 3.2, "IsoFLOP profiles"). Along a profile the
  budget is held fixed under ``C = 6ND`` (Kaplan et al. 2020, arXiv:2001.08361, section 2.1), so
  ``D = C / (6N)`` and the loss is ``L(N, C / (6N))`` of the law.
* :func:`law_disagreement`: the compute-optimal tokens per parameter ``D_opt(C) / N_opt(C)``
  against compute for every law given (the built-in Kaplan 2020, Hoffmann 2022 and Epoch 2024
  laws and any loaded one), with the plan marked. Where the law has a closed form (parametric
  laws: Hoffmann et al. 2022 eq. 4; Kaplan's form, see :class:`estimator.laws.KaplanLaw`) it
  is used, otherwise the numeric optimum (:func:`estimator.allocation.optimal_allocation`).

Every array returned is finite; points a law cannot evaluate are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from estimator import allocation as al
from estimator.errors import InputError
from estimator.laws import ScalingLaw, builtin_laws

# The rule of thumb read off Hoffmann et al. 2022 Table 3 (Approach 1): about 20 training
# tokens per parameter at the compute-optimal point (e.g. 70 B parameters on 1.4 T tokens).
CHINCHILLA_TOKENS_PER_PARAM = 20.0

ISOFLOP_BUDGETS = 5  # profiles drawn (odd: the plan's budget is the middle one)
ISOFLOP_STEP_DECADES = 0.5  # between neighbouring budgets
ISOFLOP_SPAN_DECADES = 1.0  # each profile spans its optimum N times 10^(+-span)
ISOFLOP_POINTS = 121

LAWS_DECADES_BELOW = 3.0  # compute range of the law comparison around the plan
LAWS_DECADES_ABOVE = 2.0
LAWS_POINTS = 61


@dataclass(frozen=True)
class IsoFlopProfile:
    """Loss along one fixed compute budget: ``params`` (N), ``tokens`` = C / (6N) and
    ``loss`` = L(N, D) in nats/token, with the profile's minimum."""

    compute_flops: float
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    optimum_params: float
    optimum_tokens: float
    optimum_loss: float


@dataclass(frozen=True)
class IsoFlopProfiles:
    """Profiles at ``len(profiles)`` budgets; ``plan_index`` is the plan's own budget
    (C = 6 N D of the plan). ``plan_loss`` is the law's L(N, D) at the plan (unique data; a
    plan that repeats data reaches a higher loss, see ``estimator.allocation.effective_tokens``).
    """

    law_id: str
    law_name: str
    profiles: tuple[IsoFlopProfile, ...]
    plan_index: int
    plan_compute_flops: float
    plan_params: float
    plan_tokens: float
    plan_loss: float
    fitted_params_range: tuple[float, float]

    @property
    def plan_profile(self) -> IsoFlopProfile:
        return self.profiles[self.plan_index]


@dataclass(frozen=True)
class LawAllocationCurve:
    """One law's compute-optimal allocation over ``compute_flops``: params, tokens and their
    ratio; ``in_fitted_range`` marks optima inside the (N, D) box the law was fitted on.
    ``law_id`` is the key the law was given under (its id, unless two laws share one)."""

    law_id: str
    law_name: str
    comparable: bool  # False: another dataset/tokenizer or parameter count (Kaplan)
    compute_flops: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    tokens_per_param: np.ndarray
    in_fitted_range: np.ndarray
    # the law's optimum at the plan's compute
    plan_params: float
    plan_tokens: float

    @property
    def plan_tokens_per_param(self) -> float:
        return self.plan_tokens / self.plan_params


@dataclass(frozen=True)
class LawDisagreement:
    """Every law's compute-optimal tokens per parameter against compute, and the plan."""

    curves: tuple[LawAllocationCurve, ...]
    plan_law_id: str
    plan_compute_flops: float
    plan_params: float
    plan_tokens: float

    @property
    def plan_tokens_per_param(self) -> float:
        return self.plan_tokens / self.plan_params

    def curve(self, law_id: str) -> LawAllocationCurve:
        for c in self.curves:
            if c.law_id == law_id:
                return c
        raise KeyError(law_id)


def _check_plan(params: float, tokens: float) -> tuple[float, float]:
    for name, v in (("params", params), ("tokens", tokens)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise InputError(
                f"the plan's {name} must be a positive number, got {v!r}",
                field=name,
                value=v,
                expected="a positive number",
            )
    return float(params), float(tokens)


def _optimum(law: ScalingLaw, compute_flops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, d = al.optimal_allocation(law, compute_flops)
    return np.asarray(n, dtype=float), np.asarray(d, dtype=float)


def isoflop_profiles(
    law: ScalingLaw,
    plan_params: float,
    plan_tokens: float,
    *,
    n_budgets: int = ISOFLOP_BUDGETS,
    step_decades: float = ISOFLOP_STEP_DECADES,
    span_decades: float = ISOFLOP_SPAN_DECADES,
    n_points: int = ISOFLOP_POINTS,
) -> IsoFlopProfiles:
    """IsoFLOP profiles (Hoffmann et al. 2022, Fig. 3 left) around a plan of ``plan_params``
    parameters on ``plan_tokens`` tokens.

    Budgets are ``C_plan * 10^(step_decades * k)`` for k = -(n-1)/2 .. (n-1)/2 with
    ``C_plan = 6 N D`` FLOPs (odd ``n_budgets``; an even count puts the extra budget above).
    Each profile evaluates ``L(N, C / (6N))`` on ``n_points`` log-spaced model sizes spanning
    ``10^(+-span_decades)`` around the budget's compute-optimal size, widened on the plan's
    budget to include the plan. The marked optimum is the law's exact compute-optimal point
    (closed form where the law has one), not the grid minimum.
    """
    n_plan, d_plan = _check_plan(plan_params, plan_tokens)
    n_budgets = max(1, int(n_budgets))
    c_plan = al.FLOPS_PER_PARAM_TOKEN * n_plan * d_plan
    ks = np.arange(n_budgets) - (n_budgets - 1) // 2
    budgets = c_plan * 10.0 ** (step_decades * ks)
    plan_index = int(np.flatnonzero(ks == 0)[0])
    n_opt, d_opt = _optimum(law, budgets)
    profiles = []
    for i, c in enumerate(budgets):
        lo = math.log10(n_opt[i]) - span_decades
        hi = math.log10(n_opt[i]) + span_decades
        if i == plan_index:  # the plan sits on its curve, inside the drawn span
            lo = min(lo, math.log10(n_plan) - 0.1 * span_decades)
            hi = max(hi, math.log10(n_plan) + 0.1 * span_decades)
        n = np.logspace(lo, hi, n_points)
        d = c / (al.FLOPS_PER_PARAM_TOKEN * n)
        with np.errstate(all="ignore"):
            loss = np.asarray(law.loss(n, d), dtype=float)
        ok = np.isfinite(loss) & np.isfinite(d) & (d > 0)
        with np.errstate(all="ignore"):
            l_opt = float(law.loss(n_opt[i], d_opt[i]))
        profiles.append(
            IsoFlopProfile(
                compute_flops=float(c),
                params=n[ok],
                tokens=d[ok],
                loss=loss[ok],
                optimum_params=float(n_opt[i]),
                optimum_tokens=float(d_opt[i]),
                optimum_loss=l_opt,
            )
        )
    fr = law.fitted_range
    return IsoFlopProfiles(
        law_id=law.id,
        law_name=law.name,
        profiles=tuple(profiles),
        plan_index=plan_index,
        plan_compute_flops=float(c_plan),
        plan_params=n_plan,
        plan_tokens=d_plan,
        plan_loss=float(law.loss(n_plan, d_plan)),
        fitted_params_range=(fr.params_min, fr.params_max),
    )


def comparison_laws(plan_law: ScalingLaw | None = None) -> dict[str, ScalingLaw]:
    """The laws a comparison shows: every built-in law, then ``plan_law`` when it is not one of
    them (a law loaded from a file, or a fit)."""
    laws = dict(builtin_laws())
    if plan_law is not None and laws.get(plan_law.id) is not plan_law:
        key = plan_law.id if plan_law.id not in laws else f"{plan_law.id} ({plan_law.source})"
        laws[key] = plan_law
    return laws


def law_disagreement(
    laws: Mapping[str, ScalingLaw] | Iterable[ScalingLaw],
    plan_law_id: str,
    plan_params: float,
    plan_tokens: float,
    *,
    decades_below: float = LAWS_DECADES_BELOW,
    decades_above: float = LAWS_DECADES_ABOVE,
    n_points: int = LAWS_POINTS,
) -> LawDisagreement:
    """Compute-optimal tokens per parameter ``D_opt(C) / N_opt(C)`` for every law over
    ``C_plan * 10^[-decades_below, +decades_above]`` FLOPs (``C_plan = 6 N D`` of the plan), and
    each law's optimum at the plan's compute. ``laws``: a mapping key -> law (as from
    :func:`comparison_laws`) or laws (keyed by their ids). A law with no finite optimum over
    the range is left out.

    Under ``C = 6ND`` the optimum of ``L = E + A/N^alpha + B/D^beta`` is Hoffmann et al. 2022
    eq. 4, so ``D_opt / N_opt = G^-2 (C/6)^((alpha - beta)/(alpha + beta))``: the ratio grows
    with compute when alpha > beta and shrinks when alpha < beta, which is where the laws part.
    """
    n_plan, d_plan = _check_plan(plan_params, plan_tokens)
    c_plan = al.FLOPS_PER_PARAM_TOKEN * n_plan * d_plan
    items = list(laws.items()) if isinstance(laws, Mapping) else [(x.id, x) for x in laws]
    if not items:
        raise InputError("no laws to compare", field="laws", expected="at least one law")
    c = c_plan * np.logspace(-decades_below, decades_above, n_points)
    curves = []
    for key, law in items:
        n, d = _optimum(law, np.concatenate([c, [c_plan]]))
        ok = np.isfinite(n) & np.isfinite(d) & (n > 0) & (d > 0)
        n_at, d_at = float(n[-1]), float(d[-1])
        n, d, ok = n[:-1], d[:-1], ok[:-1]
        if not (ok.any() and math.isfinite(n_at) and math.isfinite(d_at)):
            continue
        fr = law.fitted_range
        inside = (
            (n >= fr.params_min)
            & (n <= fr.params_max)
            & (d >= fr.tokens_min)
            & (d <= fr.tokens_max)
        )
        curves.append(
            LawAllocationCurve(
                law_id=key,
                law_name=law.name,
                comparable=bool(law.comparable),
                compute_flops=c[ok],
                params=n[ok],
                tokens=d[ok],
                tokens_per_param=d[ok] / n[ok],
                in_fitted_range=inside[ok],
                plan_params=n_at,
                plan_tokens=d_at,
            )
        )
    return LawDisagreement(
        curves=tuple(curves),
        plan_law_id=plan_law_id,
        plan_compute_flops=float(c_plan),
        plan_params=n_plan,
        plan_tokens=d_plan,
    )
