"""Option types shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import click
from click.shell_completion import CompletionItem


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


def _names(kind: str) -> list[str]:
    """Names for shell completion, from the price book and the roofline catalog."""
    if kind == "model":
        from llmecon.pricebook.hardware import load_models  # noqa: PLC0415

        return sorted(name for name in load_models() if "/" not in name)
    if kind == "gpu":
        from llmecon.pricebook.hardware import load_gpus  # noqa: PLC0415

        return sorted(spec.name for spec in load_gpus().values())
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415

    book = load_pricebook()
    return sorted(book.instances) if kind == "instance" else book.api_names()


def completer(kind: str) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """A click `shell_complete` for names of `kind`: api, instance, model or gpu."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        wanted = incomplete.lower()
        return [CompletionItem(name) for name in _names(kind) if name.lower().startswith(wanted)]

    return complete
