"""Input fields, declared once: label, unit, kind, bounds, CLI flag, help.

Each :class:`~estimator.scenario.Scenario` field carries a :class:`FieldSpec` in its dataclass
metadata (:func:`spec`). That one declaration drives

* validation (:func:`check_value`: one set of bounds, one message style),
* scenario-file coercion (:func:`coerce`),
* the CLI's argparse options (``estimator.cli`` iterates the specs),
* the window's parsing and formatting of what the user types (:func:`parse_text`,
  :func:`format_value`) and its labels and tooltips.

Errors are :class:`~estimator.errors.InputError` with ``field``, ``value``, ``expected`` and
``hint``; their messages refer to fields as ``{f:name}`` so each face names the field its own way
(the CLI with the flag, the window with the label; see :func:`render`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from estimator import units
from estimator.errors import EstimatorError, InputError, render

#: Kinds of field, and how a value of that kind is typed.
KINDS = {
    "count": "a count such as 70B, 1.4T or 5e11",
    "flops": "FLOPs such as 5.76e23",
    "loss": "a loss in nats/token such as 2.05",
    "ratio": "a number such as 20",
    "int": "a whole number such as 1024 or 2k",
    "fraction": "a percentage such as 35% or a fraction such as 0.35",
    "usd": "a dollar amount such as $2.50",
    "days": "a number of days such as 730",
    "choice": "one of the listed choices",
    "bool": "true or false",
    "ref": "a name or the path of a file",
    "text": "free text",
}


@dataclass(frozen=True)
class FieldSpec:
    """How one input is named, typed, bounded and explained.

    ``lo``/``hi`` bound the value (``lo_open``: ``lo`` itself is excluded); ``choices`` for a
    choice; ``flag`` is the CLI option (None: not a plain option, e.g. set by ``--match``);
    ``group`` is the section it belongs to in the CLI help and the window; ``hint`` (optional)
    says how to fix a bad value and travels with the error."""

    label: str
    kind: str
    unit: str = ""
    help: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] = ()
    flag: str | None = None
    metavar: str | None = None
    group: str = "training"
    optional: bool = False
    hint: str = ""  # how to fix a value out of bounds (shown with the error)
    name: str = ""  # filled in by :func:`specs_of`

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")

    @property
    def expected(self) -> str:
        """What a valid value looks like, in words (for messages)."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "ref":
            return KINDS["ref"]
        if self.kind == "fraction":
            return f"a fraction from {self.lo:g} to {self.hi:g} (or {self.lo:.0%} to {self.hi:.0%})"
        if self.kind == "int":
            return f"a whole number from {int(self.lo):,} to {int(self.hi):,}"
        lo = "" if self.lo is None else (f"above {self.lo:g}" if self.lo_open
                                         else f"at least {self.lo:g}")
        hi = "" if self.hi is None else f"at most {self.hi:.3g}"
        bound = " and ".join(b for b in (lo, hi) if b)
        unit = f" {self.unit}" if self.unit else ""
        return f"a number{unit}" + (f" {bound}" if bound else "")


def spec(label: str, kind: str, default: Any = None, **kwargs: Any) -> Any:
    """A dataclass field whose metadata is a :class:`FieldSpec`."""
    return dataclasses.field(default=default, metadata={"spec": FieldSpec(label, kind, **kwargs)})


def specs_of(cls) -> dict[str, FieldSpec]:
    """{field name: FieldSpec} of a dataclass declared with :func:`spec`, in field order."""
    out = {}
    for f in dataclasses.fields(cls):
        s = f.metadata.get("spec")
        if s is not None:
            out[f.name] = dataclasses.replace(s, name=f.name)
    return out


# --------------------------------------------------------------------------------------
# Naming fields in messages
# --------------------------------------------------------------------------------------

def ref(name: str) -> str:
    """A reference to field ``name`` inside an error message, rendered by each face."""
    return "{f:" + name + "}"


# --------------------------------------------------------------------------------------
# Validation and coercion
# --------------------------------------------------------------------------------------


def _finite_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and _isfinite(v)


def _isfinite(v: float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond the float range
        return False


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:39] + "…"


def check_value(s: FieldSpec, v: Any) -> None:
    """Raise :class:`InputError` when ``v`` is not a valid value of the field."""
    if v is None:
        if s.optional:
            return
        raise InputError(f"{ref(s.name)} is required: give {s.expected}", field=s.name,
                         value=v, expected=s.expected)
    if s.kind == "choice":
        if v not in s.choices:
            raise InputError(f"{ref(s.name)} must be {s.expected}, got {_show(v)}", field=s.name,
                             value=v, expected=s.expected)
        return
    if s.kind == "bool":
        if not isinstance(v, bool):
            raise InputError(f"{ref(s.name)} must be true or false, got {_show(v)}",
                             field=s.name, value=v, expected=s.expected)
        return
    if s.kind == "text":
        if not isinstance(v, str) or len(v) > 200:
            raise InputError(f"{ref(s.name)} must be text of at most 200 characters",
                             field=s.name, value=v, expected=s.expected)
        return
    if s.kind == "ref":
        if not isinstance(v, str) or not v.strip():
            raise InputError(f"{ref(s.name)} must be {s.expected}, got {_show(v)}",
                             field=s.name, value=v, expected=s.expected)
        return
    if s.kind == "int":
        if isinstance(v, bool) or not isinstance(v, int) or not (s.lo <= v <= s.hi):
            raise InputError(f"{ref(s.name)} must be {s.expected}, got {_show(v)}",
                             field=s.name, value=v, expected=s.expected)
        return
    if not _finite_number(v):
        raise InputError(f"{ref(s.name)} must be {s.expected}, got {_show(v)}{_hint(s)}",
                         field=s.name, value=v, expected=s.expected, hint=s.hint or None)
    too_low = s.lo is not None and (v <= s.lo if s.lo_open else v < s.lo)
    if too_low:
        what = "must be positive" if (s.lo == 0 and s.lo_open) else f"must be {s.expected}"
        if s.lo > 0 and v > 0:
            what = f"= {v:.3g} is absurdly small; {s.expected}"
        raise InputError(f"{ref(s.name)} {what}, got {_show(v)}{_hint(s)}", field=s.name,
                         value=v, expected=s.expected, hint=s.hint or None)
    if s.hi is not None and v > s.hi:
        raise InputError(f"{ref(s.name)} = {v:.3g} is absurdly large; {s.expected}{_hint(s)}",
                         field=s.name, value=v, expected=s.expected, hint=s.hint or None)


