"""Numbers as people type and read them: one grammar for input, one set of formatters for output.

Input grammar (the same in the CLI, scenario files and the window; :func:`parse_number`):

* digits ``0-9`` only (no other scripts' digits), an optional sign, a decimal point, an exponent
  (``5.76e23``), and ``,`` or ``_`` as thousands separators (``2,048``, ``1_000``); a comma
  must separate groups of three digits (``1,5`` is refused: it is a decimal comma, not 15);
* one count suffix, case-insensitive: ``k`` = 1e3, ``M`` = 1e6, ``B``/``G`` = 1e9, ``T`` = 1e12,
  ``P`` = 1e15 (``70B``, ``70b``, ``1.4T``, ``10M``). ``m`` is mega here, never milli: these are
  counts and money. Other letters (SI's ``Q`` for 1e30, say) are rejected with the list above;
* money (:func:`parse_money`) may start with ``$`` and end with ``/h``, ``/hr`` or ``/hour``
  (``$2.50/h``); a fraction (:func:`parse_fraction`) is ``35%`` or ``0.35`` — a bare number above 1
  is rejected, not guessed to be a percentage.

Output: :func:`si` (70.2 B), :func:`flops` (5.76e23 FLOPs), :func:`usd` ($4.3 M, $12.40, $0.0012),
:func:`days`, :func:`hours`, :func:`energy`, :func:`percent`.
"""

from __future__ import annotations

import math
import re

_PREFIXES = ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))

#: Count suffixes accepted on input (lower-cased), and their multipliers.
SUFFIXES: dict[str, float] = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
GRAMMAR_HELP = ("a number such as 70e9, 70B, 1.4T, 5.76e23 or 2,048 (suffixes k, M, B/G, T, P; "
                "case does not matter)")

#: A comma that is not a thousands separator: not between a digit and exactly three digits
#: ("1,5" is a European decimal, not 15).
_BAD_COMMA = re.compile(r"(?<!\d),|,(?!\d{3}(?!\d))")
_NUMBER_RE = re.compile(
    r"^(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<suffix>[A-Za-z]?)$",
    re.ASCII)


def si(value: float, digits: int = 3) -> str:
    """3 significant digits with a count prefix: 70.2 B, 1.40 T, 950 M."""
    if value is None or not math.isfinite(value):
        return "—"
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{_sig(value / scale, digits)} {prefix}"
    return _sig(value, digits)


def _sig(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{decimals}f}"


def flops(value: float) -> str:
    """5.76e23 FLOPs."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2e}".replace("e+", "e") + " FLOPs"


def usd(value: float) -> str:
    """$4.3 M, $950 k, $12.40; amounts below a cent keep two significant digits ($0.0012),
    so a tiny price never shows as $0.00."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 1e3:
        s = si(value, 2 if abs(value) / 10 ** math.floor(math.log10(abs(value))) < 10 else 3)
        return "$" + s
    if 0 < abs(value) < 0.01:
        return "$" + _sig(value, 2)
    return f"${value:,.2f}"


def usd_per_hour(value: float) -> str:
    """A price per accelerator-hour: $2.50, $0.0010 (never $0.00)."""
    if value is None or not math.isfinite(value):
        return "—"
    if 0 < abs(value) < 0.01:
        return "$" + _sig(value, 2)
    return f"${value:,.2f}"


def days(value: float) -> str:
    """12 days, 3.4 days, 6.5 hours; under an hour in minutes or seconds (never '0.0 hours')."""
    if value is None or not math.isfinite(value):
        return "—"
    if value * 24 < 0.1:
        seconds = value * 86400
        if seconds < 0.1:
            return f"{seconds:.2g} s"
        return f"{_sig(seconds, 2)} s" if seconds < 60 else f"{_sig(seconds / 60, 2)} min"
    if value < 1:
        return f"{value * 24:.1f} hours"
    if value < 10:
        return f"{value:.1f} days"
    return f"{value:,.0f} days"


def hours(value: float) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{si(value)} GPU-h"


def energy(value_mwh: float) -> str:
    if value_mwh is None or not math.isfinite(value_mwh):
        return "—"
    if value_mwh >= 1000:
        return f"{value_mwh / 1000:.3g} GWh"
    return f"{value_mwh:.3g} MWh"


def percent(value: float) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.0%}"


class _NotANumber(ValueError):
    """The text does not follow the number grammar at all (as opposed to a number that is out
    of range or has an unknown suffix)."""


def parse_number(text: str) -> float:
    """Parse '70e9', '70B', '70b', '1.4T', '5.76e23', '2,048' into a float (see the module
    docstring for the grammar). Raises ValueError with a message saying what is accepted."""
    raw = str(text).strip()
    if "," in raw and _BAD_COMMA.search(raw):
        raise ValueError(f"'{_excerpt(text)}': ',' separates thousands (2,048); write decimals "
                         "with a point (1.5)")
    t = raw.replace(",", "").replace("_", "")
    if not t:
        raise ValueError("empty: type " + GRAMMAR_HELP)
    m = _NUMBER_RE.match(t)
    if not m:
        raise _NotANumber(f"'{_excerpt(text)}' is not {GRAMMAR_HELP}")
    suffix = m.group("suffix").lower()
    if suffix and suffix not in SUFFIXES:
        raise ValueError(f"'{_excerpt(text)}': unknown suffix '{m.group('suffix')}'; use k, M, "
                         "B (or G), T or P")
    mantissa = float(m.group("num"))
    v = mantissa * SUFFIXES.get(suffix, 1.0)
    if not math.isfinite(v):
        raise ValueError(f"'{_excerpt(text)}' is too large a number")
    digits = re.split(r"[eE]", m.group("num"))[0]
    if v == 0 and re.search(r"[1-9]", digits):  # underflowed to zero
        raise ValueError(f"'{_excerpt(text)}' is too small a number (it rounds to zero)")
    return v


def parse_money(text: str) -> float:
    """A dollar amount: '2.50', '$2.50', '$2.50/h', '10M', '$1.5B'. Raises ValueError."""
    t = str(text).strip()
    t = re.sub(r"\s*/\s*(h|hr|hour|gpu-?h|gpu-?hour)\s*$", "", t, flags=re.IGNORECASE)
    t = t[1:].strip() if t.startswith("$") else t
    try:
        return parse_number(t)
    except _NotANumber:
        raise ValueError(f"'{_excerpt(text)}' is not a dollar amount such as 2.50, $2.50 or "
                         "$2.50/h") from None


def parse_fraction(text: str) -> float:
    """'35%' -> 0.35, '0.35' -> 0.35; a bare number above 1 is an error (is '2' 2% or 200%?)."""
    t = str(text).strip()
    if t.endswith("%"):
        return parse_number(t[:-1]) / 100.0
    v = parse_number(t)
    if v > 1:
        raise ValueError(f"'{_excerpt(text)}' is ambiguous: type a percentage with % "
                         f"({_sig(v, 3)}%) or a fraction from 0 to 1 ({_sig(v / 100, 3)})")
    return v


def _excerpt(text: str, limit: int = 40) -> str:
    """What the user typed, shortened and with control characters shown escaped."""
    s = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text).strip())
    return s if len(s) <= limit else s[: limit - 1] + "…"
