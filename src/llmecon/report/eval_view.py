"""`llmecon eval` results as a table (the JSON document is the eval library's)."""

from __future__ import annotations

from typing import Any, TextIO

from rich.table import Table

from llmecon.report.numbers import money
from llmecon.report.table import wide_console


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _tokens(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def render_eval_table(document: dict[str, Any], out: TextIO) -> None:
    console = wide_console(out)
    console.print(
        f"[bold]{document['dataset']}[/bold]: {document['items']} items "
        "(accuracy with its 95% Wilson interval; failed requests count as wrong)"
    )
    table = Table()
    for header in (
        "endpoint", "model", "correct", "accuracy", "95% interval", "errors", "tokens in/req",
        "tokens out/req", "latency p50 ms", "p90 ms", "items/s",
    ):  # fmt: skip
        table.add_column(header, justify="left" if header in {"endpoint", "model"} else "right")
    for entry in document["endpoints"]:
        low, high = entry["interval"]
        tokens, latency = entry["tokens"], entry["latency_ms"]
        table.add_row(
            entry["name"],
            entry["model"],
            f"{entry['correct']}/{entry['items']}",
            f"{entry['accuracy']:.1%}",
            f"{low:.1%} - {high:.1%}",
            str(entry["errors"]),
            _tokens(tokens["input_per_request"]),
            _tokens(tokens["output_per_request"]),
            _ms(latency["p50"]),
            _ms(latency["p90"]),
            "-" if entry["items_per_second"] is None else f"{entry['items_per_second']:,.1f}",
        )
    console.print(table)
    for entry in document["endpoints"]:
        for line in _entry_lines(entry):
            console.print(f"  {entry['name']}: {line}", markup=False)


def _entry_lines(entry: dict[str, Any]) -> list[str]:
    lines = []
    if len(entry["by_grader"]) > 1:
        parts = [
            f"{kind} {row['correct']}/{row['items']}" for kind, row in entry["by_grader"].items()
        ]
        lines.append("by grader: " + ", ".join(parts))
    if entry["tokens"]["source"] != "usage":
        lines.append(
            f"tokens counted with the tokenizer ({entry['tokens']['source']}): the server "
            "reported no usage"
        )
    if entry["error_kinds"]:
        kinds = ", ".join(f"{kind} x{count}" for kind, count in entry["error_kinds"].items())
        lines.append(f"failed requests: {kinds}")
    judge = entry.get("judge")
    if judge:
        cost = (
            f", cost {money(judge['cost'])} ({money(judge['cost_per_item'])}/item)"
            if judge["cost"] is not None
            else " (give --judge-price to cost them)"
        )
        lines.append(
            f"judge: {judge['requests']} calls, {judge['input_total']:,} tokens in, "
            f"{judge['output_total']:,} out{cost}"
        )
    for failure in entry["failures"][:3]:
        lines.append(f"wrong: item {failure['id']} ({failure['grader']}): {failure['reason']}")
    return lines
