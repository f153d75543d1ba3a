"""A projection (monthly and cumulative cost per option, payback) as a table or JSON."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, TextIO

from rich.table import Table

from llmecon.core.projection import Projection
from llmecon.report.numbers import clean, money, volume
from llmecon.report.table import wide_console


def month_label(start: date, index: int) -> str:
    months = start.year * 12 + start.month - 1 + index - 1
    return f"{months // 12:04d}-{months % 12 + 1:02d}"


def projection_lines(projection: Projection, start: date) -> list[str]:
    lines = []
    for name, amount in projection.one_off.items():
        if amount:
            lines.append(f"one-off costs: {name} {money(amount)} before the first month")
    for name in projection.options:
        if projection.kinds[name] != "self_hosted":
            continue
        month = projection.payback(name)
        lines.append(
            f"payback: {name} never catches up with the cheapest API within "
            f"{len(projection.months)} months"
            if month is None
            else f"payback: {name} pays back in month {month} ({month_label(start, month)})"
        )
    for name in projection.options:
        won = projection.first_win(name)
        if won is not None:
            lines.append(
                f"cheapest: {name} from month {won.month} ({month_label(start, won.month)}), "
                f"at {volume(won.requests_per_day)} requests/day"
            )
    lines += [f"price change: {c.label} (from month {c.month})" for c in projection.changes]
    return lines


def render_projection_table(projection: Projection, start: date, out: TextIO) -> None:
    console = wide_console(out)
    table = Table(title="projection: monthly cost (cumulative, one-off costs included)",
                  title_justify="left")  # fmt: skip
    table.add_column("month")
    table.add_column("requests/day", justify="right")
    for name in projection.options:
        table.add_column(name, justify="right")
    for month in projection.months:
        table.add_row(
            month_label(start, month.month), volume(month.requests_per_day),
            *(f"{money(month.cost[n])} ({money(month.cumulative[n])})"
              for n in projection.options),
        )  # fmt: skip
    console.print(table)
    for line in projection_lines(projection, start):
        console.print(f"  {line}", markup=False)


def projection_data(projection: Projection, start: date) -> dict[str, Any]:
    return {
        "start": month_label(start, 1),
        "one_off": {k: clean(v) for k, v in projection.one_off.items()},
        "months": [
            {
                "month": month_label(start, m.month),
                "requests_per_day": clean(m.requests_per_day),
                "cost": {k: clean(v) for k, v in m.cost.items()},
                "cumulative": {k: clean(v) for k, v in m.cumulative.items()},
                "cheapest": m.cheapest,
            }
            for m in projection.months
        ],
        "payback_month": {
            n: projection.payback(n) for n in projection.options
            if projection.kinds[n] == "self_hosted"
        },
        "price_changes": [c.label for c in projection.changes],
    }  # fmt: skip


def render_projection_json(projection: Projection, start: date, out: TextIO) -> None:
    json.dump({"projection": projection_data(projection, start)}, out, indent=2)
    out.write("\n")
