"""Scaling laws L(N, D): final pre-training loss (nats/token) of a model with N parameters
trained on D tokens.

Two functional forms:

* :class:`ParametricLaw` — ``L(N, D) = E + A/N^alpha + B/D^beta``
  (Hoffmann et al. 2022, arXiv:2203.15556, eq. 2 / Approach 3; Besiroglu et al. 2024,
  arXiv:2404.10102).
* :class:`KaplanLaw` — ``L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D``
  (Kaplan et al. 2020, arXiv:2001.08361, eq. 1.5 / Table 2). N counts non-embedding
  parameters and the loss is on WebText2 with the GPT-2 tokenizer, so its losses are not
  comparable with the Chinchilla-family laws.
* :class:`JointMoELaw` — the joint dense/MoE law of Ludziejewski et al. 2025
  (arXiv:2502.05172, eq. 1/6), ``L(N_act, D, Ê) = a Ê^δ N_act^(α + γ ln Ê) + b Ê^ω
  D^(β + ζ ln Ê) + c``, an instance of which is the law *at E experts*: there N means ACTIVE
  parameters, C = 6 N_act D, and the law is exactly a Chinchilla form with E-dependent constants
  (the paper's Table 4), so every closed form of :class:`ParametricLaw` applies.

Built-in laws are data: YAML files in ``estimator/data/laws/`` loaded by the same
:func:`load_law_file` that loads a user's law. Every function is vectorised over numpy arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from estimator.errors import InputError, LawError
from estimator.textsafe import names_phrase, quote

ArrayLike = float | np.ndarray

# Critical batch size, Kaplan et al. 2020 eq. 1.4 / 5.3 and Table 5:
# B_crit(L) = B_* / L^(1/alpha_B), B_* ~ 2e8 tokens (Table 5: 2.1e8), alpha_B = 0.21.
KAPLAN_B_STAR_TOKENS = 2.1e8
KAPLAN_ALPHA_B = 0.21

PARAM_NAMES = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class FittedRange:
    """The (N, D) box a law was fitted on: parameters and tokens."""

    params_min: float
    params_max: float
    tokens_min: float
    tokens_max: float


@dataclass(frozen=True)
class ScalingLaw:
    """Fields and behaviour shared by every law. Subclasses define the loss surface."""

    id: str
    name: str
    citation: str
    dataset: str
    fitted_range: FittedRange
    notes: str = ""
    comparable: bool = True  # False when losses use another dataset/tokenizer (Kaplan)
    source: str = "built-in"
    # Kaplan 2020's critical batch size constants, used with this law's loss.
    b_star_tokens: float = KAPLAN_B_STAR_TOKENS
    alpha_b: float = KAPLAN_ALPHA_B

    kind = "abstract"

    # -- surface ---------------------------------------------------------------------------
    def loss(self, params: ArrayLike, tokens: ArrayLike) -> ArrayLike:  # pragma: no cover
        raise NotImplementedError

    def dloss_dlog(self, params: ArrayLike, tokens: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
        """(dL/d ln N, dL/d ln D), both <= 0. Used by the numeric allocation path."""
        raise NotImplementedError  # pragma: no cover

    @property
    def irreducible_loss(self) -> float:
        """Loss as N, D -> infinity (nats/token)."""
        raise NotImplementedError  # pragma: no cover

    def loss_at_infinite_data(self, params: ArrayLike) -> ArrayLike:
        """L(N, D -> infinity): the best a model of N parameters can reach."""
        raise NotImplementedError  # pragma: no cover

    def loss_at_infinite_params(self, tokens: ArrayLike) -> ArrayLike:
        """L(N -> infinity, D): the best any model can reach on D (effective) tokens."""
        raise NotImplementedError  # pragma: no cover

    def optimal_allocation_closed_form(self, compute_flops: ArrayLike):
        """Closed-form (N, D) under C = 6ND, or None when the form has none here."""
        return None

    def critical_batch_tokens(self, loss: ArrayLike) -> ArrayLike:
        """Kaplan et al. 2020 eq. 1.4: B_crit(L) = B_* / L^(1/alpha_B), in tokens.

        Caveat: fitted on WebText2 losses with the GPT-2 tokenizer; applied to another
        law's loss it is an order-of-magnitude guide, not a prediction.
        """
        return self.b_star_tokens / np.power(loss, 1.0 / self.alpha_b)

    def constants(self) -> dict[str, float]:
        raise NotImplementedError  # pragma: no cover

    def comparability_warning(self) -> str | None:
        """Why this law's losses must not be compared with another dataset's (None when the
        law is on the Chinchilla family's MassiveText losses). Compare dense and MoE plans
        within one law (for :class:`JointMoELaw`, against its own dense case ``dense()``)."""
        if self.comparable:
            return None
        return (
            f"law '{self.id}' gives losses on {self.dataset}: they are not comparable with "
            "laws fitted on other data or tokenizers (such as the Chinchilla-family laws); "
            "compare plans within this law only"
        )

    def to_dict(self) -> dict[str, Any]:
        """The law as plain data (the YAML file format)."""
        fr = self.fitted_range
        d: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "form": self.kind,
            "constants": self.constants(),
            "citation": self.citation,
            "dataset": self.dataset,
            "fitted_range": {
                "params": [fr.params_min, fr.params_max],
                "tokens": [fr.tokens_min, fr.tokens_max],
            },
            "comparable": self.comparable,
        }
        if self.notes:
            d["notes"] = self.notes
        return d


@dataclass(frozen=True)
class ParametricLaw(ScalingLaw):
    """``L(N, D) = E + A/N^alpha + B/D^beta`` (Hoffmann et al. 2022, eq. 2)."""

    E: float = 0.0
    A: float = 0.0
    B: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    # Published standard errors of (E, A, B, alpha, beta), where known.
    stderr: dict[str, float] | None = None
    # Joint parameter samples (K x 5, columns PARAM_NAMES) for uncertainty propagation,
    # e.g. from a bootstrap fit. Stored as a tuple of tuples to keep the dataclass frozen.
    param_samples: tuple[tuple[float, ...], ...] | None = field(default=None, repr=False)
    samples_note: str = ""

    kind = "parametric"

    def loss(self, params: ArrayLike, tokens: ArrayLike) -> ArrayLike:
        """Loss in nats/token for N parameters and D tokens (vectorised)."""
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        out = self.E + self.A * n ** (-self.alpha) + self.B * d ** (-self.beta)
        return out if out.ndim else float(out)

    def dloss_dlog(self, params, tokens):
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        return -self.alpha * self.A * n ** (-self.alpha), -self.beta * self.B * d ** (-self.beta)

    @property
    def irreducible_loss(self) -> float:
        return self.E

    def loss_at_infinite_data(self, params):
        return self.E + self.A * np.asarray(params, dtype=float) ** (-self.alpha)

    def loss_at_infinite_params(self, tokens):
        return self.E + self.B * np.asarray(tokens, dtype=float) ** (-self.beta)

    def optimal_allocation_closed_form(self, compute_flops: ArrayLike):
        """Hoffmann et al. 2022 eq. 4: N_opt = G (C/6)^(beta/(alpha+beta)),
        D_opt = G^-1 (C/6)^(alpha/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)).
        ``compute_flops`` in FLOPs; returns (params, tokens)."""
        c6 = np.asarray(compute_flops, dtype=float) / 6.0
        s = self.alpha + self.beta
        log_g = (np.log(self.alpha * self.A) - np.log(self.beta * self.B)) / s
        log_n = log_g + (self.beta / s) * np.log(c6)
        log_d = -log_g + (self.alpha / s) * np.log(c6)
        return np.exp(log_n), np.exp(log_d)

    def tokens_for_loss(self, params: ArrayLike, target_loss: ArrayLike) -> ArrayLike:
        """D with L(N, D) = target: D = (B / (L - E - A N^-alpha))^(1/beta); inf when the
        target is at or below L(N, infinity)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.asarray(target_loss, dtype=float) - self.loss_at_infinite_data(params)
            return np.where(
                room > 0, (self.B / np.where(room > 0, room, 1.0)) ** (1.0 / self.beta), np.inf
            )

    def params_for_loss(self, tokens: ArrayLike, target_loss: ArrayLike) -> ArrayLike:
        """N with L(N, D) = target: N = (A / (L - E - B D^-beta))^(1/alpha); inf if unreachable."""
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.asarray(target_loss, dtype=float) - self.loss_at_infinite_params(tokens)
            return np.where(
                room > 0, (self.A / np.where(room > 0, room, 1.0)) ** (1.0 / self.alpha), np.inf
            )

    def optimal_loss_closed_form(self, compute_flops: ArrayLike) -> ArrayLike:
        """Loss on the compute-optimal frontier. At the optimum alpha A N^-alpha = beta B D^-beta
        (Hoffmann eq. 4), so
        L_opt(C) = E + (1 + alpha/beta) A G^-alpha (C/6)^(-alpha beta/(alpha+beta))."""
        return self.E + self._frontier_k() * (np.asarray(compute_flops, dtype=float) / 6.0) ** (
            -self.alpha * self.beta / (self.alpha + self.beta)
        )

    def compute_for_loss_closed_form(self, target_loss: ArrayLike) -> ArrayLike:
        """Inverse of :meth:`optimal_loss_closed_form`: FLOPs whose optimal model reaches the
        target. Requires target > E."""
        excess = np.asarray(target_loss, dtype=float) - self.E
        s = self.alpha + self.beta
        return 6.0 * (excess / self._frontier_k()) ** (-s / (self.alpha * self.beta))

    def _frontier_k(self):
        s = self.alpha + self.beta
        log_g = (np.log(self.alpha * self.A) - np.log(self.beta * self.B)) / s
        return (1.0 + self.alpha / self.beta) * self.A * np.exp(-self.alpha * log_g)

    def constants(self) -> dict[str, float]:
        return {"E": self.E, "A": self.A, "B": self.B, "alpha": self.alpha, "beta": self.beta}

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.stderr:
            d["stderr"] = dict(self.stderr)
        if self.param_samples is not None:
            d["param_samples"] = {
                "columns": list(PARAM_NAMES),
                "note": self.samples_note,
                "values": [list(row) for row in self.param_samples],
            }
        return d

    def samples_array(self) -> np.ndarray | None:
        """Parameter samples as a (K, 5) array (E, A, B, alpha, beta), or None."""
        if self.param_samples is None:
            return None
        return np.asarray(self.param_samples, dtype=float)

    @property
    def has_uncertainty(self) -> bool:
        return self.param_samples is not None

    def sampled(self) -> ParametricLaw | None:
        """A copy whose constants are (K,) arrays of the parameter samples, so every vectorised
        function evaluates all K sampled laws at once; None without samples."""
        arr = self.samples_array()
        if arr is None:
            return None
        from dataclasses import replace

        return replace(
            self,
            E=arr[:, 0],
            A=arr[:, 1],
            B=arr[:, 2],
            alpha=arr[:, 3],
            beta=arr[:, 4],
            param_samples=None,
        )


