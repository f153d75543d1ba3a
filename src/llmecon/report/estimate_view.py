"""A roofline estimate as JSON or as a small table that states its assumptions."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, TextIO

from rich.table import Table

from llmecon.core.roofline import Estimate
from llmecon.report.numbers import clean
from llmecon.report.table import wide_console


def estimate_to_dict(estimate: Estimate, engine: str) -> dict[str, Any]:
    data = asdict(estimate)
    data["engine"] = engine
    return {key: clean(value) if isinstance(value, float) else value for key, value in data.items()}


def render_estimate_json(estimate: Estimate, engine: str, out: TextIO) -> None:
    json.dump(estimate_to_dict(estimate, engine), out, indent=2)
    out.write("\n")


def render_estimate_table(estimate: Estimate, engine: str, out: TextIO) -> None:
    console = wide_console(out)
    title = (
        f"{estimate.model} {estimate.precision} on {estimate.gpus}x {estimate.gpu}: "
        f"{estimate.input_tokens} tokens in, {estimate.output_tokens} out (roofline estimate)"
    )
    console.print(f"[bold]{title}[/bold]")
    if not estimate.fits:
        console.print(f"does not fit: {estimate.reason}", markup=False)
    table = Table(show_header=False, box=None, padding=(0, 2))
    for name, value in _rows(estimate):
        table.add_row(name, value)
    console.print(table)
    efficiency = ", ".join(f"{k}={v:g}" for k, v in asdict(estimate.efficiency).items())
    console.print(f"[dim]efficiency factors ({engine} engine): {efficiency}[/dim]")
    console.print("[dim]method and error band: docs/roofline.md[/dim]")


def _rows(estimate: Estimate) -> list[tuple[str, str]]:
    rows = [
        ("fits", "yes" if estimate.fits else "no"),
        ("weights", f"{estimate.weights_gb:,.2f} GB"),
        ("KV cache per sequence", f"{estimate.kv_cache_gb_per_sequence:,.4f} GB"),
        ("max concurrency (memory)", f"{estimate.max_concurrency:,}"),
    ]
    if estimate.fits:
        rows += [
            ("concurrency used", f"{estimate.concurrency:,}"),
            ("TTFT", f"{estimate.ttft_ms:,.1f} ms"),
            ("time per output token", f"{estimate.tpot_ms:,.2f} ms"),
            ("output tokens/s (replica)", f"{estimate.output_tokens_per_second:,.1f}"),
            ("requests/s (replica)", f"{estimate.requests_per_second:,.3f}"),
            ("bound", estimate.bound),
        ]
    return rows
