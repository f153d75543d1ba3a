"""How numbers are shown: money with sensible precision, volumes with thousands separators."""

from __future__ import annotations

import math


def clean(value: float) -> float:
    """`value` without float noise (12 significant digits), for machine-readable output."""
    return float(f"{value:.12g}")


def money(value: float | None) -> str:
    """$1,334.00, $150.01, $1.334, $0.001334, $0.00001667: never an exponent, never false zeros."""
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.2f}"
    decimals = max(2, 3 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def volume(value: float) -> str:
    """113,436 (a requests/day figure rounded to whole requests)."""
    return f"{value:,.0f}"


def quantity(value: float) -> str:
    """A line item's quantity: whole numbers with separators, small ones with 4 digits."""
    if value == 0 or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.4g}"