@dataclass(frozen=True)
class KaplanLaw(ScalingLaw):
    """Kaplan et al. 2020 eq. 1.5: ``L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D``.

    N is non-embedding parameters; loss on WebText2, GPT-2 BPE tokenizer (nats/token).
    """

    N_c: float = 6.4e13
    D_c: float = 1.8e13
    alpha_N: float = 0.076
    alpha_D: float = 0.103

    kind = "kaplan"

    def _inner(self, n, d):
        return (self.N_c / n) ** (self.alpha_N / self.alpha_D) + self.D_c / d

    def loss(self, params, tokens):
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        out = self._inner(n, d) ** self.alpha_D
        return out if out.ndim else float(out)

    def dloss_dlog(self, params, tokens):
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        x = (self.N_c / n) ** (self.alpha_N / self.alpha_D)
        y = self.D_c / d
        s = x + y
        common = self.alpha_D * s ** (self.alpha_D - 1.0)
        return common * (-(self.alpha_N / self.alpha_D) * x), common * (-y)

    @property
    def irreducible_loss(self) -> float:
        return 0.0

    def loss_at_infinite_data(self, params):
        return (self.N_c / np.asarray(params, dtype=float)) ** self.alpha_N

    def loss_at_infinite_params(self, tokens):
        return (self.D_c / np.asarray(tokens, dtype=float)) ** self.alpha_D

    # Closed forms. With p = alpha_N/alpha_D, x = (N_c/N)^p and y = D_c/D, L = (x + y)^alpha_D.
    def tokens_for_loss(self, params: ArrayLike, target_loss: ArrayLike) -> ArrayLike:
        """D with L(N, D) = target: D = D_c / (L^(1/alpha_D) - (N_c/N)^p); inf if unreachable."""
        p = self.alpha_N / self.alpha_D
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            room = (
                np.asarray(target_loss, dtype=float) ** (1.0 / self.alpha_D)
                - (self.N_c / np.asarray(params, dtype=float)) ** p
            )
            return np.where(room > 0, self.D_c / np.where(room > 0, room, 1.0), np.inf)

    def params_for_loss(self, tokens: ArrayLike, target_loss: ArrayLike) -> ArrayLike:
        """N with L(N, D) = target: N = N_c / (L^(1/alpha_D) - D_c/D)^(1/p); inf if unreachable."""
        p = self.alpha_N / self.alpha_D
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            room = np.asarray(target_loss, dtype=float) ** (
                1.0 / self.alpha_D
            ) - self.D_c / np.asarray(tokens, dtype=float)
            return np.where(room > 0, self.N_c / np.where(room > 0, room, 1.0) ** (1.0 / p), np.inf)

    def optimal_allocation_closed_form(self, compute_flops: ArrayLike):
        """Minimum of L under C = 6ND: dL/dlnN = dL/dlnD gives y = p x, so
        N^(1+p) = p N_c^p C / (6 D_c) and D = C / (6N)."""
        p = self.alpha_N / self.alpha_D
        c = np.asarray(compute_flops, dtype=float)
        log_n = (np.log(p) + p * np.log(self.N_c) + np.log(c) - np.log(6.0 * self.D_c)) / (1.0 + p)
        n = np.exp(log_n)
        return n, c / (6.0 * n)

    def optimal_loss_closed_form(self, compute_flops: ArrayLike) -> ArrayLike:
        """L_opt(C) = ((1 + p) (N_c/N_opt(C))^p)^alpha_D."""
        p = self.alpha_N / self.alpha_D
        n, _ = self.optimal_allocation_closed_form(compute_flops)
        return ((1.0 + p) * (self.N_c / n) ** p) ** self.alpha_D

    def compute_for_loss_closed_form(self, target_loss: ArrayLike) -> ArrayLike:
        """Inverse of :meth:`optimal_loss_closed_form` (any target > 0)."""
        p = self.alpha_N / self.alpha_D
        x = np.asarray(target_loss, dtype=float) ** (1.0 / self.alpha_D) / (1.0 + p)
        n = self.N_c / x ** (1.0 / p)
        return 6.0 * self.D_c * n ** (1.0 + p) / (p * self.N_c**p)

    def constants(self) -> dict[str, float]:
        return {"N_c": self.N_c, "D_c": self.D_c, "alpha_N": self.alpha_N, "alpha_D": self.alpha_D}


