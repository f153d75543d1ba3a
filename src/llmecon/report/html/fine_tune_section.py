"""Fine-tuning in the report (issue 17): base API, fine-tuned API and fine-tuned self-hosted side
by side at each volume, with the one-off training runs and what they add per day.

An option's role comes from the scenario: a paid API named in `fine_tune.options` is a
fine-tuned API, one that is not is the base API; likewise for self-hosted options. The figures
are compare's JSON (`daily_cost`, the line items of category `fine_tune`, `cost_per_request`,
and the `quality` key's accuracy and cost per correct answer when the scenario has one).
"""

from __future__ import annotations

from html import escape
from typing import Any

from llmecon.core.fine_tune import FINE_TUNE
from llmecon.report.html.quality_section import status
from llmecon.report.numbers import money, volume

KIND_WORDS = {"api": "API", "self_hosted": "self-hosted"}


def role(kind: str, tuned: bool) -> str:
    """'base API', 'fine-tuned API', 'fine-tuned self-hosted', 'self-hosted (base model)'."""
    words = KIND_WORDS.get(kind, kind.replace("_", " "))
    if tuned:
        return f"fine-tuned {words}"
    return "base API" if kind == "api" else f"{words} (base model)"


def _tuning(option: dict[str, Any]) -> float:
    return float(
        sum(item["daily_cost"] for item in option["line_items"] if item["category"] == FINE_TUNE)
    )


def fine_tune_section(data: dict[str, Any], comparison: dict[str, Any]) -> dict[str, Any] | None:
    """The three-way comparison, or None when the scenario has no `fine_tune:` block."""
    spec = data.get("fine_tune")
    if not isinstance(spec, dict):
        return None
    tuned = set(spec.get("options") or {})
    days = spec["amortize_days"]
    quality = {
        (result["requests_per_day"], row["name"]): row
        for result in (comparison.get("quality") or {}).get("results", [])
        for row in result["options"]
    }
    volumes = []
    for result in comparison["results"]:
        rows = []
        for option in result["options"]:
            measured = quality.get((result["requests_per_day"], option["name"]))
            rows.append(
                {
                    "name": option["name"],
                    "role": role(option["kind"], option["name"] in tuned),
                    "daily_cost": option["daily_cost"],
                    "fine_tune_daily_cost": _tuning(option),
                    "cost_per_request": option["cost_per_request"],
                    "quality": None
                    if measured is None
                    else {**measured, "status": status(measured)},
                }
            )
        volumes.append({"requests_per_day": result["requests_per_day"], "options": rows})
    first = comparison["results"][0]["options"]
    runs = [
        {"option": o["name"], "role": role(o["kind"], True), "per_day": _tuning(o),
         "total": _tuning(o) * days, "amortize_days": days}
        for o in first
        if o["name"] in tuned
    ]  # fmt: skip
    return {
        "training_tokens": spec["training_tokens"],
        "epochs": spec.get("epochs", 1),
        "volumes": volumes,
        "runs": runs,
        "with_quality": bool(quality),
        "answer": _answer(volumes),
    }


def _answer(volumes: list[dict[str, Any]]) -> str:
    """At each volume, the cheapest of the compared options, by role."""
    parts = []
    for item in volumes:
        best = item["options"][0]  # compare's order: cheapest first
        parts.append(
            f"At {volume(item['requests_per_day'])} requests/day the cheapest of the "
            f"{_count(len(item['options']))} is {best['name']} ({best['role']}, "
            f"{money(best['daily_cost'])}/day)"
        )
    return "; ".join(parts) + "."


def _count(n: int) -> str:
    return {2: "two", 3: "three"}.get(n, f"{n} options")


def _cell(value: float | None, field: str, text: str) -> str:
    return f"<td data-field={field} data-value={value!r}>{text}</td>"


def _row(row: dict[str, Any], with_quality: bool) -> str:
    cells = [
        f'<tr data-option="{escape(row["name"])}"><th scope=row>{escape(row["name"])}</th>',
        f"<td>{escape(row['role'])}</td>",
        _cell(row["daily_cost"], "daily_cost", money(row["daily_cost"])),
        _cell(row["fine_tune_daily_cost"], "fine_tune_daily_cost",
              money(row["fine_tune_daily_cost"])),
        _cell(row["cost_per_request"], "cost_per_request", money(row["cost_per_request"])),
    ]  # fmt: skip
    if with_quality:
        q = row["quality"] or {"accuracy": None, "cost_per_correct_answer": None, "status": "-"}
        shown = "-" if q["accuracy"] is None else f"{q['accuracy']:.1%}"
        cells += [
            _cell(q["accuracy"], "accuracy", shown),
            _cell(q["cost_per_correct_answer"], "cost_per_correct_answer",
                  money(q["cost_per_correct_answer"])),
            f"<td>{escape(q['status'])}</td>",
        ]  # fmt: skip
    return "".join(cells) + "</tr>"


def render_fine_tune(section: dict[str, Any] | None, p: str = "") -> str:
    if section is None:
        return ""
    extra = (
        "<th scope=col>accuracy</th><th scope=col>per correct answer</th>"
        "<th scope=col>quality bar</th>"
        if section["with_quality"]
        else ""
    )
    tables = "".join(
        f"<table class=finetune data-volume={item['requests_per_day']!r}><caption>Base and "
        f"fine-tuned at {volume(item['requests_per_day'])} requests/day</caption><thead><tr>"
        "<th scope=col>option</th><th scope=col>role</th><th scope=col>per day</th>"
        "<th scope=col>of which fine-tuning</th><th scope=col>per request</th>"
        f"{extra}</tr></thead><tbody>"
        + "".join(_row(row, section["with_quality"]) for row in item["options"])
        + "</tbody></table>"
        for item in section["volumes"]
    )
    runs = "".join(
        f"<tr><th scope=row>{escape(run['option'])}</th><td>${run['total']:,.2f}</td>"
        f"<td>{run['amortize_days']:g} days</td><td>{money(run['per_day'])}/day</td></tr>"
        for run in section["runs"]
    )
    hint = (
        ""
        if section["with_quality"]
        else "<p>Add a <code>quality:</code> block (accuracy per option from <code>llmecon "
        "eval</code>) to see whether the fine-tuned accuracy pays for its dearer tokens.</p>"
    )
    return (
        f"<section id={p}finetune aria-labelledby={p}finetune-h><h2 id={p}finetune-h>Base API, "
        "fine-tuned API, fine-tuned self-hosted</h2><p>A one-off training run of "
        f"{section['training_tokens']:,.0f} tokens x {section['epochs']:g} epochs per "
        "fine-tuned option, spread evenly over its amortization period and billed every day "
        "(the line item <em>fine-tuning (amortized)</em>); a fine-tuned API also charges its "
        f"higher inference prices.</p><p class=answer data-answer=finetune>"
        f"{escape(section['answer'])}</p>{hint}{tables}"
        "<table class=finetune-runs><caption>One-off training runs</caption><thead><tr>"
        "<th scope=col>option</th><th scope=col>once</th><th scope=col>amortized over</th>"
        f"<th scope=col>per day</th></tr></thead><tbody>{runs}</tbody></table></section>"
    )
