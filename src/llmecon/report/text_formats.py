"""Machine- and document-friendly renderings: JSON, CSV and Markdown."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from llmecon.core.comparison import Comparison
from llmecon.report.contract import comparison_to_dict
from llmecon.report.numbers import clean, money, volume
from llmecon.report.quality_view import render_quality_markdown
from llmecon.report.words import summary_sentences

CSV_COLUMNS = (
    "requests_per_day", "rank", "option", "kind", "replicas", "daily_cost", "monthly_cost",
    "yearly_cost", "cost_per_request", "cost_per_1m_tokens",
)  # fmt: skip
QUALITY_COLUMNS = ("accuracy", "cost_per_correct_answer", "meets_bar")  # with quality: only
LINE_ITEM_COLUMNS = ("line_item", "quantity", "unit", "unit_price", "source", "as_of")


def render_json(
    comparison: Comparison, out: TextIO, *, details: bool = False, price_book: str | None = None
) -> None:
    json.dump(comparison_to_dict(comparison, price_book), out, indent=2)
    out.write("\n")


def render_csv(
    comparison: Comparison, out: TextIO, *, details: bool = False, price_book: str | None = None
) -> None:
    """One row per option and volume; with details, one row per line item instead."""
    writer = csv.writer(out, lineterminator="\n")
    data = comparison_to_dict(comparison, price_book)
    quality = _quality_cells(data)
    extra = QUALITY_COLUMNS if quality else ()
    writer.writerow(CSV_COLUMNS + extra + (LINE_ITEM_COLUMNS if details else ()))
    for result in data["results"]:
        for option in result["options"]:
            row = [result["requests_per_day"], *(option[key] for key in _OPTION_KEYS)]
            row += quality.get((result["requests_per_day"], option["name"]), [])
            if not details:
                writer.writerow(row)
            for item in option["line_items"] if details else ():
                writer.writerow([*row, *(item[key] for key in _LINE_ITEM_KEYS)])


def _quality_cells(data: dict[str, Any]) -> dict[tuple[float, str], list[Any]]:
    """Accuracy, cost per correct answer and the bar per (volume, option), when measured."""
    quality = data.get("quality")
    if quality is None:
        return {}
    return {
        (result["requests_per_day"], row["name"]): [
            row["accuracy"],
            row["cost_per_correct_answer"],
            row["meets_bar"],
        ]
        for result in quality["results"]
        for row in result["options"]
    }


_LINE_ITEM_KEYS = ("name", "quantity", "unit", "unit_price", "source", "as_of")
_OPTION_KEYS = ("rank", "name", "kind", "replicas", "daily_cost", "monthly_cost", "yearly_cost",
                "cost_per_request", "cost_per_1m_tokens")  # fmt: skip


def render_markdown(
    comparison: Comparison, out: TextIO, *, details: bool = False, price_book: str | None = None
) -> None:
    out.write(f"## {comparison.scenario}\n\n")
    for result in comparison.results:
        out.write(f"### {volume(result.requests_per_day)} requests/day\n\n")
        out.write("| | option | kind | replicas | per day | per year | per 1M tokens |\n")
        out.write("|---|---|---|---:|---:|---:|---:|\n")
        for rank, bill in enumerate(result.bills, start=1):
            mark = "**cheapest**" if rank == 1 else str(rank)
            replicas = "-" if bill.replicas is None else str(bill.replicas)
            out.write(
                f"| {mark} | {bill.option} | {bill.kind} | {replicas} | {money(bill.daily_cost)} "
                f"| {money(bill.yearly_cost)} | {money(bill.cost_per_1m_tokens)} |\n"
            )
            if details:
                for item in bill.line_items:
                    out.write(
                        f"| | {item.name} | {clean(item.quantity):,} x {money(item.unit_price)} "
                        f"/ {item.unit} | | {money(item.daily_cost)} | | {item.source} |\n"
                    )
        out.write("\n")
    if comparison.quality is not None:
        prices = [{b.option: b.cost_per_request for b in r.bills} for r in comparison.results]
        render_quality_markdown(comparison.quality, out, prices)
    kinds = {bill.option: bill.kind for bill in comparison.results[0].bills}
    out.write("### Break-even\n\n")
    for sentence in summary_sentences(comparison.breakevens, kinds):
        out.write(f"- {sentence}\n")
    if comparison.notes:
        out.write("\n### Notes\n\n")
        out.writelines(f"- {note}\n" for note in comparison.notes)
