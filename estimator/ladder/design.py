"""Ladder designs: which small runs to buy.

A :class:`Family` fixes the shape of a ladder: how many model sizes, the ratio between
neighbouring sizes, and the tokens-per-parameter multipliers trained at every size (relative to
the compute-optimal ratio ``r0`` at the target). A :class:`Design` places a family at a scale:
its largest fitted size. Every design adds one held-out run, the largest: twice the compute of
the largest fitted run, at ``r0`` tokens per parameter (a step along the compute-optimal line
towards the target), fitted on nothing and predicted from the rest.

Several multipliers per size make the token ranges of neighbouring sizes overlap (size ratio 2,
multipliers 1/4 to 4: each size's tokens span 16x, its neighbours' 16x shifted by 2x), so N and
D vary independently and the fit can separate A/N^alpha from B/D^beta (Hoffmann et al. 2022
train several token counts per size, their Figure 2; Approach 3 fits them jointly).

Scales sit on a fixed grid (:data:`SCALES_PER_DECADE` per decade of the largest size) that does
not depend on the budget, so a larger budget can afford every design a smaller one can.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MULTIPLIER_SETS: dict[str, tuple[float, ...]] = {
    "2 ratios (x8)": (8 ** -0.5, 8 ** 0.5),
    "3 ratios (x16)": (0.25, 1.0, 4.0),
    "4 ratios (x27)": (3 ** -1.5, 3 ** -0.5, 3 ** 0.5, 3 ** 1.5),
}
"""Tokens-per-parameter multipliers (of r0) trained at each size; the label gives the count and
the span (largest / smallest)."""
SIZE_COUNTS = (3, 4, 5, 6, 8)
SPACINGS = (2.0, 2.5, 3.0)
HOLDOUT_FACTOR = 2.0
"""The held-out run: this many times the compute of the largest fitted run, at r0 tokens per
parameter."""
SCALES_PER_DECADE = 8
MIN_FIT_RUNS = 6
"""Fitted runs in a design: one more than the law's 5 parameters (a judgement; fewer fit
exactly and say nothing about noise)."""


@dataclass(frozen=True)
class Family:
    """``n_sizes`` model sizes, ``spacing`` apart (ratio), each trained at ``multipliers`` x
    r0 tokens per parameter."""

    n_sizes: int
    spacing: float
    multipliers: tuple[float, ...]
    multipliers_label: str = ""

    @property
    def n_fit_runs(self) -> int:
        return self.n_sizes * len(self.multipliers)

    @property
    def name(self) -> str:
        lab = self.multipliers_label or f"{len(self.multipliers)} ratios"
        return f"{self.n_sizes} sizes x{self.spacing:g} apart, {lab}"


def default_families() -> tuple[Family, ...]:
    """Every combination of :data:`SIZE_COUNTS`, :data:`SPACINGS` and :data:`MULTIPLIER_SETS`
    with at least :data:`MIN_FIT_RUNS` fitted runs."""
    out = []
    for k in SIZE_COUNTS:
        for s in SPACINGS:
            for label, mult in MULTIPLIER_SETS.items():
                f = Family(k, s, mult, label)
                if f.n_fit_runs >= MIN_FIT_RUNS:
                    out.append(f)
    return tuple(out)


def scale_params(index: int) -> float:
    """Largest fitted size of scale ``index``: 10^(index / SCALES_PER_DECADE) parameters."""
    return float(10.0 ** (index / SCALES_PER_DECADE))


def scale_index(params: float) -> int:
    """Nearest scale index at or below ``params``."""
    return int(math.floor(math.log10(params) * SCALES_PER_DECADE + 1e-9))


@dataclass(frozen=True)
class Design:
    """A family at a scale (``scale`` indexes :func:`scale_params`) with base ratio ``r0``."""

    family: Family
    scale: int
    r0: float

    @property
    def top_params(self) -> float:
        return scale_params(self.scale)

    @property
    def sizes(self) -> np.ndarray:
        k, s = self.family.n_sizes, self.family.spacing
        return self.top_params / s ** np.arange(k - 1, -1, -1, dtype=float)

    def runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(params, tokens, holdout mask): fitted runs by size then multiplier, then the
        held-out run last."""
        sizes = self.sizes
        mult = np.asarray(self.family.multipliers, dtype=float)
        n = np.repeat(sizes, mult.size)
        d = n * self.r0 * np.tile(mult, sizes.size)
        nh = self.holdout_params
        params = np.append(n, nh)
        tokens = np.append(d, nh * self.r0)
        hold = np.zeros(params.size, dtype=bool)
        hold[-1] = True
        return params, tokens, hold

    @property
    def holdout_flops(self) -> float:
        """HOLDOUT_FACTOR x the largest fitted run's compute (C = 6ND)."""
        top = self.top_params
        return HOLDOUT_FACTOR * 6.0 * top * top * self.r0 * max(self.family.multipliers)

    @property
    def holdout_params(self) -> float:
        """The held-out run's size: its compute at r0 tokens per parameter."""
        return math.sqrt(self.holdout_flops / (6.0 * self.r0))

    @property
    def key(self) -> tuple:
        f = self.family
        return (f.n_sizes, f.spacing, f.multipliers, self.scale)

    @property
    def name(self) -> str:
        return f"{self.family.name}, largest {self.top_params:.3g} params"

    def describe(self) -> dict:
        f = self.family
        return {"name": self.name, "n_sizes": f.n_sizes, "size_spacing": f.spacing,
                "tokens_per_param_multipliers": list(f.multipliers),
                "base_tokens_per_param": self.r0,
                "tokens_per_param": [self.r0 * m for m in f.multipliers],
                "sizes": [float(x) for x in self.sizes],
                "largest_fitted_params": self.top_params,
                "holdout_params": self.holdout_params,
                "n_fitted_runs": f.n_fit_runs, "n_runs": f.n_fit_runs + 1}
