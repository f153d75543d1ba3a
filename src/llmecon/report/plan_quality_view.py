"""`plan --quality`: accuracy and cost per correct answer next to the plan (table or JSON)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.table import Table

from llmecon.core.plan_quality import PlanQuality
from llmecon.core.planning import Plan
from llmecon.report.numbers import clean, money
from llmecon.report.plan_view import plan_to_dict
from llmecon.report.table import wide_console

STATUS = {True: "meets", False: "BELOW BAR", None: "-"}


def plan_quality_to_dict(quality: PlanQuality) -> dict[str, Any]:
    best = quality.cheapest_good
    return {
        "min_accuracy": quality.min_accuracy,
        "cheapest_meeting_bar": None if best is None else best.quality.option,
        "options": [
            {
                "name": row.quality.option,
                "kind": row.kind,
                "daily_cost": clean(row.daily_cost),
                "accuracy": None if row.quality.accuracy is None else row.quality.accuracy.value,
                "correct": None if row.quality.accuracy is None else row.quality.accuracy.correct,
                "items": None if row.quality.accuracy is None else row.quality.accuracy.total,
                "cost_per_correct_answer": None
                if row.quality.cost_per_correct is None
                else clean(row.quality.cost_per_correct),
                "meets_bar": row.quality.meets_bar,
            }
            for row in quality.rows
        ],
    }


def render_plan_quality_json(
    plan: Plan, quality: PlanQuality, out: TextIO, *, price_book: str | None
) -> None:
    document = {**plan_to_dict(plan, price_book), "quality": plan_quality_to_dict(quality)}
    json.dump(document, out, indent=2)
    out.write("\n")


def render_plan_quality_table(quality: PlanQuality, out: TextIO, *, top: int = 10) -> None:
    """The self-hosted plan, the closed APIs and the `top` cheapest hosted offers."""
    console = wide_console(out)
    bar = "" if quality.min_accuracy is None else f", bar: accuracy >= {quality.min_accuracy:.0%}"
    table = Table(title=f"quality (from the eval{bar})", title_justify="left")
    for header in ("option", "kind", "accuracy", "per day", "per correct answer", "quality bar"):
        table.add_column(header, justify="right" if header.startswith(("per", "acc")) else "left")
    hosted = [row for row in quality.rows if row.kind == "hosted"]
    shown = [row for row in quality.rows if row.kind != "hosted"] + hosted[:top]
    for row in shown:
        q = row.quality
        accuracy = (
            "-"
            if q.accuracy is None
            else f"{q.accuracy.value:.1%} ({q.accuracy.correct}/{q.accuracy.total})"
        )
        status = "not measured" if q.accuracy is None else STATUS[q.meets_bar]
        table.add_row(
            q.option, row.kind.replace("_", "-"), accuracy, money(row.daily_cost),
            money(q.cost_per_correct), status, style="dim" if q.meets_bar is False else None,
        )  # fmt: skip
    console.print(table)
    if len(hosted) > top:
        console.print(f"[dim]{len(hosted) - top} more hosted offers (--top N or JSON)[/dim]")
    best = quality.cheapest_good
    what = "meeting the bar" if quality.min_accuracy is not None else "measured"
    line = "none" if best is None else f"{best.quality.option}, {money(best.daily_cost)}/day"
    console.print(f"[bold]Cheapest option {what}: {line}[/bold]")
