"""`llmecon usage` as a table, JSON or CSV (the report dict: llmecon.ledger.usage_report), and
as FOCUS 1.0 rows in CSV or Parquet (llmecon.ledger.focus)."""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TextIO

from rich.table import Table

from llmecon.report.numbers import money, volume
from llmecon.report.table import wide_console

if TYPE_CHECKING:
    from llmecon.ledger.focus import FocusExport

Report = dict[str, Any]
COLUMNS = (
    "group",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "self_hosted_cost",
    "idle_cost",
    "unallocated_requests",
)


def render_usage_json(report: Report, out: TextIO) -> None:
    json.dump(report, out, indent=2)
    out.write("\n")


def render_usage_csv(report: Report, out: TextIO) -> None:
    apis = sorted(report["totals"]["counterfactual_cost"])
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "name", *(f"counterfactual_cost:{api}" for api in apis)])
    for row in [*report["rows"], {**report["totals"], "group": "(total)"}]:
        writer.writerow(
            [
                *(row[c] for c in COLUMNS),
                row.get("name", ""),
                *(row["counterfactual_cost"].get(api, 0.0) for api in apis),
            ]
        )


def render_usage_table(report: Report, out: TextIO) -> None:
    console = wide_console(out)
    totals = report["totals"]
    apis = sorted(totals["counterfactual_cost"])
    seconds = report["days"] * 86_400
    table = Table(
        title=f"usage by {report['by']} over {_duration(seconds)} of metered time",
        title_justify="left",
    )
    for header in (
        report["by"],
        "requests",
        "prompt tok",
        "completion tok",
        "self-hosted",
        "idle",
        *(f"on {api}" for api in apis),
    ):
        table.add_column(header, justify="left" if header == report["by"] else "right")
    for row in [*report["rows"], {**totals, "group": "total"}]:
        table.add_row(
            f"{row['group']} ({row['name']})" if "name" in row else row["group"],
            f"{row['requests']:,}",
            f"{row['prompt_tokens']:,}",
            f"{row['completion_tokens']:,}",
            money(row["self_hosted_cost"]),
            money(row["idle_cost"]),
            *(money(row["counterfactual_cost"].get(api, 0.0)) for api in apis),
        )
    console.print(table)
    if totals["unallocated_requests"]:
        console.print(
            f"  {totals['unallocated_requests']} requests still wait for their "
            "self-hosted share (their interval has not closed)"
        )
    _position(console, totals, projected=report["basis"] == "projection")
    for note in report["notes"]:
        console.print(f"  note: {note}")


def _duration(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:,.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds:,.0f} s"


def _position(console: Any, totals: Mapping[str, Any], *, projected: bool) -> None:
    tokens = totals["prompt_tokens"] + totals["completion_tokens"]
    own = totals["self_hosted_cost"] + totals["idle_cost"]
    per_day = totals["self_hosted_cost_per_day"]
    label = "projected " if projected else ""
    if tokens:
        console.print(f"  self-hosted: {money(own / tokens * 1e6)} per 1M tokens (idle included)")
    if per_day is not None and totals["requests_per_day"] is not None:
        console.print(
            f"  {label}per day: {money(per_day)} self-hosted at "
            f"{volume(totals['requests_per_day'])} requests/day"
        )
    for item in totals["breakeven"]:
        if item["breakeven_requests_per_day"] is None:
            continue
        line = (
            f"  {item['api']}: {money(item['cost_usd'])} for the same traffic "
            f"({money(item['per_request_usd'])}/request); break-even "
            f"{volume(item['breakeven_requests_per_day'])} requests/day"
        )
        if item["self_hosting_cheaper"] is not None:
            side = "above" if item["self_hosting_cheaper"] else "below"
            line += f", you are {side} it"
        console.print(line)


RENDERERS: Mapping[str, Callable[[Report, TextIO], None]] = MappingProxyType(
    {"table": render_usage_table, "json": render_usage_json, "csv": render_usage_csv}
)


def focus_text(value: object) -> str:
    """A FOCUS value as CSV text: null empty, Date/Time as 2026-01-31T00:00:00Z, JSON as JSON."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render_focus_csv(export: FocusExport, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(export.columns)
    for row in export.rows:
        writer.writerow([focus_text(row[c]) for c in export.columns])


def write_focus_parquet(export: FocusExport, path: Path) -> None:
    """The export as a Parquet file (needs pyarrow: pip install 'llmecon[parquet]')."""
    try:
        pa: Any = importlib.import_module("pyarrow")
        pq: Any = importlib.import_module("pyarrow.parquet")
    except ImportError as error:
        from llmecon.errors import LlmeconError  # noqa: PLC0415

        raise LlmeconError(
            "--format parquet needs pyarrow: pip install 'llmecon[parquet]' (or use --format focus)"
        ) from error
    kinds = {c.id: c.type for c in export.spec.columns}
    fields = []
    for name in export.columns:
        kind = kinds.get(name, "Decimal" if name.startswith("x_Counterfactual") else "")
        if kind == "Decimal" or name == "x_IdleCost":
            fields.append(pa.field(name, pa.decimal128(38, 9)))
        elif kind == "Date/Time":
            fields.append(pa.field(name, pa.timestamp("s", tz="UTC")))
        elif kind in {"String", "JSON"}:
            fields.append(pa.field(name, pa.string()))
        else:
            fields.append(pa.field(name, pa.int64()))
    data = {
        name: [
            json.dumps(row[name], sort_keys=True) if isinstance(row[name], dict) else row[name]
            for row in export.rows
        ]
        for name in export.columns
    }
    pq.write_table(pa.table(data, schema=pa.schema(fields)), path)
