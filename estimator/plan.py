"""Stage 1 of an estimate: what to train. The law, the target and the constraints give the model
size, the tokens, the loss and the compute; with serving demand, the inference-aware alternative.

One planning path: :func:`solve_for_loss` (vectorised over targets and over a law's parameter
samples) turns a loss into (N, D) under the scenario's planning rule, and
:func:`solve_for_compute` does the same for a compute budget. The headline plan
(:func:`plan_stage`, through :mod:`estimator.allocation`'s scalar solvers, which report why a
target is unreachable), the chart curves (:mod:`estimator.curves`) and the uncertainty bands
(:mod:`estimator.uncertainty`) all use them.

Formulas: Hoffmann et al. 2022 (arXiv:2203.15556) eq. 4 for the compute-optimal frontier;
Muennighoff et al. 2023 (arXiv:2305.16264) eq. 5 for repeated data; Sardana et al. 2023
(arXiv:2401.00448) for the inference-aware optimum; Kaplan et al. 2020 (arXiv:2001.08361)
eq. 2.2 for the exact FLOP count and eq. 1.4 for the critical batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from estimator import allocation as al
from estimator import costs
from estimator.errors import EstimatorError, InputError, UnreachableTargetError
from estimator.laws import ScalingLaw
from estimator.scenario import RUN_MODES, Scenario
from estimator.shape import ModelShape, derive_shape

#: Extrapolation beyond the law's fitted box that earns a warning (a factor on N or D).
EXTRAPOLATION_WARN_FACTOR = 10.0


@dataclass(frozen=True)
class CostRates:
    """The dollar rates a plan trades off, from the training and serving stages.

    ``train_usd_per_flop``: dollars per training FLOP on the cluster; ``inference_usd_per_token``
    maps an array of model sizes N to dollars per generated token."""

    train_usd_per_flop: float
    inference_usd_per_token: Callable[[np.ndarray], np.ndarray]
    #: training dollars per FLOP as a function of model size (None: the constant above)
    train_usd_per_flop_fn: Callable[[np.ndarray], np.ndarray] | None = None

    def train_rate(self, params) -> np.ndarray | float:
        """Training dollars per FLOP at model size(s) ``params``."""
        if self.train_usd_per_flop_fn is None:
            return self.train_usd_per_flop
        return np.asarray(self.train_usd_per_flop_fn(params), dtype=float)


@dataclass(frozen=True)
class Rule:
    """How a scenario turns a target into (N, D): a fixed size, a fixed tokens-per-parameter
    ratio, limited unique data (alone or with a fixed size), or the compute-optimal frontier."""

    params: float | None = None
    tokens_per_param: float | None = None
    unique_tokens: float | None = None

    @property
    def description(self) -> str:
        if self.params is not None:
            return f"fixed model size {self.params:.3g} params"
        if self.tokens_per_param is not None:
            return f"{self.tokens_per_param:.3g} tokens per parameter"
        if self.unique_tokens is not None:
            return f"compute-optimal with {self.unique_tokens:.3g} unique tokens"
        return "compute-optimal"


def rule_of(s: Scenario) -> Rule:
    """The planning rule of a scenario (in 'model' mode the given size or ratio is the rule)."""
    if s.mode == "model":
        if s.tokens_per_param is not None:
            return Rule(tokens_per_param=s.tokens_per_param)
        return Rule(params=s.law_params, unique_tokens=s.unique_tokens)
    return Rule(params=s.law_params, tokens_per_param=s.tokens_per_param,
                unique_tokens=s.unique_tokens)


# --------------------------------------------------------------------------------------
# The one vectorised planning path
# --------------------------------------------------------------------------------------


def compute_for_losses(law: ScalingLaw, t, frontier=None) -> np.ndarray:
    """Least compute reaching each loss (inf when unreachable). Closed form for laws that have
    one; otherwise read off ``frontier`` = (compute, loss) arrays where they cover the loss, and
    solved numerically elsewhere."""
    t = np.asarray(t, dtype=float)
    e = np.asarray(law.irreducible_loss, dtype=float)
    reach = t > e
    c = np.full(np.broadcast(t, e).shape, np.inf)
    if not reach.any():
        return c
    if hasattr(law, "compute_for_loss_closed_form"):
        with np.errstate(all="ignore"):
            cc = np.asarray(law.compute_for_loss_closed_form(np.where(reach, t, e + 1.0)),
                            dtype=float)
        return np.where(reach & np.isfinite(cc), cc, np.inf)
    tt = np.broadcast_to(t, c.shape)
    if frontier is not None:
        fc, fl = frontier
        order = np.argsort(fl)
        xs, ys = fl[order], np.log(fc[order])
        covered = reach & (tt >= xs[0]) & (tt <= xs[-1])
        c[covered] = np.exp(np.interp(tt[covered], xs, ys))
        rest = reach & ~covered
    else:
        rest = reach
    if rest.any():
        c[rest] = al.compute_for_loss(law, tt[rest])
    return c


def solve_for_loss(law: ScalingLaw, t, rule: Rule, frontier=None, *, grid_points: int = 4001):
    """(N, D) reaching loss ``t`` under ``rule``, vectorised: ``t`` may be an array and ``law`` a
    sampled law whose constants are arrays (they broadcast). Unreachable entries are inf.
    ``grid_points``: the unique-data search grid (refined either way)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(all="ignore"):
        if rule.params is not None:
            shape = np.broadcast(t, np.asarray(law.irreducible_loss)).shape
            n = np.full(shape, float(rule.params))
            reach = t > np.asarray(law.loss_at_infinite_data(rule.params))
            d_eff = np.asarray(al.tokens_for_loss_at_params(law, n, np.where(reach, t, np.inf)),
                               dtype=float)
            d_eff = np.where(reach, d_eff, np.inf)
            d = (np.asarray(al.tokens_for_effective(d_eff, rule.unique_tokens), dtype=float)
                 if rule.unique_tokens is not None else d_eff)
        elif rule.tokens_per_param is not None:
            n = al.params_at_ratio_for_loss(law, rule.tokens_per_param, t)
            d = rule.tokens_per_param * n
        else:
            c = compute_for_losses(law, t, frontier)
            n, d = (np.asarray(x, dtype=float) for x in al.optimal_allocation(law, c))
            if rule.unique_tokens is not None:
                n, d = al.unique_data_plans(law, t, float(rule.unique_tokens), n, d,
                                            grid_points=grid_points)
    bad = ~(np.isfinite(n) & np.isfinite(d) & (n > 0) & (d > 0))
    return np.where(bad, np.inf, n), np.where(bad, np.inf, d)


