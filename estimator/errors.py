"""Error types. Every error the user can cause is an :class:`EstimatorError`.

An error is structured (pint's habit: ``DefinitionError(name, definition_type, msg)``): besides
its message it carries the ``field`` it is about (a scenario field name such as
``"target_loss"``, a file field such as ``"prices.spot.usd_per_hour"``, or ``None``), the offending
``value``, what was ``expected`` and a ``hint`` that fixes it. Each face phrases it its own way:
the CLI names the flag of the field, the window the field's label and marks that field. Nothing
parses message text. Every error is also a ``ValueError`` where the input was a bad value.
"""

from __future__ import annotations

from typing import Any


class EstimatorError(Exception):
    """Base class for errors caused by user input or user files.

    ``str(err)`` is the full message (as the core phrases it, with field names); the faces use
    :attr:`field`, :attr:`value`, :attr:`expected` and :attr:`hint` to phrase their own."""

    def __init__(self, message: str = "", *, field: str | None = None, value: Any = None,
                 expected: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.field = field
        self.value = value
        self.expected = expected
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


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

    def __init__(self, message: str, bound: float, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.bound = bound
