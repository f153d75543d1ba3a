"""`compare A.yaml B.yaml --diff`: what changed and what it did to costs and break-evens."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table

from llmecon.core.scenario_diff import ComparisonDiff
from llmecon.report.numbers import money, volume
from llmecon.report.table import wide_console

Changes = list[tuple[str, Any, Any]]


def _cost(value: float | None) -> str:
    return "-" if value is None else money(value)


def _delta(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "added" if before is None else "removed"
    if before == 0:
        return "-" if after == 0 else "new cost"
    return f"{after / before - 1:+.1%}"


def _volumes(found: tuple[float, ...] | None) -> str:
    if found is None:
        return "-"
    return ", ".join(volume(v) for v in found) or "none"


def render_diff_table(names: tuple[str, str], changes: Changes, diff: ComparisonDiff,
                      out: TextIO) -> None:  # fmt: skip
    console = wide_console(out)
    console.print(f"[bold]{names[0]} -> {names[1]}[/bold]", highlight=False)
    inputs = Table(title="what changed", title_justify="left")
    for header in ("key", names[0], names[1]):
        inputs.add_column(header)
    for path, old, new in changes:
        inputs.add_row(
            escape(path), escape("-" if old is None else str(old)),
            escape("-" if new is None else str(new)),
        )  # fmt: skip
    console.print(inputs if changes else "  the two scenarios are identical")
    costs = Table(title="daily cost", title_justify="left")
    for header in ("requests/day", "option", names[0], names[1], "change"):
        costs.add_column(header, justify="left" if header == "option" else "right")
    for c in diff.costs:
        costs.add_row(volume(c.requests_per_day), c.option, _cost(c.before), _cost(c.after),
                      _delta(c.before, c.after))  # fmt: skip
    console.print(costs)
    for between, old, new in ((b.between, b.before, b.after) for b in diff.breakevens):
        if old != new:
            console.print(
                f"  break-even {between[0]} / {between[1]}: {_volumes(old)} -> {_volumes(new)} "
                "requests/day",
                markup=False,
            )
    for at, old_choice, new_choice in diff.cheapest:
        if old_choice != new_choice:
            console.print(
                f"  at {volume(at)} requests/day the cheapest changes: {old_choice or '-'} -> "
                f"{new_choice or '-'}",
                markup=False,
            )


def render_diff_json(names: tuple[str, str], changes: Changes, diff: ComparisonDiff,
                     out: TextIO) -> None:  # fmt: skip
    data = {
        "before": names[0],
        "after": names[1],
        "changes": [{"key": p, "before": old, "after": new} for p, old, new in changes],
        **asdict(diff),
    }
    json.dump(data, out, indent=2, default=str)
    out.write("\n")
