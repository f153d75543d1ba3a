"""`llmecon prices`: what the price book holds, with every source and date."""

from __future__ import annotations

import sys

import click

from llmecon.report.prices_view import (
    render_entries_json,
    render_entries_table,
    render_entry_details,
)

KINDS = ("api", "instance", "serverless")


@click.group()
def prices() -> None:
    """List and show dated, sourced prices (APIs, instances, Lambda, API Gateway)."""


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
    history); LiteLLM's thousands of current API prices appear when you filter.

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
        from_litellm = [e for e in entries if getattr(e, "origin", "") == "litellm"]
        entries = [e for e in entries if getattr(e, "origin", "") != "litellm"]
        if from_litellm:
            footer = (
                f"+ {len(from_litellm):,} current API prices from LiteLLM's cost map; "
                "filter with --provider or --search to list them"
            )
    if output_format == "json":
        render_entries_json(entries, sys.stdout)
    else:
        render_entries_table(entries, sys.stdout, footer=f"{footer}\nprice book: {book.version}")


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

    entries = load_pricebook().find(name)
    if output_format == "json":
        render_entries_json(entries, sys.stdout)
    else:
        render_entry_details(entries, sys.stdout)