def solve_for_compute(law: ScalingLaw, c, rule: Rule):
    """(N, D) spending compute ``c`` (6ND FLOPs) under ``rule`` (no unique-data limit here:
    the scalar :func:`estimator.allocation.plan_for_compute` handles it), vectorised."""
    c = np.asarray(c, dtype=float)
    shape = np.broadcast(c, np.asarray(law.irreducible_loss)).shape
    if rule.params is not None:
        n = np.full(shape, float(rule.params))
        return n, c / (al.FLOPS_PER_PARAM_TOKEN * n)
    if rule.tokens_per_param is not None:
        n = np.full(shape, 1.0) * np.sqrt(c / (al.FLOPS_PER_PARAM_TOKEN * rule.tokens_per_param))
        return n, rule.tokens_per_param * n
    n, d = law.optimal_allocation_closed_form(np.full(shape, 1.0) * c)
    return np.asarray(n, dtype=float), np.asarray(d, dtype=float)


# --------------------------------------------------------------------------------------
# The headline plan
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    """What to train: the allocation, the model shape, the compute and the alternatives.

    ``train_flops_6nd`` is 6ND; ``train_flops`` adds attention when the scenario counts it
    (``flops_ratio_to_6nd``). ``compute_optimal`` (when the plan minimises lifetime cost) and
    ``lifetime_optimal`` (the inference-aware alternative) are mappings of params, tokens,
    tokens_per_param, train_flops, loss and dollar totals."""

    law: ScalingLaw
    allocation: al.Allocation
    shape: costs.ModelShape
    model_shape: ModelShape
    train_flops_6nd: float
    flops_ratio_to_6nd: float
    train_flops: float
    critical_batch_tokens: float
    extrapolation_factor: float
    lifetime_inference_tokens: float
    compute_optimal: dict[str, float] | None
    lifetime_optimal: dict[str, float] | None
    warnings: tuple[str, ...]
    given_total_params: float | None = None

    @property
    def params(self) -> float:
        """The law's N (the active size of a mixture of experts)."""
        return self.allocation.params

    @property
    def total_params(self) -> float:
        """Every weight the model stores: the law's N for a dense model; for a mixture of
        experts the given total (mode 'model') or the planned shape's."""
        if self.given_total_params is not None:
            return float(self.given_total_params)
        if self.model_shape.is_moe:
            return float(self.model_shape.total_params * (
                self.allocation.params / self.model_shape.active_params))
        return self.allocation.params

    @property
    def tokens(self) -> float:
        return self.allocation.tokens

    @property
    def loss(self) -> float:
        return self.allocation.loss


