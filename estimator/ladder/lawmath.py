"""Closed forms of ``L = E + A/N^alpha + B/D^beta`` over many laws at once.

Every function takes ``c``, an (M, 5) array of constants in :data:`estimator.laws.PARAM_NAMES`
order (E, A, B, alpha, beta), and returns one value per law. Units: N parameters, D tokens,
C FLOPs with C = 6ND (Kaplan et al. 2020), L nats/token.
"""

from __future__ import annotations

import numpy as np

from estimator.fitting import compute_for_target_loss


def loss(c: np.ndarray, params, tokens) -> np.ndarray:
    """(M, n) losses of each law at each run (N_i, D_i)."""
    c = np.atleast_2d(c)
    n = np.asarray(params, dtype=float)[None, :]
    d = np.asarray(tokens, dtype=float)[None, :]
    return (c[:, 0:1] + c[:, 1:2] * n ** (-c[:, 3:4]) + c[:, 2:3] * d ** (-c[:, 4:5]))


def optimum(c: np.ndarray, compute_flops: float) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal (N, D) at C (Hoffmann et al. 2022 eq. 4): N = G (C/6)^(beta/(alpha+beta)),
    D = G^-1 (C/6)^(alpha/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta))."""
    c = np.atleast_2d(c)
    E, A, B, al, be = c.T
    s = al + be
    with np.errstate(all="ignore"):
        log_g = (np.log(al * A) - np.log(be * B)) / s
        log_c6 = np.log(compute_flops / 6.0)
        return np.exp(log_g + be / s * log_c6), np.exp(-log_g + al / s * log_c6)


def optimal_loss(c: np.ndarray, compute_flops: float) -> np.ndarray:
    """Loss at the compute-optimal (N, D) of C."""
    n, d = optimum(c, compute_flops)
    c = np.atleast_2d(c)
    with np.errstate(all="ignore"):
        return c[:, 0] + c[:, 1] * n ** (-c[:, 3]) + c[:, 2] * d ** (-c[:, 4])


def compute_for_loss(c: np.ndarray, target_loss: float) -> np.ndarray:
    """Least compute reaching the loss (inf where target <= E); see
    :func:`estimator.fitting.compute_for_target_loss`."""
    c = np.atleast_2d(c)
    return np.asarray(compute_for_target_loss(c[:, 0], c[:, 1], c[:, 2], c[:, 3], c[:, 4],
                                              target_loss), dtype=float)


def misallocation_waste(c_true: np.ndarray, compute_flops: float, params_used) -> np.ndarray:
    """Fraction of the big run's compute wasted by training ``params_used`` parameters (on
    D = C/6N tokens) instead of the true optimum: ``1 - C_eq/C``, where C_eq is the compute at
    which the true law's optimum reaches the loss actually obtained. 0 at the optimum."""
    c = np.atleast_2d(c_true)
    n = np.asarray(params_used, dtype=float)
    d = compute_flops / (6.0 * n)
    with np.errstate(all="ignore"):
        got = c[:, 0] + c[:, 1] * n ** (-c[:, 3]) + c[:, 2] * d ** (-c[:, 4])
        c_eq = np.asarray(compute_for_target_loss(c[:, 0], c[:, 1], c[:, 2], c[:, 3], c[:, 4],
                                                  got), dtype=float)
        w = 1.0 - c_eq / compute_flops
    return np.clip(np.where(np.isfinite(w), w, 1.0), 0.0, 1.0)


def constants_from_theta(theta: np.ndarray) -> np.ndarray:
    """(M, 5) internal (log A, log B, log E, alpha, beta) -> (M, 5) (E, A, B, alpha, beta)."""
    t = np.atleast_2d(theta)
    with np.errstate(all="ignore"):
        return np.column_stack([np.exp(t[:, 2]), np.exp(t[:, 0]), np.exp(t[:, 1]), t[:, 3],
                                t[:, 4]])


def theta_from_constants(c: np.ndarray) -> np.ndarray:
    """Inverse of :func:`constants_from_theta`."""
    c = np.atleast_2d(c)
    return np.column_stack([np.log(c[:, 1]), np.log(c[:, 2]), np.log(c[:, 0]), c[:, 3], c[:, 4]])
