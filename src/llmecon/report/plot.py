"""Log-log daily cost against requests/day, break-evens marked. matplotlib is imported lazily."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from llmecon.core.comparison import Comparison
from llmecon.core.series import CostSeries
from llmecon.errors import LlmeconError
from llmecon.report.numbers import volume


def write_plot(comparison: Comparison, series: tuple[CostSeries, ...], path: Path) -> None:
    """Draw the comparison to `path` (PNG, SVG or PDF by suffix), replacing it atomically."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in {"png", "svg", "pdf"}:
        raise LlmeconError(f"--plot {path}: unsupported file type; use a .png, .svg or .pdf name")
    if not path.parent.is_dir():
        raise LlmeconError(f"--plot {path}: folder {path.parent} does not exist; create it first")
    figure = _figure(comparison, series)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=path.suffix, prefix=".llmecon-")
    os.close(handle)
    try:
        figure.savefig(temporary, format=suffix, dpi=120)
        Path(temporary).replace(path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise LlmeconError(f"--plot {path}: cannot write ({error.strerror})") from None


def _figure(comparison: Comparison, series: tuple[CostSeries, ...]) -> Any:
    import matplotlib  # noqa: PLC0415 - slow import, only when plotting

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(10, 6.2), layout="constrained")
    axes = figure.add_subplot()
    for line in series:
        style = "-" if line.kind == "api" else "--"
        axes.plot(line.volumes, line.daily_costs, style, linewidth=2, label=line.option)
    for result in comparison.results:
        axes.axvline(result.requests_per_day, color="0.85", linewidth=1, zorder=0)
    _mark_breakevens(axes, comparison)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("requests per day")
    axes.set_ylabel(f"daily cost ({comparison.currency})")
    axes.set_title(comparison.scenario, fontsize=11)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize=9)
    return figure


def _mark_breakevens(axes: Any, comparison: Comparison) -> None:
    for breakeven in comparison.breakevens:
        for crossing in breakeven.crossings:
            x = crossing.requests_per_day
            axes.axvline(x, color="0.4", linestyle=":", linewidth=1)
            axes.annotate(
                f"break-even\n{volume(x)}/day",
                xy=(x, 0.02),
                xycoords=("data", "axes fraction"),
                fontsize=8,
                rotation=90,
                ha="right",
                va="bottom",
            )
