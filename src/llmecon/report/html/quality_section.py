"""Quality next to cost in the report (issue 17): accuracy with its Wilson interval, cost per
correct answer, the quality bar with the options below it shown but marked in words, and the
break-evens among the options that meet it.

`quality_section` gathers the figures from `compare --format json`'s document (its `quality` key
joined with each option's cost per request); `render_quality` formats them and computes nothing.
"""

from __future__ import annotations

from html import escape
from typing import Any

from llmecon.report.html.breakevens import render_breakevens
from llmecon.report.numbers import money, volume

MEETS, BELOW, NO_BAR = "✓ meets the bar", "✗ below the bar", "-"


def status(row: dict[str, Any]) -> str:
    """The bar in words (never only a colour): meets, meets with doubt, below, not measured."""
    if row["accuracy"] is None:
        return "not measured" + (" (✗ below the bar)" if row["meets_bar"] is False else "")
    if row["meets_bar"] is False:
        return f"{BELOW}: shown, left out of the break-evens"
    if row["meets_bar"] and row["uncertain"]:
        return f"{MEETS} (its 95% interval reaches below it)"
    return MEETS if row["meets_bar"] else NO_BAR


def bar_words(bar: float | None) -> str:
    return "" if bar is None else f"accuracy ≥ {bar * 100:g}%"


def quality_section(comparison: dict[str, Any]) -> dict[str, Any] | None:
    """The quality figures per volume, each option with its cost per request and daily cost."""
    quality = comparison.get("quality")
    if quality is None:
        return None
    costs = {
        (result["requests_per_day"], option["name"]): option
        for result in comparison["results"]
        for option in result["options"]
    }
    volumes = [
        {
            "requests_per_day": result["requests_per_day"],
            "cheapest_meeting_bar": result["cheapest_meeting_bar"],
            "cheapest_per_correct_answer": result["cheapest_per_correct_answer"],
            "options": [
                {
                    **row,
                    "cost_per_request": costs[(result["requests_per_day"], row["name"])][
                        "cost_per_request"
                    ],
                    "daily_cost": costs[(result["requests_per_day"], row["name"])]["daily_cost"],
                    "status": status(row),
                }
                for row in result["options"]
            ],
        }
        for result in quality["results"]
    ]
    return {
        "min_accuracy": quality["min_accuracy"],
        "qualifying": quality["qualifying"],
        "volumes": volumes,
        "breakeven": quality["breakeven"],
        "answer": quality_answer(quality["min_accuracy"], volumes),
    }


def quality_answer(bar: float | None, volumes: list[dict[str, Any]]) -> str:
    """'Cheapest option meeting the bar: A at 1,000 requests/day ($2.25/day), ...'."""
    what = "meeting the bar" if bar is not None else "with a measured accuracy"
    picks = []
    for item in volumes:
        name = item["cheapest_meeting_bar"]
        if name is None:
            picks.append(f"none at {volume(item['requests_per_day'])} requests/day")
            continue
        daily = next(o["daily_cost"] for o in item["options"] if o["name"] == name)
        picks.append(
            f"{name} at {volume(item['requests_per_day'])} requests/day ({money(daily)}/day)"
        )
    best = {item["cheapest_per_correct_answer"] for item in volumes} - {None}
    text = f"Cheapest option {what}: {', '.join(picks)}."
    if len(best) == 1:
        text += f" Lowest cost per correct answer at every volume: {best.pop()}."
    return text


def _cell(value: float | None, field: str, text: str) -> str:
    return f"<td data-field={field} data-value={value!r}>{text}</td>"


def _accuracy(row: dict[str, Any]) -> str:
    if row["accuracy"] is None:
        return "<td data-field=accuracy data-value=None>-</td><td>-</td>"
    low, high = row["interval"]
    shown = f"{row['accuracy']:.1%} ({row['correct']}/{row['items']})"
    return (
        f"{_cell(row['accuracy'], 'accuracy', shown)}"
        f"<td><span data-field=interval_low data-value={low!r}>{low:.1%}</span> – "
        f"<span data-field=interval_high data-value={high!r}>{high:.1%}</span></td>"
    )


def _row(row: dict[str, Any]) -> str:
    span = row["cost_per_correct_answer_interval"]
    spread = "-" if span is None else f"{money(span[0])} – {money(span[1])}"
    below = " class=below" if row["meets_bar"] is False else ""
    per_correct = row["cost_per_correct_answer"]
    return (
        f'<tr data-option="{escape(row["name"])}"{below}><th scope=row>{escape(row["name"])}</th>'
        f"{_accuracy(row)}<td>{money(row['cost_per_request'])}</td>"
        f"{_cell(per_correct, 'cost_per_correct_answer', money(per_correct))}"
        f"<td>{spread}</td><td>{escape(row['status'])}</td></tr>"
    )


def render_quality(section: dict[str, Any] | None, p: str = "") -> str:
    """Accuracy, cost per correct answer and the bar per volume; break-evens among the good."""
    if section is None:
        return ""
    bar = section["min_accuracy"]
    rule = (
        f"<p><strong>Quality bar: {bar_words(bar)}.</strong> Options below it stay in the tables, "
        "marked ✗ in words, and are left out of the break-evens below.</p>"
        if bar is not None
        else "<p>No quality bar is set (<code>min_accuracy</code> or <code>--min-accuracy"
        "</code>): every measured option counts.</p>"
    )
    tables = "".join(
        f"<table class=quality data-volume={item['requests_per_day']!r}><caption>Quality and "
        f"cost per correct answer at {volume(item['requests_per_day'])} requests/day</caption>"
        "<thead><tr><th scope=col>option</th><th scope=col>accuracy (correct/items)</th>"
        "<th scope=col>95% interval (Wilson)</th><th scope=col>per request</th>"
        "<th scope=col>per correct answer</th><th scope=col>per correct answer over the "
        "interval</th><th scope=col>quality bar</th></tr></thead><tbody>"
        + "".join(_row(row) for row in item["options"])
        + "</tbody></table>"
        for item in section["volumes"]
    )
    good = section["qualifying"]
    heading = "Break-evens among the options that meet the bar" + (
        f" ({', '.join(good)})" if good else ""
    )
    if len(good) < 2:
        breakevens = (
            f"<h3>{escape(heading)}</h3><p>No break-even to find: fewer than two options meet "
            "the bar.</p>"
        )
    else:
        breakevens = render_breakevens(section["breakeven"], heading)
    return (
        f"<section id={p}quality aria-labelledby={p}quality-h><h2 id={p}quality-h>Quality: "
        "the cheapest good answer</h2><p>Accuracy is measured on your own task (<code>llmecon "
        "eval</code>), with its 95% Wilson interval. Every request is paid for and only the "
        "correct share is useful, so one correct answer costs the cost per request divided by "
        f"the accuracy.</p>{rule}<p class=answer data-answer=quality>"
        f"{escape(section['answer'])}</p>{tables}{breakevens}</section>"
    )
