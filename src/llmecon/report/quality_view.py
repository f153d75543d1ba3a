"""Quality next to cost: accuracy, cost per correct answer, the bar, break-evens among the good.

The JSON part is added to `llmecon compare`'s document as a `quality` key (only when the
scenario has a `quality:` block); the table part follows each volume's cost table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from llmecon.core.breakeven import Breakeven
from llmecon.core.quality import OptionQuality, QualityView, VolumeQuality
from llmecon.report.numbers import clean, money, volume
from llmecon.report.words import summary_sentences

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

MARKS = {True: "meets", False: "BELOW BAR", None: "-"}


def _status(row: OptionQuality) -> str:
    if row.accuracy is None:
        return "not measured" if row.meets_bar is None else "not measured (BELOW BAR)"
    if row.uncertain:
        return "meets (interval reaches below)"
    return MARKS[row.meets_bar]


def _accuracy(row: OptionQuality) -> tuple[str, str]:
    if row.accuracy is None:
        return "-", "-"
    low, high = row.accuracy.interval
    value = row.accuracy
    return f"{value.value:.1%} ({value.correct}/{value.total})", f"{low:.1%} - {high:.1%}"


def _range(row: OptionQuality) -> str:
    if row.cost_per_correct_range is None:
        return "-"
    low, high = row.cost_per_correct_range
    return f"{money(low)} - {money(high)}"


def quality_table(
    view: QualityView, volume_quality: VolumeQuality, per_request: dict[str, float | None]
) -> Table:
    from rich.table import Table  # noqa: PLC0415 - the JSON and CSV formats start without rich

    bar = "" if view.min_accuracy is None else f", bar: accuracy >= {view.min_accuracy:.0%}"
    table = Table(
        title=f"  quality at {volume(volume_quality.requests_per_day)} requests/day{bar}",
        title_justify="left",
    )
    for header in ("option", "accuracy", "95% interval", "per request", "per correct answer",
                   "per correct (interval)", "quality bar"):  # fmt: skip
        table.add_column(header, justify="left" if header in {"option", "quality bar"} else "right")
    for row in volume_quality.options:
        accuracy, interval = _accuracy(row)
        style = "dim" if row.meets_bar is False else None
        table.add_row(
            row.option, accuracy, interval, money(per_request.get(row.option)),
            money(row.cost_per_correct), _range(row), _status(row), style=style,
        )  # fmt: skip
    return table


def quality_lines(view: QualityView, volume_quality: VolumeQuality) -> list[str]:
    what = "meeting the bar" if view.min_accuracy is not None else "measured"
    if volume_quality.cheapest_good is None:
        return [f"no option {what}"]
    return [
        f"cheapest option {what}: {volume_quality.cheapest_good}; cheapest per correct "
        f"answer: {volume_quality.best_per_correct or '-'}"
    ]


def render_quality_breakevens(
    console: Console, view: QualityView | None, kinds: dict[str, str]
) -> None:
    """The break-evens among options meeting the bar (nothing without a quality bar)."""
    if view is None or view.min_accuracy is None:
        return
    console.print(
        f"[bold]Break-even among options meeting the bar (accuracy >= {view.min_accuracy:.0%}: "
        f"{', '.join(view.qualifying) or 'none'})[/bold]"
    )
    if len(view.qualifying) < 2:
        console.print("  - fewer than two options meet the bar: no break-even to find")
    for sentence in summary_sentences(view.breakevens, kinds):
        console.print(f"  - {sentence}")


def render_quality_markdown(
    view: QualityView, out: TextIO, per_request: list[dict[str, float | None]]
) -> None:
    bar = "" if view.min_accuracy is None else f" (bar: accuracy >= {view.min_accuracy:.0%})"
    out.write(f"### Quality{bar}\n\n")
    for volume_quality, prices in zip(view.volumes, per_request, strict=True):
        out.write(f"#### {volume(volume_quality.requests_per_day)} requests/day\n\n")
        out.write("| option | accuracy | 95% interval | per request | per correct answer | bar |\n")
        out.write("|---|---:|---:|---:|---:|---|\n")
        for row in volume_quality.options:
            accuracy, interval = _accuracy(row)
            out.write(
                f"| {row.option} | {accuracy} | {interval} | {money(prices.get(row.option))} | "
                f"{money(row.cost_per_correct)} | {_status(row)} |\n"
            )
        out.write("\n")


def quality_to_dict(
    view: QualityView, breakeven_to_dict: Callable[[Breakeven], dict[str, Any]]
) -> dict[str, Any]:
    return {
        "min_accuracy": view.min_accuracy,
        "qualifying": list(view.qualifying),
        "results": [
            {
                "requests_per_day": clean(vq.requests_per_day),
                "cheapest_meeting_bar": vq.cheapest_good,
                "cheapest_per_correct_answer": vq.best_per_correct,
                "options": [_row_to_dict(row) for row in vq.options],
            }
            for vq in view.volumes
        ],
        "breakeven": [breakeven_to_dict(b) for b in view.breakevens],
    }


def _row_to_dict(row: OptionQuality) -> dict[str, Any]:
    accuracy = row.accuracy
    span = row.cost_per_correct_range
    return {
        "name": row.option,
        "accuracy": None if accuracy is None else clean(accuracy.value),
        "correct": None if accuracy is None else accuracy.correct,
        "items": None if accuracy is None else accuracy.total,
        "interval": None if accuracy is None else [clean(v) for v in accuracy.interval],
        "source": None if accuracy is None else accuracy.source,
        "cost_per_correct_answer": None
        if row.cost_per_correct is None
        else clean(row.cost_per_correct),
        "cost_per_correct_answer_interval": None if span is None else [clean(v) for v in span],
        "meets_bar": row.meets_bar,
        "uncertain": row.uncertain,
    }
