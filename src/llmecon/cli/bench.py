"""`llmecon bench`: load-test an OpenAI-compatible endpoint; capacity and $/1M tokens."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from llmecon.cli.options import completer
from llmecon.errors import LlmeconError
from llmecon.output_file import write_atomically

if TYPE_CHECKING:
    from llmecon.bench.runner import Load, Progress

SLO_KEYS = ("ttft_ms", "itl_ms", "e2e_ms")
PROGRESS_AFTER_S = 2.0  # shorter runs show no progress line
POSITIVE = click.FloatRange(min=0, min_open=True)


@click.command()
@click.argument("base_url")
@click.option("--model", help="Model name sent in each request (default: the endpoint's only one).")
@click.option("--api-key", envvar="LLMECON_API_KEY", help="Bearer key (or $LLMECON_API_KEY).")
@click.option("--requests", type=click.IntRange(min=1), help="Requests per run (default 100).")
@click.option("--duration", type=POSITIVE, help="Seconds per run instead of a request count.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Closed loop: requests in flight.")
@click.option("--rate", type=POSITIVE, help="Open loop: requests per second.")
@click.option(
    "--arrivals", type=click.Choice(["constant", "poisson"]), default="constant", show_default=True
)
@click.option("--sweep", metavar="V,V,...", help="Several concurrencies (or rates with --rate).")
@click.option("--input-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--output-tokens", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--stream/--no-stream", default=True, show_default=True)
@click.option(
    "--endpoint",
    "kind",
    type=click.Choice(["chat", "completions"]),
    default="chat",
    show_default=True,
)
@click.option("--prompts", type=Path, help="JSONL file of prompts instead of synthetic ones.")
@click.option("--tokenizer", type=Path, help="The model's tokenizer.json for token counts.")
@click.option(
    "--ignore-eos",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Ask for exactly --output-tokens (probed when auto).",
)
@click.option("--warmup", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--timeout", type=POSITIVE, default=120.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--slo",
    "slos",
    multiple=True,
    metavar="KEY=MS",
    help="ttft_ms=500, itl_ms=50 or e2e_ms=2000 (repeatable): goodput counts these.",
)
@click.option("--hourly-price", type=POSITIVE, help="What the endpoint's machine costs per hour.")
@click.option(
    "--instance", shell_complete=completer("instance"),
    help="Or a catalog instance for the hourly price.",
)  # fmt: skip
@click.option(
    "--api", "apis", multiple=True, metavar="MODEL", shell_complete=completer("api"),
    help="Paid API for break-evens.",
)  # fmt: skip
@click.option("--output", type=Path, help="Write the JSON result (a capacity profile) here.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@click.option("--plot", type=Path, help="Latency against throughput over the sweep (.png).")
@click.option(
    "--requests-output", type=Path, metavar="FILE.jsonl",
    help="One JSON line per request: times, tokens, status, error.",
)  # fmt: skip
@click.option(
    "--parse", type=click.Choice(["fast", "full"]), default="fast", show_default=True,
    help="fast: classify stream chunks without decoding (exactly as a decode would); "
    "full: JSON-decode every chunk, as other load tools do.",
)  # fmt: skip
def bench(base_url: str, **options: Any) -> None:
    """Measure an OpenAI-compatible endpoint: latency, throughput, goodput, cost.

    BASE_URL is the API base, like http://127.0.0.1:8000/v1, or `embedded` to start the
    embedded SmolLM2-135M model (llama.cpp) for the run. Without --model, the model is the
    one the endpoint lists at BASE_URL/models. The JSON result is what a scenario's
    `capacity: {profile: FILE}` reads. Exit status 1 when a run had no successful request
    (the cause is printed), 2 for bad input.

    \b
    Example:
      llmecon bench embedded --requests 8 --input-tokens 64 --output-tokens 32
      llmecon bench http://127.0.0.1:8000/v1 --requests 200 --concurrency 8
      llmecon bench http://127.0.0.1:8000/v1 --model mock --rate 20 --duration 10 \\
          --sweep 10,20,40 --slo ttft_ms=500 --hourly-price 1.006 --api gpt-4o-mini
    """
    from llmecon.bench.session import BenchSpec, run_bench  # noqa: PLC0415 - keeps --help fast

    loads = _loads(options)
    hourly, apis = _pricing(options)
    slos = _slos(options["slos"])
    with _endpoint(base_url, options) as (url, model), _progress() as progress:
        spec = BenchSpec(
            base_url=url, model=model, loads=loads,
            api_key=options["api_key"], endpoint=options["kind"], stream=options["stream"],
            input_tokens=options["input_tokens"], output_tokens=options["output_tokens"],
            prompts_file=options["prompts"], tokenizer_file=options["tokenizer"],
            slos=slos, ignore_eos=options["ignore_eos"], seed=options["seed"],
            parse=options["parse"],
        )  # fmt: skip
        result = run_bench(spec, progress)
    _report(result, hourly, apis, options)
    failed = [(i, run) for i, run in enumerate(result.runs, start=1) if not run.summary.completed]
    for index, run in failed:
        click.echo(f"llmecon: bench run {index} failed: {run.health.failure}", err=True)
    if failed:
        click.get_current_context().exit(1)


@contextmanager
def _endpoint(base_url: str, options: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The URL and model to bench; `embedded` runs the embedded model for the duration."""
    model = options["model"]
    if base_url != "embedded":
        if model is None:
            from llmecon.bench.client import Endpoint  # noqa: PLC0415
            from llmecon.bench.models import default_model  # noqa: PLC0415

            model = default_model(Endpoint.parse(base_url, options["api_key"]))
            click.echo(f"model: {model} (the one {base_url}/models lists)", err=True)
        yield base_url, model
        return
    from llmecon.engine.embedded import running_embedded  # noqa: PLC0415

    with running_embedded() as embedded:
        click.echo(f"embedded model {embedded.alias} serving at {embedded.base_url}", err=True)
        yield embedded.base_url, model or embedded.alias


