"""The human view of a comparison: one rich table per volume, break-evens and notes."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from llmecon.core.bill import Bill
from llmecon.core.comparison import Comparison, VolumeResult
from llmecon.report.numbers import money, quantity, volume
from llmecon.report.quality_view import quality_lines, quality_table, render_quality_breakevens
from llmecon.report.words import summary_sentences


def wide_console(out: TextIO) -> Console:
    """A console on `out`: the terminal's width, or 160 columns when writing to a file or pipe.
    Names and notes are printed as written: no `:emoji:` codes (nor rich's 4-6 ms emoji table)."""
    width = None if out.isatty() else 160
    return Console(file=out, width=width, highlight=False, emoji=False)


def render_table(
    comparison: Comparison, out: TextIO, *, details: bool = False, price_book: str | None = None
) -> None:
    console = wide_console(out)
    console.print(f"[bold]{comparison.scenario}[/bold]  (costs in {comparison.currency})")
    for result in comparison.results:
        console.print(_volume_table(result))
        for line in _capacity_lines(result):
            console.print(f"  capacity: {line}", markup=False)
        for bill in result.bills:
            if bill.fixed_daily_cost > 0:
                console.print(
                    f"  ownership: {bill.option}: compute only {money(bill.compute_daily_cost)}"
                    f"/day, full cost of ownership {money(bill.daily_cost)}/day (fixed costs "
                    f"{money(bill.fixed_daily_cost)}/day)",
                    markup=False,
                )
        if details:
            console.print(_line_items_table(result))
        _print_quality(console, comparison, result)
    kinds = {bill.option: bill.kind for bill in comparison.results[0].bills}
    console.print("[bold]Break-even[/bold]")
    for sentence in summary_sentences(comparison.breakevens, kinds):
        console.print(f"  - {sentence}")
    render_quality_breakevens(console, comparison.quality, kinds)
    if comparison.notes:
        console.print("[bold]Notes[/bold]")
        for note in comparison.notes:
            console.print(f"  - {note}", markup=False)
    if price_book:
        console.print(f"[dim]price book: {price_book}[/dim]")


def _print_quality(console: Console, comparison: Comparison, result: VolumeResult) -> None:
    """The quality table of one volume (issue 17), when the scenario has a quality: block."""
    view = comparison.quality
    if view is None:
        return
    rows = next(v for v in view.volumes if v.requests_per_day == result.requests_per_day)
    console.print(quality_table(view, rows, {b.option: b.cost_per_request for b in result.bills}))
    for line in quality_lines(view, rows):
        console.print(f"  quality: {line}", markup=False)


def _volume_table(result: VolumeResult) -> Table:
    table = Table(
        title=f"{volume(result.requests_per_day)} requests/day  (★ cheapest)", title_justify="left"
    )
    for header in ("", "option", "kind", "replicas", "per day", "per month", "per year"):
        table.add_column(header, justify="left" if header in {"", "option", "kind"} else "right")
    table.add_column("per request", justify="right")
    table.add_column("per 1M tokens", justify="right")
    for rank, bill in enumerate(result.bills, start=1):
        table.add_row(*_bill_row(bill, rank), style="bold green" if rank == 1 else None)
    return table


def _bill_row(bill: Bill, rank: int) -> list[str]:
    return [
        "★" if rank == 1 else f"{rank}",
        bill.option,
        bill.kind.replace("_", "-"),
        _replicas(bill),
        money(bill.daily_cost),
        money(bill.monthly_cost),
        money(bill.yearly_cost),
        money(bill.cost_per_request),
        money(bill.cost_per_1m_tokens),
    ]


def _replicas(bill: Bill) -> str:
    if bill.replicas is None:
        return "-"
    if bill.fleet is not None and min(bill.fleet.replicas_by_hour) != bill.replicas:
        return f"{min(bill.fleet.replicas_by_hour)}-{bill.replicas}"
    return str(bill.replicas)


def _line_items_table(result: VolumeResult) -> Table:
    table = Table(title="  line items", title_justify="left", box=None, padding=(0, 1))
    for header in (
        "option",
        "item",
        "quantity",
        "unit",
        "unit price",
        "per day",
        "as of",
        "source",
    ):
        right = header in {"quantity", "unit price", "per day"}
        table.add_column(header, justify="right" if right else "left", overflow="fold")
    for bill in result.bills:
        for item in bill.line_items:
            table.add_row(
                bill.option,
                item.name,
                quantity(item.quantity),
                item.unit,
                money(item.unit_price),
                money(item.daily_cost),
                item.as_of.isoformat() if item.as_of else "-",
                item.source,
            )
    return table


def _capacity_lines(result: VolumeResult) -> list[str]:
    """One line per capacity-sized option: replicas, per-replica rate, utilization, source."""
    lines = []
    for bill in result.bills:
        fleet = bill.fleet
        if fleet is None:
            continue
        low, high = min(fleet.replicas_by_hour), fleet.peak_replicas
        replicas = (
            f"{low}-{high} replicas (autoscaled by hour)"
            if low != high
            else f"{high} {'replica' if high == 1 else 'replicas'}"
        )
        utilization = f", utilization {fleet.utilization:.0%}" if fleet.utilization else ""
        fixed = ""
        if bill.fixed_fleet_daily_cost is not None:
            fixed = f"; sized for the peak all day: {money(bill.fixed_fleet_daily_cost)}/day"
        lines.append(
            f"{bill.option}: {replicas} at {fleet.per_replica_rps:.4g} req/s each, peak "
            f"{fleet.peak_rps:.4g} req/s{utilization}{fixed} [{bill.capacity_source}]"
        )
    return lines