def law_for(s: Scenario, law: ScalingLaw) -> ScalingLaw:
    """The law the scenario plans with: an MoE law at the scenario's expansion rate
    ((routed + shared) / (top-k + shared) experts, :func:`estimator.laws.moe_expansion_rate`)
    for a mixture of experts, else the law itself (for a dense law the MoE model is planned as
    a dense one of its active size: a warning says so)."""
    if s.is_moe and hasattr(law, "at_experts"):
        from estimator.laws import moe_expansion_rate

        return law.at_experts(moe_expansion_rate(s.n_experts, s.experts_per_token,
                                                 s.shared_experts or 0))
    return law


def reference_loss(s: Scenario, law: ScalingLaw) -> float:
    """The loss of the 'as good as' reference model (match mode): under the same law, and for
    an MoE law its own dense case (never a dense law's loss against an MoE law's)."""
    ref_law = law.dense() if hasattr(law, "dense") else law
    return float(ref_law.loss(s.match_params, s.match_tokens))


def target_allocation(s: Scenario, law: ScalingLaw) -> al.Allocation:
    """The scenario's plan on the compute-optimal rule (or its constraints), scalar, with the
    solvers' clear errors for unreachable targets. The law's N is the active size of a mixture
    of experts."""
    fixed = s.law_params
    cons = dict(tokens_per_param=s.tokens_per_param, params=fixed,
                unique_tokens=s.unique_tokens)
    if s.mode in RUN_MODES:
        raise InputError(f"mode '{s.mode}' is a limit on the training run: its plan is solved "
                         "on the run model (estimator.targets, through estimator.engine)",
                         field="mode", value=s.mode)
    if s.mode == "loss":
        return al.plan_for_loss(law, s.target_loss, **cons)
    if s.mode == "compute":
        return al.plan_for_compute(law, s.compute_flops, **cons)
    if s.mode == "model":
        return al.plan_for_model(law, fixed, tokens=s.tokens,
                                 tokens_per_param=s.tokens_per_param,
                                 unique_tokens=s.unique_tokens)
    return al.plan_for_loss(law, reference_loss(s, law), **cons)


