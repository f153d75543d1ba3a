"""`llmecon sensitivity`: which uncertain inputs flip a scenario's decision."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from llmecon.errors import LlmeconError


@click.command()
@click.argument("scenario_file", metavar="SCENARIO.yaml", type=Path)
@click.option("--volume", type=click.FloatRange(min=0, min_open=True),
              help="Requests/day to decide at (default: the scenario's first volume).")  # fmt: skip
@click.option("--traffic", metavar="FILE", help="Observed traffic as the workload.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@click.option("--plot", type=Path, help="Write a tornado plot (.png, .svg or .pdf).")
def sensitivity(
    scenario_file: Path, volume: float | None, traffic: str | None, output_format: str,
    plot: Path | None,
) -> None:  # fmt: skip
    """Vary API price, instance price, utilisation, tokens, volume and throughput; show which
    flip the cheapest option (tornado table and plot).

    \b
    Example:
      llmecon sensitivity examples/llama-tco.yaml --plot out/tornado.png
    """
    from llmecon.core.sensitivity import sensitivity as analyse  # noqa: PLC0415
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415
    from llmecon.report import sensitivity_view  # noqa: PLC0415
    from llmecon.scenario import load_scenario  # noqa: PLC0415
    from llmecon.scenario.traffic_source import traffic_for  # noqa: PLC0415

    book = load_pricebook()
    found = traffic_for(scenario_file, traffic, None, book)
    scenario = load_scenario(scenario_file, book, traffic=found)
    if volume is not None:
        workload = replace(scenario.workload, volumes=(volume,))
        scenario = replace(scenario, workload=workload)
    try:
        result = analyse(scenario)
    except ValueError as error:
        raise LlmeconError(f"{scenario_file}: {error}") from None
    if output_format == "json":
        sensitivity_view.render_sensitivity_json(result, sys.stdout)
    else:
        sensitivity_view.render_sensitivity_table(result, sys.stdout)
    if plot is not None:
        sensitivity_view.write_tornado(result, plot)
        click.echo(f"plot written to {plot}", err=True)
