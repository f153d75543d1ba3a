"""The cost-vs-volume chart as inline SVG (matplotlib), with the points a hover script reads.

Colour is not the only signal: each option has its own marker and line style (solid for paid
APIs, dashed for self-hosted), and its name is written at the end of its line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from llmecon.core.comparison import Comparison
from llmecon.core.series import CostSeries
from llmecon.report.figures import new_figure
from llmecon.report.numbers import money, volume

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_OFFSETS = ((8, -16), (8, 10), (8, -30), (8, 24))  # staggered so near labels don't overlap
HOVER_POINTS = 48  # sampled points per line that answer the mouse


def chart_points(series: tuple[CostSeries, ...]) -> list[dict[str, Any]]:
    """Each line's hover points: a sample of (volume, daily cost), labelled for the tooltip."""
    lines = []
    for line in series:
        step = max(1, len(line.volumes) // HOVER_POINTS)
        picks = list(range(0, len(line.volumes), step))
        lines.append(
            {
                "option": line.option,
                "kind": line.kind,
                "points": [
                    {
                        "requests_per_day": line.volumes[i],
                        "daily_cost": line.daily_costs[i],
                        "label": f"{line.option}: {money(line.daily_costs[i])}/day at "
                        f"{volume(line.volumes[i])} requests/day",
                    }
                    for i in picks
                ],
            }
        )
    return lines


def chart_svg(
    comparison: Comparison,
    series: tuple[CostSeries, ...],
    key: str = "main",
    marks: Mapping[str, str] | None = None,
) -> str:
    """The chart as an SVG element (no XML prolog), hover groups with ids `KEY-hover-N`;
    `marks` adds words to an option's labels (options below a quality bar), so the chart says
    it in text, not only in colour."""
    import matplotlib  # noqa: PLC0415 - slow import

    figure = new_figure()
    figure.set_size_inches(9, 5.4)
    axes = figure.add_subplot()
    for index, (line, hover) in enumerate(zip(series, chart_points(series), strict=True)):
        mark = (marks or {}).get(line.option)
        _draw_line(axes, f"{key}-hover-{index}", index, line, hover, mark=mark)
    _draw_breakevens(axes, comparison)
    _style_axes(axes, comparison)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "llmecon", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return scoped_ids(text[text.index("<svg") :], key)


_ID = re.compile(r'(\sid="|xlink:href="#|url\(#)([^"\)]+)')


def scoped_ids(svg: str, key: str) -> str:
    """matplotlib's element ids (figure_1, clip paths, markers) made unique to this chart, so
    several charts share a page; the hover groups keep their ids (already `KEY-hover-N`)."""
    hover = f"{key}-hover-"
    return _ID.sub(
        lambda m: m.group(0) if m.group(2).startswith(hover) else f"{m.group(1)}{key}-{m.group(2)}",
        svg,
    )


def _draw_line(
    axes: Any, gid: str, index: int, line: CostSeries, hover: dict[str, Any], *, mark: str | None
) -> None:
    colour, marker = PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)]
    style = "-" if line.kind == "api" else "--"
    name = line.option if mark is None else f"{line.option} ({mark})"
    kind = "paid API" if line.kind == "api" else "self-hosted"
    label = f"{line.option} ({kind})" if mark is None else f"{name}, {kind}"
    axes.plot(line.volumes, line.daily_costs, style, color=colour, linewidth=2, label=label)
    xs = [p["requests_per_day"] for p in hover["points"]]
    ys = [p["daily_cost"] for p in hover["points"]]
    dots = axes.scatter(xs, ys, s=22, marker=marker, color=colour, zorder=4)
    dots.set_gid(gid)
    axes.annotate(
        name, xy=(line.volumes[-1], line.daily_costs[-1]), xytext=(4, 0),
        textcoords="offset points", fontsize=8, color=colour, va="center",
    )  # fmt: skip


def _draw_breakevens(axes: Any, comparison: Comparison) -> None:
    for result in comparison.results:
        axes.axvline(result.requests_per_day, color="0.8", linewidth=1, zorder=0)
    crossings = sorted(
        (c for b in comparison.breakevens for c in b.crossings[:8]),
        key=lambda c: c.requests_per_day,
    )
    for index, crossing in enumerate(crossings):
        x, y = crossing.requests_per_day, crossing.daily_cost
        axes.plot([x], [y], marker="*", markersize=14, color="black", zorder=6)
        axes.annotate(
            f"{volume(x)}/day", xy=(x, y), xytext=_OFFSETS[index % len(_OFFSETS)],
            textcoords="offset points", fontsize=8,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )  # fmt: skip


def _style_axes(axes: Any, comparison: Comparison) -> None:
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415

    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${_short(v)}"))
    axes.set_xlabel("requests per day (log scale)")
    axes.set_ylabel(f"daily cost, {comparison.currency} (log scale)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8, title="solid: paid API, dashed: self-hosted",
                title_fontsize=8)  # fmt: skip


def _short(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def without_size(svg: str) -> str:
    """The SVG scaled by its container (width/height attributes dropped, viewBox kept)."""
    return re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", svg, count=1)