def _loads(options: dict[str, Any]) -> tuple[Load, ...]:
    from llmecon.bench.runner import Load  # noqa: PLC0415

    if options["concurrency"] is not None and options["rate"] is not None:
        raise LlmeconError("give --concurrency (closed loop) or --rate (open loop), not both")
    if options["requests"] is not None and options["duration"] is not None:
        raise LlmeconError("give --requests or --duration, not both")
    requests = options["requests"] if options["duration"] is None else None
    common = {"requests": requests or (None if options["duration"] else 100),
              "duration_s": options["duration"], "warmup_requests": options["warmup"],
              "timeout_s": options["timeout"], "seed": options["seed"],
              "arrivals": options["arrivals"]}  # fmt: skip
    open_loop = options["rate"] is not None
    values = _sweep(options["sweep"], integer=not open_loop) if options["sweep"] else None
    if open_loop:
        return tuple(Load(rate=rate, **common) for rate in (values or [options["rate"]]))
    levels = values or [options["concurrency"] or 1]
    return tuple(Load(concurrency=int(level), **common) for level in levels)


def _sweep(text: str, *, integer: bool) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise LlmeconError(f"--sweep {text!r}: write numbers separated by commas") from None
    if not values or min(values) <= 0 or (integer and any(v != int(v) for v in values)):
        kind = "whole concurrencies" if integer else "rates"
        raise LlmeconError(f"--sweep {text!r}: give positive {kind}, e.g. 1,2,4,8")
    return values


def _slos(items: tuple[str, ...]) -> dict[str, float]:
    slos = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            limit = float(value)
        except ValueError:
            limit = -1.0
        if key not in SLO_KEYS or limit <= 0:
            raise LlmeconError(
                f"--slo {item!r}: write KEY=MS with KEY one of {', '.join(SLO_KEYS)}, "
                "e.g. --slo ttft_ms=500"
            )
        slos[key] = limit
    return slos


def _pricing(options: dict[str, Any]) -> tuple[Any, list[Any]]:
    if options["hourly_price"] is None and options["instance"] is None:
        if options["apis"]:
            raise LlmeconError("--api break-evens need --hourly-price or --instance")
        return None, []
    from llmecon.cli.plan import api_options  # noqa: PLC0415
    from llmecon.core.prices import Price  # noqa: PLC0415
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415

    book = load_pricebook()
    if options["hourly_price"] is not None:
        hourly = Price(options["hourly_price"], "instance-hour", "given with --hourly-price")
    else:
        hourly = book.instance(options["instance"]).hourly
    return hourly, api_options(book, tuple(options["apis"]))


@contextmanager
def _progress() -> Iterator[Callable[[Load], Progress]]:
    """A live line per run on a terminal (shown once a run has lasted PROGRESS_AFTER_S)."""
    import time  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn  # noqa: PLC0415
    from rich.progress import Progress as Bar  # noqa: PLC0415

    console = Console(stderr=True)
    with Bar(
        "{task.description}", BarColumn(), MofNCompleteColumn(),
        "[red]{task.fields[failed]} failed", "{task.fields[rate]}", TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as bar:  # fmt: skip

        def start(load: Load) -> Progress:
            total = load.requests
            task = bar.add_task(load.describe(), total=total, visible=False, failed=0, rate="")
            began = time.perf_counter()

            def update(done: int, failed: int) -> None:
                elapsed = time.perf_counter() - began
                rate = f"{done / elapsed:,.1f} req/s" if elapsed > 0 else ""
                visible = elapsed >= PROGRESS_AFTER_S
                bar.update(task, completed=done, failed=failed, rate=rate, visible=visible)

            return update

        yield start


def _report(result: Any, hourly: Any, apis: list[Any], options: dict[str, Any]) -> None:
    from llmecon.bench.cost import cost_report  # noqa: PLC0415
    from llmecon.report.bench_view import (  # noqa: PLC0415
        bench_to_dict,
        render_bench_json,
        render_bench_table,
    )

    costs = [cost_report(run.summary, hourly, apis) if hourly else None for run in result.runs]
    if options["output"] is not None:
        _write_json(options["output"], bench_to_dict(result, costs))
    if options["requests_output"] is not None:
        from llmecon.report.bench_view import request_rows  # noqa: PLC0415

        _write_lines(options["requests_output"], request_rows(result))
    if options["plot"] is not None:
        from llmecon.report.bench_plot import write_bench_plot  # noqa: PLC0415

        write_bench_plot(result, options["plot"])
    render = render_bench_json if options["output_format"] == "json" else render_bench_table
    render(result, costs, sys.stdout)
    written = (
        (options["output"], "result"),
        (options["plot"], "plot"),
        (options["requests_output"], "requests"),
    )
    for path, what in written:
        if path is not None:
            click.echo(f"{what} written to {path}", err=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    _write(path, "--output", lambda out: json.dump(data, out, indent=2))


def _write_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    def dump(out: TextIO) -> None:
        for row in rows:
            out.write(json.dumps(row) + "\n")

    _write(path, "--requests-output", dump)


def _write(path: Path, option: str, dump: Callable[[TextIO], None]) -> None:
    """Write through a temporary file, so a failed write leaves no half file behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda temporary: _dump_to(temporary, dump))
    except OSError as error:
        raise LlmeconError(f"{option} {path}: cannot write ({error.strerror})") from None


def _dump_to(path: Path, dump: Callable[[TextIO], None]) -> None:
    with path.open("w") as out:
        dump(out)
