"""Plan a training run: the fastest layout that fits, its step time, goodput, hours and days.

:func:`plan_training_run` searches every candidate layout of :mod:`estimator.training.search`
for the job's GPU count, keeps those that fit in memory, picks the global batch for each
(the largest multiple of ``dp x micro_batch`` sequences within the useful batch of
:func:`estimator.training.model.optimal_batch_tokens`, or the pinned batch) and returns the
one with the least time per useful token, ``step_time / batch_tokens x multiplier``
(the multiplier, McCandlish et al. 2018, charges a batch beyond the useful one for the extra
tokens it needs). :func:`sweep_gpus` does the same over many GPU counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from estimator.errors import InputError
from estimator.shape import ModelShape
from estimator.training.constants import (
    BORROWED,
    FAILURE_RATE_PER_GPU_HOUR,
    GLOBAL,
    NO_PIPELINE_FAMILIES,
    ModelConstants,
    default_constants,
)
from estimator.training.goodput import goodput_for
from estimator.training.model import (
    Candidates,
    Coefs,
    Fabric,
    Geometry,
    LayoutGeometry,
    Work,
    batch_tokens_multiplier,
    evaluate,
    layout_geometry,
    optimal_batch_tokens,
    table_memory,
    work_for,
)
from estimator.training.search import (
    MICRO_BATCHES,
    Pins,
    cp_choices,
    floor_steps,
    memory_floor,
    min_gpus_for_memory,
    structures_for,
    tp_choices,
)
from estimator.training.types import (
    RECOMPUTE,
    Accelerator,
    GpuSweep,
    Layout,
    StepBreakdown,
    TrainingJob,
    TrainingRun,
)

#: Largest GPU count the memory floor is searched to.
MIN_GPUS_LIMIT = 1 << 24
#: z of the 10th/90th percentile of a normal distribution.
Z90 = 1.2815515655446004


def gemm_gain(acc: Accelerator, precision: str, fp8_gain: float) -> float:
    """Speed-up of the blocks' linear layers at ``precision`` over bf16: each halving of the
    operand width realises the share ``fp8_gain`` of its nominal peak gain,
    ``1 + gain (peak_lo / peak_hi - 1)`` per step (fitted on NVIDIA's dgxc bf16/fp8 pairs,
    training_refs.md 1.7; fp4 assumed to behave like fp8, no published fp4 training run)."""
    if precision in ("bf16", "fp16"):
        return 1.0
    bf16 = acc.peak("bf16")
    fp8 = acc.peak_flops_per_s.get("fp8", bf16)
    out = 1.0 + fp8_gain * max(fp8 / bf16 - 1.0, 0.0)
    if precision == "fp4":
        fp4 = acc.peak("fp4")
        out *= 1.0 + fp8_gain * max(fp4 / fp8 - 1.0, 0.0)
    return out


def fabric_for(acc: Accelerator, precision: str, fp8_gain: float) -> Fabric:
    low = precision in ("fp8", "fp4")
    return Fabric(peak_bf16=acc.peak("bf16"),
                  gemm_gain=gemm_gain(acc, precision, fp8_gain),
                  low_precision=1.0 if low else 0.0,
                  hbm_bytes_per_s=acc.memory_bandwidth_bytes_per_s,
                  capacity_bytes=acc.memory_bytes * GLOBAL.usable_memory_fraction,
                  domain=float(acc.scale_up_domain_chips),
                  up_bytes_per_s=acc.scale_up_bytes_per_s,
                  out_bytes_per_s=acc.scale_out_bytes_per_s)


def coefs_for(acc: Accelerator, consts: ModelConstants, imbalance: float | None = None) -> Coefs:
    fam = consts.family(acc.family)
    g = consts.globals
    return Coefs(gemm_eff=fam.gemm_efficiency, w0=fam.gemm_half_width,
                 mem_eff=fam.memory_efficiency, comm_eff=fam.comm_efficiency,
                 overlap=fam.comm_overlap,
                 imbalance=g.moe_load_imbalance if imbalance is None else imbalance)


def pins_of(job: TrainingJob, acc: Accelerator | None = None,
            consts: ModelConstants | None = None) -> Pins:
    """The job's pins, plus the family's practice: no pipeline on TPUs
    (:data:`NO_PIPELINE_FAMILIES`), full recompute where the family's least recompute is
    ``full`` (:attr:`FamilyConstants.least_recompute`)."""
    pp = job.pp
    if pp is None and acc is not None and acc.family in NO_PIPELINE_FAMILIES:
        pp = 1
    rec = job.recompute
    if rec is None and acc is not None and consts is not None \
            and consts.family(acc.family).least_recompute == "full":
        rec = "full"
    return Pins(tp=job.tp, pp=pp, cp=job.cp, ep=job.ep, micro_batch=job.micro_batch,
                recompute=None if rec is None else RECOMPUTE.index(rec),
                zero_stage=job.zero_stage, virtual_stages=job.virtual_stages)


@dataclass(frozen=True)
class _Grid:
    """Every candidate of several GPU counts of one or more model shapes, for one domain and
    precision class, as a grid structure x micro-batch x recompute: the structures
    concatenated shape after shape and count after count, their memory
    (``state + b x per_seq``) and factored geometry. Shared by every chip with this domain
    and precision class (cached); a chip's memory only picks its subset."""

    st: np.ndarray  # (S, 7): t, c, p, v, zero, dp, e
    sbounds: tuple[tuple[int, int], ...]  # per (shape, count): its structures [start, end)
    group: np.ndarray | None  # (S,): the shape of each structure (None: one shape)
    mbs: np.ndarray  # (B,)
    recs: np.ndarray  # (R,)
    mem: np.ndarray  # (S, B, R): bytes per GPU, state + b x per sequence
    lg: LayoutGeometry


