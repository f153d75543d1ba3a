"""Log-log daily cost against requests/day, break-evens marked. matplotlib is imported lazily."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmecon.core.comparison import Comparison
from llmecon.core.series import CostSeries
from llmecon.report.figures import check_path, new_figure, save_figure
from llmecon.report.numbers import volume

_MAX_LABELLED = 5
_LABEL_OFFSETS = ((6, 8), (6, -16), (6, 22), (6, -30))  # staggered so near labels don't overlap


def write_plot(comparison: Comparison, series: tuple[CostSeries, ...], path: Path) -> None:
    """Draw the comparison to `path` (PNG, SVG or PDF by suffix), replacing it atomically."""
    check_path(path)
    save_figure(_figure(comparison, series), path)


def _figure(comparison: Comparison, series: tuple[CostSeries, ...]) -> Any:
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415 - slow import

    figure = new_figure()
    axes = figure.add_subplot()
    for line in series:
        style = "-" if line.kind == "api" else "--"
        axes.plot(line.volumes, line.daily_costs, style, linewidth=2, label=line.option)
    for result in comparison.results:
        axes.axvline(result.requests_per_day, color="0.85", linewidth=1, zorder=0)
    _mark_breakevens(axes, comparison)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(_volume_tick))
    axes.yaxis.set_major_formatter(FuncFormatter(_money_tick))
    axes.set_xlabel("requests per day")
    axes.set_ylabel(f"daily cost ({comparison.currency})")
    axes.set_title(f"{comparison.scenario}\n(dots: break-evens)", fontsize=11)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize=9)
    return figure


def _mark_breakevens(axes: Any, comparison: Comparison) -> None:
    crossings = sorted(
        (c for b in comparison.breakevens for c in b.crossings), key=lambda c: c.requests_per_day
    )
    for index, crossing in enumerate(crossings):
        x, y = crossing.requests_per_day, crossing.daily_cost
        axes.plot([x], [y], "o", color="black", markersize=5, zorder=5)
        if len(crossings) <= _MAX_LABELLED:
            axes.annotate(
                f"{volume(x)}/day",
                xy=(x, y),
                xytext=_LABEL_OFFSETS[index % len(_LABEL_OFFSETS)],
                textcoords="offset points",
                fontsize=8,
            )


def _money_tick(value: float, _position: int) -> str:
    return f"${_short(value)}"


def _volume_tick(value: float, _position: int) -> str:
    return _short(value)


def _short(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"
