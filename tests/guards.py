"""Hang guards for the test suite: they catch real hangs, never slowness.

The suite runs on shared CI machines that may be busy, so no test asserts on wall-clock time
(speed is measured in ``benchmarks/``). A guard only interrupts a call that has clearly hung:
the default bound is 300 s per call (``ESTIMATOR_TEST_HANG_GUARD_S`` changes it), hundreds of
times longer than any of these calls takes on an idle 2-core machine.
"""

from __future__ import annotations

import contextlib
import os
import signal

HANG_GUARD_S = float(os.environ.get("ESTIMATOR_TEST_HANG_GUARD_S", "300"))


class Hang(AssertionError):
    """A call ran past the hang guard (raised from SIGALRM)."""


@contextlib.contextmanager
def hang_guard(what: str, seconds: float | None = None):
    """Fail instead of hanging the suite when the body runs past ``seconds`` (default
    :data:`HANG_GUARD_S`). Only in the main thread, on POSIX; elsewhere a no-op."""
    limit = HANG_GUARD_S if seconds is None else seconds
    if not hasattr(signal, "setitimer"):
        yield
        return
    try:
        old = signal.signal(signal.SIGALRM, _raise_hang(what, limit))
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _raise_hang(what: str, limit: float):
    def on_alarm(_signum, _frame):
        raise Hang(f"{what} still running after {limit:g} s: a hang")

    return on_alarm
