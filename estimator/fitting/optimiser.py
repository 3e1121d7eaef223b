"""The optimiser behind every fit: Hoffmann et al.'s objective and a batched L-BFGS in numpy.

* parameters ``theta = (a, b, e, alpha, beta)`` with ``A = exp(a)``, ``B = exp(b)``, ``E = exp(e)``;
* prediction ``log L_hat = LSE(a - alpha log N, b - beta log D, e)`` (Hoffmann et al. 2022,
  arXiv:2203.15556, eq. 11);
* objective ``sum_i Huber_delta(log L_i - log L_hat_i)``, ``delta = 1e-3`` (their appendix D.2),
  summed, not averaged (Besiroglu et al. 2024, arXiv:2404.10102: averaging shrinks the
  objective by n and makes L-BFGS stop early).

Speed comes from an analytic gradient and a batched L-BFGS: all starts advance together as
``(S, 5)`` arrays, each with its own history and backtracking (Armijo) line search, and a start
leaves the batch when it converges. Internally the exponents act on standardised ``log N`` and
``log D`` (:class:`Frame`: an affine change of variables, the same minima, better conditioned).

Bounded work: the objective is evaluated in blocks of at most :data:`BLOCK_ELEMS` (start, run)
pairs, so memory does not grow with the number of runs and time grows linearly with it; blocks
run on a small thread pool (numpy releases the GIL) while :func:`limited_blas` holds OpenBLAS to
one thread, since its own threads on top of ours oversubscribe the cores (measured: one BLAS
thread is 3.75x faster on 2,400 runs, 2 cores). The loss ``y`` may be one vector ``(n,)`` or one
vector per start ``(S, n)``: the ladder fits many simulated loss vectors of one design at once.

Pure numpy/scipy; no Qt.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from estimator.laws import PARAM_NAMES

HUBER_DELTA = 1e-3
"""Huber delta on log-loss residuals (Hoffmann et al. 2022, appendix D.2)."""

THETA_NAMES = ("a", "b", "e", "alpha", "beta")
"""Internal parameter order: (log A, log B, log E, alpha, beta)."""
N_PARAMS = len(PARAM_NAMES)

BLOCK_ELEMS = 256 * 256
"""(start, run) pairs per objective block: 256 starts x 256 runs keeps a block's temporaries
(about five arrays of this size, 2.6 MB) in cache; with more runs a block holds fewer starts."""
MAX_BLOCK_ROWS = 256

_POOL: ThreadPoolExecutor | None = None
_POOL_WORKERS = 0


def set_threads(n: int | None) -> None:
    """Worker threads for batched objective evaluation (default: CPU count, at most 8).
    ``1`` evaluates in the calling thread only."""
    global _POOL, _POOL_WORKERS
    n = max(1, min(8, os.cpu_count() or 1)) if n is None else max(1, int(n))
    if n != _POOL_WORKERS:
        if _POOL is not None:
            _POOL.shutdown(wait=True)
        _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="fit") if n > 1 else None
        _POOL_WORKERS = n


def threads() -> int:
    """Worker threads in use for objective evaluation."""
    if _POOL_WORKERS == 0:
        set_threads(None)
    return _POOL_WORKERS


def _pool() -> ThreadPoolExecutor | None:
    if _POOL_WORKERS == 0:
        set_threads(None)
    return _POOL


_BLAS_LOCK = threading.Lock()
_BLAS_DEPTH = 0
_BLAS_LIMITER = None


@contextmanager
def limited_blas(n: int = 1):
    """Hold BLAS (OpenBLAS, MKL) to ``n`` threads inside the block; re-entrant and shared
    between threads (the limit is process-wide; the last one out restores it)."""
    global _BLAS_DEPTH, _BLAS_LIMITER
    with _BLAS_LOCK:
        if _BLAS_DEPTH == 0:
            from threadpoolctl import threadpool_limits

            _BLAS_LIMITER = threadpool_limits(limits=n, user_api="blas")
        _BLAS_DEPTH += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_DEPTH -= 1
            if _BLAS_DEPTH == 0 and _BLAS_LIMITER is not None:
                _BLAS_LIMITER.restore_original_limits()
                _BLAS_LIMITER = None


def block_rows(n_runs: int) -> int:
    """Starts per objective block for ``n_runs`` runs (see :data:`BLOCK_ELEMS`)."""
    return int(max(2, min(MAX_BLOCK_ROWS, BLOCK_ELEMS // max(1, n_runs))))


def objective_batch(phi: np.ndarray, u: np.ndarray, v: np.ndarray, y: np.ndarray,
                    delta: float, w: np.ndarray | None = None):
    """Huber objective and gradient for a batch of parameter rows.

    ``phi`` is (S, 5) = (a, b, e, alpha, beta) acting on abscissae ``u`` (for N) and ``v``
    (for D): ``log L_hat = LSE(a - alpha u, b - beta v, e)``. ``y`` is the log loss, (n,) or
    (S, n); ``w`` is None or (S, n) weights. ``u`` and ``v`` may also be (S, n), one set of
    runs per row (then ``y`` is (S, n) too; pad short rows with weight 0). Returns f (S,) and
    g (S, 5); non-finite objectives come back as +inf.

    Fast path: shift the log-sum-exp by ``e`` (``log L_hat = e + log(1 + e^(x1-e) + e^(x2-e))``)
    and build the (S, n) arrays with small matrix products (numpy's broadcasting of (S, 1)
    columns against (n,) rows is several times slower than BLAS here). Rows that overflow are
    recomputed with the max-shifted log-sum-exp.
    """
    S = phi.shape[0]
    rows = block_rows(u.shape[-1])
    per_row = np.ndim(y) == 2
    per_row_x = np.ndim(u) == 2
    if S > rows:
        # Blocks of rows keep the (rows, n) temporaries in cache and memory bounded; numpy
        # releases the GIL in its loops, so blocks run in parallel threads.
        starts = range(0, S, rows)

        def one(lo):
            hi = min(S, lo + rows)
            uu, vv = (u[lo:hi], v[lo:hi]) if per_row_x else (u, v)
            return objective_batch(phi[lo:hi], uu, vv, y[lo:hi] if per_row else y, delta,
                                   None if w is None else w[lo:hi])

        pool = _pool()
        parts = list(pool.map(one, starts)) if pool is not None else [one(lo) for lo in starts]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    f, g = objective_fast(phi, u, v, y, delta, w)
    bad = ~np.isfinite(f)
    if bad.any():
        r = np.flatnonzero(bad)
        uu, vv = (u[r], v[r]) if per_row_x else (u, v)
        fs, gs = objective_stable(phi[r], uu, vv, y[r] if per_row else y, delta,
                                  None if w is None else w[r])
        f[r], g[r] = fs, gs
    return f, g


def objective_fast(phi, u, v, y, delta, w):
    """The fast path of :func:`objective_batch` (see there); ``y`` is (n,) or (S, n)."""
    if np.ndim(u) == 2:
        return _objective_rows(phi, u, v, y, delta, w)
    S, n = phi.shape[0], u.size
    per_row = np.ndim(y) == 2
    nb = 3 if per_row else 4
    basis = np.empty((nb, n))
    basis[0] = 1.0
    basis[1], basis[2] = u, v
    e = phi[:, 2]
    coef = np.zeros(((2 if per_row else 3) * S, nb))
    coef[:S, 0] = phi[:, 0] - e
    coef[:S, 1] = -phi[:, 3]
    coef[S:2 * S, 0] = phi[:, 1] - e
    coef[S:2 * S, 2] = -phi[:, 4]
    if per_row:
        big = coef @ basis  # rows: x1 - e, x2 - e
        e1, e2 = big[:S], big[S:]
        r = y - e[:, None]  # log L - e, one loss vector per row
    else:
        basis[3] = y
        coef[2 * S:, 0] = -e
        coef[2 * S:, 3] = 1.0
        big = coef @ basis  # rows: x1 - e, x2 - e, log L - e
        e1, e2, r = big[:S], big[S:2 * S], big[2 * S:]
    with np.errstate(all="ignore"):
        np.exp(e1, out=e1)
        np.exp(e2, out=e2)
        z = e1 + e2
        z += 1.0
        r -= np.log(z)  # residual log L - log L_hat
        psi = np.clip(r, -delta, delta)
        # Huber: psi (r - psi/2) is r^2/2 inside [-delta, delta], delta(|r| - delta/2) outside.
        h = r
        h -= 0.5 * psi
        h *= psi
        if w is not None:
            h *= w
            psi *= w
        f = h.sum(axis=1)
        q = psi
        q /= z
        np.negative(q, out=q)  # dHuber/dlogLhat, times d(log L_hat)/d(.) below
        e1 *= q
        e2 *= q
        g = np.empty((S, N_PARAMS))
        g1 = e1 @ basis[:2].T
        g2 = e2 @ basis[[0, 2]].T
        g[:, 0] = g1[:, 0]
        g[:, 3] = -g1[:, 1]
        g[:, 1] = g2[:, 0]
        g[:, 4] = -g2[:, 1]
        g[:, 2] = q.sum(axis=1)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    if bad.any():
        f[bad] = np.inf
        g[bad] = 0.0
    return f, g


def _objective_rows(phi, u, v, y, delta, w):
    """The fast path with one set of runs per row: u, v, y, w all (S, n)."""
    e = phi[:, 2:3]
    with np.errstate(all="ignore"):
        e1 = (phi[:, 0:1] - e) - phi[:, 3:4] * u
        e2 = (phi[:, 1:2] - e) - phi[:, 4:5] * v
        np.exp(e1, out=e1)
        np.exp(e2, out=e2)
        z = e1 + e2
        z += 1.0
        r = y - e
        r -= np.log(z)
        psi = np.clip(r, -delta, delta)
        h = r
        h -= 0.5 * psi
        h *= psi
        if w is not None:
            h *= w
            psi *= w
        f = h.sum(axis=1)
        q = psi
        q /= z
        np.negative(q, out=q)
        e1 *= q
        e2 *= q
        g = np.empty((phi.shape[0], N_PARAMS))
        g[:, 0] = e1.sum(1)
        g[:, 1] = e2.sum(1)
        g[:, 2] = q.sum(1)
        g[:, 3] = -(e1 * u).sum(1)
        g[:, 4] = -(e2 * v).sum(1)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    if bad.any():
        f[bad] = np.inf
        g[bad] = 0.0
    return f, g


def objective_stable(phi, u, v, y, delta, w):
    """The overflow-safe path of :func:`objective_batch` (max-shifted log-sum-exp)."""
    a, b, e = phi[:, 0:1], phi[:, 1:2], phi[:, 2:3]
    al, be = phi[:, 3:4], phi[:, 4:5]
    with np.errstate(all="ignore"):
        x1 = a - al * u
        x2 = b - be * v
        m = np.maximum(np.maximum(x1, x2), e)
        e1 = np.exp(x1 - m)
        e2 = np.exp(x2 - m)
        e3 = np.exp(e - m)
        z = e1 + e2 + e3
        r = y - (m + np.log(z))
        psi = np.clip(r, -delta, delta)
        h = psi * (r - 0.5 * psi)
        if w is not None:
            h = h * w
            psi = psi * w
        f = h.sum(axis=1)
        q = -psi / z
        if np.ndim(u) == 2:
            gu, gv = -((q * e1) * u).sum(1), -((q * e2) * v).sum(1)
        else:
            gu, gv = -((q * e1) @ u), -((q * e2) @ v)
        g = np.stack([(q * e1).sum(1), (q * e2).sum(1), (q * e3).sum(1), gu, gv], axis=1)
    bad = ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    if bad.any():
        f[bad] = np.inf
        g[bad] = 0.0
    return f, g


def huber_objective(theta, params, tokens, loss, delta: float = HUBER_DELTA,
                    weights=None) -> tuple[float, np.ndarray]:
    """Hoffmann's objective ``sum_i Huber_delta(log L_i - LSE(a - alpha log N_i,
    b - beta log D_i, e))`` and its analytic gradient with respect to
    ``theta = (a, b, e, alpha, beta)``. ``weights`` (optional) multiply each run's term."""
    th = np.asarray(theta, dtype=float).reshape(1, N_PARAMS)
    w = None if weights is None else np.asarray(weights, dtype=float).reshape(1, -1)
    f, g = objective_batch(th, np.log(np.asarray(params, dtype=float)),
                           np.log(np.asarray(tokens, dtype=float)),
                           np.log(np.asarray(loss, dtype=float)), delta, w)
    return float(f[0]), g[0]


