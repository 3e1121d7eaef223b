"""Human-readable numbers for tables, cards and charts: 70.2 B, 1.40 T, $4.3 M, 38 days."""

from __future__ import annotations

import math

_PREFIXES = ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


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
    """$4.3 M, $950 k, $12.40."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 1e3:
        s = si(value, 2 if abs(value) / 10 ** math.floor(math.log10(abs(value))) < 10 else 3)
        return "$" + s
    return f"${value:,.2f}"


def days(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "—"
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


def parse_number(text: str) -> float:
    """Parse '70e9', '70B', '1.4T', '5.76e23', '2,000' into a float. Raises ValueError."""
    t = str(text).strip().replace(",", "").replace("_", "")
    if not t:
        raise ValueError("empty")
    mult = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15, "Q": 1e15}
    if t[-1] in mult and len(t) > 1:
        v = float(t[:-1]) * mult[t[-1]]
    else:
        v = float(t)
    if not math.isfinite(v):
        raise ValueError("not finite")
    return v