@dataclass(frozen=True)
class JointMoELaw(ScalingLaw):
    """Ludziejewski et al. 2025 (arXiv:2502.05172) eq. 1/6, the joint law of dense and MoE
    models, as the law *at* ``experts`` experts::

        L(N_act, D, Ê) = a Ê^δ N_act^(α + γ ln Ê) + b Ê^ω D^(β + ζ ln Ê) + c

    with Clark et al.'s (2022) saturating transform of the expert count (eq. 4)::

        1/Ê = 1 / (E - 1 + (1/E_start - 1/E_max)^-1) + 1/E_max,   so Ê(1) = E_start.

    N is ACTIVE parameters including embedding and unembedding (the paper's App. A.1, eq. 10),
    D training tokens, training compute C = 6 N_act D (App. A.2). The exponents carry the
    paper's sign (Table 3: α = -0.1889), so the law decreases in N and D.

    At a fixed E it is exactly the Chinchilla form ``m N^μ + n D^ν + c`` (the paper's eq. 5 and
    Table 4) with m = a Ê^δ, μ = α + γ ln Ê, n = b Ê^ω, ν = β + ζ ln Ê: every method below is
    that :class:`ParametricLaw` (:meth:`reduced`), so the closed forms of Hoffmann et al. 2022
    (eq. 4; the paper's eq. 7) hold. ``at_experts(E)`` gives the law at another E; E = 1 is the
    law's own dense fit, the only fair dense baseline for its MoE losses.
    """

    a: float = 0.0
    alpha: float = 0.0
    delta: float = 0.0
    gamma: float = 0.0
    b: float = 0.0
    beta: float = 0.0
    omega: float = 0.0
    zeta: float = 0.0
    E_start: float = 1.0
    E_max: float = 2.0
    c: float = 0.0
    # The expert count of this instance (Switch top-1 experts of the dense FFN's size; see
    # :func:`moe_expansion_rate` for other MoE designs) and the counts the law was fitted on.
    experts: float = 1.0
    experts_range: tuple[float, float] = (1.0, 1.0)
    _chinchilla: ParametricLaw | None = field(default=None, init=False, repr=False, compare=False)

    kind = "joint-moe"
    JOINT_NAMES = (
        "a",
        "alpha",
        "delta",
        "gamma",
        "b",
        "beta",
        "omega",
        "zeta",
        "E_start",
        "E_max",
        "c",
    )

    def __post_init__(self):
        object.__setattr__(self, "_chinchilla", self.reduced())

    # -- the expert count -------------------------------------------------------------------
    def e_hat(self, experts: ArrayLike | None = None) -> ArrayLike:
        """Clark et al. 2022's transformed expert count Ê (Ludziejewski et al. 2025 eq. 4),
        vectorised; ``None`` means this instance's E. Ê(1) = E_start, Ê -> E_max as E grows."""
        e = np.asarray(self.experts if experts is None else experts, dtype=float)
        k = 1.0 / (1.0 / self.E_start - 1.0 / self.E_max)
        out = 1.0 / (1.0 / (e - 1.0 + k) + 1.0 / self.E_max)
        return out if out.ndim else float(out)

    def reduced_constants(self, experts: ArrayLike | None = None) -> dict[str, ArrayLike]:
        """The per-E Chinchilla constants of the paper's Table 4, ``L = m N^μ + n D^ν + c``
        (μ, ν < 0 as printed there), vectorised over ``experts`` (default: this instance's)."""
        eh = np.asarray(self.e_hat(experts), dtype=float)
        ln = np.log(eh)
        out = {
            "m": self.a * eh**self.delta,
            "mu": self.alpha + self.gamma * ln,
            "n": self.b * eh**self.omega,
            "nu": self.beta + self.zeta * ln,
            "c": self.c + 0.0 * ln,
        }
        return {k: (v if np.ndim(v) else float(v)) for k, v in out.items()}

    def reduced(self, experts: ArrayLike | None = None) -> ParametricLaw:
        """This law at ``experts`` (default: this instance's E) as the :class:`ParametricLaw`
        ``E + A/N^alpha + B/D^beta`` with E = c, A = m, alpha = -μ, B = n, beta = -ν. An array
        of expert counts gives a law whose constants are arrays (every function broadcasts)."""
        r = self.reduced_constants(experts)
        e = self.experts if experts is None else experts
        tag = f"E={float(e):g}" if np.ndim(e) == 0 else "E=array"
        return ParametricLaw(
            id=f"{self.id}@{tag}",
            name=f"{self.name} at {tag}",
            citation=self.citation,
            dataset=self.dataset,
            fitted_range=self.fitted_range,
            notes=self.notes,
            comparable=self.comparable,
            source=self.source,
            b_star_tokens=self.b_star_tokens,
            alpha_b=self.alpha_b,
            E=r["c"],
            A=r["m"],
            alpha=-r["mu"],
            B=r["n"],
            beta=-r["nu"],
        )

    def at_experts(self, experts: float) -> JointMoELaw:
        """A frozen copy of this law at ``experts`` experts (E >= 1; 1 is the dense model).
        Raises :class:`InputError` (field ``n_experts``) for an impossible count."""
        try:
            e = float(experts)
        except (TypeError, ValueError):
            e = math.nan
        if isinstance(experts, bool) or not math.isfinite(e) or not (1.0 <= e <= _MAX_EXPERTS):
            raise InputError(
                f"law '{self.id}' needs an expert count from 1 (dense) to {_MAX_EXPERTS:.0e}, "
                f"got {experts!r}",
                field="n_experts",
                value=experts,
                expected=f"1 <= experts <= {_MAX_EXPERTS:.0e}",
                hint="use 1 for a dense model, else the number of experts (expansion rate)",
            )
        return replace(self, experts=e)

    def dense(self) -> JointMoELaw:
        """The law's own dense fit (E = 1): the fair dense baseline for its MoE losses."""
        return self.at_experts(1.0)

    @property
    def is_dense(self) -> bool:
        return self.experts == 1.0

    @property
    def display_name(self) -> str:
        """The name with the expert count, for titles and tables."""
        return (
            f"{self.name}, dense (E = 1)"
            if self.is_dense
            else (f"{self.name}, E = {self.experts:g} experts")
        )

    def experts_extrapolation_factor(self) -> float:
        """How far this instance's E lies outside the expert counts the law was fitted on
        (1 inside; 4 means four times more experts than any fitted run)."""
        lo, hi = self.experts_range
        return max(1.0, self.experts / hi, lo / self.experts)

    def loss_joint(self, params: ArrayLike, tokens: ArrayLike, experts: ArrayLike) -> ArrayLike:
        """Eq. 6 evaluated directly, vectorised over N_act, D and E together (nats/token)."""
        r = self.reduced_constants(experts)
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        out = r["m"] * n ** r["mu"] + r["n"] * d ** r["nu"] + r["c"]
        return out if np.ndim(out) else float(out)

    # -- the surface: the reduced Chinchilla form -------------------------------------------
    def loss(self, params: ArrayLike, tokens: ArrayLike) -> ArrayLike:
        """Loss in nats/token (the dataset's, see ``dataset``) for N_act active parameters and
        D tokens at this instance's E (vectorised)."""
        return self._chinchilla.loss(params, tokens)

    def dloss_dlog(self, params, tokens):
        return self._chinchilla.dloss_dlog(params, tokens)

    @property
    def irreducible_loss(self) -> float:
        return self.c

    def loss_at_infinite_data(self, params):
        return self._chinchilla.loss_at_infinite_data(params)

    def loss_at_infinite_params(self, tokens):
        return self._chinchilla.loss_at_infinite_params(tokens)

    def optimal_allocation_closed_form(self, compute_flops: ArrayLike):
        """Eq. 7 of the paper (Hoffmann eq. 4 at this E): compute-optimal (N_act, D) for
        C = 6 N_act D FLOPs."""
        return self._chinchilla.optimal_allocation_closed_form(compute_flops)

    def optimal_loss_closed_form(self, compute_flops: ArrayLike) -> ArrayLike:
        return self._chinchilla.optimal_loss_closed_form(compute_flops)

    def compute_for_loss_closed_form(self, target_loss: ArrayLike) -> ArrayLike:
        return self._chinchilla.compute_for_loss_closed_form(target_loss)

    def tokens_for_loss(self, params: ArrayLike, target_loss: ArrayLike) -> ArrayLike:
        return self._chinchilla.tokens_for_loss(params, target_loss)

    def params_for_loss(self, tokens: ArrayLike, target_loss: ArrayLike) -> ArrayLike:
        return self._chinchilla.params_for_loss(tokens, target_loss)

    @property
    def has_uncertainty(self) -> bool:
        return False  # the paper publishes no standard errors or bootstrap samples

    def constants(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.JOINT_NAMES}

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["experts"] = self.experts
        d["fitted_range"]["experts"] = list(self.experts_range)
        return d


