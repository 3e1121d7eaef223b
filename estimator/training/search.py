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

Recompute is the fastest-varying axis: groups of three consecutive candidates share everything
else, which :func:`least_recompute_that_fits` relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from estimator.training.model import Candidates

TP_MAX = 16
CP_MAX = 32
CP_MIN_TOKENS = 2048
V_CHOICES = (1, 2, 4, 8)
MB_MAX = 128


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


@lru_cache(maxsize=512)
def candidates_for(n: int, n_layers: int, heads: int, n_experts: int, seq_len: int,
                   domain: int, pins: Pins) -> Candidates | None:
    """Every candidate layout for ``n`` GPUs (None when no parallel degrees divide ``n``)."""
    rows: list[tuple] = []
    recs = [pins.recompute] if pins.recompute is not None else [0, 1, 2]
    mbs = [pins.micro_batch] if pins.micro_batch is not None else _pow2_upto(MB_MAX)
    for t in tp_choices(n, heads, domain, pins):
        for c in cp_choices(n // t, seq_len, pins):
            rest = n // (t * c)
            if pins.pp is not None:
                pps = [pins.pp] if rest % pins.pp == 0 else []
            else:
                pps = [p for p in _divisors(rest) if p <= n_layers]
            for p in pps:
                dp = rest // p
                stage = t * c * dp
                if pins.virtual_stages is not None:
                    vs = [pins.virtual_stages] if (p > 1 or pins.virtual_stages == 1) else []
                else:
                    vs = [v for v in V_CHOICES if v == 1 or (p > 1 and p * v <= n_layers)]
                    if n_experts > 1 and p > 1 and p % 2 == 0:
                        vs.append(0)  # DualPipe
                if n_experts > 1:
                    if pins.ep is not None:
                        eps = [pins.ep] if stage % pins.ep == 0 else []
                    else:
                        eps = [e for e in _divisors(n_experts)
                               if stage % e == 0 and (e & (e - 1) == 0 or e == n_experts)]
                else:
                    eps = [1] if pins.ep in (None, 1) else []
                # hybrid sharding (4) when the data-parallel ranks leave the domain
                hybrid = [4] if (stage > domain and domain // t >= 2) else []
                if pins.zero_stage == 1:
                    zs = [1]
                elif pins.zero_stage == 3:
                    zs = [3] + hybrid if p == 1 else []
                else:
                    zs = [1, 3] + hybrid if p == 1 else [1]
                for v in vs:
                    for e in eps:
                        for z in zs:
                            rows.append((t, p, c, e, dp, z, v))
    if not rows:
        return None
    # every structure x micro-batch x recompute, recompute fastest
    base = np.repeat(np.array(rows, dtype=float), len(mbs) * len(recs), axis=0).T
    mb = np.tile(np.repeat(np.array(mbs, dtype=float), len(recs)), len(rows))
    rec = np.tile(np.array(recs, dtype=float), len(rows) * len(mbs))
    return Candidates(tp=base[0], pp=base[1], cp=base[2], ep=base[3], dp=base[4], mb=mb,
                      rec=rec, zero=base[5], v=base[6])


def least_recompute_that_fits(fits: np.ndarray, n_rec: int) -> np.ndarray:
    """Indices of the first fitting candidate in each group of ``n_rec`` (recompute axis),
    for the groups where one fits."""
    if n_rec == 1:
        return np.flatnonzero(fits)
    g = fits.reshape(-1, n_rec)
    any_fit = g.any(axis=1)
    first = g.argmax(axis=1)
    groups = np.flatnonzero(any_fit)
    return groups * n_rec + first[groups]
