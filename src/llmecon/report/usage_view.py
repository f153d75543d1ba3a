"""`llmecon usage` as a table, JSON or CSV (the report dict comes from llmecon.usage_report)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TextIO

from rich.table import Table

from llmecon.report.numbers import money, volume
from llmecon.report.table import wide_console

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
    writer.writerow([*COLUMNS, *(f"counterfactual_cost:{api}" for api in apis)])
    for row in [*report["rows"], {**report["totals"], "group": "(total)"}]:
        writer.writerow(
            [
                *(row[c] for c in COLUMNS),
                *(row["counterfactual_cost"].get(api, 0.0) for api in apis),
            ]
        )


def render_usage_table(report: Report, out: TextIO) -> None:
    console = wide_console(out)
    totals = report["totals"]
    apis = sorted(totals["counterfactual_cost"])
    table = Table(
        title=f"usage by {report['by']} over {report['days'] * 86_400:,.0f} s of traffic",
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
            row["group"],
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
    _position(console, totals)


def _position(console: Any, totals: Mapping[str, Any]) -> None:
    tokens = totals["prompt_tokens"] + totals["completion_tokens"]
    own = totals["self_hosted_cost"] + totals["idle_cost"]
    if tokens:
        console.print(
            f"  self-hosted: {money(own / tokens * 1e6)} per 1M tokens "
            f"(idle included), {money(totals['self_hosted_cost_per_day'])}/day at "
            f"{volume(totals['requests_per_day'])} requests/day"
        )
    for item in totals["breakeven"]:
        if item["breakeven_requests_per_day"] is None:
            continue
        side = "above" if item["self_hosting_cheaper"] else "below"
        console.print(
            f"  {item['api']}: {money(item['cost_usd'])} for the same traffic "
            f"({money(item['per_request_usd'])}/request); break-even "
            f"{volume(item['breakeven_requests_per_day'])} requests/day, you are {side} it"
        )


RENDERERS: Mapping[str, Callable[[Report, TextIO], None]] = MappingProxyType(
    {"table": render_usage_table, "json": render_usage_json, "csv": render_usage_csv}
)
