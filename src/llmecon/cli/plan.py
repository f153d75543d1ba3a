"""`llmecon plan`: the cheapest way to self-host an open model at a volume, next to paid APIs."""

from __future__ import annotations

import sys
from math import isfinite
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from llmecon.cli.engine_options import engine_efficiency, engine_options, resolve_model
from llmecon.cli.options import completer
from llmecon.errors import LlmeconError
from llmecon.library.calls import DEFAULT_APIS, PRECISIONS
from llmecon.pricebook.catalog import api_options, hosted_options, machines, pricing_kinds

__all__ = ["api_options", "plan"]  # bench and serve price APIs with api_options

if TYPE_CHECKING:
    from llmecon.core.capacity import Throughput
    from llmecon.core.planning import Machine
    from llmecon.core.roofline import GpuSpec
    from llmecon.pricebook.book import PriceBook

POSITIVE = click.FloatRange(min=0, min_open=True)


@click.command()
@click.option(
    "--model", shell_complete=completer("model"),
    help="Open model to host (e.g. llama-3.1-8b; or --model-config).",
)  # fmt: skip
@click.option("--requests-per-day", type=POSITIVE, help="Required unless --traffic.")
@click.option("--input-tokens", type=click.IntRange(min=1), help="Required unless --traffic.")
@click.option("--output-tokens", type=click.IntRange(min=0), help="Required unless --traffic.")
@click.option(
    "--traffic", metavar="FILE", help="Observed traffic (`llmecon traffic show`): its volume, "
    "mean tokens and peak-hour factor replace the three flags above and --peak-factor.",
)  # fmt: skip
@click.option("--ttft-p95", type=POSITIVE, help="Time-to-first-token target, ms.")
@click.option("--tpot", type=POSITIVE, help="Time-per-output-token target, ms.")
@click.option(
    "--api",
    "apis",
    shell_complete=completer("api"),
    multiple=True,
    metavar="MODEL",
    help=f"Paid API to compare (repeatable; default: {', '.join(DEFAULT_APIS)}).",
)
@click.option(
    "--hosted/--no-hosted",
    default=True,
    show_default=True,
    help="Also compare the same open model hosted per token (every provider in the price map).",
)
@click.option(
    "--precision",
    "precisions",
    multiple=True,
    type=click.Choice(PRECISIONS),
    help="Precisions to try (repeatable; default: all).",
)
@click.option(
    "--service", type=click.Choice(["all", "sagemaker", "ec2"]), default="all", show_default=True
)
@click.option(
    "--cloud", "clouds", default="aws", show_default=True, metavar="CLOUD,...",
    help="Clouds to search, comma-separated: aws, gcp, azure, lambda, runpod (or all).",
)  # fmt: skip
@click.option(
    "--pricing", default="on_demand", show_default=True, metavar="KIND,...",
    help="Ways to pay, comma-separated, listed side by side: on_demand, spot, both (the two), "
    "reserved_1y_no_upfront, reserved_1y_partial_upfront, reserved_1y_all_upfront, "
    "reserved_3y_no_upfront, reserved_3y_partial_upfront, reserved_3y_all_upfront (EC2).",
)  # fmt: skip
@click.option("--peak-factor", type=click.FloatRange(min=1), help="Peak / average rate.")
@click.option("--daily-profile", metavar="W,W,...", help="24 comma-separated hourly weights.")
@click.option("--autoscale", is_flag=True, help="Follow the daily profile hour by hour.")
@click.option(
    "--target-utilization",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=1.0,
    show_default=True,
)
@click.option(
    "--min-replicas", type=click.IntRange(min=0), help="Fewest replicas (default 1; 2 with --ha)."
)
@click.option(
    "--ha", is_flag=True,
    help="Production: size for one replica's loss (N+1 replicas, at least 2).",
)  # fmt: skip
@engine_options
@click.option(
    "--confidence",
    type=click.Choice(["p50", "p80", "p90", "p95"]),
    help="Derate estimated throughput by the out-of-sample error at this level.",
)
@click.option(
    "--measured",
    multiple=True,
    metavar="INSTANCE=FILE",
    help="A `llmecon bench` result for the model on INSTANCE (repeatable).",
)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--quality", "quality_file", type=Path, metavar="EVAL.json",
    help="A `llmecon eval` result: accuracy and cost per correct answer for its endpoints named "
    "like the model (every configuration and hosted offer) or like an --api.",
)  # fmt: skip
@click.option(
    "--min-accuracy", type=click.FloatRange(0, 1),
    help="With --quality: the bar; options below it are marked and never recommended.",
)  # fmt: skip
def plan(
    model: str, requests_per_day: float | None, input_tokens: int | None,
    output_tokens: int | None, traffic: str | None,
    ttft_p95: float | None, tpot: float | None, apis: tuple[str, ...], hosted: bool,
    precisions: tuple[str, ...], service: str, clouds: str, pricing: str, peak_factor: float | None,
    daily_profile: str | None, autoscale: bool, target_utilization: float,
    min_replicas: int | None, ha: bool, confidence: str | None, measured: tuple[str, ...],
    top: int, output_format: str, quality_file: Path | None, min_accuracy: float | None,
    **engine: Any,
) -> None:  # fmt: skip
    """Search instances, GPU counts, precisions and replicas for the cheapest self-hosting.

    \b
    Example:
      llmecon plan --model llama-3.1-8b --requests-per-day 1000000 --input-tokens 500 \\
          --output-tokens 167 --ttft-p95 1000 --tpot 50
      llmecon plan --model mistral-7b --requests-per-day 50000 --input-tokens 1000 \\
          --output-tokens 200 --pricing both --format json
      llmecon plan --model llama-3.1-8b --requests-per-day 1000000 --input-tokens 500 \\
          --output-tokens 167 --pricing on_demand,reserved_1y_no_upfront,reserved_3y_all_upfront
    """
    from llmecon.core.accuracy import safety_factor  # noqa: PLC0415
    from llmecon.core.planning import FleetRules, Targets, make_plan  # noqa: PLC0415
    from llmecon.core.workload import Tokens  # noqa: PLC0415
    from llmecon.pricebook.hardware import load_gpus  # noqa: PLC0415
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415
    from llmecon.report.plan_view import render_plan_table  # noqa: PLC0415

    spec = resolve_model(model, engine.pop("model_config"))
    if traffic is not None:
        requests_per_day, input_tokens, output_tokens, peak_factor = _traffic_workload(
            traffic, (requests_per_day, input_tokens, output_tokens, peak_factor)
        )
    if requests_per_day is None or input_tokens is None or output_tokens is None:
        raise LlmeconError(
            "give --requests-per-day, --input-tokens and --output-tokens, or --traffic FILE"
        )
    profile = _profile(daily_profile)
    if profile is not None and peak_factor is not None:
        raise LlmeconError("--daily-profile gives the peak; drop --peak-factor")
    if autoscale and profile is None:
        raise LlmeconError("--autoscale follows a daily profile; give --daily-profile too")
    book = load_pricebook()
    result = make_plan(
        spec,
        machines(book, load_gpus(), service, pricing, _clouds(book, clouds)),
        precisions or PRECISIONS,
        Tokens.of_split(input_tokens, output_tokens),
        requests_per_day,
        apis=api_options(book, apis or DEFAULT_APIS),
        targets=Targets(ttft_p95, tpot),
        rules=FleetRules(
            peak_factor or 1.0,
            target_utilization,
            min_replicas if min_replicas is not None else (2 if ha else 1),
            profile,
            autoscale,
            spare=1 if ha else 0,
        ),
        efficiency=engine_efficiency(engine),
        measured=measured_machines(book, load_gpus(), measured),
        hosted=hosted_options(book, spec.name) if hosted else [],
        safety=safety_factor(confidence),
    )
    if min_accuracy is not None and quality_file is None:
        raise LlmeconError("--min-accuracy needs --quality EVAL.json (a `llmecon eval` result)")
    if quality_file is not None:
        _render_with_quality(result, quality_file, min_accuracy, output_format, top, book.version)
        return
    kinds = pricing_kinds(pricing)
    if output_format == "json":
        _render_json(result, kinds, book.version)
        return
    render_plan_table(result, sys.stdout, top=top, price_book=book.version)
    if kinds != ("on_demand",):
        from llmecon.core.pricing_compare import compare_pricing  # noqa: PLC0415
        from llmecon.report.pricing_view import render_pricing_table  # noqa: PLC0415

        render_pricing_table(compare_pricing(result, kinds), sys.stdout)


