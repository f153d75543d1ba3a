"""Parsing `--growth 8%/month`, `--monthly-volumes`, `--price-change MODEL=+50%@2027-06`."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from llmecon.core.projection import PriceChange

_GROWTH = re.compile(r"^([+-]?\d+(?:\.\d+)?)(%)?(?:/month)?$")
_CHANGE = re.compile(
    r"^(?P<name>[^=]+)=(?P<sign>[+-])(?P<pct>\d+(?:\.\d+)?)%(?:@(?P<at>\d{4}-\d{2}))?$"
)


def parse_growth(text: str) -> float:
    """'8%/month', '8%' or '0.08' -> 0.08."""
    found = _GROWTH.match(text.strip())
    if found is None:
        raise LlmeconError(f"--growth {text!r}: write a monthly rate such as 8%/month or 0.08")
    value = float(found.group(1))
    return value / 100 if found.group(2) else value


def parse_volumes(text: str) -> tuple[float, ...]:
    try:
        volumes = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise LlmeconError(
            f"--monthly-volumes {text!r}: give requests/day per month, comma-separated"
        ) from None
    if not volumes or min(volumes) <= 0:
        raise LlmeconError("--monthly-volumes: every volume must be > 0")
    return volumes


def month_index(start: date, at: str) -> int:
    """1 for the start month, 2 for the next... ('2027-06' from a 2026-12 start is 7)."""
    year, month = (int(part) for part in at.split("-"))
    if not 1 <= month <= 12:
        raise LlmeconError(f"--price-change: month {at!r} is not a valid YYYY-MM")
    return (year - start.year) * 12 + month - start.month + 1


def parse_price_change(text: str, start: date) -> PriceChange:
    """'gpt-4o-mini=+50%@2027-06' -> the option's bill x1.5 from June 2027 on."""
    found = _CHANGE.match(text.strip())
    if found is None:
        raise LlmeconError(
            f"--price-change {text!r}: write OPTION=+50%@YYYY-MM (or -20%, @ optional: from "
            "the first month)"
        )
    percent = float(found["pct"]) * (1 if found["sign"] == "+" else -1)
    if percent <= -100:
        raise LlmeconError(f"--price-change {text!r}: a price cannot fall by 100% or more")
    at = found["at"]
    month = month_index(start, at) if at else 1
    if month < 1:
        raise LlmeconError(
            f"--price-change {text!r}: {at} is before the projection's start "
            f"({start:%Y-%m}); give a later month or --start"
        )
    from llmecon.core.projection import PriceChange  # noqa: PLC0415 - only with a projection

    return PriceChange(found["name"].strip(), 1 + percent / 100, month, text.strip())


OBSERVED = "observed"  # --growth observed: the traffic's fitted monthly trend


def observed_growth(growth: float | None) -> float:
    if growth is None:
        raise LlmeconError(
            "--growth observed needs traffic with at least 14 whole days (a fitted trend); "
            "give a rate such as 8%/month"
        )
    return growth


def projection_request(
    growth: str | None, months: int | None, volumes: str | None, changes: tuple[str, ...],
    start: str | None,
) -> tuple[tuple[float, ...] | float | str, int, tuple[str, ...], date] | None:  # fmt: skip
    """None when no projection is asked for; else (volumes or growth rate, months, changes,
    start month)."""
    if growth is None and volumes is None:
        if months is not None or changes:
            raise LlmeconError("--months and --price-change need --growth or --monthly-volumes")
        return None
    if growth is not None and volumes is not None:
        raise LlmeconError("give --growth or --monthly-volumes, not both")
    first = _start(start)
    if volumes is not None:
        listed = parse_volumes(volumes)
        if months is not None and months != len(listed):
            raise LlmeconError(f"--months {months} but --monthly-volumes lists {len(listed)}")
        return listed, len(listed), changes, first
    assert growth is not None
    rate = OBSERVED if growth.strip() == OBSERVED else parse_growth(growth)
    return rate, months or 24, changes, first


def _start(text: str | None) -> date:
    if text is None:
        from datetime import UTC, datetime  # noqa: PLC0415 - the clock lives in the CLI

        today = datetime.now(UTC).date()
        return date(today.year, today.month, 1)
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise LlmeconError(f"--start {text!r}: write the first month as YYYY-MM") from None
