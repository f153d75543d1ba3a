"""`llmecon usage`: what the gateway's traffic cost, self-hosted and on each compared API."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta

import click

from llmecon.cli.options import ISO_DATE


@click.command()
@click.option("--ledger", "ledger_url", help="sqlite:///PATH (default) or postgresql://...")
@click.option(
    "--by",
    type=click.Choice(["key", "model", "day", "upstream"]),
    default="model",
    show_default=True,
)
@click.option("--since", type=ISO_DATE, help="From this UTC date (YYYY-MM-DD).")
@click.option("--until", type=ISO_DATE, help="Up to the end of this UTC date.")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table"
)
def usage(
    ledger_url: str | None, by: str, since: date | None, until: date | None, output_format: str
) -> None:
    """Report requests, tokens, self-hosted cost (idle included) and API counterfactuals.

    \b
    Example:
      llmecon usage --by day
      llmecon usage --by key --since 2026-11-01 --format json
    """
    from llmecon.ledger import default_ledger_url, open_ledger  # noqa: PLC0415
    from llmecon.ledger.usage_report import usage_report  # noqa: PLC0415
    from llmecon.report.usage_view import RENDERERS  # noqa: PLC0415

    start = datetime.combine(since, time(), UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), UTC) if until else None
    ledger = open_ledger(ledger_url or default_ledger_url(), create=False)
    try:
        report = usage_report(ledger, by, start, end)
    finally:
        ledger.close()
    RENDERERS[output_format](report, sys.stdout)
