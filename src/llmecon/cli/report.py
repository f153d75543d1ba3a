"""`llmecon report`: one self-contained HTML file from scenarios, the user's own traffic, a bench
result alone, or the gateway's ledger."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from llmecon.cli.options import ISO_DATE, completer
from llmecon.errors import LlmeconError
from llmecon.output_file import write_atomically

INPUTS = (
    "give SCENARIO.yaml, --traffic FILE with --api/--self-hosted, --bench RESULT.json or "
    "--ledger URL (see `llmecon report --help`)"
)


@click.command()
@click.argument("scenario_files", metavar="[SCENARIO.yaml...]", type=Path, nargs=-1)
@click.option(
    "-o", "--output", type=Path, required=True, metavar="REPORT.html",
    help="Where to write the report (one HTML file: inline CSS, JS and SVG; works offline).",
)  # fmt: skip
@click.option(
    "--bench", "bench_file", type=Path, metavar="RESULT.json",
    help="A `llmecon bench` result: shown with the scenarios, or alone (measured capacity, "
    "$/1M tokens, replicas at --requests-per-day volumes).",
)  # fmt: skip
@click.option(
    "--requests-per-day", "volumes", type=click.FloatRange(min=0, min_open=True), multiple=True,
    help="With --bench alone: the volumes to size replicas for (default 1K, 10K, 100K, 1M).",
)  # fmt: skip
@click.option(
    "--traffic", metavar="FILE", help="Observed traffic as the workload, as `compare --traffic`: "
    "with the scenarios, or alone with --api/--self-hosted.",
)  # fmt: skip
@click.option("--traffic-format", metavar="FORMAT", help="The --traffic file's format.")
@click.option(
    "--api", "apis", multiple=True, metavar="MODEL", shell_complete=completer("api"),
    help="With --traffic and no scenario: a paid API model.",
)  # fmt: skip
@click.option(
    "--self-hosted", "instances", multiple=True, metavar="INSTANCE",
    shell_complete=completer("instance"),
    help="With --traffic and no scenario: a catalog instance running the open model.",
)  # fmt: skip
@click.option(
    "--model", metavar="MODEL", shell_complete=completer("model"),
    help="With --traffic and no scenario: the open model that sizes the --self-hosted replicas.",
)  # fmt: skip
@click.option(
    "--min-accuracy", type=click.FloatRange(0, 1),
    help="Quality bar (scenarios with quality:): options below it are marked, and break-evens "
    "are found among the options that meet it.",
)  # fmt: skip
@click.option(
    "--ledger", "ledger_url", metavar="URL",
    help="The gateway's ledger (sqlite:///PATH or postgresql://...): the live traffic's costs.",
)  # fmt: skip
@click.option("--since", type=ISO_DATE, help="With --ledger: from this UTC date (YYYY-MM-DD).")
@click.option("--until", type=ISO_DATE, help="With --ledger: up to the end of this UTC date.")
def report(
    scenario_files: tuple[Path, ...],
    output: Path,
    bench_file: Path | None,
    volumes: tuple[float, ...],
    traffic: str | None,
    traffic_format: str | None,
    min_accuracy: float | None,
    ledger_url: str | None,
    since: date | None,
    until: date | None,
    **quick: Any,
) -> None:
    """Write a decision report: the answer, chart, tables, trade-offs and every price.

    From scenarios (several make one file with a table of contents; a bench result is shown
    once), from your own traffic (--traffic), from a bench result alone, or from the gateway's
    ledger (--ledger). Each report's numbers are those of the matching JSON command.

    \b
    Example:
      llmecon report examples/article-2023.yaml -o out/report.html
      llmecon report examples/article-2023.yaml examples/article-capacity.yaml \\
          examples/embedded-measured.yaml --bench out/bench-embedded.json -o out/report.html
      llmecon report examples/quality.yaml --min-accuracy 0.3 -o out/quality.html
      llmecon report --traffic usage.csv --api gpt-4o-mini --self-hosted g6e.xlarge \\
          --model llama-3.1-8b -o out/traffic.html
      llmecon report --bench out/bench-embedded.json -o out/bench.html
      llmecon report --ledger sqlite:///out/ledger.db -o out/usage.html
    """
    quick_used = [flag for flag, key in (("--api", "apis"), ("--self-hosted", "instances"),
                                         ("--model", "model")) if quick[key]]  # fmt: skip
    if ledger_url is not None:
        given = {"SCENARIO.yaml": bool(scenario_files), "--bench": bench_file is not None,
                 "--traffic": traffic is not None, "--min-accuracy": min_accuracy is not None,
                 **dict.fromkeys(quick_used, True)}  # fmt: skip
        others = [name for name, present in given.items() if present]
        if others:
            raise LlmeconError(f"--ledger makes a report of its own; drop {others[0]}")
        page = _ledger_page(ledger_url, since, until)
    elif since is not None or until is not None:
        raise LlmeconError("--since and --until go with --ledger")
    elif volumes and (scenario_files or traffic or bench_file is None):
        raise LlmeconError("--requests-per-day goes with --bench alone; a scenario gives its own")
    elif quick_used and (scenario_files or traffic is None):
        raise LlmeconError(
            f"{quick_used[0]} goes with --traffic and no scenario (the scenario names its options)"
        )
    elif scenario_files or traffic is not None:
        page = _scenario_page(scenario_files, bench_file, traffic, traffic_format,
                              min_accuracy, quick)  # fmt: skip
    elif bench_file is not None:
        page = _bench_page(bench_file, volumes, min_accuracy)
    else:
        raise LlmeconError(INPUTS)
    write_text(output, page)
    click.echo(f"report written to {output}", err=True)


def _scenario_page(
    scenario_files: tuple[Path, ...], bench_file: Path | None, traffic: str | None,
    traffic_format: str | None, min_accuracy: float | None, quick: dict[str, Any],
) -> str:  # fmt: skip
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast
    from llmecon.report.html import build_report, render_page  # noqa: PLC0415
    from llmecon.report.html.bench_section import bench_summary  # noqa: PLC0415
    from llmecon.scenario.traffic_source import traffic_for  # noqa: PLC0415

    bench = None if bench_file is None else bench_summary(_read_json(bench_file))
    book = load_pricebook()
    if not scenario_files:
        if not (quick["apis"] or quick["instances"]):
            raise LlmeconError(
                "--traffic without a scenario needs the options to price: add --api MODEL "
                "and/or --self-hosted INSTANCE (with --model MODEL to size replicas)"
            )
        found = traffic_for(None, traffic, traffic_format, book)
        assert found is not None
        data = _quick_data(quick, found)
        return render_page([build_report(data, book, "command line", traffic=found,
                                         min_accuracy=min_accuracy)], bench)  # fmt: skip
    many = len(scenario_files) > 1
    reports = []
    for n, path in enumerate(scenario_files, start=1):
        found = traffic_for(path, traffic, traffic_format, book)
        reports.append(
            build_report(
                _read_scenario(path),
                book,
                str(path),
                path.parent,
                key=f"s{n}-" if many else "",
                traffic=found,
                min_accuracy=min_accuracy,
            )
        )
    return render_page(reports, bench)


def _quick_data(quick: dict[str, Any], found: Any) -> dict[str, Any]:
    """The scenario `compare --traffic FILE --api ... --self-hosted ...` builds."""
    from llmecon.cli.compare import quick_scenario, traffic_quick  # noqa: PLC0415

    flags = {"requests_per_day": (), "tokens_per_request": None, "input_tokens": None,
             "output_tokens": None, "words_per_request": None, "replicas": 1, "profile": None,
             "cached_fraction": None, "batch": None, **quick}  # fmt: skip
    return quick_scenario(traffic_quick(flags, found.observed))


def _bench_page(bench_file: Path, volumes: tuple[float, ...], min_accuracy: float | None) -> str:
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415
    from llmecon.report.html.bench_report import bench_report, render_bench_page  # noqa: PLC0415

    if min_accuracy is not None:
        raise LlmeconError("--min-accuracy needs a scenario with a quality: block")
    data = _read_json(bench_file)
    return render_bench_page(bench_report(data, bench_file, load_pricebook(), volumes))


def _ledger_page(url: str, since: date | None, until: date | None) -> str:
    from llmecon.ledger import open_ledger, redact  # noqa: PLC0415
    from llmecon.ledger.usage_report import usage_report  # noqa: PLC0415
    from llmecon.report.html.ledger_report import (  # noqa: PLC0415
        GROUPINGS,
        ledger_report,
        render_ledger_page,
    )

    start = datetime.combine(since, time(), UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), UTC) if until else None
    ledger = open_ledger(url, create=False)
    try:
        usages = {by: usage_report(ledger, by, start, end) for by in GROUPINGS}
    finally:
        ledger.close()
    return render_ledger_page(ledger_report(usages, redact(url)))


def _read_scenario(path: Path) -> dict[str, Any]:
    from llmecon.scenario.yaml_source import parse_yaml, read_text  # noqa: PLC0415

    data = parse_yaml(read_text(path), str(path))
    if not isinstance(data, dict):
        raise LlmeconError(
            f"{path}: top level: expected a mapping with name, workload and options; "
            "see the README's scenario format"
        )
    return data


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LlmeconError(f"--bench {path}: cannot read ({error.strerror})") from None
    except ValueError as error:
        raise LlmeconError(
            f"--bench {path}: not JSON ({error}); give the file `llmecon bench --output` wrote"
        ) from None


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file (one-line errors)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    except OSError as error:
        raise LlmeconError(
            f"-o {path}: cannot write ({error.strerror}); choose another path"
        ) from None
