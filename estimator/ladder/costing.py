"""What one ladder run costs, through the estimator's own engine.

Every run (and the big run a target budget names) is costed by :func:`cost_run`, the one place
that calls :func:`estimator.engine.estimate`: when the engine's training-run model changes,
the ladder follows with no change here. :func:`choose_gpus` picks a GPU count per run from what
that function reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from estimator.errors import InputError

MAX_RUN_DAYS_DEFAULT = 2.0
"""Wall-clock target of one ladder run (a judgement: a ladder that finishes within days keeps a
research team's iteration loop short; most ladder runs take hours)."""


@dataclass(frozen=True)
class RunHardware:
    """Where the ladder runs. ``max_gpus`` caps every run (the user's ``--gpus``);
    ``max_run_days`` is the wall-clock time :func:`choose_gpus` aims for per run."""

    hardware: str = "h100-sxm"
    max_gpus: int = 1024
    price_tier: str = "on_demand"
    price_per_hour: float | None = None
    precision: str = "bf16"
    law: str = "epoch-2024"
    max_run_days: float = MAX_RUN_DAYS_DEFAULT

    def validated(self) -> RunHardware:
        if isinstance(self.max_gpus, bool) or not isinstance(self.max_gpus, int) or not (
            1 <= self.max_gpus <= 10_000_000
        ):
            raise InputError(f"gpus must be a whole number from 1 to 10,000,000 (--gpus), got "
                             f"{self.max_gpus!r}", field="gpus", value=self.max_gpus,
                             expected="1 to 10,000,000", hint="--gpus 64")
        d = self.max_run_days
        if not (isinstance(d, (int, float)) and math.isfinite(d) and 0.01 <= d <= 365):
            raise InputError(f"max_run_days must be from 0.01 to 365 days (--max-run-days), got "
                             f"{d!r}", field="max_run_days", value=d, expected="0.01 to 365",
                             hint="--max-run-days 2")
        return self


@dataclass(frozen=True)
class RunCost:
    """One run on the chosen hardware: FLOPs, GPUs, GPU-hours, dollars, days (engine figures)."""

    params: float
    tokens: float
    train_flops: float
    gpus: int
    gpu_hours: float
    cost_usd: float
    wall_clock_days: float
    min_gpus_for_memory: int
    max_useful_gpus: int

    def to_dict(self, holdout: bool = False) -> dict:
        """The run as JSON: params, tokens, tokens_per_param, train_flops, gpus, gpu_hours,
        cost_usd, wall_clock_days, holdout."""
        return {"params": self.params, "tokens": self.tokens,
                "tokens_per_param": self.tokens / self.params, "train_flops": self.train_flops,
                "gpus": self.gpus, "gpu_hours": self.gpu_hours, "cost_usd": self.cost_usd,
                "wall_clock_days": self.wall_clock_days, "holdout": bool(holdout)}


def cost_run(params: float, tokens: float, gpus: int, hw: RunHardware) -> RunCost:
    """Cost of training ``params`` parameters on ``tokens`` tokens on ``gpus`` GPUs of ``hw``:
    :func:`estimator.engine.estimate` in mode ``model`` (no serving, no uncertainty bands),
    reading ``train_flops``, ``gpu_hours``, ``cost_usd`` and ``wall_clock_days``. The one call
    into the engine: swap it here to cost runs another way."""
    from estimator.engine import estimate
    from estimator.scenario import Scenario

    g = int(gpus)
    s = Scenario(mode="model", params=float(params), tokens=float(tokens), law=hw.law,
                 hardware=hw.hardware, gpus=g, precision=hw.precision,
                 price_tier=hw.price_tier, price_per_hour=hw.price_per_hour,
                 inference_tokens_per_day=0.0)
    est = estimate(s, with_uncertainty=False)
    return RunCost(params=float(params), tokens=float(tokens), train_flops=est.train_flops,
                   gpus=g, gpu_hours=est.gpu_hours, cost_usd=est.cost_usd,
                   wall_clock_days=est.wall_clock_days,
                   min_gpus_for_memory=est.min_gpus_for_memory,
                   max_useful_gpus=est.max_useful_gpus)


def _round_gpus(g: int) -> int:
    """1, 2, 4 or 8 GPUs, then whole 8-GPU nodes."""
    if g <= 8:
        return 1 << max(0, math.ceil(math.log2(max(1, g))))
    return 8 * math.ceil(g / 8)


def choose_gpus(params: float, tokens: float, hw: RunHardware) -> RunCost:
    """The run on the fewest GPUs (1, 2, 4, 8, then whole nodes of 8) that hold its training
    state and finish within ``hw.max_run_days``, capped at ``hw.max_gpus`` and at the
    critical-batch limit the engine reports (more GPUs than that add cost with little speed-up).
    Sized from a costing on the fewest GPUs that hold it (the training-run model names them
    when one GPU cannot), then checked (doubling while too slow) with the real one."""
    from estimator.errors import InputError

    try:
        probe = cost_run(params, tokens, 1, hw)
    except InputError as exc:
        expected = str(exc.expected or "")
        if exc.field != "gpus" or not expected.startswith(">="):
            raise
        probe = cost_run(params, tokens, int(expected[2:].strip()), hw)
    cap = max(1, min(hw.max_gpus, max(probe.max_useful_gpus, probe.min_gpus_for_memory)))
    need = max(probe.min_gpus_for_memory,
               math.ceil(probe.gpu_hours / (24.0 * hw.max_run_days)))
    g = min(cap, _round_gpus(need))
    run = probe if g == probe.gpus else cost_run(params, tokens, g, hw)
    while run.wall_clock_days > hw.max_run_days and g < cap:
        g = min(cap, _round_gpus(2 * g))
        run = cost_run(params, tokens, g, hw)
    return run


class CostCache:
    """:func:`choose_gpus` memoised on (N, D) to 6 significant digits (designs share runs)."""

    def __init__(self, hw: RunHardware):
        self.hw = hw.validated()
        self._memo: dict[tuple[float, float], RunCost] = {}

    def run(self, params: float, tokens: float) -> RunCost:
        key = (float(f"{params:.6g}"), float(f"{tokens:.6g}"))
        got = self._memo.get(key)
        if got is None:
            got = choose_gpus(key[0], key[1], self.hw)
            self._memo[key] = got
        return got

    def big_run(self, params: float, tokens: float) -> RunCost:
        """The big run on all ``max_gpus`` GPUs (it is the user's cluster)."""
        return cost_run(params, tokens, self.hw.max_gpus, self.hw)

    def with_law(self, law: str) -> CostCache:
        return CostCache(replace(self.hw, law=law))