#: One search item: the GPU counts of one model shape.
Item = tuple[tuple[int, ...], ModelShape]


def _works(shapes: tuple[ModelShape, ...], seq_len: int, group: np.ndarray | None) -> Work:
    """The :class:`Work` of one shape (scalars) or of several, per structure (arrays)."""
    if group is None:
        return work_for(shapes[0], seq_len)
    ws = [work_for(sh, seq_len) for sh in shapes]
    return Work(**{f: np.array([getattr(w, f) for w in ws])[group]
                   for f in Work.__dataclass_fields__})


#: Cache sizes: the per-shape grids and fitting sets hold arrays (a sweep's up to a few MB),
#: so only the recent shapes are kept; the window redraws with the latest one.
@lru_cache(maxsize=32)
def _grid(items: tuple[Item, ...], seq_len: int, domain: int, pins: Pins,
          low: float) -> _Grid | None:
    """The grid of ``items`` (None when no count of any shape has a structure): one array
    pass over every shape's structures (numpy's cost on one shape's arrays is mostly per
    operation; batching the shapes pays it once)."""
    parts, sbounds, gids, at = [], [], [], 0
    for gi, (counts, shape) in enumerate(items):
        for n in counts:
            got = structures_for(n, shape.n_layers, shape.n_heads, shape.n_experts, seq_len,
                                 domain, pins)
            k = 0 if got is None else len(got[0])
            if k:
                parts.append(got)
                gids.append(np.full(k, gi))
            sbounds.append((at, at + k))
            at += k
    if not parts:
        return None
    if len(parts) == 1:
        st, tab = parts[0]
    else:
        st = np.concatenate([x[0] for x in parts])
        tab = np.concatenate([x[1] for x in parts], axis=1)
    group = np.concatenate(gids) if len(items) > 1 else None
    w = _works(tuple(sh for _c, sh in items), seq_len, group)
    recs = np.array([pins.recompute] if pins.recompute is not None else [0, 1, 2], dtype=float)
    mbs = np.array([pins.micro_batch] if pins.micro_batch is not None else MICRO_BATCHES,
                   dtype=float)
    state, per_seq = table_memory(tab, w, low)
    lg = layout_geometry(tab, w, low, float(domain), mbs, recs, group=group)
    # (structure, micro-batch, recompute) in the candidates' order: activations are linear in
    # the micro-batch (table_memory)
    mem = state[:, None, None] + mbs[None, :, None] * per_seq[recs.astype(int)].T[:, None, :]
    return _Grid(st=st, sbounds=tuple(sbounds), group=group, mbs=mbs, recs=recs, mem=mem,
                 lg=lg)


@dataclass(frozen=True)
class _Fitting:
    """The candidates of a grid that fit (the least recompute of each layout and
    micro-batch), shape after shape and count after count, with their memory and
    :class:`Geometry`."""

    cand: Candidates
    mem: np.ndarray
    geo: Geometry
    bounds: tuple[tuple[int, int], ...]  # per (shape, count): [start, end) (empty: none)
    group: np.ndarray | None  # the shape of each candidate (None: one shape)


@lru_cache(maxsize=64)
def _fitting(items: tuple[Item, ...], seq_len: int, domain: int, pins: Pins, low: float,
             capacity: float) -> _Fitting | None:
    """The fitting candidates of every item (None when none fits anywhere; cached: none of
    it depends on the batch, rates or fitted constants). The memory is upper-bounded with a
    full pipeline in flight (``min(p, m) = p``), so a plan never overfills memory."""
    gr = _grid(items, seq_len, domain, pins, low)
    if gr is None:
        return None
    mem_all = gr.mem
    fits = mem_all <= capacity  # (S, B, R), recompute in the search's order
    s_idx, b_idx = np.nonzero(fits.any(axis=2))  # structure-major, as the candidates
    if s_idx.size == 0:
        return None
    r_idx = fits.argmax(axis=2)[s_idx, b_idx]  # the least recompute that fits
    st = gr.st[s_idx].T
    cand = Candidates(tp=st[0], pp=st[2], cp=st[1], ep=st[6], dp=st[5], mb=gr.mbs[b_idx],
                      rec=gr.recs[r_idx], zero=st[4], v=st[3])
    edges = np.searchsorted(s_idx, [a for a, _b in gr.sbounds] + [gr.sbounds[-1][1]])
    bounds = tuple((int(edges[i]), int(edges[i + 1])) for i in range(len(gr.sbounds)))
    return _Fitting(cand=cand, mem=mem_all[s_idx, b_idx, r_idx],
                    geo=gr.lg.take(s_idx, b_idx, r_idx), bounds=bounds,
                    group=None if gr.group is None else gr.group[s_idx])


