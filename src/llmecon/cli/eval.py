"""`llmecon eval`: a task set against OpenAI-compatible endpoints; accuracy, tokens, latency."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from llmecon.errors import LlmeconError

OUTPUT_FORMATS = ("table", "json")


@click.command("eval")
@click.argument("dataset", metavar="DATASET.jsonl", type=Path)
@click.option(
    "--endpoint", "endpoints", multiple=True, required=True, metavar="NAME=URL[,MODEL]",
    help="An endpoint to grade (repeatable): its API base URL (or `embedded` to start the "
    "embedded model) and the model name to send (default: NAME).",
)  # fmt: skip
@click.option(
    "--api-key-env", "key_envs", multiple=True, metavar="NAME=VAR",
    help="Send the key in environment variable VAR to endpoint NAME (repeatable).",
)  # fmt: skip
@click.option("--judge", metavar="URL[,MODEL]", help="The LLM judge for `judge` items.")
@click.option("--judge-key-env", metavar="VAR", help="Environment variable with the judge's key.")
@click.option(
    "--judge-price", metavar="IN,OUT",
    help="The judge's USD per 1M input and output tokens, to cost its calls (e.g. 0.15,0.60).",
)  # fmt: skip
@click.option("--grader", help="Grader for lines that name none (e.g. exact, numeric).")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--max-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True, help="Seconds per request.")  # fmt: skip
@click.option(
    "--retries", type=click.IntRange(min=0), default=2, show_default=True,
    help="Send a request again after a 429, 5xx, connect error or timeout (backoff 0.5 s, x2).",
)  # fmt: skip
@click.option("--output", type=Path, metavar="EVAL.json", help="Write the JSON result here.")
@click.option(
    "--answers", type=Path, metavar="ANSWERS.jsonl",
    help="Write every item's answer, verdict, reason, tokens and latency, one line each.",
)  # fmt: skip
@click.option(
    "--format", "output_format", type=click.Choice(OUTPUT_FORMATS), default="table",
    show_default=True,
)  # fmt: skip
def eval_command(dataset: Path, **options: Any) -> None:
    """Grade each endpoint's answers on a JSONL task set: accuracy (95% Wilson interval),
    tokens in/out per request, latency.

    Each line: {"prompt": ..., "expected": ..., "grader": ...} or "messages" instead of
    "prompt". Graders: exact, normalized, contains, regex, numeric, json_schema, choice, judge
    (docs/eval.md). The JSON result feeds a scenario's `quality: {from: EVAL.json}`.

    \b
    Example:
      llmecon eval src/llmecon/data/tasks/arithmetic.jsonl --endpoint mock=http://127.0.0.1:8000/v1
      llmecon eval tasks.jsonl --endpoint smol=embedded --output out/eval.json
    """
    from llmecon.eval import EvalSpec, read_dataset, run_eval  # noqa: PLC0415 - fast --help
    from llmecon.eval.result import eval_document  # noqa: PLC0415

    items = read_dataset(dataset, options["grader"])
    keys = _pairs(options["key_envs"], "--api-key-env", "NAME=VAR")
    judge = _judge(options) if any(i.grader.rubric for i in items) else None
    if judge is None and any(i.grader.rubric for i in items):
        raise LlmeconError("the task set has judge items; give --judge URL[,MODEL]")
    price = _price(options["judge_price"])
    with _targets(options["endpoints"], keys) as targets:
        spec = EvalSpec(
            items, tuple(targets), judge, options["concurrency"], options["timeout"],
            options["max_tokens"], retries=options["retries"],
        )  # fmt: skip
        with _progress(len(items)) as progress:
            runs = run_eval(spec, progress)
    judge_info = None if judge is None else {"url": judge.base_url, "model": judge.model}
    document = eval_document(str(dataset), runs, judge_info, price)
    _check_answered(document)
    if options["output"] is not None:
        _write_json(options["output"], document)
    if options["answers"] is not None:
        _write_answers(options["answers"], runs)
    if options["output_format"] == "json":
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from llmecon.report.eval_view import render_eval_table  # noqa: PLC0415

        render_eval_table(document, sys.stdout)
    for path, what in ((options["output"], "result"), (options["answers"], "answers")):
        if path is not None:
            click.echo(f"{what} written to {path}", err=True)


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A progress bar per endpoint on stderr (only on a terminal)."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn  # noqa: PLC0415

    console = Console(stderr=True)
    with Progress(
        "{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as bar:  # fmt: skip

        def start(target: Any) -> Any:
            task = bar.add_task(target.name, total=total)
            return lambda done: bar.advance(task, done)

        yield start


def _pairs(values: tuple[str, ...], flag: str, form: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise LlmeconError(f"{flag} {value!r}: expected {form}")
        if name in pairs:
            raise LlmeconError(f"{flag}: {name!r} is given twice; names must be unique")
        pairs[name] = rest
    return pairs


def _key(variable: str | None, what: str) -> str | None:
    if variable is None:
        return None
    key = os.environ.get(variable)
    if not key:
        raise LlmeconError(f"{what}: environment variable {variable} is not set; export it")
    return key


@contextlib.contextmanager
def _targets(endpoints: tuple[str, ...], keys: dict[str, str]) -> Iterator[list[Any]]:
    from llmecon.eval import Target  # noqa: PLC0415

    given = _pairs(endpoints, "--endpoint", "NAME=URL[,MODEL]")
    unknown = sorted(set(keys) - set(given))
    if unknown:
        raise LlmeconError(f"--api-key-env {unknown[0]}: no --endpoint has that name")
    with contextlib.ExitStack() as stack:
        targets = []
        for name, spec in given.items():
            url, _, model = spec.partition(",")
            if url == "embedded":
                url, model = stack.enter_context(_embedded(model))
            key = _key(keys.get(name), f"--api-key-env {name}")
            targets.append(Target(name, _url(url, name), model or name, key))
        yield targets


@contextlib.contextmanager
def _embedded(model: str) -> Iterator[tuple[str, str]]:
    from llmecon.engine.embedded import running_embedded  # noqa: PLC0415

    with running_embedded() as embedded:
        click.echo(f"embedded model {embedded.alias} serving at {embedded.base_url}", err=True)
        yield embedded.base_url, model or embedded.alias


def _url(url: str, name: str) -> str:
    from llmecon.bench.client import Endpoint  # noqa: PLC0415

    try:
        Endpoint.parse(url)
    except LlmeconError as error:
        raise LlmeconError(f"--endpoint {name}: {error}") from None
    return url


def _judge(options: dict[str, Any]) -> Any:
    from llmecon.eval import Target  # noqa: PLC0415

    if options["judge"] is None:
        return None
    url, _, model = options["judge"].partition(",")
    key = _key(options["judge_key_env"], "--judge-key-env")
    return Target("judge", _url(url, "judge"), model or "judge", key)


def _price(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise LlmeconError(
            f"--judge-price {text!r}: expected IN,OUT in USD per 1M tokens, e.g. 0.15,0.60"
        ) from None
    if not (low >= 0 and high >= 0) or low == float("inf") or high == float("inf"):
        raise LlmeconError(f"--judge-price {text!r}: prices must be finite numbers >= 0")
    return (low, high)


def _check_answered(document: dict[str, Any]) -> None:
    for entry in document["endpoints"]:
        if entry["items"] and entry["errors"] == entry["items"]:
            kinds = ", ".join(entry["error_kinds"])
            raise LlmeconError(
                f"--endpoint {entry['name']}: every request failed ({kinds}) at {entry['url']}; "
                "is the server running and the URL its API base (like http://HOST:PORT/v1)?"
            )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n")
        temporary.replace(path)
    except OSError as error:
        raise LlmeconError(f"--output {path}: cannot write ({error.strerror})") from None


def _write_answers(path: Path, runs: list[Any]) -> None:
    from llmecon.eval.result import answer_rows  # noqa: PLC0415

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            for row in answer_rows(runs):
                out.write(json.dumps(row) + "\n")
    except OSError as error:
        raise LlmeconError(f"--answers {path}: cannot write ({error.strerror})") from None