class Frame:
    """Affine change of variables: exponents act on standardised log N, log D.

    ``a - alpha log N = (a - alpha mu_N) - (alpha s_N) u`` with ``u = (log N - mu_N)/s_N``.
    ``y`` is the log loss when ``loss`` is given (else None: pass it to the optimiser).
    """

    def __init__(self, params, tokens, loss=None):
        ln_n = np.log(np.asarray(params, dtype=float))
        ln_d = np.log(np.asarray(tokens, dtype=float))
        self.mu_n, self.mu_d = float(ln_n.mean()), float(ln_d.mean())
        self.s_n = float(ln_n.std()) or 1.0
        self.s_d = float(ln_d.std()) or 1.0
        self.u = (ln_n - self.mu_n) / self.s_n
        self.v = (ln_d - self.mu_d) / self.s_d
        self.y = None if loss is None else np.log(np.asarray(loss, dtype=float))

    @classmethod
    def from_runs(cls, runs) -> Frame:
        """The frame of a :class:`~estimator.fitting.runs.RunsData` (with its losses)."""
        return cls(runs.params, runs.tokens, runs.loss)

    def to_phi(self, theta: np.ndarray) -> np.ndarray:
        t = np.atleast_2d(np.asarray(theta, dtype=float))
        phi = t.copy()
        phi[:, 0] = t[:, 0] - t[:, 3] * self.mu_n
        phi[:, 1] = t[:, 1] - t[:, 4] * self.mu_d
        phi[:, 3] = t[:, 3] * self.s_n
        phi[:, 4] = t[:, 4] * self.s_d
        return phi

    def to_theta(self, phi: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(np.asarray(phi, dtype=float))
        t = p.copy()
        t[:, 3] = p[:, 3] / self.s_n
        t[:, 4] = p[:, 4] / self.s_d
        t[:, 0] = p[:, 0] + t[:, 3] * self.mu_n
        t[:, 1] = p[:, 1] + t[:, 4] * self.mu_d
        return t


class RowFrame(Frame):
    """Many frames stacked row by row, for fitting different sets of runs in one batch:
    ``u``, ``v`` are (R, n) (short rows padded; give them weight 0) and the centring and
    scales are (R,) arrays, so :meth:`to_phi` and :meth:`to_theta` work row by row."""

    def __init__(self, frames: list[Frame], rows: list[int]):
        n = max(f.u.size for f in frames)
        R = int(sum(rows))
        self.u = np.zeros((R, n))
        self.v = np.zeros((R, n))
        self.y = None
        arrs = {k: np.empty(R) for k in ("mu_n", "mu_d", "s_n", "s_d")}
        lo = 0
        for f, r in zip(frames, rows, strict=True):
            self.u[lo:lo + r, :f.u.size] = f.u
            self.v[lo:lo + r, :f.v.size] = f.v
            for k, a in arrs.items():
                a[lo:lo + r] = getattr(f, k)
            lo += r
        self.mu_n, self.mu_d, self.s_n, self.s_d = (arrs[k] for k in ("mu_n", "mu_d", "s_n",
                                                                      "s_d"))


# --------------------------------------------------------------------------------------
# Batched L-BFGS
# --------------------------------------------------------------------------------------


def batched_lbfgs(phi0: np.ndarray, frame: Frame, delta: float, w: np.ndarray | None = None,
                  *, y: np.ndarray | None = None, memory: int = 10, max_iter: int = 400,
                  gtol: float = 1e-11, ftol: float = 1e-11, patience: int = 3,
                  chunk: int = 1024):
    """Minimise the objective from every row of ``phi0`` at once (in chunks of rows).

    ``y`` is the log loss, (n,) or one row per start (S, n); default ``frame.y``. Each row
    keeps its own L-BFGS history (``memory`` pairs) and backtracking Armijo line search. A row
    stops when its gradient's max-norm is below ``gtol``, when its relative decrease stays below
    ``ftol`` for ``patience`` iterations, when the line search fails from steepest descent, or
    at ``max_iter``. Returns (phi (S, 5), f (S,), iterations (S,)).
    """
    phi0 = np.asarray(phi0, dtype=float)
    y = frame.y if y is None else np.asarray(y, dtype=float)
    if y is None:
        raise ValueError("batched_lbfgs: no losses (give y or a Frame with loss)")
    S = phi0.shape[0]
    out_x = phi0.copy()
    out_f = np.full(S, np.inf)
    out_it = np.zeros(S, dtype=int)
    rows_x = np.ndim(frame.u) == 2
    if rows_x and chunk < S:
        raise ValueError("batched_lbfgs: a RowFrame needs chunk >= rows")
    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        wc = None if w is None else w[lo:hi]
        yc = y[lo:hi] if y.ndim == 2 else y
        x, f, it = _lbfgs_chunk(phi0[lo:hi], frame, yc, delta, wc, memory, max_iter, gtol,
                                ftol, patience)
        out_x[lo:hi], out_f[lo:hi], out_it[lo:hi] = x, f, it
    return out_x, out_f, out_it


def _lbfgs_chunk(phi0, frame, y, delta, w, m, max_iter, gtol, ftol, patience):
    u, v = frame.u, frame.v
    y_rows = y.ndim == 2
    x_rows = np.ndim(u) == 2
    S = phi0.shape[0]
    X_out = phi0.copy()
    F_out = np.full(S, np.inf)
    it_out = np.zeros(S, dtype=int)

    def ev(xs, rows):
        uu, vv = (u[rows], v[rows]) if x_rows else (u, v)
        return objective_batch(xs, uu, vv, y[rows] if y_rows else y, delta,
                               None if w is None else w[rows])

    idx = np.arange(S)
    x = phi0.copy()
    f, g = ev(x, idx)
    ok = np.isfinite(f)
    X_out[~ok], F_out[~ok] = x[~ok], f[~ok]
    idx, x, f, g = idx[ok], x[ok], f[ok], g[ok]
    A = idx.size
    Sh = np.zeros((m, A, N_PARAMS))
    Yh = np.zeros((m, A, N_PARAMS))
    rho = np.zeros((m, A))
    gnorm = np.sqrt((g * g).sum(1))
    gamma = 1.0 / np.maximum(gnorm, 1e-300)
    stall = np.zeros(A, dtype=int)
    c1 = 1e-4
    for k in range(max_iter):
        if idx.size == 0:
            break
        # Two-loop recursion, all rows at once (rho = 0 marks an empty/rejected slot).
        q = g.copy()
        alph = np.zeros((m, idx.size))
        order = [(k - 1 - j) % m for j in range(m)]  # newest first
        for j in order:
            alph[j] = rho[j] * (Sh[j] * q).sum(1)
            q -= alph[j][:, None] * Yh[j]
        r = gamma[:, None] * q
        for j in reversed(order):
            bj = rho[j] * (Yh[j] * r).sum(1)
            r += Sh[j] * (alph[j] - bj)[:, None]
        p = -r
        gp = (g * p).sum(1)
        nondesc = ~(gp < 0) | ~np.isfinite(gp)
        if nondesc.any():  # reset to scaled steepest descent
            rho[:, nondesc] = 0.0
            p[nondesc] = -gamma[nondesc, None] * g[nondesc]
            gp[nondesc] = (g[nondesc] * p[nondesc]).sum(1)
        has_hist = np.any(rho != 0.0, axis=0)

        # Backtracking line search (Armijo), only re-evaluating rows still pending.
        t = np.ones(idx.size)
        xn = x + p
        fn, gn = ev(xn, idx)
        accepted = fn <= f + c1 * t * gp
        pending = np.flatnonzero(~accepted)
        for _ in range(40):
            if pending.size == 0:
                break
            t[pending] *= 0.5
            xp = x[pending] + t[pending, None] * p[pending]
            fp, gpn = ev(xp, idx[pending])
            xn[pending], fn[pending], gn[pending] = xp, fp, gpn
            okp = fp <= f[pending] + c1 * t[pending] * gp[pending]
            accepted[pending[okp]] = True
            pending = pending[~okp]
        failed = ~accepted
        # Rows whose line search failed: keep x; reset history, or stop if already steepest.
        xn[failed], fn[failed], gn[failed] = x[failed], f[failed], g[failed]

        s_vec = xn - x
        y_vec = gn - g
        sy = (s_vec * y_vec).sum(1)
        yy = (y_vec * y_vec).sum(1)
        valid = accepted & (sy > 1e-10 * np.sqrt((s_vec * s_vec).sum(1) * yy)) & (yy > 0)
        slot = k % m
        Sh[slot] = np.where(valid[:, None], s_vec, 0.0)
        Yh[slot] = np.where(valid[:, None], y_vec, 0.0)
        rho[slot] = np.where(valid, 1.0 / np.where(valid, sy, 1.0), 0.0)
        gamma = np.where(valid, sy / np.where(valid, yy, 1.0), gamma)
        if failed.any():
            rho[:, failed] = 0.0

        dec = f - fn
        small = accepted & (dec <= ftol * np.maximum(np.abs(fn), 1e-300))
        stall = np.where(small, stall + 1, 0)
        x, f, g = xn, fn, gn
        gmax = np.abs(g).max(1)
        done = (gmax <= gtol) | (stall >= patience) | (failed & ~has_hist) | (k == max_iter - 1)
        if done.any():
            d = np.flatnonzero(done)
            X_out[idx[d]], F_out[idx[d]], it_out[idx[d]] = x[d], f[d], k + 1
            keep = ~done
            idx, x, f, g = idx[keep], x[keep], f[keep], g[keep]
            Sh, Yh, rho = Sh[:, keep], Yh[:, keep], rho[:, keep]
            gamma, stall = gamma[keep], stall[keep]
    if idx.size:
        X_out[idx], F_out[idx], it_out[idx] = x, f, max_iter
    return X_out, F_out, it_out


def polish(phi: np.ndarray, frame: Frame, delta: float, w: np.ndarray | None = None,
           y: np.ndarray | None = None):
    """scipy L-BFGS-B (analytic gradient) from one point at tight tolerances.
    Returns (phi (5,), objective)."""
    from scipy.optimize import minimize

    wrow = None if w is None else w.reshape(1, -1)
    yv = frame.y if y is None else y

    def fun(x):
        f, g = objective_fast(x.reshape(1, -1), frame.u, frame.v, yv, delta, wrow)
        if not np.isfinite(f[0]):
            f, g = objective_stable(x.reshape(1, -1), frame.u, frame.v, yv, delta, wrow)
        return float(f[0]), g[0]

    res = minimize(fun, phi, jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "maxcor": 20, "ftol": 1e-15, "gtol": 1e-12,
                            "maxls": 50})
    return np.asarray(res.x, dtype=float), float(res.fun)


def distinct_best(phi: np.ndarray, f: np.ndarray, k: int) -> np.ndarray:
    """Indices of up to k lowest-objective rows whose end points differ (rel 1e-4)."""
    order = np.argsort(f, kind="stable")
    chosen: list[int] = []
    for i in order:
        if not np.isfinite(f[i]) or len(chosen) >= k:
            break
        if all(np.max(np.abs(phi[i] - phi[j]) / (1.0 + np.abs(phi[j]))) > 1e-4 for j in chosen):
            chosen.append(int(i))
    return np.array(chosen, dtype=int)