def shape_of(s: Scenario, params: float) -> costs.ModelShape:
    """The model shape: the scenario's layers and width when given, else derived from N."""
    if s.n_layers is not None and s.d_model is not None:
        return costs.ModelShape(s.n_layers, s.d_model, max(1, s.d_model // 128))
    return costs.shape_for_params(params)


def model_shape_of(s: Scenario, params: float) -> ModelShape:
    """The transformer's full shape: what the scenario fixes (layers, width, heads, KV heads,
    MLP width, vocabulary, experts), the rest derived from the size
    (:func:`estimator.shape.derive_shape`). ``params`` is the law's N: the active size of a
    mixture of experts. A given MoE model (mode 'model') has its total and active counts; a
    planned one keeps the dense model of its active size and splits its MLP into
    ``experts_per_token + shared_experts`` experts of equal width, as fine-grained MoE designs
    do (Krajewski et al. 2024, granularity; DeepSeekMoE), so the active compute is the plan's."""
    dims = dict(n_layers=s.n_layers, d_model=s.d_model, n_heads=s.n_heads,
                n_kv_heads=s.n_kv_heads, ffn_dim=s.ffn_dim, vocab=s.vocab)
    if not s.is_moe:
        return derive_shape(params, **dims)
    e, k, sh = s.n_experts, s.experts_per_token, s.shared_experts or 0
    if s.mode == "model" and s.params is not None:
        # another size than the given one (a rate anchor, a sample) keeps the given ratio of
        # total to active parameters
        total = s.params * (params / s.active_params) if s.active_params else s.params
        return derive_shape(total, n_experts=e, experts_per_token=k, shared_experts=sh,
                            active_params=params, **dims)
    dense = derive_shape(params, **dims)
    width = max(64, int(round(dense.ffn_dim / (k + sh) / 64.0)) * 64)
    return replace(dense, n_experts=e, experts_per_token=k, shared_experts=sh,
                   expert_ffn_dim=width)


def _summary(a: al.Allocation, train_usd: float, inference_usd: float) -> dict[str, float]:
    return {
        "params": a.params, "tokens": a.tokens, "tokens_per_param": a.tokens_per_param,
        "train_flops": a.train_flops, "loss": a.loss, "epochs": a.epochs,
        "train_cost_usd": train_usd,
        "lifetime_inference_cost_usd": inference_usd,
        "lifetime_total_cost_usd": train_usd + inference_usd,
    }


def plan_stage(s: Scenario, law: ScalingLaw, rates: CostRates,
               allocation: al.Allocation | None = None, *, alternatives: bool = True
               ) -> PlanResult:
    """Stage 1: the allocation for the scenario's target and constraints (``allocation``, when
    already computed: it does not depend on the hardware); with serving demand, the
    inference-aware optimum at the same loss (Sardana et al. 2023; repeated epochs over
    limited unique data valued as in every plan), which becomes the plan when the scenario
    optimises lifetime cost. ``alternatives=False`` skips the inference-aware alternative
    unless it is the plan (the hardware comparison does not show it)."""
    warnings: list[str] = []
    plan = allocation if allocation is not None else target_allocation(s, law)
    lifetime_tokens = s.lifetime_output_tokens
    compute_opt = lifetime_opt = None
    if s.optimize == "lifetime" or (lifetime_tokens > 0 and alternatives):
        try:
            lp = al.lifetime_optimal(law, plan.loss,
                                     train_cost_per_flop=rates.train_usd_per_flop_fn
                                     or rates.train_usd_per_flop,
                                     inference_cost_per_token=rates.inference_usd_per_token,
                                     inference_tokens=lifetime_tokens,
                                     unique_tokens=s.unique_tokens)
        except UnreachableTargetError:
            lp = None
        if lp is not None:
            base_train = rates.train_usd_per_flop * plan.train_flops
            base_inf = lifetime_tokens * float(rates.inference_usd_per_token(plan.params))
            lifetime_opt = _summary(lp.allocation, lp.train_cost, lp.inference_cost)
            lifetime_opt["saving_usd"] = (base_train + base_inf) - lp.total_cost
            if s.optimize == "lifetime":
                compute_opt = _summary(plan, base_train, base_inf)
                plan = lp.allocation
        elif s.optimize == "lifetime":
            warnings.append("no model size reaches the target at a finite lifetime cost on this "
                            "serving hardware; showing the compute-optimal plan")
    shape = shape_of(s, plan.params)
    model = model_shape_of(s, plan.params)
    ratio = costs.attention_flops_ratio(plan.params, shape, s.seq_len) if s.exact_flops else 1.0
    xf = float(al.extrapolation_factor(law, plan.params, plan.tokens))
    if xf > EXTRAPOLATION_WARN_FACTOR:
        fr = law.fitted_range
        warnings.append(
            f"extrapolating {xf:.0f}x beyond the range law '{law.id}' was fitted on "
            f"({fr.params_min:.2g}-{fr.params_max:.2g} params, {fr.tokens_min:.2g}-"
            f"{fr.tokens_max:.2g} tokens): treat the plan as a guide")
    if not law.comparable:
        cw = law.comparability_warning() if hasattr(law, "comparability_warning") else None
        warnings.append(cw or f"law '{law.id}' counts non-embedding parameters and uses another "
                        "dataset/tokenizer: its losses are not comparable with the "
                        "Chinchilla-family laws")
    if s.is_moe and not hasattr(law, "at_experts"):
        warnings.append(f"law '{law.id}' is a dense law: the mixture of experts is planned as "
                        "a dense model of its active size, which ignores what the experts add "
                        "(use an MoE law such as ludziejewski-2025)")
    if s.is_moe and hasattr(law, "experts_extrapolation_factor"):
        xe = float(law.experts_extrapolation_factor())
        if xe > 1.0:
            lo, hi = law.experts_range
            warnings.append(f"{getattr(law, 'experts', 0):.3g} experts (expansion rate) lie "
                            f"outside the {lo:g}-{hi:g} the law '{law.id}' was fitted on")
    if plan.epochs > 4.0:
        warnings.append(f"{plan.epochs:.1f} epochs over the unique data: repeated tokens are "
                        "worth less past about 4 epochs (Muennighoff et al. 2023)")
    return PlanResult(
        law=law, allocation=plan, shape=shape, model_shape=model,
        train_flops_6nd=plan.train_flops,
        flops_ratio_to_6nd=ratio, train_flops=plan.train_flops * ratio,
        critical_batch_tokens=float(law.critical_batch_tokens(plan.loss)),
        extrapolation_factor=xf, lifetime_inference_tokens=lifetime_tokens,
        compute_optimal=compute_opt, lifetime_optimal=lifetime_opt, warnings=tuple(warnings),
        given_total_params=s.params if (s.is_moe and s.mode == "model") else None)


# --------------------------------------------------------------------------------------
# The plan under each of a law's parameter samples (for the uncertainty bands)
# --------------------------------------------------------------------------------------


class NoSamples(EstimatorError):
    """The law's parameter samples cannot give a band for this scenario (the reason says why)."""


def _column(sampled):
    """The sampled law with its constants as (K, 1) columns, to broadcast against (K, G) grids."""
    from dataclasses import replace as _replace

    return _replace(sampled, E=np.asarray(sampled.E)[:, None], A=np.asarray(sampled.A)[:, None],
                    B=np.asarray(sampled.B)[:, None], alpha=np.asarray(sampled.alpha)[:, None],
                    beta=np.asarray(sampled.beta)[:, None])


def lifetime_sample_plans(s: Scenario, sampled: ScalingLaw, rates: CostRates,
                          grid_points: int = 160):
    """(N_k, D_k, dropped): under every parameter sample k of the law, the inference-aware
    optimum (Sardana et al. 2023) at that sample's target loss — the same search as
    :func:`estimator.allocation.lifetime_optimal`, vectorised over samples (a log grid of N per
    sample from the smallest model that can reach the target, then refined)."""
    if s.unique_tokens is not None:
        raise NoSamples("law uncertainty is not propagated with limited unique data; bands "
                        "show the utilisation spread only")
    k = np.shape(sampled.E)
    if s.mode == "model":
        n = np.full(k, s.law_params)
        d = np.full(k, s.tokens if s.tokens is not None else s.tokens_per_param * s.law_params)
        return n, d, 0
    if s.mode == "loss":
        t = np.full(k, float(s.target_loss))
    elif s.mode == "match":
        t = np.asarray(sampled.loss(s.match_params, s.match_tokens), dtype=float)
    else:  # compute: the loss the budget buys under each sample
        t = np.asarray(sampled.optimal_loss_closed_form(np.full(k, s.compute_flops)), dtype=float)
    col = _column(sampled)
    tokens_inf = s.lifetime_output_tokens
    with np.errstate(all="ignore"):
        floor = np.asarray(sampled.params_for_loss(np.inf, t), dtype=float)
        c_opt = np.asarray(sampled.compute_for_loss_closed_form(t), dtype=float)
        n_copt = np.asarray(sampled.optimal_allocation_closed_form(c_opt)[0], dtype=float)
        ok = (np.isfinite(floor) & (floor > 0) & np.isfinite(n_copt) & (t > np.asarray(sampled.E)))
        lo = np.log(np.where(ok, np.maximum(floor, 1.0), 1.0)) + 1e-6
        hi = np.maximum(np.log(np.where(ok, n_copt, 10.0)) + np.log(100.0), lo + 1.0)
        grid = np.linspace(lo, hi, grid_points, axis=1)

        def total(x):
            n = np.exp(x)
            d = col.tokens_for_loss(n, t[:, None])
            return (rates.train_rate(n) * al.FLOPS_PER_PARAM_TOKEN * n * d
                    + tokens_inf * np.asarray(rates.inference_usd_per_token(n), dtype=float))

        vals = np.where(np.isfinite(v := total(grid)), v, np.inf)
        ok &= np.isfinite(vals).any(axis=1)
        x, _ = al.refine_rows_min(total, grid, vals)
        n = np.exp(x)
        d = np.asarray(sampled.tokens_for_loss(n, t), dtype=float)
    ok &= np.isfinite(n) & np.isfinite(d) & (d > 0)
    if ok.sum() < 2:
        raise NoSamples("too few of the law's parameter samples reach this target to give a band")
    return n[ok], d[ok], int((~ok).sum())


def sample_plans(s: Scenario, sampled: ScalingLaw, allocation: al.Allocation | None = None):
    """(N_k, D_k, dropped) of the scenario's plan under every parameter sample of a law (a law
    whose constants are (K,) arrays), through the same solvers as every other plan. A budget or
    deadline plan (``allocation``, solved on the run model) is taken at its compute: each
    sample's plan for the same FLOPs under the scenario's rule."""
    if s.unique_tokens is not None:
        raise NoSamples("law uncertainty is not propagated with limited unique data; bands "
                        "show the utilisation spread only")
    k = np.shape(sampled.E)
    rule = rule_of(s)
    if s.mode == "model":
        n = np.full(k, s.law_params)
        d = np.full(k, s.tokens if s.tokens is not None else s.tokens_per_param * s.law_params)
        return n, d, 0
    if s.mode == "compute":
        n, d = solve_for_compute(sampled, s.compute_flops, rule)
        return n, d, 0
    if s.mode in RUN_MODES:
        if allocation is None:
            raise NoSamples("no band: the plan's compute is not known")
        n, d = solve_for_compute(sampled, allocation.train_flops, rule)
        return n, d, 0
    # loss or match: the target per sample (match: each sampled law's loss of the reference)
    target = (np.full(k, s.target_loss) if s.mode == "loss"
              else np.asarray(sampled.loss(s.match_params, s.match_tokens), dtype=float))
    n, d = solve_for_loss(sampled, target, rule)
    ok = np.isfinite(n) & np.isfinite(d)
    if ok.sum() < 2:
        raise NoSamples("too few of the law's parameter samples reach this target to give a band")
    return n[ok], d[ok], int((~ok).sum())
