"""Checking a header (or a JSON object's keys) against a format's required and allowed names."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from llmecon.errors import LlmeconError


def check_columns(
    found: Collection[str], required: Sequence[str], optional: Sequence[str], where: str,
    format_name: str,
) -> None:  # fmt: skip
    """One-line errors for a missing or unknown column, naming the format's columns."""
    missing = [name for name in required if name not in found]
    if missing:
        raise LlmeconError(
            f"{where}: missing column {missing[0]!r} for format {format_name} "
            f"(required: {', '.join(required)}); rename the column or pick another --format"
        )
    allowed = set(required) | set(optional)
    unknown = sorted(name for name in found if name not in allowed)
    if unknown:
        raise LlmeconError(
            f"{where}: unknown column {unknown[0]!r} for format {format_name} "
            f"(allowed: {', '.join([*required, *optional])}); remove it or pick another --format"
        )
