"""A sensitivity analysis as a tornado table, JSON, or a tornado plot."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from rich.table import Table

from llmecon.core.sensitivity import Sensitivity, Swing
from llmecon.report.figures import check_path, new_figure, save_figure
from llmecon.report.numbers import money, volume
from llmecon.report.table import wide_console


def _range(swing: Swing) -> str:
    return f"x{swing.low:.3g} .. x{swing.high:.3g}"


def _flip(swing: Swing) -> str:
    if swing.flip_at is None:
        return "no"
    return f"at x{swing.flip_at:.3g}"


def _margin(value: float) -> str:
    return money(value) if value >= 0 else f"-{money(-value)}"


def render_sensitivity_table(result: Sensitivity, out: TextIO) -> None:
    console = wide_console(out)
    console.print(
        f"[bold]{result.scenario}[/bold] at {volume(result.requests_per_day)} requests/day: "
        f"{result.choice} is cheapest, {_margin(result.margin)}/day below {result.runner_up}",
        highlight=False,
    )
    table = Table(
        title="tornado: margin of the cheapest option over the best alternative ($/day; "
        "negative: the decision flips)",
        title_justify="left",
    )
    for header in ("factor", "range", "margin at low", "margin at high", "cheapest at low",
                   "cheapest at high", "flips"):  # fmt: skip
        table.add_column(header, justify="left" if header in ("factor", "range") else "right")
    for swing in result.swings:
        table.add_row(
            swing.factor, _range(swing), _margin(swing.margin_low), _margin(swing.margin_high),
            swing.choice_low, swing.choice_high, _flip(swing),
        )  # fmt: skip
    console.print(table)
    flips = [s for s in result.swings if s.flip_at is not None]
    if flips:
        for swing in flips:
            console.print(
                f"  {swing.factor} x{swing.flip_at:.3g} flips the decision away from "
                f"{result.choice}",
                markup=False,
            )
    else:
        console.print(f"  no single factor in its range flips the decision: {result.choice}")


def render_sensitivity_json(result: Sensitivity, out: TextIO) -> None:
    json.dump(asdict(result), out, indent=2)
    out.write("\n")


def write_tornado(result: Sensitivity, path: Path) -> None:
    check_path(path)
    figure = new_figure()
    axes = figure.add_subplot()
    swings = list(reversed(result.swings))
    for row, swing in enumerate(swings):
        for value, colour in ((swing.margin_low, "tab:blue"), (swing.margin_high, "tab:orange")):
            axes.barh(row, value - result.margin, left=result.margin, color=colour, alpha=0.8)
    axes.axvline(result.margin, color="black", linewidth=1)
    axes.axvline(0, color="red", linewidth=1, linestyle="--")
    axes.set_yticks(range(len(swings)), [f"{s.factor} ({_range(s)})" for s in swings])
    axes.set_xlabel(f"margin of {result.choice} over the best alternative, $/day (red: flips)")
    axes.set_title(
        f"{result.scenario}: sensitivity at {volume(result.requests_per_day)} requests/day\n"
        "(blue: low end, orange: high end)",
        fontsize=11,
    )
    save_figure(figure, path)