def _render_json(result: Any, kinds: tuple[str, ...], version: str) -> None:
    """The plan's JSON, with the cheapest configuration of each pricing kind (`pricing`)."""
    import json  # noqa: PLC0415

    from llmecon.library.results import PlanResult  # noqa: PLC0415

    json.dump(PlanResult(result, version, kinds).to_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")


def _render_with_quality(
    result: Any, path: Path, bar: float | None, output_format: str, top: int, version: str
) -> None:
    """The plan with accuracy and cost per correct answer (issue 17)."""
    from llmecon.core.plan_quality import rate_plan  # noqa: PLC0415
    from llmecon.core.quality import Accuracy  # noqa: PLC0415
    from llmecon.report.plan_quality_view import (  # noqa: PLC0415
        render_plan_quality_json,
        render_plan_quality_table,
    )
    from llmecon.report.plan_view import render_plan_table  # noqa: PLC0415
    from llmecon.scenario.quality_source import read_eval  # noqa: PLC0415

    entries = read_eval(path, "--quality")
    accuracy = {
        name: Accuracy(int(e["correct"]), int(e["items"]), f"llmecon eval ({path})")
        for name, e in entries.items()
    }
    quality = rate_plan(result, accuracy, bar)
    if all(row.quality.accuracy is None for row in quality.rows):
        raise LlmeconError(
            f"--quality {path}: no endpoint is named like the model ({result.model.name}) or "
            f"an --api; its endpoints are {', '.join(entries)}"
        )
    if output_format == "json":
        render_plan_quality_json(result, quality, sys.stdout, price_book=version)
        return
    render_plan_table(result, sys.stdout, top=top, price_book=version)
    render_plan_quality_table(quality, sys.stdout, top=top)


def _profile(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        weights = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise LlmeconError(
            f"--daily-profile {text!r}: write 24 numbers separated by commas"
        ) from None
    if (
        len(weights) != 24
        or min(weights) < 0
        or not any(weights)
        or not all(map(isfinite, weights))
    ):
        raise LlmeconError(
            f"--daily-profile: give 24 finite non-negative weights (got {len(weights)}), "
            "not all zero"
        )
    return weights


def _clouds(book: PriceBook, text: str) -> frozenset[str]:
    known = sorted({entry.provider for entry in book.instances.values()})
    chosen = {part.strip().lower() for part in text.split(",") if part.strip()}
    if chosen == {"all"}:
        return frozenset(known)
    unknown = sorted(chosen - set(known))
    if unknown or not chosen:
        raise LlmeconError(
            f"--cloud {text!r}: unknown cloud {', '.join(unknown) or '(none)'}; "
            f"use some of {', '.join(known)} (comma-separated) or all"
        )
    return frozenset(chosen)


def measured_machines(
    book: PriceBook, gpus: dict[str, GpuSpec], items: tuple[str, ...]
) -> list[tuple[Machine, Throughput]]:
    """INSTANCE=FILE pairs: the instance's price with the throughput a bench measured on it."""
    from llmecon.core.planning import Machine  # noqa: PLC0415
    from llmecon.scenario.capacity_source import read_profile  # noqa: PLC0415

    found = []
    for item in items:
        name, _, path = item.partition("=")
        if not name or not path:
            raise LlmeconError(
                f"--measured {item!r}: write INSTANCE=FILE, e.g. g5.xlarge=bench.json"
            )
        entry = book.instance(name)
        gpu = gpus.get((entry.gpu or "").lower())
        if not entry.gpu or entry.gpus < 1:
            raise LlmeconError(f"--measured {item!r}: {name} has no accelerator to measure")
        rate = read_profile(Path(path), f"--measured {item!r}", _measured_error)
        machine = Machine(entry.name, entry.hourly, gpu, int(entry.gpus), accelerator=entry.gpu)
        found.append((machine, rate))
    return found


def _measured_error(key: str, problem: str) -> LlmeconError:
    return LlmeconError(f"{key}: {problem}")


def _traffic_workload(
    source: str, given: tuple[float | None, ...]
) -> tuple[float, int, int, float]:
    """Volume, mean tokens (rounded) and peak-hour factor of observed traffic."""
    from llmecon.traffic import profile_traffic, read_traffic  # noqa: PLC0415

    if any(value is not None for value in given):
        raise LlmeconError(
            "--traffic gives the volume, tokens and peak; drop --requests-per-day, "
            "--input-tokens, --output-tokens and --peak-factor"
        )
    found = profile_traffic(read_traffic(source))
    return (
        found.requests_per_day, max(1, round(found.prompt.mean)), round(found.completion.mean),
        max(1.0, found.peak_factor),
    )  # fmt: skip
