"""`llmecon prices`: what the price book holds, with every source and date."""

from __future__ import annotations

import sys
from datetime import date

import click

from llmecon.cli.options import PAST_DATE
from llmecon.report.prices_view import (
    render_entries_json,
    render_entries_table,
    render_entry_details,
    render_update,
)

KINDS = ("api", "instance", "serverless")


@click.group()
def prices() -> None:
    """List, show and update dated, sourced prices (APIs, instances, Lambda, API Gateway)."""


@prices.command("list")
@click.option("--provider", help="Only this provider (openai, anthropic, aws, ...).")
@click.option("--search", "text", help="Only names containing TEXT.")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of entry.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def list_prices(
    provider: str | None, text: str | None, kind: str | None, output_format: str
) -> None:
    """List price entries.

    Without a filter, the curated entries are listed (instances, serverless, dated API
    history); the API snapshot's thousands of current prices appear when you filter. The
    footer names the snapshot in use.

    \b
    Example:
      llmecon prices list --kind instance
      llmecon prices list --provider openai --search gpt-4o
    """
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast

    book = load_pricebook()
    entries = book.search(provider=provider, text=text, kind=kind)
    footer = ""
    if provider is None and text is None:
        current = len(book.api_current)
        entries = [e for e in entries if getattr(e, "origin", "") != "snapshot"]
        footer = (
            f"+ {current:,} current API prices from the snapshot; "
            "filter with --provider or --search to list them\n"
        )
    if output_format == "json":
        render_entries_json(entries, sys.stdout)
    else:
        render_entries_table(
            entries,
            sys.stdout,
            footer=f"{footer}{book.snapshot.describe()}\nprice book: {book.version}",
        )


@prices.command("show")
@click.argument("name")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def show_price(name: str, output_format: str) -> None:
    """Show every price recorded under NAME, with sources and dates.

    \b
    Example:
      llmecon prices show gpt-3.5-turbo
      llmecon prices show ml.g5.4xlarge
    """
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast

    book = load_pricebook()
    entries = book.find(name)
    if output_format == "json":
        render_entries_json(entries, sys.stdout)
    else:
        render_entry_details(entries, sys.stdout)
        click.echo(book.snapshot.describe())


@prices.command("update")
@click.option(
    "--from", "where", required=True, metavar="FILE|URL",
    help="LiteLLM's model_prices_and_context_window.json (or an llmecon snapshot).",
)  # fmt: skip
@click.option("--as-of", type=PAST_DATE, help="The map's date (default: today).")
@click.option("--dry-run", is_flag=True, help="Show the diff; install nothing.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def update_prices(where: str, as_of: date | None, dry_run: bool, output_format: str) -> None:
    """Load a newer API price map, show what changes, and use it from now on.

    The map is written to $LLMECON_HOME/prices/api_prices.json (default
    ~/.local/share/llmecon); delete that file to go back to the shipped snapshot. Nothing is
    fetched unless you give a URL.

    \b
    Example:
      llmecon prices update --from model_prices_and_context_window.json --dry-run
      llmecon prices update --from https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json
    """
    from llmecon.pricebook.update import install, prepare  # noqa: PLC0415

    update = prepare(where, as_of or date.today())
    if not dry_run:
        install(update)
    render_update(update, sys.stdout, output_format=output_format, installed=not dry_run)
