"""The data of the planning charts (no Qt): days and cost against the GPU count, serving
throughput against per-user speed, the memory-compute trade of mixtures of experts, the
sensitivity tornado and the hardware break-even.

Every builder takes the scenario's :class:`~estimator.engine.Estimate` and calls the one engine
for its question, never a twin of it:

* :func:`gpu_sweep` — :func:`estimator.training.run.sweep_gpus` (the run model of stage 2) at
  many GPU counts, priced as stage 2 prices the plan;
* :func:`serving_sweep` — :func:`estimator.serving.plan.sweep_batch` on the plan's replica;
* :func:`moe_tradeoff` — the joint MoE law (Ludziejewski et al. 2025, arXiv:2502.05172, eq. 1/6
  with eq. 7's compute-optimal allocation at each expert count);
* :func:`plan_sensitivity` — :func:`estimator.sensitivity.sensitivity`;
* :func:`plan_break_even` — :func:`estimator.engine.compare` and
  :func:`estimator.breakeven.break_even` (the report's line choice).

:func:`table` turns any of them into rows for a CSV (``estimator chart KIND --table``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from estimator.catalogue import Catalogue, resolve
from estimator.engine import Estimate, register_cache
from estimator.errors import EstimatorError, InputError

__all__ = [
    "MOE_EXPERTS",
    "TABLE_KINDS",
    "GpuSweepData",
    "MoeTradeoff",
    "ServingSweepData",
    "gpu_counts_for",
    "gpu_sweep",
    "moe_tradeoff",
    "plan_break_even",
    "plan_sensitivity",
    "serving_sweep",
    "table",
]


def _frozen(x, dtype=float) -> np.ndarray:
    a = np.array(x, dtype=dtype)
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------------------
# Days and cost against the number of GPUs (issue 11)
# --------------------------------------------------------------------------------------

#: GPU counts per doubling in the sweep's geometric grid.
GPU_STEPS_PER_DOUBLING = 2


@dataclass(frozen=True)
class GpuSweepData:
    """The plan on ``gpus`` GPUs of the chosen hardware: wall-clock days, paid GPU-hours and
    training cost (USD at the plan's price per GPU-hour), NaN where no layout fits
    (``fits`` False). ``max_useful_gpus`` is the useful-batch ceiling (past it every layout
    needs a batch beyond the useful one, so the days stop falling), ``min_gpus_for_memory``
    the least GPUs whose memory holds the model."""

    hardware: str
    hardware_name: str
    price_usd_per_hour: float
    gpus: np.ndarray
    fits: np.ndarray
    wall_clock_days: np.ndarray
    gpu_hours: np.ndarray
    cost_usd: np.ndarray
    predicted_mfu: np.ndarray
    global_batch_tokens: np.ndarray
    batch_tokens_multiplier: np.ndarray
    max_useful_gpus: int
    min_gpus_for_memory: int
    plan_gpus: int
    plan_days: float
    plan_cost_usd: float

    def rows(self) -> list[dict]:
        """One dict per GPU count (units in the keys), for a table."""
        out = []
        for i, n in enumerate(self.gpus):
            ok = bool(self.fits[i])

            def v(a, i=i, ok=ok):
                return float(a[i]) if ok else None

            out.append({
                "gpus": int(n), "fits": ok, "wall_clock_days": v(self.wall_clock_days),
                "gpu_hours": v(self.gpu_hours), "cost_usd": v(self.cost_usd),
                "predicted_mfu": v(self.predicted_mfu),
                "global_batch_tokens": v(self.global_batch_tokens),
                "batch_tokens_multiplier": v(self.batch_tokens_multiplier),
                "is_plan": int(n) == self.plan_gpus,
                "beyond_useful_batch": int(n) > self.max_useful_gpus,
            })
        return out


def gpu_counts_for(plan_gpus: int, min_gpus: int, max_useful: int,
                   steps_per_doubling: int = GPU_STEPS_PER_DOUBLING,
                   domain: int = 8, with_plan: bool = True) -> np.ndarray:
    """The sweep's GPU counts: counts a cluster is built in (whole scale-up domains of
    ``domain`` chips times 1, 1.5 per doubling with two steps, or 1, 1.25, 1.5, 1.75 with four;
    powers of two below one domain), from the memory floor (or 1/64 of the plan) to 4x past the
    larger of the plan and the useful-batch ceiling, with the plan's count and the floor
    themselves and the ceiling (where the chart's solid and dashed lines meet). Arbitrary
    counts (51,667 GPUs) factor badly into parallel degrees and make the curve jagged."""
    lo = max(1, min(int(min_gpus) if min_gpus > 0 else plan_gpus, plan_gpus // 64 or 1))
    lo = max(lo, int(min_gpus))
    hi = max(int(plan_gpus), int(max_useful)) * 4
    steps = {1: (1.0,), 2: (1.0, 1.5), 4: (1.0, 1.25, 1.5, 1.75)}.get(
        steps_per_doubling, tuple(2 ** (i / steps_per_doubling)
                                  for i in range(steps_per_doubling)))
    nice = set()
    a = 0
    while 2 ** a <= hi:
        for m in steps:
            n = 2 ** a * m
            if n < domain:
                n = 2 ** a if m == 1.0 else 0  # below one domain: powers of two only
            else:
                n = domain * round(n / domain)
            if lo <= n <= hi:
                nice.add(int(n))
        a += 1
    extra = ([int(plan_gpus)] if with_plan else []) + [int(max_useful)] + (
        [int(min_gpus)] if min_gpus > 0 else [])
    return np.unique(np.asarray(sorted(nice | set(extra)), dtype=int))


#: Sweeps of the counts other than the plan's, by (job without its GPU count, chip, counts):
#: dragging the GPU slider moves only the plan's count, so the rest of the curve is kept
#: and one count is searched per edit. A few recent ones are kept.
_SWEEPS: dict[tuple, object] = {}
_SWEEPS_MAX = 8
register_cache(_SWEEPS.clear)


def _sweep_parts(est: Estimate, catalogue: Catalogue | None,
                 gpu_counts: Sequence[int] | None):
    from estimator.training.stage import _run_key, job_of, training_accelerator

    if est.plan is None:
        raise InputError("the estimate carries no plan to sweep")
    s = est.scenario
    profile = resolve(catalogue).profile(s.hardware)
    acc = training_accelerator(profile)
    job = job_of(s, est.plan.allocation, est.plan.model_shape, profile)
    if gpu_counts is None:  # the counts around the plan's, which a GPU edit leaves alone
        # (unless the plan passes the useful ceiling), and the plan's own
        others = tuple(int(n) for n in gpu_counts_for(
            s.gpus, est.min_gpus_for_memory, est.max_useful_gpus,
            domain=int(profile.scale_up_domain_chips), with_plan=False))
        counts = np.unique(np.append(np.asarray(others, dtype=int), int(s.gpus)))
    else:
        counts = np.asarray(gpu_counts, dtype=int).ravel()
        others = tuple(int(n) for n in counts if n != s.gpus)
    # the sweep reads the job's shape, tokens and pins, never its own GPU count
    key = (_run_key(replace(job, gpus=1), acc), others)
    return profile, acc, job, counts, others, key


def gpu_sweep_kept(est: Estimate, *, catalogue: Catalogue | None = None) -> bool:
    """True when :func:`gpu_sweep` of ``est`` would search only the plan's own count (the
    other counts' sweep is kept from an estimate that differed in its GPU count only)."""
    try:
        return _sweep_parts(est, catalogue, None)[5] in _SWEEPS
    except EstimatorError:
        return True  # nothing to sweep: the chart says so at once


def _merge_sweeps(a, b):
    """Two sweeps of one job (disjoint counts) as one, by GPU count."""
    from estimator.training.types import GpuSweep

    arrays = {f: np.concatenate([getattr(a, f), getattr(b, f)])
              for f in GpuSweep.__dataclass_fields__ if isinstance(getattr(a, f), np.ndarray)}
    order = np.argsort(arrays["gpus"], kind="stable")
    return replace(a, **{f: v[order] for f, v in arrays.items()})


def gpu_sweep(est: Estimate, *, catalogue: Catalogue | None = None,
              gpu_counts: Sequence[int] | None = None) -> GpuSweepData:
    """Days and cost of the estimate's plan against the GPU count on its hardware: the run
    model's best layout at each count (:func:`estimator.training.run.sweep_gpus`, the same
    search as the plan's), priced and scaled exactly as stage 2 prices the plan
    (:func:`estimator.training.stage.training_stage`), so the plan's own count reproduces the
    estimate's days and cost. Each count's layout is its own, so the counts other than the
    plan's are swept once and kept (``_SWEEPS``) while only the GPU count changes."""
    from estimator.training.run import sweep_gpus
    from estimator.training.stage import price_of

    s = est.scenario
    profile, acc, job, counts, others, key = _sweep_parts(est, catalogue, gpu_counts)
    sw = _SWEEPS.get(key) if others else None
    if sw is None and others:
        sw = sweep_gpus(job, acc, others)
        if len(_SWEEPS) >= _SWEEPS_MAX:
            _SWEEPS.pop(next(iter(_SWEEPS)))
        _SWEEPS[key] = sw
    if int(s.gpus) in counts and int(s.gpus) not in others:  # the plan's own count
        own = sweep_gpus(job, acc, [s.gpus])
        sw = own if sw is None else _merge_sweeps(sw, own)
    # as stage 2: the derived shape's rounded widths hold slightly other than the plan's N
    scale = est.plan.allocation.params / est.plan.model_shape.active_params
    price = price_of(s, profile)
    hours = sw.gpu_hours * scale
    i_plan = np.flatnonzero(sw.gpus == s.gpus)
    plan_days = float(sw.wall_clock_days[i_plan[0]] * scale) if i_plan.size else est.wall_clock_days
    return GpuSweepData(
        hardware=profile.id, hardware_name=profile.display_name, price_usd_per_hour=price,
        gpus=_frozen(sw.gpus, int), fits=_frozen(sw.fits, bool),
        wall_clock_days=_frozen(sw.wall_clock_days * scale), gpu_hours=_frozen(hours),
        cost_usd=_frozen(hours * price), predicted_mfu=_frozen(sw.predicted_mfu),
        global_batch_tokens=_frozen(sw.global_batch_tokens),
        batch_tokens_multiplier=_frozen(sw.batch_tokens_multiplier),
        max_useful_gpus=int(sw.max_useful_gpus), min_gpus_for_memory=int(sw.min_gpus_for_memory),
        plan_gpus=int(s.gpus), plan_days=plan_days, plan_cost_usd=float(est.cost_usd))


# --------------------------------------------------------------------------------------
# Serving: throughput per chip against per-user speed (issue 13)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingSweepData:
    """The plan's serving replica as its batch grows: output tokens/s per chip, tokens/s per
    user (1 / TPOT), TTFT and TPOT (s), dollars per million input and output tokens (at the
    serving price per chip-hour), whether each batch meets the latency targets, and the
    chosen point with what binds it (``bound``: a key of
    :data:`estimator.serving.plan.BOUND_LABELS`)."""

    hardware: str
    hardware_name: str
    price_usd_per_hour: float
    chips_per_replica: int
    kv_capacity_batch: int
    max_batch: int
    batch: np.ndarray
    output_tokens_per_s_per_chip: np.ndarray
    tokens_per_s_per_user: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    cost_per_million_output_tokens_usd: np.ndarray
    cost_per_million_input_tokens_usd: np.ndarray
    meets_targets: np.ndarray
    ttft_target_s: float | None
    tpot_target_s: float | None
    chosen_batch: int
    chosen_output_tokens_per_s_per_chip: float
    chosen_tokens_per_s_per_user: float
    chosen_ttft_s: float
    chosen_tpot_s: float
    chosen_cost_per_million_output_tokens_usd: float
    chosen_cost_per_million_input_tokens_usd: float
    bound: str
    bound_label: str
    input_tokens_per_request: float
    output_tokens_per_request: float

    def rows(self) -> list[dict]:
        return [{"batch": int(b), "output_tokens_per_s_per_chip": float(o),
                 "tokens_per_s_per_user": float(u), "ttft_s": float(f), "tpot_s": float(t),
                 "cost_per_million_output_tokens_usd": float(co),
                 "cost_per_million_input_tokens_usd": float(ci), "meets_targets": bool(m),
                 "is_chosen": int(b) == self.chosen_batch}
                for b, o, u, f, t, co, ci, m in zip(
                    self.batch, self.output_tokens_per_s_per_chip, self.tokens_per_s_per_user,
                    self.ttft_s, self.tpot_s, self.cost_per_million_output_tokens_usd,
                    self.cost_per_million_input_tokens_usd, self.meets_targets, strict=True)]


def serving_sweep(est: Estimate, *, catalogue: Catalogue | None = None,
                  points: int = 48) -> ServingSweepData:
    """The serving plan's replica (its chips, precisions and request mix) at a geometric grid
    of batches from 1 to the KV-cache capacity (or the engine's maximum batch), the chosen
    batch included (:func:`estimator.serving.plan.sweep_batch`, the roofline the plan was
    chosen on). Raises :class:`InputError` when serving is unavailable for the plan."""
    from estimator.serving.constants import constants_for
    from estimator.serving.plan import BOUND_LABELS, SECONDS_PER_HOUR, sweep_batch
    from estimator.serving.stage import request_mix, serving_rates, targets_of

    serve = est.serving
    if serve is None or not serve.available or serve.plan is None or est.plan is None:
        raise InputError("serving is unavailable for this model (it fits on no replica of "
                         f"{est.inference_hardware}): no serving chart", field="inference_hardware",
                         value=est.inference_hardware)
    s = est.scenario
    sp = serve.plan
    cat = resolve(catalogue)
    rates = serving_rates(s, cat.profile(s.inference_hardware or s.hardware))
    acc = rates.accelerator
    k = constants_for(acc.family)
    top = max(1, min(int(sp.kv_capacity_batch), int(k.max_batch)))
    grid = np.geomspace(1.0, float(top), max(2, points)) if top > 1 else np.array([1.0])
    batches = np.unique(np.concatenate([np.round(grid), [float(sp.batch)]]))
    sw = sweep_batch(est.plan.model_shape, acc, request_mix(s),
                     weight_precision=s.inference_precision, kv_precision=s.kv_precision,
                     chips_per_replica=sp.chips_per_replica, constants=k, batches=batches)
    tg = targets_of(s)
    ok = np.asarray(sw.fits, dtype=bool).copy()
    if tg.ttft_s is not None:
        ok &= sw.ttft_s <= tg.ttft_s * (1 + 1e-12)
    if tg.tpot_s is not None:
        ok &= sw.tpot_s <= tg.tpot_s * (1 + 1e-12)
    price = rates.price_usd_per_hour
    per_m = 1e6 * price / SECONDS_PER_HOUR
    return ServingSweepData(
        hardware=rates.profile.id, hardware_name=rates.profile.display_name,
        price_usd_per_hour=price, chips_per_replica=int(sw.chips_per_replica),
        kv_capacity_batch=int(sw.kv_capacity_batch), max_batch=int(k.max_batch),
        batch=_frozen(sw.batch), output_tokens_per_s_per_chip=_frozen(
            sw.output_tokens_per_s_per_chip),
        tokens_per_s_per_user=_frozen(sw.tokens_per_s_per_user), ttft_s=_frozen(sw.ttft_s),
        tpot_s=_frozen(sw.tpot_s),
        cost_per_million_output_tokens_usd=_frozen(sw.chip_s_per_output_token * per_m),
        cost_per_million_input_tokens_usd=_frozen(sw.chip_s_per_input_token * per_m),
        meets_targets=_frozen(ok, bool), ttft_target_s=tg.ttft_s, tpot_target_s=tg.tpot_s,
        chosen_batch=int(sp.batch),
        chosen_output_tokens_per_s_per_chip=float(sp.output_tokens_per_s_per_chip),
        chosen_tokens_per_s_per_user=float(sp.tokens_per_s_per_user),
        chosen_ttft_s=float(sp.ttft_s), chosen_tpot_s=float(sp.tpot_s),
        chosen_cost_per_million_output_tokens_usd=float(sp.chip_s_per_output_token * per_m),
        chosen_cost_per_million_input_tokens_usd=float(sp.chip_s_per_input_token * per_m),
        bound=sp.bound, bound_label=BOUND_LABELS.get(sp.bound, sp.bound),
        input_tokens_per_request=float(sp.input_tokens),
        output_tokens_per_request=float(sp.output_tokens))


# --------------------------------------------------------------------------------------
# Mixture of experts: total memory against compute (issue 12)
# --------------------------------------------------------------------------------------

#: Expert counts of the trade (Switch top-1 experts, the design the joint law was fitted on).
MOE_EXPERTS = (1, 2, 4, 8, 16, 32, 64, 128)
#: The built-in joint dense/MoE law the trade uses when the plan's law is not one.
MOE_LAW_ID = "ludziejewski-2025"
#: Bytes per weight of the memory figure (bf16).
WEIGHT_BYTES = 2.0


@dataclass(frozen=True)
class MoeTradeoff:
    """At each expert count ``experts`` (Switch top-1, expansion rate E), the law's
    compute-optimal model for one target loss: active parameters, tokens, training compute
    (6 N_act D, FLOPs), total parameters (every expert) and their weights in GB at
    :data:`WEIGHT_BYTES` per parameter, and the training cost at the plan's dollars per FLOP.
    ``in_fitted_range`` is False beyond the expert counts the law was fitted on.

    ``target`` says where the loss comes from: the plan's own loss when its law is the joint
    law, else the joint law's dense (E = 1) loss at the plan's training compute (the plan's
    loss under another law and dataset is not comparable with the joint law's)."""

    law_id: str
    law_name: str
    law_citation: str
    target_loss: float
    target: str
    experts: np.ndarray
    active_params: np.ndarray
    tokens: np.ndarray
    train_flops: np.ndarray
    total_params: np.ndarray
    weights_gb: np.ndarray
    cost_usd: np.ndarray
    in_fitted_range: np.ndarray
    experts_fitted_max: float
    usd_per_flop: float
    plan_total_params: float
    plan_active_params: float
    plan_train_flops: float
    plan_expansion_rate: float
    plan_on_law: bool

    def rows(self) -> list[dict]:
        return [{"experts": float(e), "active_params": float(a), "total_params": float(t),
                 "weights_gb": float(g), "tokens": float(d), "train_flops": float(c),
                 "cost_usd": float(u), "in_fitted_range": bool(f),
                 "target_loss": self.target_loss}
                for e, a, t, g, d, c, u, f in zip(
                    self.experts, self.active_params, self.total_params, self.weights_gb,
                    self.tokens, self.train_flops, self.cost_usd, self.in_fitted_range,
                    strict=True)]


def moe_tradeoff(est: Estimate, law=None, *, experts: Sequence[float] = MOE_EXPERTS,
                 catalogue: Catalogue | None = None) -> MoeTradeoff:
    """The trade of total memory against training compute across expert counts at one loss.

    At each E the joint law reduces to ``L = m N^μ + n D^ν + c`` (Ludziejewski et al. 2025,
    eq. 5, Table 4), whose compute-optimal allocation for a loss is Hoffmann et al. 2022's
    eq. 4 (the paper's eq. 7); more experts reach the loss with less compute and more
    parameters in memory. Total parameters come from the plan's shape rule at the active size
    (:func:`estimator.plan.model_shape_of`: E experts of the dense FFN's width, the law's
    N_total = 2dV + (4 + 9E) n_blocks d²). ``law``: the plan's law (default: the scenario's)."""
    from estimator.laws import get_law, moe_expansion_rate
    from estimator.plan import model_shape_of

    s = est.scenario
    if law is None:
        law = resolve(catalogue).law(s.law)
    plan_joint = hasattr(law, "at_experts")
    joint = law if plan_joint else get_law(MOE_LAW_ID)
    if plan_joint:
        target_loss = float(est.loss)
        target = "the plan's loss under its own law"
    else:
        target_loss = float(joint.dense().optimal_loss_closed_form(est.train_flops_6nd))
        target = ("the joint law's dense (E = 1) loss at the plan's training compute (the "
                  "plan's own law is fitted on other data: its loss is not comparable)")
    es = np.asarray(experts, dtype=float)
    act, tok, flops, total = (np.empty(len(es)) for _ in range(4))
    for i, e in enumerate(es):
        le = joint.at_experts(float(e))
        c = float(le.compute_for_loss_closed_form(target_loss))
        n, d = le.optimal_allocation_closed_form(c)
        n, d = float(n), float(d)
        if not (math.isfinite(c) and c > 0 and n > 0 and d > 0):
            raise InputError(f"the joint MoE law cannot reach loss {target_loss:.4f} at "
                             f"E = {e:g} (its irreducible loss is {joint.c:.4f})",
                             field="target_loss", value=target_loss)
        moe = ({"n_experts": None, "experts_per_token": None, "shared_experts": None}
               if e == 1 else {"n_experts": int(e), "experts_per_token": 1, "shared_experts": 0})
        s_e = replace(s, mode="loss", params=None, active_params=None, **moe)
        shape = model_shape_of(s_e, n)
        act[i], tok[i], flops[i] = n, d, 6.0 * n * d
        total[i] = n * shape.total_params / shape.active_params
    usd_per_flop = float(est.cost_usd / est.train_flops_6nd)
    lo, hi = getattr(joint, "experts_range", (1.0, 32.0))
    rate = (float(moe_expansion_rate(s.n_experts, s.experts_per_token, s.shared_experts or 0))
            if s.is_moe else 1.0)
    return MoeTradeoff(
        law_id=joint.id, law_name=joint.name, law_citation=joint.citation,
        target_loss=target_loss, target=target, experts=_frozen(es),
        active_params=_frozen(act), tokens=_frozen(tok), train_flops=_frozen(flops),
        total_params=_frozen(total), weights_gb=_frozen(total * WEIGHT_BYTES / 1e9),
        cost_usd=_frozen(flops * usd_per_flop), in_fitted_range=_frozen(es <= hi, bool),
        experts_fitted_max=float(hi), usd_per_flop=usd_per_flop,
        plan_total_params=float(est.total_params), plan_active_params=float(est.params),
        plan_train_flops=float(est.train_flops_6nd), plan_expansion_rate=rate,
        plan_on_law=plan_joint)


# --------------------------------------------------------------------------------------
# Sensitivity and break-even (issue 14)
# --------------------------------------------------------------------------------------


def plan_sensitivity(est: Estimate, *, catalogue: Catalogue | None = None):
    """:func:`estimator.sensitivity.sensitivity` of the estimate's scenario (biggest swing
    first on the lifetime total when the plan serves demand, else on training cost)."""
    from estimator.sensitivity import sensitivity

    return sensitivity(est.scenario, est, catalogue=catalogue)


def plan_break_even(est: Estimate, *, catalogue: Catalogue | None = None,
                    comparison: Sequence[Estimate] | None = None,
                    hardware: Sequence[str] = ()):
    """Cumulative training + serving cost against output tokens served for the plan's
    hardware, the ``hardware`` ids asked for and every chip cheapest somewhere up to twice the
    plan's lifetime demand (the report's choice, :func:`estimator.report_xlsx.default_break_even`,
    over :func:`estimator.engine.compare`); when only one chip is ever cheapest, the
    runner-up at the plan's demand is added so there is a line to cross."""
    from estimator.breakeven import break_even
    from estimator.engine import compare
    from estimator.report_xlsx import default_break_even

    def _usd_per_token(e: Estimate) -> float | None:  # the engine's rule: paid at the peak
        per_m = e.inference_cost_per_million_tokens_usd
        return None if per_m is None else per_m / 1e6 * e.scenario.peak_to_mean

    cat = resolve(catalogue)
    if comparison is None:
        comparison = compare(est.scenario, catalogue=cat)
    comp = [e for e in comparison if e.hardware != est.hardware] + [est]
    be = default_break_even(est, comp, hardware)
    if len(be.lines) >= 3 or len([e for e in comp if _usd_per_token(e) is not None]) < 2:
        return be
    horizon = 2 * est.lifetime_inference_tokens or 1e13
    keys = [ln.key for ln in be.lines]

    def total(e):
        return e.cost_usd + _usd_per_token(e) * horizon

    rest = sorted((e for e in comp if e.hardware not in keys and _usd_per_token(e) is not None),
                  key=total)
    chosen = [next(e for e in comp if e.hardware == k) for k in keys] + rest[:3 - len(keys)]
    return break_even(chosen, plan_hardware=est.hardware)


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

#: Chart kinds whose data :func:`table` writes as rows.
TABLE_KINDS = ("gpus", "serving", "moe", "tornado", "breakeven")


def table(kind: str, est: Estimate, *, catalogue: Catalogue | None = None,
          hardware: Sequence[str] = ()) -> list[dict]:
    """The rows behind chart ``kind`` (one of :data:`TABLE_KINDS`), units in the keys;
    ``hardware``: chips to add to the break-even's lines."""
    if kind == "gpus":
        return gpu_sweep(est, catalogue=catalogue).rows()
    if kind == "serving":
        return serving_sweep(est, catalogue=catalogue).rows()
    if kind == "moe":
        return moe_tradeoff(est, catalogue=catalogue).rows()
    if kind == "tornado":
        sens = plan_sensitivity(est, catalogue=catalogue)
        return [{"input": w.input, "label": w.label, "unit": w.unit, "low_value": w.low_value,
                 "high_value": w.high_value, "low_text": w.low_text, "high_text": w.high_text,
                 "low_cost_usd": w.low_cost_usd, "high_cost_usd": w.high_cost_usd,
                 "low_days": w.low_days, "high_days": w.high_days,
                 "low_lifetime_usd": w.low_lifetime_usd, "high_lifetime_usd": w.high_lifetime_usd,
                 f"swing_{sens.metric}": w.swing, "basis": w.basis} for w in sens.swings]
    if kind == "breakeven":
        be = plan_break_even(est, catalogue=catalogue, hardware=hardware)
        rows = [{"row": "line", "key": ln.key, "label": ln.label, "fixed_usd": ln.fixed_usd,
                 "usd_per_output_token": ln.usd_per_x, "is_plan": ln.is_plan, "tokens": None,
                 "cost_usd": None} for ln in be.lines]
        rows += [{"row": "crossing", "key": f"{c.a}|{c.b}",
                  "label": f"{c.cheaper_before} cheaper before, {c.cheaper_after} after",
                  "fixed_usd": None, "usd_per_output_token": None, "is_plan": c.switch,
                  "tokens": c.x, "cost_usd": c.cost_usd} for c in be.crossings]
        return rows
    raise InputError(f"chart '{kind}' has no table: --table works with "
                     f"{', '.join(TABLE_KINDS)}", field="table", value=kind,
                     expected=", ".join(TABLE_KINDS))


def table_csv(rows: list[dict]) -> str:
    """The rows as CSV text (header from the first row's keys; empty cells for None; text
    cells made safe for spreadsheets, :func:`estimator.textsafe.csv_cell`)."""
    import csv
    import io

    from estimator.textsafe import csv_cell

    buf = io.StringIO()
    if not rows:
        return ""
    w = csv.writer(buf, lineterminator="\n")
    keys = list(rows[0])
    w.writerow(keys)
    for r in rows:
        w.writerow(["" if r[k] is None else (csv_cell(r[k]) if isinstance(r[k], str) else
                                             (repr(r[k]) if isinstance(r[k], float) else r[k]))
                    for k in keys])
    return buf.getvalue()
