"""Error types. Every error the user can cause is an :class:`EstimatorError`.

An error is structured (pint's habit: ``DefinitionError(name, definition_type, msg)``): besides
its message it carries the ``field`` it is about (a scenario field name such as
``"target_loss"``, a file field such as ``"prices.spot.usd_per_hour"``, or ``None``), the offending
``value``, what was ``expected`` and a ``hint`` that fixes it. Each face phrases it its own way:
the CLI names the flag of the field, the window the field's label and marks that field. Nothing
parses message text. Every error is also a ``ValueError`` where the input was a bad value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: A reference to a scenario field inside a message: ``{f:target_loss}``. ``str(err)`` names the
#: field by its name; the CLI renders it as the flag, the window as the field's label.
FIELD_REF = re.compile(r"\{f:([a-z_][a-z0-9_]*)\}")


def render(text: str, namer: Callable[[str], str] = lambda n: n) -> str:
    """Replace every ``{f:name}`` in ``text`` by ``namer(name)`` (default: the field name)."""
    return FIELD_REF.sub(lambda m: namer(m.group(1)), text)


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
    def template(self) -> str:
        """The message with its ``{f:name}`` field references unrendered."""
        return str(self.args[0]) if self.args else ""

    def render(self, namer: Callable[[str], str], *, flag_hints: bool = True) -> str:
        """The message with every referenced field named by ``namer``, followed by the hint
        (the fix) when it adds something. ``flag_hints=False`` (the window) leaves out a hint
        written as command-line flags, such as ``--seed 0``."""
        msg = render(self.template, namer)
        hint = render(self.hint, namer).strip() if self.hint else ""
        if hint and hint not in msg and (flag_hints or not hint.startswith("--")):
            msg = f"{msg.rstrip().rstrip('.')}; {hint}"
        return msg

    def __str__(self) -> str:
        return render(self.template)


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


class ReadOnlyFileError(EstimatorError):
    """A save would replace a read-only file. The faces ask before saving again with
    ``overwrite_readonly=True`` (the CLI refuses)."""