# Expert counts above this are typos, not designs (the largest published MoEs route among a
# few hundred experts per layer).
_MAX_EXPERTS = 1e6


def moe_expansion_rate(
    n_experts: ArrayLike, experts_per_token: ArrayLike = 1, shared_experts: ArrayLike = 0
) -> ArrayLike:
    """The E to give :class:`JointMoELaw` for an MoE design: expert parameters stored over
    expert parameters used per token, (routed + shared) / (top-k + shared), in units of equal
    experts. For Switch top-1 MoE, the only design Ludziejewski et al. 2025 fitted, it is the
    expert count exactly; for fine-grained or top-k MoE it is a judgement (the expansion rate of
    Krajewski et al. 2024, arXiv:2402.07871 §4, who find finer experts lower the loss further, so
    the law is then likely pessimistic for the MoE)."""
    routed = np.asarray(n_experts, dtype=float)
    k = np.asarray(experts_per_token, dtype=float)
    s = np.asarray(shared_experts, dtype=float)
    out = (routed + s) / (k + s)
    return out if out.ndim else float(out)


# --------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------

_REQUIRED = {
    "parametric": ("E", "A", "B", "alpha", "beta"),
    "kaplan": ("N_c", "D_c", "alpha_N", "alpha_D"),
    "joint-moe": JointMoELaw.JOINT_NAMES,
}
_TOP_KEYS = {
    "id",
    "name",
    "form",
    "constants",
    "citation",
    "dataset",
    "fitted_range",
    "notes",
    "comparable",
    "stderr",
    "param_samples",
    "critical_batch",
    "fit",
    "schema_version",
    "experts",
}
# Bounds that catch typos and absurd values, not physics: exponents outside (0, 3] make the
# law meaningless (non-decreasing, or flat at any real scale), E is nats/token.
_BOUNDS = {
    "E": (0.0, 20.0),
    "A": (0.0, 1e30),
    "B": (0.0, 1e30),
    "alpha": (1e-3, 3.0),
    "beta": (1e-3, 3.0),
    "N_c": (1.0, 1e30),
    "D_c": (1.0, 1e30),
    "alpha_N": (1e-3, 3.0),
    "alpha_D": (1e-3, 3.0),
}
# Joint MoE law (Ludziejewski et al. 2025 Table 3 signs): (low, high, low included). The
# exponents alpha, beta are negative as printed; the E-interactions are bounded loosely.
_JOINT_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "a": (0.0, 1e30, False),
    "b": (0.0, 1e30, False),
    "alpha": (-3.0, -1e-3, True),
    "beta": (-3.0, -1e-3, True),
    "delta": (-5.0, 5.0, True),
    "omega": (-5.0, 5.0, True),
    "gamma": (-1.0, 1.0, True),
    "zeta": (-1.0, 1.0, True),
    "E_start": (0.0, 1e6, False),
    "E_max": (0.0, 1e9, False),
    "c": (0.0, 20.0, True),
}


