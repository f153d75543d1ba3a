"""`llmecon compare`: a scenario's options at each volume, break-evens, tables, JSON, plots."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click

from llmecon.cli.options import ISO_DATE
from llmecon.core.comparison import Scenario
from llmecon.core.comparison import compare as compare_scenario
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.report.formats import COMPARISON_FORMATS

QUICK_FORM_LABEL = "command line"
_QUICK_FLAGS = {"apis": "--api", "instances": "--self-hosted"}


@click.command()
@click.argument("scenario_file", metavar="[SCENARIO.yaml]", required=False, type=Path)
@click.option(
    "--format", "output_format", type=click.Choice(sorted(COMPARISON_FORMATS)), default="table",
    show_default=True, help="Output format.",
)  # fmt: skip
@click.option("--plot", type=Path, help="Write a log-log cost plot (.png, .svg or .pdf).")
@click.option("--details", is_flag=True, help="Show every line item with its price source.")
@click.option("--as-of", type=ISO_DATE, help="Price API models as of this date (YYYY-MM-DD).")
@click.option("--requests-per-day", type=float, multiple=True, help="Quick form: a volume.")
@click.option("--tokens-per-request", type=float, help="Quick form: prompt + completion tokens.")
@click.option("--input-tokens", type=float, help="Quick form: prompt tokens per request.")
@click.option("--output-tokens", type=float, help="Quick form: completion tokens per request.")
@click.option("--words-per-request", type=float, help="Quick form: words (x 4/3 tokens).")
@click.option("--api", "apis", multiple=True, metavar="MODEL", help="Quick form: a paid API model.")
@click.option(
    "--self-hosted", "instances", multiple=True, metavar="INSTANCE",
    help="Quick form: a catalog instance running the open model.",
)  # fmt: skip
@click.option("--replicas", type=int, default=1, show_default=True, help="Quick form: replicas.")
@click.option(
    "--model", metavar="MODEL",
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
    "--min-accuracy", type=click.FloatRange(0, 1),
    help="Quality bar (with a scenario's quality:): options below it are marked, and "
    "break-evens are found among the options that meet it.",
)  # fmt: skip
def compare(
    scenario_file: Path | None,
    output_format: str,
    plot: Path | None,
    details: bool,
    as_of: date | None,
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
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast

    book = load_pricebook()
    scenario = with_min_accuracy(_scenario(scenario_file, quick, book, as_of), min_accuracy)
    comparison = compare_scenario(scenario)
    renderer = COMPARISON_FORMATS[output_format]
    if plot is not None:
        from llmecon.core.series import cost_series, volume_span  # noqa: PLC0415
        from llmecon.report.plot import write_plot  # noqa: PLC0415

        write_plot(comparison, cost_series(scenario, volume_span(comparison)), plot)
    renderer(comparison, sys.stdout, details=details, price_book=book.version)
    if plot is not None:
        click.echo(f"plot written to {plot}", err=True)


def _scenario(
    path: Path | None, quick: dict[str, Any], book: PriceBook, as_of: date | None
) -> Scenario:
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
        return load_scenario(path, book, as_of)
    if not quick["requests_per_day"] or not (quick["apis"] or quick["instances"]):
        raise LlmeconError(
            "give a scenario file, or --requests-per-day with at least one --api or --self-hosted "
            "(see `llmecon compare --help`)"
        )
    return scenario_from_data(quick_scenario(quick), book, QUICK_FORM_LABEL, as_of)


def with_min_accuracy(scenario: Scenario, min_accuracy: float | None) -> Scenario:
    """The scenario with --min-accuracy as its quality bar (it needs a `quality:` block)."""
    if min_accuracy is None:
        return scenario
    if scenario.quality is None:
        raise LlmeconError(
            "--min-accuracy needs accuracy per option: add a quality: block to the scenario "
            "(quality: {from: eval.json}, see docs/eval.md)"
        )
    return replace(scenario, quality=replace(scenario.quality, min_accuracy=min_accuracy))


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
