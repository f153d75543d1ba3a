"""Option types shared by several commands."""

from __future__ import annotations

from datetime import UTC, date, datetime

import click


class IsoDate(click.ParamType[date]):
    """A YYYY-MM-DD date; with `past=True`, none after today (UTC): prices are not known
    in advance."""

    name = "YYYY-MM-DD"

    def __init__(self, *, past: bool = False) -> None:
        self.past = past

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        try:
            found = datetime.strptime(str(value), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2023-04-24", param, ctx)
        today = datetime.now(UTC).date()
        if self.past and found > today:
            self.fail(
                f"{found.isoformat()} is in the future; prices are known up to today "
                f"({today.isoformat()}): give a past date, or leave it out for current prices",
                param, ctx,
            )  # fmt: skip
        return found


ISO_DATE = IsoDate()
PAST_DATE = IsoDate(past=True)

BUDGET = click.FloatRange(min=0, max=9_000_000, min_open=True)
"""A budget in USD: positive, and within what the limit stores count exactly (2**53 nUSD)."""
