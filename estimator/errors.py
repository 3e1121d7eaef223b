"""Error types. Every error the user can cause is an :class:`EstimatorError` whose message
names the field and the fix; the CLI prints it as one line, the window shows it inline."""

from __future__ import annotations


class EstimatorError(Exception):
    """Base class for errors caused by user input or user files."""


class InputError(EstimatorError, ValueError):
    """A scenario input is missing, out of range or inconsistent."""


class LawError(EstimatorError, ValueError):
    """A scaling-law file or name is invalid."""


class ProfileError(EstimatorError, ValueError):
    """A hardware profile file is invalid. The message names the file and the field."""


class ScenarioError(EstimatorError, ValueError):
    """A scenario file is invalid or cannot be read/written."""


class FitError(EstimatorError, ValueError):
    """A runs file cannot be fitted."""


class UnreachableTargetError(InputError):
    """The requested loss cannot be reached under the law and constraints.

    ``bound`` is the lowest reachable loss (nats/token) under those constraints.
    """

    def __init__(self, message: str, bound: float):
        super().__init__(message)
        self.bound = bound
