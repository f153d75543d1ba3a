"""`llmecon ledger`: retention and size of the gateway's ledger (prune, stats)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

LEDGER_HELP = "sqlite:///PATH (default) or postgresql://... (the same as `llmecon serve`)."
_AGE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNIT_S = {"h": 3600, "d": 86_400, "w": 7 * 86_400}


class Age(click.ParamType[timedelta]):
    """An age such as 90d, 12w or 36h."""

    name = "AGE"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        found = _AGE.match(str(value))
        if not found or int(found[1]) == 0:
            self.fail(f"{value!r} is not an age: give a count and h, d or w, e.g. 90d", param, ctx)
        return timedelta(seconds=int(found[1]) * _UNIT_S[found[2]])


def _open(url: str | None):  # type: ignore[no-untyped-def]
    from llmecon.ledger import default_ledger_url, open_ledger  # noqa: PLC0415

    return open_ledger(url or default_ledger_url(), create=False)


@click.group()
def ledger() -> None:
    """Prune old raw rows into hourly roll-ups; show the ledger's size."""


@ledger.command("prune")
@click.option("--older-than", "age", type=Age(), required=True, help="e.g. 90d, 12w, 36h.")
@click.option("--ledger", "ledger_url", help=LEDGER_HELP)
def prune(age: timedelta, ledger_url: str | None) -> None:
    """Delete raw rows older than AGE; their hourly roll-ups stay.

    The roll-ups are kept as rows land, so usage totals by key, model, day and upstream stay
    the same; per-request rows older than AGE are gone (on PostgreSQL whole days are dropped
    as partitions). Idle-cost rows are kept.

    \b
    Example:
      llmecon ledger prune --older-than 90d
      llmecon ledger prune --older-than 12w --ledger postgresql://gw@db/llmecon
    """
    before = datetime.now(UTC) - age
    store = _open(ledger_url)
    try:
        done = store.prune(before)
    finally:
        store.close()
    click.echo(
        f"pruned {done.rows:,} raw rows that started before {done.before:%Y-%m-%d %H:%M} UTC; "
        f"{done.hours:,} hourly roll-up rows keep their totals"
    )


@ledger.command("stats")
@click.option("--ledger", "ledger_url", help=LEDGER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(ledger_url: str | None, as_json: bool) -> None:
    """Rows and bytes per table, and the span of raw rows and roll-ups.

    \b
    Example:
      llmecon ledger stats
      llmecon ledger stats --json
    """
    store = _open(ledger_url)
    try:
        found = store.stats()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(_facts(found), indent=2))
        return
    for table in found.tables:
        size = f"{table.bytes / 1e6:10,.1f} MB" if table.bytes is not None else ""
        approx = "" if table.exact else " (estimate)"
        click.echo(f"{table.name:<22} {table.rows:>14,} rows{approx} {size}")
    click.echo(f"raw rows:  {_span(found.raw_first, found.raw_last)}")
    click.echo(f"roll-ups:  {_span(found.rolled_first, found.rolled_last)}")
    if found.database_bytes is not None:
        click.echo(f"size:      {found.database_bytes / 1e6:,.1f} MB")


def _span(first: datetime | None, last: datetime | None) -> str:
    if first is None or last is None:
        return "none"
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"


def _facts(found: Any) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "tables": [
            {"name": t.name, "rows": t.rows, "bytes": t.bytes, "exact": t.exact}
            for t in found.tables
        ],
        "raw_first": when(found.raw_first),
        "raw_last": when(found.raw_last),
        "rolled_first": when(found.rolled_first),
        "rolled_last": when(found.rolled_last),
        "database_bytes": found.database_bytes,
    }