def _num(value: Any, where: str, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # YAML 1.1 reads "1e10" (no dot) as a string: accept numeric strings.
        if isinstance(value, str):
            try:
                return _num(float(value), where, field_name)
            except ValueError:
                pass
        raise LawError(f"{where}: field '{field_name}' must be a number, got {quote(value)}")
    try:
        v = float(value)
    except OverflowError:  # an integer beyond the float range
        v = math.inf
    if not math.isfinite(v):
        raise LawError(
            f"{where}: field '{field_name}' must be a finite number, got {str(value)[:40]}"
        )
    return v


def _range(value: Any, where: str, field_name: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise LawError(f"{where}: field '{field_name}' must be a list [min, max]")
    lo = _num(value[0], where, f"{field_name}[0]")
    hi = _num(value[1], where, f"{field_name}[1]")
    if not (0 < lo <= hi):
        raise LawError(
            f"{where}: field '{field_name}' must satisfy 0 < min <= max, got [{lo}, {hi}]"
        )
    return lo, hi


def _check_joint_bound(k: str, v: float, where: str) -> None:
    lo, hi, lo_in = _JOINT_BOUNDS[k]
    if (lo <= v if lo_in else lo < v) and v <= hi:
        return
    hint = None
    if k in ("alpha", "beta") and v > 0:
        hint = (
            "the exponents carry the paper's sign: Ludziejewski et al. 2025 Table 3 prints "
            "alpha = -0.1889, beta = -0.1775 (the terms are a N^(alpha + gamma ln Ê))"
        )
    raise LawError(
        f"{where}: constant 'constants.{k}' = {v} is outside {'[' if lo_in else '('}{lo:g}, "
        f"{hi:g}]" + (f"; {hint}" if hint else ""),
        field=f"constants.{k}",
        value=v,
        expected=f"{lo:g} .. {hi:g}",
        hint=hint,
    )


def _joint_from_dict(data: dict, values: dict[str, float], common: dict, where: str) -> JointMoELaw:
    """The checks of form 'joint-moe' that span several fields, then the law."""
    for key in ("stderr", "param_samples"):
        if data.get(key) is not None:
            raise LawError(
                f"{where}: field '{key}' is supported for form 'parametric' only", field=key
            )
    e_start, e_max = values["E_start"], values["E_max"]
    if not e_start < e_max:
        raise LawError(
            f"{where}: constant 'constants.E_start' = {e_start:g} must be below "
            f"'constants.E_max' = {e_max:g} (Clark et al.'s transform saturates at E_max)",
            field="constants.E_start",
            value=e_start,
            expected=f"< {e_max:g}",
        )
    # The exponents at E = 1 (Ê = E_start) and E -> infinity (Ê -> E_max) bound those at every
    # E (linear in ln Ê): both must keep the law falling in N and D, within the parametric
    # form's bounds, else some expert count would give a law that rises with model size.
    for base, inter, what in (("alpha", "gamma", "model-size"), ("beta", "zeta", "data")):
        for e_hat, at in ((e_start, "E = 1"), (e_max, "E -> infinity")):
            expo = values[base] + values[inter] * math.log(e_hat)
            if not (-3.0 <= expo <= -1e-3):
                raise LawError(
                    f"{where}: constants '{base} + {inter} ln Ê' = {expo:.4g} at {at} "
                    f"(Ê = {e_hat:g}): the {what} exponent must stay within [-3, -0.001] for "
                    "every expert count",
                    field=f"constants.{inter}",
                    value=values[inter],
                    expected="an exponent that stays negative for every expert count",
                )
    experts = _num(data.get("experts", 1.0), where, "experts")
    if not (1.0 <= experts <= _MAX_EXPERTS):
        raise LawError(
            f"{where}: field 'experts' = {experts:g} must be from 1 (dense) to {_MAX_EXPERTS:.0e}",
            field="experts",
            value=experts,
        )
    fr = data["fitted_range"]
    if "experts" not in fr:
        raise LawError(
            f"{where}: field 'fitted_range.experts' is required for form "
            "'joint-moe': [min, max] expert counts the law was fitted on",
            field="fitted_range.experts",
        )
    e_lo, e_hi = _range(fr["experts"], where, "fitted_range.experts")
    if e_lo < 1.0:
        raise LawError(
            f"{where}: field 'fitted_range.experts' must start at 1 or more, got {e_lo:g}",
            field="fitted_range.experts",
            value=e_lo,
        )
    return JointMoELaw(**common, **values, experts=experts, experts_range=(e_lo, e_hi))


def law_from_dict(data: Any, where: str = "law") -> ScalingLaw:
    """Build and validate a law from plain data (a parsed YAML mapping).

    Raises :class:`LawError` naming ``where`` (a file or 'law') and the field at fault.
    """
    if not isinstance(data, dict):
        raise LawError(
            f"{where}: expected a mapping with keys id, form, constants, ...; got "
            f"{type(data).__name__}"
        )
    unknown = set(map(str, data)) - _TOP_KEYS
    if unknown:
        if len(unknown) == len(data) > 2:  # not a law at all: quote none of it
            raise LawError(f"{where}: not a law file: all {len(data)} top-level keys are "
                           f"unknown fields (a law has {', '.join(sorted(_TOP_KEYS))})")
        raise LawError(f"{where}: unknown field(s) {names_phrase(unknown)}; allowed: "
                       f"{', '.join(sorted(_TOP_KEYS))}")
    form = data.get("form", "parametric")
    if not isinstance(form, str) or form not in _REQUIRED:
        raise LawError(
            f"{where}: field 'form' must be one of {', '.join(map(repr, _REQUIRED))}, got "
            f"{quote(form)}", field="form", value=form)
    for key in ("id", "citation"):
        if not isinstance(data.get(key), str) or not data.get(key).strip():
            raise LawError(f"{where}: field '{key}' is required and must be a non-empty string")
    law_id = data["id"].strip()
    consts = data.get("constants")
    if not isinstance(consts, dict):
        raise LawError(f"{where}: field 'constants' must be a mapping of {list(_REQUIRED[form])}")
    extra = set(map(str, consts)) - set(_REQUIRED[form])
    if extra:
        raise LawError(
            f"{where}: unknown constant(s) {sorted(extra)} for form '{form}'; "
            f"expected {list(_REQUIRED[form])}"
        )
    values: dict[str, float] = {}
    for k in _REQUIRED[form]:
        if k not in consts:
            raise LawError(f"{where}: missing constant 'constants.{k}' for form '{form}'")
        v = _num(consts[k], where, f"constants.{k}")
        if form == "joint-moe":
            _check_joint_bound(k, v, where)
        else:
            lo, hi = _BOUNDS[k]
            ok = lo <= v <= hi if k == "E" else lo < v <= hi
            if not ok:
                raise LawError(f"{where}: constant 'constants.{k}' = {v} is outside ({lo}, {hi}]")
        values[k] = v
    fr = data.get("fitted_range")
    if not isinstance(fr, dict) or "params" not in fr or "tokens" not in fr:
        raise LawError(
            f"{where}: field 'fitted_range' must give 'params: [min, max]' and "
            "'tokens: [min, max]' (the data the law was fitted on)"
        )
    p_lo, p_hi = _range(fr["params"], where, "fitted_range.params")
    t_lo, t_hi = _range(fr["tokens"], where, "fitted_range.tokens")
    common = dict(
        id=law_id,
        name=str(data.get("name") or law_id),
        citation=data["citation"].strip(),
        dataset=str(data.get("dataset", "unspecified")),
        fitted_range=FittedRange(p_lo, p_hi, t_lo, t_hi),
        notes=str(data.get("notes", "")),
        comparable=bool(data.get("comparable", form == "parametric")),
        source=where,
    )
    cb = data.get("critical_batch")
    if cb is not None:
        if not isinstance(cb, dict):
            raise LawError(f"{where}: field 'critical_batch' must map b_star_tokens and alpha_b")
        common["b_star_tokens"] = _num(
            cb.get("b_star_tokens"), where, "critical_batch.b_star_tokens"
        )
        common["alpha_b"] = _num(cb.get("alpha_b"), where, "critical_batch.alpha_b")
        if common["b_star_tokens"] <= 0 or not (0 < common["alpha_b"] <= 3):
            raise LawError(f"{where}: critical_batch needs b_star_tokens > 0 and 0 < alpha_b <= 3")
    if form == "kaplan":
        return KaplanLaw(**common, **values)
    if form == "joint-moe":
        return _joint_from_dict(data, values, common, where)
    if data.get("experts") is not None or "experts" in fr:
        raise LawError(
            f"{where}: field 'experts' belongs to form 'joint-moe' only", field="experts"
        )
    stderr = None
    if data.get("stderr") is not None:
        se = data["stderr"]
        if not isinstance(se, dict) or set(map(str, se)) - set(PARAM_NAMES):
            raise LawError(
                f"{where}: field 'stderr' must map some of {list(PARAM_NAMES)} to numbers"
            )
        stderr = {k: _num(v, where, f"stderr.{k}") for k, v in se.items()}
        if any(v < 0 for v in stderr.values()):
            raise LawError(f"{where}: field 'stderr' values must be >= 0")
    samples = None
    note = ""
    ps = data.get("param_samples")
    if ps is not None:
        columns = ps.get("columns") if isinstance(ps, dict) else None
        if not isinstance(columns, list) or columns != list(PARAM_NAMES):
            raise LawError(
                f"{where}: field 'param_samples' needs columns {list(PARAM_NAMES)} and values"
            )
        try:
            arr = np.asarray(ps.get("values"), dtype=float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise LawError(
                f"{where}: field 'param_samples.values' must be a list of 5-number rows"
            ) from exc
        if arr.ndim != 2 or arr.shape[1] != 5 or arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
            raise LawError(
                f"{where}: field 'param_samples.values' must be at least 2 rows of 5 finite numbers"
            )
        if np.any(arr[:, 1:] <= 0) or np.any(arr[:, 0] < 0):
            raise LawError(
                f"{where}: field 'param_samples.values' must have E >= 0 and A, B, alpha, beta > 0"
            )
        samples = tuple(tuple(float(x) for x in row) for row in arr)
        note = str(ps.get("note", ""))
    return ParametricLaw(
        **common, **values, stderr=stderr, param_samples=samples, samples_note=note
    )


def _safe_load_yaml(text: str, where: str, error=LawError) -> Any:
    from estimator.yamlio import load_yaml_text

    return load_yaml_text(text, where, error, what="law")


def load_law_file(path: str | Path) -> ScalingLaw:
    """Load and validate a law YAML file (built-in or user). Safe loader only; a regular file
    of at most :data:`~estimator.fileio.MAX_LAW_BYTES` (a device, pipe or folder is refused
    without being read)."""
    return law_from_dict(read_law_data(path), where=str(path))


def read_law_data(path: str | Path) -> Any:
    """The parsed YAML of a law file (not yet validated); raises :class:`LawError`."""
    from estimator.fileio import MAX_LAW_BYTES, read_problem, read_user_text

    p = Path(path)
    try:
        text = read_user_text(p, max_bytes=MAX_LAW_BYTES, what="law file")
    except FileNotFoundError:
        raise LawError(
            f"{p}: law file not found; check the path or use a built-in law "
            f"({', '.join(builtin_law_ids())})", field="law"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LawError(f"{p}: law file {read_problem(exc, 'law .yaml file')}",
                       field="law") from None
    return _safe_load_yaml(text, str(p))


@cache
def builtin_laws() -> dict[str, ScalingLaw]:
    """The laws shipped in the package, by id (the default is ``epoch-2024``)."""
    laws: dict[str, ScalingLaw] = {}
    folder = resources.files("estimator.data.laws")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            law = law_from_dict(
                _safe_load_yaml(entry.read_text(encoding="utf-8"), entry.name),
                where=f"built-in {entry.name}",
            )
            laws[law.id] = law
    return laws


DEFAULT_LAW_ID = "epoch-2024"


def builtin_law_ids() -> list[str]:
    return list(builtin_laws())


def get_law(name_or_path: str | Path | ScalingLaw | None = None) -> ScalingLaw:
    """A built-in law by id, or a user law from a YAML path. ``None`` gives the default."""
    if isinstance(name_or_path, ScalingLaw):
        return name_or_path
    if name_or_path is None or name_or_path == "":
        name_or_path = DEFAULT_LAW_ID
    key = str(name_or_path)
    laws = builtin_laws()
    if key in laws:
        return laws[key]
    from estimator.fileio import is_path_ref

    if is_path_ref(key):
        return load_law_file(key)
    raise LawError(
        f"unknown law {quote(key, 60)}: use one of {', '.join(laws)} or a path to a law .yaml "
        "file", field="law", value=key
    )


def save_law_file(law: ScalingLaw, path: str | Path, *, overwrite_readonly: bool = False) -> None:
    """Write a law as YAML, atomically (see :func:`estimator.fileio.atomic_write_text`); a
    symlink is written through, a read-only file refused unless ``overwrite_readonly``."""
    from estimator.errors import ReadOnlyFileError
    from estimator.fileio import ReadOnlyFileError as ReadOnlyTarget
    from estimator.fileio import atomic_write_text, save_problem

    try:
        atomic_write_text(Path(path), yaml.safe_dump(law.to_dict(), sort_keys=False),
                          overwrite_readonly=overwrite_readonly)
    except OSError as exc:
        cls = ReadOnlyFileError if isinstance(exc, ReadOnlyTarget) else LawError
        raise cls(f"{path}: cannot save the law: {save_problem(exc)}") from None
