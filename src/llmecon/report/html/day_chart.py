"""A chart of cost per UTC day (the ledger's live traffic) as inline SVG, with hover points.

Each line has its own marker and line style (the self-hosted fleet solid, each API dashed) and
its name at its last point, so colour is never the only signal; the hover script (report.js)
reads the groups `KEY-hover-N` like the cost-vs-volume chart's.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from llmecon.report.figures import new_figure
from llmecon.report.html.chart import MARKERS, PALETTE, scoped_ids
from llmecon.report.numbers import money


def day_lines(days: Sequence[str], lines: Sequence[tuple[str, str, Sequence[float]]]) -> list[
    dict[str, Any]
]:  # fmt: skip
    """Each line's points with its hover label: (name, kind, cost per day)."""
    return [
        {
            "option": name,
            "kind": kind,
            "points": [
                {"day": day, "cost": cost, "label": f"{name}: {money(cost)} on {day}"}
                for day, cost in zip(days, costs, strict=True)
            ],
        }
        for name, kind, costs in lines
    ]


def day_chart_svg(days: Sequence[str], lines: list[dict[str, Any]], key: str) -> str:
    """The SVG element (no XML prolog): cost per day of each line, days on the x axis."""
    import matplotlib  # noqa: PLC0415 - slow import

    figure = new_figure()
    figure.set_size_inches(9, 5.2)
    axes = figure.add_subplot()
    xs = list(range(len(days)))
    for index, line in enumerate(lines):
        colour, marker = PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)]
        ys = [point["cost"] for point in line["points"]]
        style = "-" if line["kind"] == "self_hosted" else "--"
        axes.plot(xs, ys, style, color=colour, linewidth=2, label=line["option"])
        axes.scatter(xs, ys, s=30, marker=marker, color=colour, zorder=4).set_gid(
            f"{key}-hover-{index}"
        )
        axes.annotate(
            line["option"], xy=(xs[-1], ys[-1]), xytext=(6, 9 * (index % 3 - 1) if index else 0),
            textcoords="offset points",
            fontsize=8, color=colour, va="center",
        )  # fmt: skip
    axes.set_xticks(xs, list(days), rotation=30 if len(days) > 6 else 0, fontsize=8)
    axes.set_xlim(-0.5, len(days) - 0.5 + max(1.0, len(days) * 0.25))
    axes.set_ylim(bottom=0)
    axes.set_xlabel("UTC day (the first and last may be partial)")
    axes.set_ylabel("cost that day, USD")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=min(3, len(lines)),
        fontsize=8,
        title="solid: self-hosted, dashed: paid APIs",
        title_fontsize=8,
    )  # fmt: skip (below the axes: never over a point)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "llmecon", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return scoped_ids(text[text.index("<svg") :], key)