@dataclass(frozen=True)
class _Choice:
    cand: Candidates  # length 1
    steps: object  # StepArrays of length 1
    m: float
    bseq: float
    mult: float
    mem: float


@dataclass
class Prepared:
    """The candidates of one job that fit, before step times: what depends only on the job,
    the chip's memory and the batch rule (not on fitted constants). ``valid`` marks the
    layouts the batch allows; ``bounds`` the [start, end) of each GPU count's candidates."""

    cand: Candidates
    m: np.ndarray
    bseq: np.ndarray
    mult: np.ndarray
    mem: np.ndarray
    geo: Geometry
    valid: np.ndarray
    bounds: tuple[tuple[int, int], ...] = ()

    def valid_only(self) -> Prepared:
        idx = np.flatnonzero(self.valid)
        return Prepared(cand=self.cand.take(idx), m=self.m[idx], bseq=self.bseq[idx],
                        mult=self.mult[idx], mem=self.mem[idx], geo=self.geo.take(idx),
                        valid=self.valid[idx])


def _batch(cd: Candidates, job: TrainingJob, b_opt: float, batch_fraction: float,
           bounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Micro-batches per step, batch sequences and validity of every candidate: the pinned
    batch, or the largest multiple of ``dp x micro_batch`` sequences within the planned batch
    ``batch_fraction x B_opt`` (at least one micro-batch per data-parallel rank; past
    ``B_opt`` the token multiplier charges it)."""
    unit = cd.dp * cd.mb
    s = float(job.seq_len)
    if job.global_batch_tokens is not None:
        bseq_pin = max(1.0, round(job.global_batch_tokens / s))
        m = bseq_pin / unit
        whole = (m >= 1.0) & (np.abs(m - np.round(m)) < 1e-9)
        # a count where no layout divides the pinned batch takes the nearest whole m
        none_whole = np.zeros(len(cd), dtype=bool)
        for a, b in bounds:
            if b > a and not whole[a:b].any():
                none_whole[a:b] = True
        m = np.where(none_whole, np.maximum(1.0, np.round(m)), np.where(whole, np.round(m), 0.0))
        bseq = np.where(m > 0, m * unit, bseq_pin)
        valid = m >= 1.0
    else:
        target = np.maximum(1.0, np.floor(batch_fraction * b_opt / s))  # b_opt: per candidate
        m = np.maximum(1.0, np.floor(target / unit))
        bseq = m * unit
        valid = np.ones(len(cd), dtype=bool)
    valid &= (cd.v == 1) | (m >= cd.pp)
    return m, bseq, valid


def prepare_many(entries: list[tuple[TrainingJob, tuple[int, ...], float]], fab: Fabric,
                 pins: Pins, batch_fraction: float = 1.0) -> Prepared | None:
    """Fitting candidates of several jobs ``(job, counts, B_opt)`` with their batch,
    concatenated job after job and count after count (``Prepared.bounds`` per (job, count);
    None when nothing fits at any count). The jobs share the sequence length, pins, batch
    pin and chip (their shapes and tokens differ)."""
    job0 = entries[0][0]
    items = tuple((tuple(counts), job.shape) for job, counts, _b in entries)
    got = _fitting(items, job0.seq_len, int(fab.domain), pins, fab.low_precision,
                   fab.capacity_bytes)
    if got is None:
        return None
    cd = got.cand
    b_opt = (entries[0][2] if got.group is None
             else np.array([b for _j, _c, b in entries])[got.group])
    m, bseq, valid = _batch(cd, job0, b_opt, batch_fraction, got.bounds)
    return Prepared(cand=cd, m=m, bseq=bseq,
                    mult=batch_tokens_multiplier(bseq * float(job0.seq_len), b_opt),
                    mem=got.mem, geo=got.geo, valid=valid, bounds=got.bounds)


def prepare_counts(job: TrainingJob, counts: tuple[int, ...], fab: Fabric, b_opt: float,
                   pins: Pins, batch_fraction: float = 1.0) -> Prepared | None:
    """Fitting candidates of every count in ``counts`` with their batch, concatenated
    (``Prepared.bounds`` per count; None when nothing fits at any count)."""
    return prepare_many([(job, tuple(counts), b_opt)], fab, pins, batch_fraction)


def prepare(job: TrainingJob, n: int, w: Work, fab: Fabric, b_opt: float, pins: Pins,
            batch_fraction: float = 1.0) -> Prepared | None:
    """Fitting candidates for ``n`` GPUs with their batch (None when nothing fits)."""
    pr = prepare_counts(job, (n,), fab, b_opt, pins, batch_fraction)
    if pr is None or not pr.valid.any():
        return None
    return pr


def _best_many(entries: list[tuple[TrainingJob, tuple[int, ...], float]], w: Work,
               fab: Fabric, coefs: Coefs, pins: Pins,
               batch_fraction: float) -> list[list[_Choice | None]]:
    """The fastest fitting layout for each count of each job (None where nothing fits): one
    evaluation of every candidate of every job (``w``: the first job's, for the signature
    of :func:`evaluate`; the shapes' own numbers travel in the geometry)."""
    pr = prepare_many(entries, fab, pins, batch_fraction)
    if pr is None:
        return [[None] * len(counts) for _j, counts, _b in entries]
    st = evaluate(pr.cand, pr.m, w, fab, coefs, mem=pr.mem, geo=pr.geo)
    seq = float(entries[0][0].seq_len)
    cost = np.where(pr.valid, st.step_s / (pr.bseq * seq) * pr.mult, np.inf)
    out: list[list[_Choice | None]] = []
    bounds = iter(pr.bounds)
    for _job, counts, _b in entries:
        row: list[_Choice | None] = []
        for _n in counts:
            a, b = next(bounds)
            if b <= a or not np.isfinite(cost[a:b]).any():
                row.append(None)
                continue
            i = a + int(np.argmin(cost[a:b]))
            one = np.array([i])
            row.append(_Choice(cand=pr.cand.take(one), steps=_take_steps(st, one),
                               m=float(pr.m[i]), bseq=float(pr.bseq[i]),
                               mult=float(pr.mult[i]), mem=float(pr.mem[i])))
        out.append(row)
    return out


def _best_counts(job: TrainingJob, counts: tuple[int, ...], w: Work, fab: Fabric,
                 coefs: Coefs, b_opt: float, pins: Pins,
                 batch_fraction: float) -> list[_Choice | None]:
    """The fastest fitting layout for each of ``counts`` (None where nothing fits): one
    evaluation of every count's candidates."""
    return _best_many([(job, tuple(counts), b_opt)], w, fab, coefs, pins, batch_fraction)[0]


def _take_steps(st, idx):
    return st.take(idx)


@lru_cache(maxsize=2048)
def _min_gpus(shape: ModelShape, seq_len: int, domain: int, pins: Pins, low: float,
              capacity: float, limit: int) -> int | None:
    """The least GPU count (every count up to one domain, then whole domains) with a layout
    that fits, at most ``limit`` (None when none up to it fits):
    :func:`estimator.training.search.min_gpus_for_memory`."""
    got = _floor(shape, seq_len, domain, pins, low)
    return None if got is None else min_gpus_for_memory(*got, domain, capacity, limit)


@lru_cache(maxsize=256)
def _floor(shape: ModelShape, seq_len: int, domain: int, pins: Pins, low: float):
    """The layout families of :func:`_min_gpus` and their affine memory (shared by every chip
    with this domain and precision class, whatever its memory)."""
    rows, a, b, q_e = memory_floor(work_for(shape, seq_len), shape.n_layers, shape.n_heads,
                                   shape.n_experts, seq_len, domain, pins, low)
    if rows.size == 0:
        return None
    return (a, b, *floor_steps(rows, q_e, domain))


def _reference_count(min_gpus: int, domain: int, n: int) -> int:
    """GPUs of the scaling-efficiency reference: one scale-up domain, or the least
    power-of-two number of domains that fits (a few reference counts, whose layout menus
    every shape shares), or the job's own count when smaller (a job inside one domain, e.g.
    64 chips of a 4,096-chip TPU slice, is its own reference)."""
    k = 1 if min_gpus <= domain else 1 << math.ceil(math.log2(math.ceil(min_gpus / domain)))
    return min(k * domain, n)


def max_useful_gpus(job: TrainingJob, acc: Accelerator, b_opt: float) -> int:
    """GPUs past which every layout needs a batch beyond the useful one: a data-parallel
    replica of ``t x c`` GPUs (the largest degrees searched) needs one sequence per
    micro-batch and a pipeline of ``p`` stages ``p`` micro-batches in flight, so the smallest
    batch on ``n`` GPUs is ``n / (t c)`` sequences; the ceiling is ``floor(B_opt / s) t c``."""
    pins = pins_of(job, acc)
    big = 1 << 30
    t = max(tp_choices(big, job.shape.n_heads, acc.scale_up_domain_chips, pins) or [1])
    c = max(cp_choices(big, job.seq_len, pins) or [1])
    return max(1, int(math.floor(b_opt / job.seq_len))) * t * c


def _layout(ch: _Choice) -> Layout:
    cd = ch.cand
    return Layout(tp=int(cd.tp[0]), pp=int(cd.pp[0]), dp=int(cd.dp[0]), cp=int(cd.cp[0]),
                  ep=int(cd.ep[0]), micro_batch=int(cd.mb[0]), micro_batches=int(ch.m),
                  recompute=RECOMPUTE[int(cd.rec[0])], zero_stage=min(int(cd.zero[0]), 3),
                  virtual_stages=max(int(cd.v[0]), 1), hybrid_shard=int(cd.zero[0]) == 4,
                  dualpipe=int(cd.v[0]) == 0)


def _band(consts: ModelConstants, family: str) -> tuple[float, float]:
    fc = consts.family(family)
    return math.exp(fc.band_log_p10), math.exp(fc.band_log_p90)


def _pin_error(job: TrainingJob, acc: Accelerator, pins: Pins) -> InputError | None:
    """An error naming the pin that no layout on ``job.gpus`` GPUs can honour, if any."""
    sh, n = job.shape, job.gpus
    if job.tp is not None and sh.n_heads % job.tp:
        return InputError(f"tp = {job.tp} must divide n_heads = {sh.n_heads}", field="tp",
                          value=job.tp, expected=f"a divisor of n_heads ({sh.n_heads})")
    if job.cp is not None and job.seq_len % job.cp:
        return InputError(f"cp = {job.cp} must divide seq_len = {job.seq_len}", field="cp",
                          value=job.cp, expected=f"a divisor of seq_len ({job.seq_len})")
    prod = (job.tp or 1) * (job.pp or 1) * (job.cp or 1)
    if n % prod:
        return InputError(
            f"gpus = {n} is not a multiple of the pinned tp x pp x cp = {prod}", field="gpus",
            value=n, expected=f"a multiple of {prod}",
            hint="change the GPU count or the pinned parallel degrees")
    if job.pp is not None and job.pp > sh.n_layers:
        return InputError(f"pp = {job.pp} exceeds n_layers = {sh.n_layers}", field="pp",
                          value=job.pp, expected=f"at most n_layers ({sh.n_layers})")
    return None


def _no_fit_error(job: TrainingJob, acc: Accelerator, fab: Fabric, pins: Pins) -> InputError:
    bad_pin = _pin_error(job, acc, pins)
    if bad_pin is not None:
        return bad_pin
    need = _min_gpus(job.shape, job.seq_len, int(fab.domain), pins, fab.low_precision,
                     fab.capacity_bytes, MIN_GPUS_LIMIT)
    gb = acc.memory_bytes / 1e9
    if need is None:
        msg = (f"no parallel layout of this {job.shape.total_params / 1e9:.3g}B-parameter "
               f"model fits in {gb:g} GB per accelerator at any GPU count")
        hint = "shorten seq_len, remove pins, or use an accelerator with more memory"
        return InputError(msg, field="gpus", value=job.gpus, expected="a larger cluster",
                          hint=hint)
    pinned = any(getattr(job, f) is not None for f in (
        "tp", "pp", "cp", "ep", "micro_batch", "recompute", "zero_stage", "virtual_stages"))
    msg = (f"no parallel layout of this {job.shape.total_params / 1e9:.3g}B-parameter model "
           f"fits on {job.gpus} accelerators of {gb:g} GB; the least that fit are {need}")
    hint = f"use at least {need} GPUs" + (" or remove layout pins" if pinned else "")
    return InputError(msg, field="gpus", value=job.gpus, expected=f">= {need}", hint=hint)


def plan_training_run(job: TrainingJob, accelerator: Accelerator,
                      constants: ModelConstants | None = None) -> TrainingRun:
    """The fastest layout of ``job`` on ``accelerator`` that fits in memory, and the run it
    gives (see :class:`TrainingRun` for the identities between its fields).

    Raises :class:`InputError` (field ``gpus``) naming the least GPU count that would fit when
    no layout fits, and (field ``precision``) when the chip lacks the precision.
    """
    got = plan_training_runs([job], accelerator, constants)[0]
    if isinstance(got, InputError):
        raise got
    return got


@dataclass(frozen=True)
class _Setup:
    """What :func:`plan_training_runs` knows of one job before its layout search."""

    w: Work
    fab: Fabric
    pins: Pins
    b_opt: float
    min_gpus: int
    n_ref: int
    counts: tuple[int, ...]

    def batch_key(self, job: TrainingJob) -> tuple:
        """Jobs with equal keys search together (one grid, one evaluation)."""
        return (job.seq_len, self.pins, self.fab, job.global_batch_tokens, job.shape.is_moe)


@dataclass(frozen=True)
class RunHours:
    """What a run's cost and time need, without the rest of its report: the paid GPU-hours and
    wall-clock days of the job's fastest layout, equal to the :class:`TrainingRun`'s
    ``gpu_hours`` and ``wall_clock_days`` for the same job."""

    gpu_hours: float
    wall_clock_days: float


def plan_training_runs(jobs, accelerator: Accelerator,
                       constants: ModelConstants | None = None, *,
                       hours_only=()) -> list[TrainingRun | RunHours | InputError]:
    """:func:`plan_training_run` of several jobs on one chip (the error where a job has no
    run), each exactly as planned alone. Jobs of one sequence length, precision and pins
    (e.g. the same plan at several model sizes) are searched together: their layout grids
    in one array pass and one evaluation (a sixth cheaper than one search each on
    ``benchmarks/bench_training.py``'s jobs: once batched, numpy's cost follows the elements,
    and each shape's structures, memory floor and run stay its own).

    ``hours_only``: indices of jobs whose cost and time are all that is wanted (a rate curve's
    anchors, an alternative plan's price). Each gets a :class:`RunHours`, the same hours as its
    full run, without the searches only the report needs: the least GPU count that fits and
    the scaling-efficiency reference layout (about half of a job's search). Its error when
    nothing fits does not name the least GPU count that would."""
    consts = constants or default_constants()
    acc = accelerator
    hours_only = frozenset(hours_only)
    setups: list[_Setup | InputError] = []
    for i, job in enumerate(jobs):
        try:
            setups.append(_setup(job, acc, consts, hours_only=i in hours_only))
        except InputError as exc:
            setups.append(exc)
    batches: dict[tuple, list[int]] = {}
    for i, (job, su) in enumerate(zip(jobs, setups, strict=True)):
        if isinstance(su, _Setup):
            batches.setdefault(su.batch_key(job), []).append(i)
    best: dict[int, list[_Choice | None]] = {}
    coefs = coefs_for(acc, consts)
    for idx in batches.values():
        su0 = setups[idx[0]]
        rows = _best_many([(jobs[i], setups[i].counts, setups[i].b_opt) for i in idx], su0.w,
                          su0.fab, coefs, su0.pins, consts.globals.batch_practice_fraction)
        best.update(zip(idx, rows, strict=True))
    out: list[TrainingRun | RunHours | InputError] = []
    for i, (job, su) in enumerate(zip(jobs, setups, strict=True)):
        if isinstance(su, InputError):
            out.append(su)
            continue
        if i in hours_only and best[i][0] is None:
            out.append(_no_fit_here(job, acc, su.pins))
            continue
        try:
            run = _finish(job, acc, consts, su, coefs, best[i])
        except InputError as exc:
            out.append(exc)
            continue
        out.append(RunHours(run.gpu_hours, run.wall_clock_days) if i in hours_only else run)
    return out


def _no_fit_here(job: TrainingJob, acc: Accelerator, pins: Pins) -> InputError:
    """The no-fit error of an hours-only job: the pin no layout honours, else that nothing
    fits on its GPUs (without the search for the least count that would)."""
    bad_pin = _pin_error(job, acc, pins)
    if bad_pin is not None:
        return bad_pin
    return InputError(
        f"no parallel layout of this {job.shape.total_params / 1e9:.3g}B-parameter model "
        f"fits on {job.gpus} accelerators of {acc.memory_bytes / 1e9:g} GB", field="gpus",
        value=job.gpus, expected="a larger cluster", hint="use more GPUs")


def _setup(job: TrainingJob, acc: Accelerator, consts: ModelConstants, *,
           hours_only: bool = False) -> _Setup:
    w = work_for(job.shape, job.seq_len)
    fab = fabric_for(acc, job.precision, consts.globals.fp8_gemm_gain)
    pins = pins_of(job, acc, consts)
    n = job.gpus
    if hours_only:  # no reference layout, no least count: neither changes the hours
        return _Setup(w=w, fab=fab, pins=pins,
                      b_opt=optimal_batch_tokens(w, job.shape, job.tokens), min_gpus=n,
                      n_ref=n, counts=(n,))
    need = _min_gpus(job.shape, job.seq_len, int(fab.domain), pins, fab.low_precision,
                     fab.capacity_bytes, MIN_GPUS_LIMIT)
    min_gpus = min(need or n, n)
    n_ref = _reference_count(min_gpus, acc.scale_up_domain_chips, n)
    return _Setup(w=w, fab=fab, pins=pins, b_opt=optimal_batch_tokens(w, job.shape, job.tokens),
                  min_gpus=min_gpus, n_ref=n_ref, counts=(n,) if n_ref == n else (n, n_ref))


def _finish(job: TrainingJob, acc: Accelerator, consts: ModelConstants, su: _Setup,
            coefs: Coefs, best: list[_Choice | None]) -> TrainingRun:
    """The run of ``job`` from its fastest layouts (the job's count, then the reference's)."""
    fam = consts.family(acc.family)
    g = consts.globals
    w, fab, pins, b_opt = su.w, su.fab, su.pins, su.b_opt
    n, n_ref, min_gpus = job.gpus, su.n_ref, su.min_gpus
    ch = best[0]
    if ch is None:
        raise _no_fit_error(job, acc, fab, pins)
    warnings: list[str] = []
    st = ch.steps
    step_s = float(st.step_s[0])
    batch_tokens = ch.bseq * job.seq_len
    tps = batch_tokens / (step_s * n)
    peak = acc.peak(job.precision)
    n_act = w.n_active
    mfu_model = 6.0 * n_act * tps / peak
    mfu_pinned = job.mfu is not None
    scale = 1.0
    if mfu_pinned:
        scale = mfu_model / job.mfu
        tps = job.mfu * peak / (6.0 * n_act)
        step_s = batch_tokens / (tps * n)
        warnings.append(f"MFU pinned at {job.mfu:.3g}: step time follows it; the step "
                        f"breakdown is the model's ({mfu_model:.3g}) scaled to match")
    mfu = 6.0 * n_act * tps / peak
    hfu = float(st.hardware_flops[0]) / (float(st.step_s[0]) * peak)
    bd = StepBreakdown(*(float(getattr(st, k)[0]) * scale for k in (
        "compute_s", "memory_s", "tp_s", "cp_s", "ep_s", "pp_s", "dp_s", "bubble_s",
        "optimizer_s")))

    # -- precision -------------------------------------------------------------------------
    if job.precision in ("fp8", "fp4"):
        fab16 = fabric_for(acc, "bf16", 0.0)
        st16 = evaluate(ch.cand, np.array([ch.m]), w, fab16, coefs)
        e2e = float(st16.step_s[0]) / float(st.step_s[0])
        nominal = peak / acc.peak("bf16")
        warnings.append(
            f"{job.precision} does not give {nominal:.3g}x the bf16 throughput: its linear "
            f"layers run {fab.gemm_gain:.2f}x faster (fitted on NVIDIA dgxc bf16/fp8 pairs, "
            f"1.25-1.53x end to end, training_refs.md 1.7), attention, memory-bound work and "
            f"communication do not; this layout: {e2e:.2f}x bf16 end to end"
            + ("; fp4 training has no published end-to-end measurement: its gain is assumed "
               "equal to fp8's" if job.precision == "fp4" else ""))

    # -- batch ------------------------------------------------------------------------------
    useful = max_useful_gpus(job, acc, b_opt)
    if ch.mult > 1.0 + 1e-9:
        if job.global_batch_tokens is None:
            warnings.append(
                f"on {n} GPUs the smallest batch any fitting layout can use is "
                f"{batch_tokens / 1e6:.3g}M tokens, above the useful batch "
                f"{b_opt / 1e6:.3g}M (DeepSeek LLM B_opt); reaching the same loss needs "
                f"{ch.mult:.2f}x the tokens (McCandlish et al. 2018): past about {useful} "
                f"GPUs more GPUs raise the cost and barely shorten the run")
        else:
            warnings.append(
                f"the pinned batch of {batch_tokens / 1e6:.3g}M tokens is above the useful "
                f"batch {b_opt / 1e6:.3g}M (DeepSeek LLM B_opt): the same loss needs about "
                f"{ch.mult:.2f}x the tokens (McCandlish et al. 2018); hours are for the "
                f"tokens given")
    mult = ch.mult if job.global_batch_tokens is None else 1.0
    if job.global_batch_tokens is not None and abs(batch_tokens - job.global_batch_tokens) > \
            0.5 * job.seq_len:
        warnings.append(f"the pinned batch of {job.global_batch_tokens:g} tokens is not a "
                        f"whole number of sequences per data-parallel rank: planned with "
                        f"{batch_tokens:g}")

    # -- goodput ----------------------------------------------------------------------------
    gp = goodput_for(n, w.n_total, FAILURE_RATE_PER_GPU_HOUR[acc.family],
                     g.campaign_overhead, job.checkpoint_storage_bytes_per_s)
    goodput = job.goodput if job.goodput is not None else gp.goodput
    if gp.starved and job.goodput is None:
        warnings.append(f"interruptions every {gp.job_mtbf_hours:.2g} h on {n} GPUs leave "
                        f"almost no productive time (restart plus lost work exceed the "
                        f"MTBF): goodput floored at {gp.goodput:.2g}")
    tokens_trained = job.tokens * mult
    productive_s = tokens_trained / (tps * n)
    wall_s = productive_s / goodput
    gpu_hours = wall_s * n / 3600.0
    interruptions = wall_s / 3600.0 / gp.job_mtbf_hours

    # -- reference: the best layout on one domain (evaluated with the plan) ----------------
    if n_ref == n:
        eff = 1.0
    else:
        ref = best[1]
        ref_mult = ref.mult if ref is not None and job.global_batch_tokens is None else 1.0
        ref_tps = (ref.bseq * job.seq_len / (float(ref.steps.step_s[0]) * n_ref) / ref_mult
                   if ref is not None else None)
        eff = (tps / mult) / ref_tps if ref_tps else float("nan")
    if not math.isfinite(eff):
        eff = 1.0
        warnings.append(f"scaling efficiency not available: the pinned layout has no "
                        f"counterpart on {n_ref} GPUs")

    p10, p90 = _band(consts, acc.family)
    if fam.borrowed_from is not None:
        why = BORROWED[acc.family][1]
        warnings.append(f"{acc.family} has no calibration data: constants borrowed from "
                        f"{fam.borrowed_from} ({why}); the band is wider")
    return TrainingRun(
        layout=_layout(ch), global_batch_tokens=batch_tokens, optimal_batch_tokens=b_opt,
        batch_tokens_multiplier=mult, step_time_s=step_s, breakdown=bd,
        tokens_per_s_per_gpu=tps, predicted_mfu=mfu, hardware_flops_utilization=hfu / scale,
        goodput=goodput, expected_interruptions=interruptions,
        job_mtbf_hours=gp.job_mtbf_hours, checkpoint_interval_s=gp.checkpoint_interval_s,
        checkpoint_write_s=gp.checkpoint_write_s, tokens_trained=tokens_trained,
        train_flops=6.0 * n_act * tokens_trained, gpu_hours=gpu_hours,
        wall_clock_days=wall_s / 86400.0, scaling_efficiency=float(eff),
        min_gpus_for_memory=int(min_gpus), max_useful_gpus=int(useful),
        memory_per_gpu_bytes=ch.mem, memory_capacity_bytes=fab.capacity_bytes,
        gpu_hours_p10_factor=p10, gpu_hours_p90_factor=p90, constants_family=acc.family,
        constants_borrowed_from=fam.borrowed_from, mfu_pinned=mfu_pinned,
        goodput_pinned=job.goodput is not None, warnings=tuple(warnings))


def sweep_gpus(job: TrainingJob, accelerator: Accelerator, gpu_counts,
               constants: ModelConstants | None = None) -> GpuSweep:
    """Days, GPU-hours and throughput of ``job`` at each of ``gpu_counts`` (the chart "days and
    cost vs number of GPUs"). Counts where nothing fits have ``fits = False`` and NaN
    entries. Same model and choices as :func:`plan_training_run`."""
    consts = constants or default_constants()
    acc = accelerator
    g = consts.globals
    counts = np.asarray(gpu_counts, dtype=int).ravel()
    if counts.size == 0 or (counts < 1).any():
        raise InputError("gpu_counts must be whole numbers >= 1", field="gpus",
                         value=list(counts), expected="whole numbers >= 1")
    w = work_for(job.shape, job.seq_len)
    fab = fabric_for(acc, job.precision, consts.globals.fp8_gemm_gain)
    coefs = coefs_for(acc, consts)
    pins = pins_of(job, acc, consts)
    b_opt = optimal_batch_tokens(w, job.shape, job.tokens)
    peak = acc.peak(job.precision)
    n_act = w.n_active
    k = counts.size
    out = {name: np.full(k, np.nan) for name in (
        "wall_clock_days", "gpu_hours", "tokens_per_s_per_gpu", "predicted_mfu", "goodput",
        "global_batch_tokens", "batch_tokens_multiplier", "step_time_s")}
    fits = np.zeros(k, dtype=bool)
    best = _best_counts(job, tuple(int(n) for n in counts), w, fab, coefs, b_opt, pins,
                        g.batch_practice_fraction)
    for i, (n, ch) in enumerate(zip(counts, best, strict=True)):
        if ch is None:
            continue
        fits[i] = True
        step = float(ch.steps.step_s[0])
        bt = ch.bseq * job.seq_len
        tps = bt / (step * n)
        if job.mfu is not None:
            tps = job.mfu * peak / (6.0 * n_act)
            step = bt / (tps * n)
        mult = ch.mult if job.global_batch_tokens is None else 1.0
        gp = goodput_for(int(n), w.n_total, FAILURE_RATE_PER_GPU_HOUR[acc.family],
                         g.campaign_overhead, job.checkpoint_storage_bytes_per_s)
        good = job.goodput if job.goodput is not None else gp.goodput
        wall = job.tokens * mult / (tps * n) / good
        out["wall_clock_days"][i] = wall / 86400.0
        out["gpu_hours"][i] = wall * n / 3600.0
        out["tokens_per_s_per_gpu"][i] = tps
        out["predicted_mfu"][i] = 6.0 * n_act * tps / peak
        out["goodput"][i] = good
        out["global_batch_tokens"][i] = bt
        out["batch_tokens_multiplier"][i] = mult
        out["step_time_s"][i] = step
    min_gpus = _min_gpus(job.shape, job.seq_len, int(fab.domain), pins, fab.low_precision,
                         fab.capacity_bytes, MIN_GPUS_LIMIT) or 0
    return GpuSweep(gpus=counts, fits=fits, max_useful_gpus=max_useful_gpus(job, acc, b_opt),
                    min_gpus_for_memory=int(min_gpus), **out)
