"""Option types shared by several commands."""

from __future__ import annotations

from datetime import date, datetime

import click


class IsoDate(click.ParamType[date]):
    """A YYYY-MM-DD date."""

    name = "YYYY-MM-DD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> date:
        if isinstance(value, date):
            return value
        try:
            return datetime.strptime(str(value), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2023-04-24", param, ctx)


ISO_DATE = IsoDate()

BUDGET = click.FloatRange(min=0, max=9_000_000, min_open=True)
"""A budget in USD: positive, and within what the limit stores count exactly (2**53 nUSD)."""
