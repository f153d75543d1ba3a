"""`llmecon report`: a scenario (and optionally a bench result) as one self-contained HTML file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from llmecon.errors import LlmeconError


@click.command()
@click.argument("scenario_file", metavar="SCENARIO.yaml", type=Path)
@click.option(
    "-o", "--output", type=Path, required=True, metavar="REPORT.html",
    help="Where to write the report (one HTML file: inline CSS, JS and SVG; works offline).",
)  # fmt: skip
@click.option(
    "--bench", "bench_file", type=Path, metavar="RESULT.json",
    help="Add a `llmecon bench` result (its runs: throughput, latency, $/1M tokens).",
)  # fmt: skip
def report(scenario_file: Path, output: Path, bench_file: Path | None) -> None:
    """Write a decision report: the answer, chart, tables, trade-offs and every price.

    \b
    Example:
      llmecon report examples/article-2023.yaml -o out/report.html
      llmecon report examples/embedded-measured.yaml --bench out/bench-embedded.json \\
          -o out/report-embedded.html
    """
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast
    from llmecon.report.html import build_report, render_page  # noqa: PLC0415
    from llmecon.scenario.yaml_source import parse_yaml, read_text  # noqa: PLC0415

    data = parse_yaml(read_text(scenario_file), str(scenario_file))
    if not isinstance(data, dict):
        raise LlmeconError(
            f"{scenario_file}: top level: expected a mapping with name, workload and options; "
            "see the README's scenario format"
        )
    bench = None if bench_file is None else _read_json(bench_file)
    page = render_page(
        build_report(data, load_pricebook(), str(scenario_file), scenario_file.parent, bench)
    )
    write_text(output, page)
    click.echo(f"report written to {output}", err=True)


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
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".llmecon-", suffix=".html")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except OSError as error:
        raise LlmeconError(
            f"-o {path}: cannot write ({error.strerror}); choose another path"
        ) from None
