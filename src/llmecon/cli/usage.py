"""`llmecon usage`: what the gateway's traffic cost, self-hosted and on each compared API."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from llmecon.cli.options import ISO_DATE
from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from llmecon.ledger.focus import FocusExport


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
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv", "focus", "parquet"]),
    default="table",
    help="focus: FOCUS 1.0 CSV rows per day and key (FinOps tools); parquet: the same as a "
    "Parquet file (needs pyarrow and --output).",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--account", default="self-hosted", show_default=True, help="FOCUS account name.")
def usage(
    ledger_url: str | None,
    by: str,
    since: date | None,
    until: date | None,
    output_format: str,
    output: Path | None,
    account: str,
) -> None:
    """Report requests, tokens, self-hosted cost (idle included) and API counterfactuals.

    \b
    Example:
      llmecon usage --by day
      llmecon usage --by key --since 2026-11-01 --format json
      llmecon usage --since 2026-11-01 --until 2026-11-30 --format focus --output nov.csv
    """
    from llmecon.ledger import default_ledger_url, open_ledger  # noqa: PLC0415
    from llmecon.ledger.focus import focus_export  # noqa: PLC0415
    from llmecon.ledger.usage_report import usage_report  # noqa: PLC0415
    from llmecon.report.usage_view import RENDERERS  # noqa: PLC0415

    start = datetime.combine(since, time(), UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), UTC) if until else None
    if output_format == "parquet" and output is None:
        raise LlmeconError("--format parquet writes a file: give --output FILE.parquet")
    ledger = open_ledger(ledger_url or default_ledger_url(), create=False)
    try:
        if output_format in {"focus", "parquet"}:
            _focus(focus_export(ledger, start, end, account=account), output_format, output)
            return
        report = usage_report(ledger, by, start, end)
    finally:
        ledger.close()
    if output is None:
        RENDERERS[output_format](report, sys.stdout)
        return
    with output.open("w", encoding="utf-8") as out:
        RENDERERS[output_format](report, out)


def _focus(export: FocusExport, output_format: str, output: Path | None) -> None:
    from llmecon.report.usage_view import render_focus_csv, write_focus_parquet  # noqa: PLC0415

    if output_format == "parquet" and output is not None:
        write_focus_parquet(export, output)
    elif output is None:
        render_focus_csv(export, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            render_focus_csv(export, out)
