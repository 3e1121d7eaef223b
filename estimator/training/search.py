"""Candidate parallel layouts for a GPU count, as arrays (cached: they depend only on integers).

Searched (each unless pinned by the job):

* tensor parallel ``t``: powers of two up to 16 that divide the heads and the GPU count and fit
  in one scale-up domain (Narayanan et al. 2021, arXiv:2104.04473, Sec. 3.2 "keep tensor
  parallelism within a node"; a TPU slice is one domain);
* context parallel ``c``: powers of two up to 32 with at least 2,048 tokens per rank (below that
  the ring's messages are too small to hide);
* pipeline parallel ``p``: every divisor of ``n / (t c)`` up to the layer count (uneven layers
  per stage cost ``ceil(L / p) / (L / p)``); virtual stages ``v`` in {1, 2, 4, 8} with
  ``p v <= L`` (interleaved 1F1B, Narayanan 2021 Sec. 2.2.2); for mixtures of experts with an
  even ``p`` also DualPipe (DeepSeek-V3 Sec. 3.2.1), coded ``v = 0``;
* expert parallel ``e`` (mixtures of experts): powers of two and ``E`` itself that divide the
  routed experts and the ``t c dp`` ranks of a stage (Megatron-Core MoE "parallel folding");
* ZeRO-1, ZeRO-3, or hybrid sharding (ZeRO-3 inside each scale-up domain, replicas across
  domains: PyTorch HSDP, MaxText's ICI FSDP with DCN data parallelism); the sharded ones only
  without pipeline parallelism, as FSDP is used;
* micro-batch: powers of two up to 128 sequences;
* recompute: none, selective, full (the least recompute that fits is kept per layout, since it
  is never slower).

Candidates are ordered structure, micro-batch, recompute (fastest): the plan keeps, per
structure and micro-batch, the least recompute that fits (never slower).

Speed: what depends only on the GPU count, the domain and the pins (the degrees ``t, c, p, v``
and the ZeRO choice, a "menu") is built once per process and shared by every shape and chip;
a shape filters it with array masks (heads, layers, sequence length) and adds the expert
degrees. :func:`min_gpus_for_memory` solves the least GPU count per layout in closed form
(memory is ``A + B / dp`` in the data-parallel degree) instead of trying counts one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from estimator.training.model import LOGIT_BYTES, Candidates, Work, struct_table

TP_MAX = 16
CP_MAX = 32
CP_MIN_TOKENS = 2048
V_CHOICES = (1, 2, 4, 8)
MB_MAX = 128
#: The micro-batches searched (sequences): powers of two up to MB_MAX.
MICRO_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass(frozen=True)
class Pins:
    """The layout choices a job fixes (None = searched)."""

    tp: int | None = None
    pp: int | None = None
    cp: int | None = None
    ep: int | None = None
    micro_batch: int | None = None
    recompute: int | None = None  # 0 none, 1 selective, 2 full
    zero_stage: int | None = None
    virtual_stages: int | None = None

    @property
    def structural(self) -> tuple:
        """The pins the menu of degrees depends on (not the expert degree, micro-batch or
        recompute)."""
        return (self.tp, self.pp, self.cp, self.zero_stage, self.virtual_stages)


@lru_cache(maxsize=4096)
def _divisors(x: int) -> list[int]:
    out = []
    i = 1
    while i * i <= x:
        if x % i == 0:
            out.append(i)
            if i != x // i:
                out.append(x // i)
        i += 1
    return sorted(out)


def _pow2_upto(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def tp_choices(n: int, heads: int, domain: int, pins: Pins) -> list[int]:
    if pins.tp is not None:
        return [pins.tp] if n % pins.tp == 0 else []
    return [t for t in _pow2_upto(min(TP_MAX, domain, n)) if heads % t == 0 and n % t == 0]


def cp_choices(n: int, seq_len: int, pins: Pins) -> list[int]:
    if pins.cp is not None:
        return [pins.cp] if n % pins.cp == 0 else []
    return [c for c in _pow2_upto(CP_MAX)
            if n % c == 0 and (c == 1 or seq_len // c >= CP_MIN_TOKENS)]


#: Columns of a menu row.
_T, _C, _P, _V, _Z, _DP = range(6)


@lru_cache(maxsize=256)
def _menu(n: int, domain: int, structural: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Every (t, c, p, v, zero, dp, e = 1) for ``n`` GPUs before the shape's filters (heads,
    layers, sequence length, DualPipe for MoE only), in the search's order (t, c, p, v, zero),
    and its :func:`struct_table`: shared by every shape and chip with this domain."""
    tp, pp, cp, zero_pin, v_pin = structural
    tcp = []  # (t, c, p) in the search's order
    ts = ([tp] if n % tp == 0 else []) if tp is not None else \
        [t for t in _pow2_upto(min(TP_MAX, domain, n)) if n % t == 0]
    for t in ts:
        cs = ([cp] if (n // t) % cp == 0 else []) if cp is not None else \
            [c for c in _pow2_upto(CP_MAX) if (n // t) % c == 0]
        for c in cs:
            rest = n // (t * c)
            pps = ([pp] if rest % pp == 0 else []) if pp is not None else _divisors(rest)
            tcp += [(t, c, p) for p in pps]
    if not tcp:
        return np.zeros((0, 7)), np.zeros((48, 0))
    t, c, p = np.array(tcp, dtype=float).T
    dp = n / (t * c * p)
    # virtual stages (1, 2, 4, 8, DualPipe) x ZeRO (1, 3, hybrid) per (t, c, p), masked
    if v_pin is not None:
        vs = np.array([float(v_pin)])
        v_ok = (p > 1)[:, None] | (v_pin == 1)
    else:
        vs = np.array([1.0, 2.0, 4.0, 8.0, 0.0])
        deep = p > 1
        v_ok = np.column_stack([np.ones_like(deep), deep, deep, deep,
                                deep & (np.fmod(p, 2.0) == 0)])
    zs = np.array([1.0, 3.0, 4.0])
    flat = p == 1
    hybrid = flat & (t * c * dp > domain) & (np.floor(domain / t) >= 2)
    if zero_pin == 1:
        z_ok = np.column_stack([np.ones_like(flat), ~np.ones_like(flat), ~np.ones_like(flat)])
    elif zero_pin == 3:
        z_ok = np.column_stack([~np.ones_like(flat), flat, hybrid])
    else:
        z_ok = np.column_stack([np.ones_like(flat), flat, hybrid])
    ok = v_ok[:, :, None] & z_ok[:, None, :]  # (rows, v, z), row-major: the search's order
    r, vi, zi = np.nonzero(ok)
    dense = np.column_stack([t[r], c[r], p[r], vs[vi], zs[zi], dp[r], np.ones(len(r))])
    return dense, struct_table(*dense[:, :6].T, 1.0, float(domain))


def expert_choices(n_experts: int, pins: Pins) -> np.ndarray:
    """Expert-parallel degrees a shape allows (before the stage-size check)."""
    if n_experts <= 1:
        return np.array([1.0] if pins.ep in (None, 1) else [])
    if pins.ep is not None:
        return np.array([float(pins.ep)])
    return np.array([float(e) for e in _divisors(n_experts)
                     if e & (e - 1) == 0 or e == n_experts])


def _shape_mask(menu: np.ndarray, n_layers: int, heads: int, moe: bool, seq_len: int,
                pins: Pins) -> np.ndarray:
    t, c, p, v = menu[:, _T], menu[:, _C], menu[:, _P], menu[:, _V]
    ok = np.ones(len(menu), dtype=bool)
    if pins.tp is None:
        ok &= np.fmod(heads, t) == 0
    if pins.cp is None:
        ok &= (c == 1) | (np.floor(seq_len / c) >= CP_MIN_TOKENS)
    if pins.pp is None:
        ok &= p <= n_layers
    if pins.virtual_stages is None:
        ok &= (v == 1) | ((v > 1) & (p * v <= n_layers)) | ((v == 0) & moe)
    return ok


@lru_cache(maxsize=64)
def structures_for(n: int, n_layers: int, heads: int, n_experts: int, seq_len: int,
                   domain: int, pins: Pins) -> tuple[np.ndarray, np.ndarray] | None:
    """The layouts' structures for ``n`` GPUs, rows (t, c, p, v, zero, dp, e) in the search's
    order (t, c, p, v, e, zero), with their :func:`struct_table`, or None when no parallel
    degrees divide ``n``."""
    menu, table = _menu(n, domain, pins.structural)
    if menu.size == 0:
        return None
    keep = _shape_mask(menu, n_layers, heads, n_experts > 1, seq_len, pins)
    menu = menu[keep]
    es = expert_choices(n_experts, pins)
    if menu.size == 0 or es.size == 0:
        return None
    if n_experts <= 1:
        return menu, table[:, keep]
    # each (t, c, p, v) block lists its zero choices; experts go between v and zero
    stage = menu[:, _T] * menu[:, _C] * menu[:, _DP]
    ok = np.fmod(stage[:, None], es[None, :]) == 0
    row, ei = np.nonzero(ok)
    block = np.cumsum(np.r_[True, np.any(np.diff(menu[:, :4], axis=0) != 0, axis=1)])
    order = np.lexsort((row, ei, block[row]))
    row, ei = row[order], ei[order]
    if row.size == 0:
        return None
    st = menu[row]
    st[:, 6] = es[ei]
    t, c, p, v, z, dp, e = st.T
    return st, struct_table(t, c, p, v, z, dp, e, float(domain))


@lru_cache(maxsize=32)
def candidates_for(n: int, n_layers: int, heads: int, n_experts: int, seq_len: int,
                   domain: int, pins: Pins) -> Candidates | None:
    """Every candidate layout for ``n`` GPUs (None when no parallel degrees divide ``n``):
    each structure x micro-batch x recompute, recompute fastest."""
    got = structures_for(n, n_layers, heads, n_experts, seq_len, domain, pins)
    if got is None:
        return None
    st = got[0]
    recs = [pins.recompute] if pins.recompute is not None else [0, 1, 2]
    mbs = [pins.micro_batch] if pins.micro_batch is not None else _pow2_upto(MB_MAX)
    k = len(mbs) * len(recs)
    base = np.repeat(st, k, axis=0).T
    mb = np.tile(np.repeat(np.array(mbs, dtype=float), len(recs)), len(st))
    rec = np.tile(np.array(recs, dtype=float), len(st) * len(mbs))
    return Candidates(tp=base[_T], pp=base[_P], cp=base[_C], ep=base[6], dp=base[_DP], mb=mb,
                      rec=rec, zero=base[_Z], v=base[_V])


# -- the least GPU count that fits ------------------------------------------------------------
@lru_cache(maxsize=256)
def _floor_base(heads_tp: int, n_experts: int, seq_len: int, domain: int, pins: Pins
                ) -> np.ndarray:
    """Rows (t, c, zero, e) of the floor before the pipeline axis (cached per process;
    ``heads_tp = gcd(heads, 16)``: the powers of two up to 16 that divide the heads)."""
    ts = [pins.tp] if pins.tp is not None else \
        [t for t in _pow2_upto(min(TP_MAX, domain)) if heads_tp % t == 0]
    cs = [pins.cp] if pins.cp is not None else \
        [c for c in _pow2_upto(CP_MAX) if c == 1 or seq_len // c >= CP_MIN_TOKENS]
    zs = [1.0, 3.0] if pins.zero_stage is None else [float(pins.zero_stage)]
    es = expert_choices(n_experts, pins)
    grid = np.stack(np.meshgrid(np.array(ts, dtype=float), np.array(cs, dtype=float),
                                np.array(zs), es, indexing="ij"), axis=-1)
    return grid.reshape(-1, 4)


def memory_floor(w: Work, n_layers: int, heads: int, n_experts: int, seq_len: int,
                 domain: int, pins: Pins, low: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every layout family whose GPU count is ``t c p dp`` for a free ``dp``, in its
    least-memory variant (no interleaving or DualPipe: more micro-batches in flight; ZeRO-1
    or ZeRO-3: hybrid sharding holds more than ZeRO-3; the least micro-batch and the
    least-memory recompute the pins allow), with its bytes per GPU as ``a + b / dp``: rows
    (t, c, p, v, zero, e), ``a``, ``b`` and ``q_e`` (``dp`` must be a multiple of it for the
    experts to divide the stage's ranks).

    The state (:func:`estimator.training.model.memory_parts`) with ``g_d = dp c`` and
    ``g_e = dp t c / e``: ZeRO-1 ``a = (4 + fp8) (P_d / t + P_e / e) / p``,
    ``b = 12 (P_d + P_e) / (t c p)``; ZeRO-3 ``a = 6 (P_ld / t + P_le / e)`` (one gathered
    layer), ``b = (16 + fp8) (P_d + P_e) / (t c p)``; the activations do not depend on
    ``dp`` (``tests/test_training_search.py`` checks this against ``memory_parts``)."""
    base = _floor_base(math.gcd(heads, TP_MAX) if pins.tp is None else 0, n_experts,
                       seq_len if pins.cp is None else 0, domain, pins)
    v = float(pins.virtual_stages) if pins.virtual_stages is not None else 1.0
    ps = np.array([pins.pp] if pins.pp is not None else range(1, n_layers + 1), dtype=float)
    if v != 1.0:
        ps = ps[ps > 1]
    t, c, z, e = (base[:, i] for i in range(4))
    q_e = e / np.gcd(e.astype(np.int64), (t * c).astype(np.int64))
    z3 = z == 3.0
    inv_p = 1.0 / ps
    # state: a_s + b_s / dp
    a1 = (4.0 + low) * (w.params_dense / t + w.params_expert / e)
    a3 = 6.0 * (w.params_layer_dense / t + w.params_layer_expert / e)
    a_s = np.where(z3[:, None], a3[:, None], a1[:, None] * inv_p[None, :])
    b_s = (np.where(z3, 16.0 + low, 12.0) * (w.params_dense + w.params_expert) / (t * c)
           )[:, None] * inv_p[None, :]
    # activations with p micro-batches in flight (x 1 + (p-1)/(p v) interleaved)
    d = w.d
    attn_vals = 2.0 * d + w.attn_in + w.attn_out
    dense_none = attn_vals + 2.0 * d + (w.u + 1.0) * w.f
    moe_none = attn_vals + (2.0 * d + w.k * ((w.E > 1) * d + (w.u + 1.0) * w.fe)
                            + w.S * (w.u + 1.0) * w.fe)
    ptok = np.array([
        (w.L_dense * dense_none + w.L_moe * moe_none) / w.L,
        (w.L_dense * (dense_none - 2.0 * d - w.f)
         + w.L_moe * (moe_none - 2.0 * d - (w.k + w.S) * w.fe)) / w.L,
        d])
    extra = np.array([0.0, 0.0, 2.0 * max(dense_none, moe_none * w.is_moe)])
    recs = [pins.recompute] if pins.recompute is not None else [0, 1, 2]
    mb = float(pins.micro_batch) if pins.micro_batch is not None else 1.0
    layers_p = np.ceil(w.L / ps) * ps * (1.0 + (v > 1) * (ps - 1.0) / (ps * v))
    tok = w.s / (c * t)
    # per (row, p): 2 tok layers ptok_r + tok (extra_r + logits), least over r
    lay = (2.0 * tok)[:, None] * layers_p[None, :]
    r_pt, r_ex = ptok[recs], extra[recs] + LOGIT_BYTES * w.V
    act = lay * r_pt.min() + tok[:, None] * r_ex[np.argmin(r_pt)] if len(recs) == 1 else \
        np.min(lay[None] * r_pt[:, None, None] + tok[None, :, None] * r_ex[:, None, None], axis=0)
    a = a_s + mb * act
    keep = ~z3[:, None] | (ps[None, :] == 1.0)  # ZeRO-3 only without pipeline
    kk, pi = np.nonzero(keep)
    rows = np.column_stack([t[kk], c[kk], ps[pi], np.full(len(kk), v), z[kk], e[kk]])
    return rows, a[kk, pi], b_s[kk, pi], q_e[kk]


def _lcm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a // np.gcd(a, b) * b


#: Relative margin of the memory floor: a layout counts as fitting when its affine memory
#: is within the capacity less this share (the affine form and the memory count round
#: differently; a layout that fits by less than a billionth is not worth a GPU).
FLOOR_MARGIN = 1e-9


def floor_steps(rows: np.ndarray, q_e: np.ndarray, domain: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per floor row: ``t c p``, and the step ``dp`` moves in within one domain (``q_e``) and
    past it (``lcm(q_e, domain / gcd(domain, t c p))``: whole domains), as floats."""
    tcp = (rows[:, 0] * rows[:, 1] * rows[:, 2]).astype(np.int64)
    qe = q_e.astype(np.int64)
    q = _lcm(qe, domain // np.gcd(domain, tcp))
    return tcp.astype(float), qe.astype(float), q.astype(float)


def min_gpus_for_memory(a: np.ndarray, b: np.ndarray, tcp: np.ndarray, qe: np.ndarray,
                        q: np.ndarray, domain: int, capacity: float, limit: int) -> int | None:
    """The least GPU count with a layout that fits in ``capacity`` bytes per GPU (every count
    up to one scale-up domain, then whole domains), at most ``limit`` (None: none fits).

    Per layout family (:func:`memory_floor`, :func:`floor_steps`) the least ``dp`` that fits
    is ``ceil(b / (capacity - a))``, raised to a multiple of ``q_e`` and, past one domain,
    of ``lcm(q_e, domain / gcd(domain, t c p))`` (integer arithmetic in floats: exact)."""
    room = capacity * (1.0 - FLOOR_MARGIN) - a
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(room > 0, np.maximum(np.ceil(np.maximum(b, 0.0) / room), 1.0), np.inf)
        n1 = tcp * (np.ceil(need / qe) * qe)  # within one domain any count will do
        n2 = tcp * (np.ceil(need / q) * q)  # past it: whole domains
    n = float(np.min(np.where(n1 <= domain, n1, n2)))
    return int(n) if n <= limit else None
