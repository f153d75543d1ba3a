"""`llmecon traffic import|show`: real usage logs in, and their profile out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

FORMAT_NAMES = (
    "openai-usage-json", "openai-usage-csv", "litellm-json", "litellm-csv", "generic-csv",
    "generic-jsonl", "ledger", "llmecon",
)  # fmt: skip
_FORMAT = click.option(
    "--format", "format_name", type=click.Choice(FORMAT_NAMES),
    help="The file's format (detected from its name and header when unambiguous).",
)  # fmt: skip


@click.group()
def traffic() -> None:
    """Read usage exports and logs (OpenAI, LiteLLM, CSV/JSONL, the ledger); show the profile.

    \b
    Example:
      llmecon traffic show tests/fixtures/traffic/litellm_spend_logs.json
      llmecon traffic import usage.csv --format openai-usage-csv --output usage.npz
    """


@traffic.command("import")
@click.argument("source", metavar="FILE|LEDGER_URL")
@_FORMAT
@click.option(
    "--output", "-o", type=Path, required=True, metavar="OUT.npz",
    help="Where to save the checked traffic (llmecon's compact form, fast to re-read).",
)  # fmt: skip
def import_traffic(source: str, format_name: str | None, output: Path) -> None:
    """Check every row of a usage export and save it for `show`, `compare --traffic`, `plan`.

    \b
    Example:
      llmecon traffic import spend_logs.json --output october.npz
    """
    from llmecon.traffic import read_traffic, save_traffic  # noqa: PLC0415 - numpy

    found = read_traffic(source, format_name)
    save_traffic(found, output)
    click.echo(
        f"{len(found):,} records ({int(found.requests.sum()):,} requests, "
        f"{len(found.models)} models) from {source} ({found.format}) saved to {output}"
    )


@traffic.command("show")
@click.argument("source", metavar="FILE|LEDGER_URL")
@_FORMAT
@click.option(
    "--output-format", "output_format", type=click.Choice(["table", "json"]), default="table",
    show_default=True, help="Output format.",
)  # fmt: skip
@click.option("--plot", type=Path, help="Write requests per hour (.png, .svg or .pdf).")
def show(source: str, format_name: str | None, output_format: str, plot: Path | None) -> None:
    """Profile traffic: period, requests and tokens per day and model, token percentiles,
    hourly and weekday shape, peak hour and peak-hour factor, growth trend.

    \b
    Example:
      llmecon traffic show tests/fixtures/traffic/generic.csv --plot out/traffic.png
    """
    from llmecon.report.traffic_view import PROFILE_FORMATS, write_profile_plot  # noqa: PLC0415
    from llmecon.traffic import profile_traffic, read_traffic  # noqa: PLC0415

    profile = profile_traffic(read_traffic(source, format_name))
    PROFILE_FORMATS[output_format](profile, sys.stdout)
    if plot is not None:
        write_profile_plot(profile, plot)
        click.echo(f"plot written to {plot}", err=True)
