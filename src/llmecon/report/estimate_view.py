"""A roofline estimate as JSON or as a small table that states its assumptions."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, TextIO

from rich.table import Table

from llmecon.core.accuracy import OUT_OF_SAMPLE
from llmecon.core.roofline import Estimate
from llmecon.report.numbers import clean
from llmecon.report.table import wide_console


def estimate_to_dict(estimate: Estimate, engine: str, *, explain: bool = False) -> dict[str, Any]:
    data = asdict(estimate)
    terms = data.pop("terms")
    data["engine"] = engine
    data = {key: clean(value) if isinstance(value, float) else value for key, value in data.items()}
    data["out_of_sample"] = {
        "geometric_mean_error": OUT_OF_SAMPLE.geo_mean,
        "worst_error": OUT_OF_SAMPLE.worst,
        "bias": OUT_OF_SAMPLE.bias,
        "estimate_over_measured_quantiles": dict(OUT_OF_SAMPLE.ratio_quantiles),
    }
    if explain:
        data["terms"] = [{**term, "value": clean(term["value"])} for term in terms]
    return data


def render_estimate_json(
    estimate: Estimate, engine: str, out: TextIO, *, explain: bool = False
) -> None:
    json.dump(estimate_to_dict(estimate, engine, explain=explain), out, indent=2)
    out.write("\n")


def render_estimate_table(
    estimate: Estimate, engine: str, out: TextIO, *, explain: bool = False
) -> None:
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
    if explain:
        console.print(_terms_table(estimate))
    for caveat in estimate.caveats:
        console.print(f"note: {caveat}", markup=False)
    efficiency = ", ".join(f"{k}={v:g}" for k, v in asdict(estimate.efficiency).items()
                           if not isinstance(v, str))  # fmt: skip
    console.print(
        f"[dim]engine {engine} (KV cache {estimate.efficiency.kv_cache_precision}): "
        f"{efficiency}[/dim]",
    )
    console.print(f"[dim]{OUT_OF_SAMPLE.band()}; method: docs/roofline.md[/dim]")


def _terms_table(estimate: Estimate) -> Table:
    table = Table(title="terms", title_justify="left", box=None, padding=(0, 2))
    for column in ("term", "value", "unit", "how"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for term in estimate.terms:
        table.add_row(term.name, f"{term.value:,.4g}", term.unit, term.formula)
    return table


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
