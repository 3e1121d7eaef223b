"""What the ladder assumes before any run: a prior over the law's constants, and the noise of a
run's final loss.

Prior kinds (``--prior``):

* ``samples`` (default): the law's own parameter samples (``epoch-2024``: 200 bootstrap refits
  of Hoffmann's procedure on Epoch's 240 runs, :func:`estimator.fitting.epoch_param_samples`);
  a law without samples falls back to ``point``;
* ``point``: the law's constants only, so every band is the noise of the runs alone;
* ``wide``: for a new domain (data mix, tokenizer, architecture) whose exponents may differ:
  each sample's exponents move by an independent normal step of sd :data:`WIDE_EXPONENT_SD`
  (0.08, about 5x the bootstrap's 0.015-0.02 spread: P5-P95 of alpha and beta about 0.21-0.50,
  which covers Hoffmann's printed 0.34/0.28 and Epoch's 0.35/0.37, and an allocation exponent
  a = beta/(alpha+beta) from about 0.38 to 0.66, covering Hoffmann's Approaches 1-3 (0.46-0.50)
  and their C4 / GitHub fits, 0.50 and 0.53, Table A2); E scales by a log-normal factor of sd
  :data:`WIDE_E_LOG_SD` and each reducible term by one of sd :data:`WIDE_TERM_LOG_SD`. A and B
  pivot at the centre of the law's fitted range, so a changed exponent keeps the term's size
  there and changes how it scales away from it. These spreads are judgements, not fits.

Noise: :func:`reference_loss_noise` measures the scatter of Hoffmann's runs around the shipped
``epoch-2024`` law: the standard deviation of ``log L_run - log L_law`` over the 240 runs Epoch
fitted (Besiroglu et al. 2024 drop the 5 highest-loss ones). It holds seed-to-seed noise, the
error of reading the losses off Hoffmann's Figure 4 (Epoch: at most about 0.015 in loss) and the
misfit of the functional form; the ladder assumes it as Gaussian noise on each run's log loss.
The residuals are heavier-tailed than Gaussian (excess kurtosis about 14): the Huber fit is
robust to such tails, so the Gaussian with the same standard deviation errs on the wide side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from estimator.errors import InputError
from estimator.laws import PARAM_NAMES, ParametricLaw, ScalingLaw, get_law

PRIOR_KINDS = ("samples", "point", "wide")
WIDE_EXPONENT_SD = 0.08
WIDE_E_LOG_SD = 0.10
WIDE_TERM_LOG_SD = 0.25
WIDE_EXPONENT_RANGE = (0.1, 0.8)
WIDE_SAMPLES = 2000
WIDE_SEED = 20250115
MAX_LOSS_NOISE = 0.2


@dataclass(frozen=True, eq=False)
class Prior:
    """A prior over (E, A, B, alpha, beta): ``central`` (5,) is the law's point estimate,
    ``samples`` (K, 5) what draws are taken from (K = 1 for a point prior)."""

    kind: str
    law_id: str
    central: np.ndarray
    samples: np.ndarray
    description: str

    def draw(self, m: int, rng: np.random.Generator) -> np.ndarray:
        """``m`` laws drawn with replacement from the samples: (m, 5)."""
        idx = rng.integers(0, self.samples.shape[0], size=m)
        return self.samples[idx].copy()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "law": self.law_id, "n_samples": int(self.samples.shape[0]),
                "central": dict(zip(PARAM_NAMES, map(float, self.central), strict=True)),
                "description": self.description}


def parametric_law(law: str | ScalingLaw) -> ParametricLaw:
    """The law, which must be of the form E + A/N^alpha + B/D^beta (the form the fit fits)."""
    got = get_law(law)
    if not isinstance(got, ParametricLaw):
        raise InputError(f"law '{got.id}' is not of the form E + A/N^alpha + B/D^beta, which the "
                         "ladder fits (--law); use epoch-2024, chinchilla-2022 or a fitted law",
                         field="law", value=got.id, expected="a parametric law",
                         hint="--law epoch-2024")
    return got


def make_prior(law: str | ScalingLaw, kind: str = "samples") -> Prior:
    """The prior of ``kind`` (see the module docstring) around ``law``."""
    if kind not in PRIOR_KINDS:
        raise InputError(f"prior must be one of {', '.join(PRIOR_KINDS)} (--prior), got {kind!r}",
                         field="prior", value=kind, expected=", ".join(PRIOR_KINDS),
                         hint="--prior wide")
    lw = parametric_law(law)
    central = np.array([lw.constants()[k] for k in PARAM_NAMES], dtype=float)
    base = lw.samples_array()
    if kind == "point" or base is None:
        why = "" if kind == "point" else f" (law '{lw.id}' has no parameter samples)"
        return Prior("point", lw.id, central, central[None, :].copy(),
                     f"the constants of '{lw.id}' only{why}: bands hold the runs' noise alone")
    if kind == "samples":
        return Prior("samples", lw.id, central, base.copy(),
                     f"the {base.shape[0]} parameter samples of '{lw.id}' (its bootstrap)")
    return Prior("wide", lw.id, central, wide_samples(lw, base),
                 f"'{lw.id}' samples widened for a new domain: exponents + N(0, "
                 f"{WIDE_EXPONENT_SD}) each (clipped to {WIDE_EXPONENT_RANGE}), E x "
                 f"lognormal({WIDE_E_LOG_SD}), each reducible term x lognormal("
                 f"{WIDE_TERM_LOG_SD}) at the centre of the fitted range; a judgement")


def wide_samples(law: ParametricLaw, base: np.ndarray | None = None) -> np.ndarray:
    """:data:`WIDE_SAMPLES` draws of the wide prior (fixed seed; see the module docstring)."""
    rng = np.random.default_rng(WIDE_SEED)
    central = np.array([law.constants()[k] for k in PARAM_NAMES], dtype=float)
    b = central[None, :] if base is None else np.asarray(base, dtype=float)
    rows = b[rng.integers(0, b.shape[0], size=WIDE_SAMPLES)]
    fr = law.fitted_range
    log_np = 0.5 * (math.log(fr.params_min) + math.log(fr.params_max))
    log_dp = 0.5 * (math.log(fr.tokens_min) + math.log(fr.tokens_max))
    lo, hi = WIDE_EXPONENT_RANGE
    al = np.clip(rows[:, 3] + rng.normal(0, WIDE_EXPONENT_SD, WIDE_SAMPLES), lo, hi)
    be = np.clip(rows[:, 4] + rng.normal(0, WIDE_EXPONENT_SD, WIDE_SAMPLES), lo, hi)
    # A/N^alpha at the pivot N_p is kept (then scaled): A' = A N_p^(alpha' - alpha).
    a = rows[:, 1] * np.exp((al - rows[:, 3]) * log_np
                            + rng.normal(0, WIDE_TERM_LOG_SD, WIDE_SAMPLES))
    bb = rows[:, 2] * np.exp((be - rows[:, 4]) * log_dp
                             + rng.normal(0, WIDE_TERM_LOG_SD, WIDE_SAMPLES))
    e = rows[:, 0] * np.exp(rng.normal(0, WIDE_E_LOG_SD, WIDE_SAMPLES))
    return np.column_stack([e, a, bb, al, be])


@lru_cache(maxsize=1)
def reference_loss_noise() -> tuple[float, str]:
    """(sd of log loss, how it was measured): the scatter of Epoch's 240 runs around the
    shipped epoch-2024 law (see the module docstring)."""
    from estimator.fitting import epoch_runs

    runs = epoch_runs(exclude_flagged=True)
    law = get_law("epoch-2024")
    res = np.log(runs.loss) - np.log(np.asarray(law.loss(runs.params, runs.tokens), dtype=float))
    sd = float(np.std(res, ddof=1))
    mad = float(1.4826 * np.median(np.abs(res - np.median(res))))
    return sd, (f"standard deviation of log(loss) residuals of the {runs.n_runs} Hoffmann et al. "
                f"runs (epoch_chinchilla_runs.csv less the 5 Epoch drop) around the shipped "
                f"epoch-2024 law: {sd:.5f} (robust MAD estimate {mad:.5f}; heavy-tailed); "
                "assumed Gaussian and the same at every scale")


def check_loss_noise(sigma: float | None) -> tuple[float, str]:
    """The noise to assume: ``sigma`` (sd of log loss) if given, else the reference."""
    if sigma is None:
        return reference_loss_noise()
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma)
            and 0 <= sigma <= MAX_LOSS_NOISE):
        raise InputError(f"loss noise must be a standard deviation of log loss from 0 to "
                         f"{MAX_LOSS_NOISE} (--loss-noise), got {sigma!r}; the reference is "
                         f"{reference_loss_noise()[0]:.4f}", field="loss_noise", value=sigma,
                         expected=f"0 to {MAX_LOSS_NOISE}", hint="--loss-noise 0.01")
    return float(sigma), "given by the user (--loss-noise), assumed Gaussian on log loss"