def _hint(s: FieldSpec) -> str:
    """The field's hint as the end of a message ('' when it has none)."""
    return f": {s.hint}" if s.hint else ""


def coerce(s: FieldSpec, value: Any) -> Any:
    """A value read from a scenario file (YAML types) as the field's Python type; raises
    :class:`InputError` naming the field. Bounds are checked by :func:`check_value`."""
    if value is None:
        if s.optional:
            return None
        raise InputError(f"{ref(s.name)} cannot be empty: give {s.expected}", field=s.name,
                         value=value, expected=s.expected)
    if s.kind == "bool":
        if isinstance(value, bool):
            return value
        raise InputError(f"{ref(s.name)} must be true or false, got {_show(value)}",
                         field=s.name, value=value, expected=s.expected)
    if s.kind in ("choice", "ref", "text"):
        if not isinstance(value, str):
            raise InputError(f"{ref(s.name)} must be text ({s.expected}), got {_show(value)}",
                             field=s.name, value=value, expected=s.expected)
        return value
    if s.kind == "int":
        if isinstance(value, str):
            value = _parse_or_error(s, value)
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and (not _isfinite(value) or value != int(value)))):
            raise InputError(f"{ref(s.name)} must be a whole number, got {_show(value)}",
                             field=s.name, value=value, expected=s.expected)
        return int(value)
    if isinstance(value, str):
        value = _parse_or_error(s, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{ref(s.name)} must be a number, got {_show(value)}", field=s.name,
                         value=value, expected=s.expected)
    try:
        return float(value)
    except OverflowError:  # an integer beyond the float range
        raise InputError(f"{ref(s.name)} is too large a number", field=s.name,
                         expected=s.expected) from None


def _parse_or_error(s: FieldSpec, text: str) -> float:
    try:
        return parse_text(s, text)
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(f"{ref(s.name)}: {exc}", field=s.name, value=text,
                         expected=s.expected) from None


# --------------------------------------------------------------------------------------
# Typed text (window and CLI)
# --------------------------------------------------------------------------------------


def parse_text(s: FieldSpec, text: str) -> Any:
    """What a user typed for field ``s``, as a value (not yet bounds-checked: see
    :func:`check_value`). Empty text is None for an optional field. Raises ValueError with a
    message saying what is accepted (the faces add the field's name)."""
    t = str(text).strip()
    if not t:
        if s.optional:
            return None
        raise ValueError(f"required: type {s.expected}")
    if s.kind == "choice":
        low = t.lower().replace("-", "_")
        for c in s.choices:
            if c.lower() == low:
                return c
        raise ValueError(f"'{t}' is not {s.expected}")
    if s.kind == "bool":
        low = t.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"'{t}' is not true or false")
    if s.kind in ("ref", "text"):
        return t
    if s.kind == "fraction":
        return units.parse_fraction(t)
    if s.kind == "usd":
        return units.parse_money(t)
    v = units.parse_number(t)
    if s.kind == "int":
        if v != int(v):
            raise ValueError(f"'{t}' is not a whole number")
        return int(v)
    return v


def format_value(s: FieldSpec | None, value: Any) -> str:
    """A value as the user would type it back: 70B, 1.4T, 5.76e23, 29%, 2.1, $2.50."""
    if value is None:
        return ""
    kind = s.kind if s is not None else "ratio"
    if kind in ("choice", "ref", "text") or isinstance(value, str):
        return str(value)
    if kind == "bool":
        return "yes" if value else "no"
    v = float(value)
    if kind == "fraction":
        return f"{v * 100:.4g}%"
    if kind == "int":
        return f"{int(v)}"
    if kind == "flops":
        return f"{v:.3g}".replace("e+", "e")
    if kind == "count":
        for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= scale:
                return f"{v / scale:.4g}{suffix}"
        return f"{v:.4g}"
    if kind == "usd":
        return f"{v:.2f}" if v >= 0.01 else f"{v:.2g}"
    return f"{v:.6g}"


def phrase(exc: EstimatorError, namer: Callable[[str], str], *, flag_hints: bool = True) -> str:
    """The error's message with every field named by ``namer`` (a face's naming), and its hint
    (``flag_hints=False``: not a hint written as command-line flags, for the window)."""
    if isinstance(exc, EstimatorError):
        return exc.render(namer, flag_hints=flag_hints)
    return render(str(exc), namer)
