"""`llmecon compare`: a scenario's options at each volume, break-evens, tables, JSON, plots."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from llmecon.cli.options import PAST_DATE, completer
from llmecon.core.comparison import Scenario
from llmecon.core.comparison import compare as compare_scenario
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.report.formats import COMPARISON_FORMATS

QUICK_FORM_LABEL = "command line"
_QUICK_FLAGS = {"apis": "--api", "instances": "--self-hosted"}


@click.command()
@click.argument("scenario_file", metavar="[SCENARIO.yaml]", required=False, type=Path)
@click.argument("other_file", metavar="[B.yaml]", required=False, type=Path)
@click.option("--diff", is_flag=True, help="With two scenarios: what changed, and its effect.")
@click.option(
    "--format", "output_format", type=click.Choice(sorted(COMPARISON_FORMATS)), default="table",
    show_default=True, help="Output format.",
)  # fmt: skip
@click.option("--plot", type=Path, help="Write a log-log cost plot (.png, .svg or .pdf).")
@click.option("--details", is_flag=True, help="Show every line item with its price source.")
@click.option("--as-of", type=PAST_DATE, help="Price API models as of this date (YYYY-MM-DD).")
@click.option("--requests-per-day", type=float, multiple=True, help="Quick form: a volume.")
@click.option("--tokens-per-request", type=float, help="Quick form: prompt + completion tokens.")
@click.option("--input-tokens", type=float, help="Quick form: prompt tokens per request.")
@click.option("--output-tokens", type=float, help="Quick form: completion tokens per request.")
@click.option("--words-per-request", type=float, help="Quick form: words (x 4/3 tokens).")
@click.option(
    "--api", "apis", multiple=True, metavar="MODEL", shell_complete=completer("api"),
    help="Quick form: a paid API model.",
)  # fmt: skip
@click.option(
    "--self-hosted", "instances", multiple=True, metavar="INSTANCE",
    shell_complete=completer("instance"),
    help="Quick form: a catalog instance running the open model.",
)  # fmt: skip
@click.option("--replicas", type=int, default=1, show_default=True, help="Quick form: replicas.")
@click.option(
    "--model", metavar="MODEL", shell_complete=completer("model"),
    help="Quick form: the open model the --self-hosted instances run; replicas are sized per "
    "volume from its roofline estimate (`llmecon estimate`).",
)  # fmt: skip
@click.option(
    "--profile", type=Path, metavar="BENCH.json",
    help="Quick form: size --self-hosted replicas from a `llmecon bench` result instead.",
)  # fmt: skip
@click.option(
    "--cached-fraction", type=click.FloatRange(0, 1),
    help="Quick form: share of each prompt billed at the API's cached-input rate.",
)  # fmt: skip
@click.option("--batch", is_flag=True, default=None, help="Quick form: the APIs' batch rates.")
@click.option(
    "--traffic", metavar="FILE", help="Observed traffic as the workload (`llmecon traffic show`): "
    "APIs priced per request, fleets sized for the busiest hour.",
)  # fmt: skip
@click.option("--traffic-format", metavar="FORMAT", help="The --traffic file's format.")
@click.option(
    "--growth", metavar="RATE", help="Project monthly cost: volume growth, e.g. 8%/month."
)
@click.option("--months", type=click.IntRange(min=1), help="Months to project (default 24).")
@click.option("--monthly-volumes", metavar="V,V,...", help="Project these requests/day by month.")
@click.option(
    "--price-change", "price_changes", multiple=True, metavar="OPTION=+50%@YYYY-MM",
    help="In the projection, an option's bill changes by this much from that month on.",
)  # fmt: skip
@click.option("--start", metavar="YYYY-MM", help="The projection's first month (default: now).")
@click.option(
    "--min-accuracy", type=click.FloatRange(0, 1),
    help="Quality bar (with a scenario's quality:): options below it are marked, and "
    "break-evens are found among the options that meet it.",
)  # fmt: skip
def compare(
    scenario_file: Path | None,
    other_file: Path | None,
    diff: bool,
    output_format: str,
    plot: Path | None,
    details: bool,
    as_of: date | None,
    traffic: str | None,
    traffic_format: str | None,
    growth: str | None,
    months: int | None,
    monthly_volumes: str | None,
    price_changes: tuple[str, ...],
    start: str | None,
    min_accuracy: float | None,
    **quick: Any,
) -> None:
    """Compare paid APIs and self-hosted options at each volume; find the break-evens.

    \b
    Example:
      llmecon compare examples/article-2023.yaml --details --plot out/article.png
      llmecon compare --requests-per-day 1000 --requests-per-day 1000000 \\
          --input-tokens 500 --output-tokens 167 --api gpt-4o-mini --self-hosted ml.g5.4xlarge
    """
    from llmecon.cli.projection_options import projection_request  # noqa: PLC0415
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast

    projection = projection_request(growth, months, monthly_volumes, price_changes, start)
    book = load_pricebook()
    if other_file is not None and not diff:
        raise LlmeconError("two scenario files: add --diff to compare them")
    if diff:
        _diff(scenario_file, other_file, book, as_of, output_format)
        return
    from llmecon.scenario.quality_source import with_min_accuracy  # noqa: PLC0415
    from llmecon.scenario.traffic_source import traffic_for  # noqa: PLC0415

    found = traffic_for(scenario_file, traffic, traffic_format, book)
    if found is not None and scenario_file is None:
        quick = traffic_quick(quick, found.observed)
    scenario = with_min_accuracy(_scenario(scenario_file, quick, book, as_of, found), min_accuracy)
    if projection is not None and output_format == "json":
        _project(scenario, projection, found, json_output=True)
        return
    comparison = compare_scenario(scenario)
    renderer = COMPARISON_FORMATS[output_format]
    if plot is not None:
        from llmecon.core.series import cost_series, volume_span  # noqa: PLC0415
        from llmecon.report.plot import write_plot  # noqa: PLC0415

        write_plot(comparison, cost_series(scenario, volume_span(comparison)), plot)
    renderer(comparison, sys.stdout, details=details, price_book=book.version)
    if found is not None and output_format == "table":
        from llmecon.report.traffic_summary import traffic_summary  # noqa: PLC0415

        click.echo(traffic_summary(comparison, found))
    if plot is not None:
        click.echo(f"plot written to {plot}", err=True)
    if projection is not None:
        _project(scenario, projection, found, json_output=False)


def _diff(
    first: Path | None, second: Path | None, book: PriceBook, as_of: date | None, fmt: str
) -> None:
    from llmecon.core.scenario_diff import diff_comparisons  # noqa: PLC0415
    from llmecon.report import diff_view  # noqa: PLC0415
    from llmecon.scenario import load_scenario  # noqa: PLC0415
    from llmecon.scenario.diff import scenario_changes  # noqa: PLC0415

    if first is None or second is None:
        raise LlmeconError(
            "--diff compares two scenario files: llmecon compare A.yaml B.yaml --diff"
        )
    result = diff_comparisons(
        compare_scenario(load_scenario(first, book, as_of)),
        compare_scenario(load_scenario(second, book, as_of)),
    )
    render = diff_view.render_diff_json if fmt == "json" else diff_view.render_diff_table
    render((str(first), str(second)), scenario_changes(first, second), result, sys.stdout)


def _project(
    scenario: Scenario, request: tuple[Any, ...], found: Any, *, json_output: bool
) -> None:
    from llmecon.cli.projection_options import (  # noqa: PLC0415
        OBSERVED,
        observed_growth,
        parse_price_change,
    )
    from llmecon.core.projection import monthly_volumes, project  # noqa: PLC0415
    from llmecon.report import projection_view  # noqa: PLC0415

    volumes, months, changes, first = request
    if volumes == OBSERVED:
        volumes = observed_growth(found.growth_per_month if found is not None else None)
    if not isinstance(volumes, tuple):
        volumes = monthly_volumes(scenario.workload.volumes[0], volumes, months)
    parsed = tuple(parse_price_change(change, first) for change in changes)
    names = {option.name for option in scenario.options}
    for change in parsed:
        if change.option not in names:
            raise LlmeconError(
                f"--price-change {change.label}: no option {change.option!r}; use one of "
                f"{', '.join(sorted(names))}"
            )
    try:
        result = project(scenario, volumes, changes=parsed)
    except ValueError as error:
        raise LlmeconError(str(error)) from None
    if json_output:
        projection_view.render_projection_json(result, first, sys.stdout)
    else:
        projection_view.render_projection_table(result, first, sys.stdout)


def _scenario(
    path: Path | None, quick: dict[str, Any], book: PriceBook, as_of: date | None,
    traffic: Any = None,
) -> Scenario:  # fmt: skip
    from llmecon.scenario import load_scenario, scenario_from_data  # noqa: PLC0415 - pydantic

    used = [name for name, value in quick.items() if value not in (None, (), 1)]
    if path is None and quick["model"] and quick["profile"]:
        raise LlmeconError("give --model (a roofline estimate) or --profile, not both")
    if path is not None:
        if used:
            flags = ", ".join(
                _QUICK_FLAGS.get(name, f"--{name.replace('_', '-')}") for name in used
            )
            raise LlmeconError(f"give a scenario file or the quick-form flags ({flags}), not both")
        return load_scenario(path, book, as_of, traffic)
    if not quick["requests_per_day"] or not (quick["apis"] or quick["instances"]):
        raise LlmeconError(
            "give a scenario file, or --requests-per-day with at least one --api or --self-hosted "
            "(see `llmecon compare --help`)"
        )
    return scenario_from_data(quick_scenario(quick), book, QUICK_FORM_LABEL, as_of, traffic=traffic)


def traffic_quick(quick: dict[str, Any], observed: Any) -> dict[str, Any]:
    """The quick form with the observed volume and mean tokens filled in."""
    if quick["requests_per_day"] or any(
        quick[k] is not None for k in ("tokens_per_request", "input_tokens", "output_tokens")
    ):
        raise LlmeconError("--traffic gives the volume and tokens; drop --requests-per-day and "
                           "the token flags")  # fmt: skip
    tokens = observed.tokens
    return {**quick, "requests_per_day": (observed.requests_per_day,),
            "input_tokens": tokens.input, "output_tokens": tokens.output}  # fmt: skip


def quick_scenario(quick: dict[str, Any]) -> dict[str, Any]:
    """The scenario data that the quick-form flags describe."""
    token_keys = ("tokens_per_request", "input_tokens", "output_tokens", "words_per_request")
    workload = {key: quick[key] for key in token_keys if quick[key] is not None}
    workload["requests_per_day"] = list(quick["requests_per_day"])
    if quick.get("cached_fraction"):
        workload["cached_fraction"] = quick["cached_fraction"]
    api = {"batch": True} if quick.get("batch") else {}
    options: list[dict[str, Any]] = [
        {"name": model, "api": {"model": model, **api}} for model in quick["apis"]
    ]
    options += [_self_hosted(name, quick) for name in quick["instances"]]
    notes = [] if quick.get("model") or quick.get("profile") else _replica_warnings(quick)
    return {"name": "quick comparison", "workload": workload, "options": options, "notes": notes}


def _self_hosted(instance: str, quick: dict[str, Any]) -> dict[str, Any]:
    if quick.get("model"):
        capacity: dict[str, Any] = {"estimate": {"model": quick["model"]}}
    elif quick.get("profile"):
        capacity = {"profile": str(quick["profile"])}
    else:
        return {
            "name": instance,
            "self_hosted": {"instance": instance, "replicas": quick["replicas"]},
        }
    if quick["replicas"] != 1:
        capacity["min_replicas"] = quick["replicas"]
    return {"name": instance, "self_hosted": {"instance": instance, "capacity": capacity}}


def _replica_warnings(quick: dict[str, Any]) -> list[str]:
    replicas = quick["replicas"]
    return [
        f"{instance}: priced as {replicas} replica{'s' if replicas != 1 else ''} at every volume, "
        "whatever the traffic; one instance serves a bounded number of requests per day. Add "
        f"--model MODEL (e.g. --model llama-3.1-8b) to size replicas from the roofline estimate, "
        "or --profile BENCH.json from a measurement."
        for instance in quick["instances"]
    ]
