"""`llmecon report`: a scenario (and optionally a bench result) as one self-contained HTML file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from llmecon.errors import LlmeconError
from llmecon.output_file import write_atomically


@click.command()
@click.argument("scenario_files", metavar="SCENARIO.yaml...", type=Path, nargs=-1, required=True)
@click.option(
    "-o", "--output", type=Path, required=True, metavar="REPORT.html",
    help="Where to write the report (one HTML file: inline CSS, JS and SVG; works offline).",
)  # fmt: skip
@click.option(
    "--bench", "bench_file", type=Path, metavar="RESULT.json",
    help="Add a `llmecon bench` result (its runs: throughput, latency, $/1M tokens).",
)  # fmt: skip
def report(scenario_files: tuple[Path, ...], output: Path, bench_file: Path | None) -> None:
    """Write a decision report: the answer, chart, tables, trade-offs and every price.

    Several scenarios make one file with a table of contents; a bench result is shown once.

    \b
    Example:
      llmecon report examples/article-2023.yaml -o out/report.html
      llmecon report examples/article-2023.yaml examples/article-capacity.yaml \\
          examples/embedded-measured.yaml --bench out/bench-embedded.json -o out/report.html
    """
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast
    from llmecon.report.html import build_report, render_page  # noqa: PLC0415
    from llmecon.report.html.bench_section import bench_summary  # noqa: PLC0415

    bench = None if bench_file is None else bench_summary(_read_json(bench_file))
    book = load_pricebook()
    many = len(scenario_files) > 1
    reports = [
        build_report(
            _read_scenario(path), book, str(path), path.parent, key=f"s{n}-" if many else ""
        )
        for n, path in enumerate(scenario_files, start=1)
    ]
    write_text(output, render_page(reports, bench))
    click.echo(f"report written to {output}", err=True)


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
