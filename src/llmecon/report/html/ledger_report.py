"""A report from the gateway's ledger (`llmecon report --ledger URL`): what the live traffic cost
self-hosted (idle included) against what each compared API would have charged for it, per UTC
day and by key, model and upstream, with the break-even position and its honest limits.

`ledger_report` takes `usage_report` documents (exactly `llmecon usage --by BY --format json`,
one per grouping) and adds only words and the products shown as such; the renderer formats.
Under 1 h of metered time or 100 requests there is no verdict, as in `llmecon usage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from llmecon.report.html.day_chart import day_chart_svg, day_lines
from llmecon.report.html.page import document, render_chart_block, scrollable
from llmecon.report.numbers import money, volume

GROUPINGS = ("model", "key", "upstream", "day")
TITLES = {"key": "API key", "model": "model", "upstream": "upstream", "day": "UTC day"}
SELF_HOSTED = "self-hosted, idle included"
FIELDS = ("requests", "prompt_tokens", "completion_tokens", "self_hosted_cost", "idle_cost")


def ledger_report(usages: Mapping[str, dict[str, Any]], source: str) -> dict[str, Any]:
    """The page data from one usage report per grouping (GROUPINGS)."""
    main = usages["model"]
    totals = main["totals"]
    rate = totals["requests_per_day"]
    position = [
        {
            **item,
            "api_cost_per_day": None
            if item["per_request_usd"] is None or rate is None
            else item["per_request_usd"] * rate,
        }
        for item in totals["breakeven"]
    ]
    days = usages["day"]["rows"]
    apis = sorted(totals["counterfactual_cost"])
    chart = None
    if days:
        names = [row["group"] for row in days]
        lines = day_lines(names, [
            (SELF_HOSTED, "self_hosted", [r["self_hosted_cost"] + r["idle_cost"] for r in days]),
            *((f"on {api}", "api", [r["counterfactual_cost"].get(api, 0.0) for r in days])
              for api in apis),
        ])  # fmt: skip
        chart = {"key": "usage", "svg": day_chart_svg(names, lines, "usage"), "lines": lines}
    return {
        "title": "The gateway's live traffic: self-hosted or a paid API?",
        "source": source,
        "since": main["since"],
        "until": main["until"],
        "usages": dict(usages),
        "apis": apis,
        "position": position,
        "chart": chart,
        "answer": ledger_answer(main, position),
    }


def _span(days: float) -> str:
    seconds = days * 86_400
    if seconds >= 86_400:
        return f"{days:,.1f} days"
    return f"{seconds / 3600:,.2f} h" if seconds >= 360 else f"{seconds:,.1f} s"


def ledger_answer(usage: dict[str, Any], position: list[dict[str, Any]]) -> str:
    """The verdict in one paragraph, or why there is none yet."""
    totals = usage["totals"]
    if usage["basis"] == "none":
        return "The ledger holds no metered time and no traffic in this window: nothing to judge."
    per_day, rate = totals["self_hosted_cost_per_day"], totals["requests_per_day"]
    what = "projected from" if usage["basis"] == "projection" else "over"
    lead = (
        f"{what.capitalize()} {_span(usage['days'])} of metered time: {volume(totals['requests'])} "
        f"requests, {volume(rate or 0)} requests/day; the self-hosted fleet costs "
        f"{money(per_day)}/day, idle included."
    )
    if all(item["self_hosting_cheaper"] is None for item in position):
        why = "; ".join(usage["notes"]) or "no upstream with an hourly price is metered"
        return f"No verdict: {why}. {lead} The figures below are what was measured so far."
    sentences = []
    for item in position:
        if item["self_hosting_cheaper"] is None:
            continue
        side = "self-hosting is cheaper" if item["self_hosting_cheaper"] else "the API is cheaper"
        sentences.append(
            f"On {item['api']} the same traffic would cost {money(item['api_cost_per_day'])}/day "
            f"({money(item['per_request_usd'])}/request): {side} here; self-hosting breaks even "
            f"at {volume(item['breakeven_requests_per_day'])} requests/day."
        )
    return " ".join([lead, *sentences])


def _cell(value: Any, field: str, text: str) -> str:
    return f"<td data-field={field} data-value={value!r}>{text}</td>"


def render_usage_table(usage: dict[str, Any], apis: list[str]) -> str:
    """One row per group (and the total), every figure as `usage --format json` has it."""
    by = usage["by"]
    head = "".join(
        f"<th scope=col>{h}</th>" for h in ("requests", "prompt tokens", "completion tokens",
                                            "self-hosted", "idle")
    ) + "".join(f"<th scope=col>on {escape(api)}</th>" for api in apis)  # fmt: skip
    rows = []
    for row in usage["rows"]:
        label = f"{row['name']} ({row['group']})" if row.get("name") else row["group"]
        cells = [_cell(row[f], f, money(row[f]) if "cost" in f else f"{row[f]:,}") for f in FIELDS]
        for api in apis:
            cost = row["counterfactual_cost"].get(api)
            cells.append("<td>-</td>" if cost is None else _cell(cost, f"api:{api}", money(cost)))
        rows.append(
            f'<tr data-option="{escape(row["group"])}"><th scope=row>{escape(label)}</th>'
            + "".join(cells)
            + "</tr>"
        )
    return (
        f"<table class=usage-{by}><caption>Usage by {TITLES[by]}</caption><thead><tr>"
        f"<th scope=col>{TITLES[by]}</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render_position(report: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr data-option="{escape(item["api"])}"><th scope=row>{escape(item["api"])}</th>'
        f"<td>{money(item['cost_usd'])}</td>"
        + _cell(item["per_request_usd"], "per_request_usd", money(item["per_request_usd"]))
        + _cell(item["api_cost_per_day"], "api_cost_per_day", money(item["api_cost_per_day"]))
        + _cell(
            item["breakeven_requests_per_day"],
            "breakeven_requests_per_day",
            _volume(item["breakeven_requests_per_day"]),
        )
        + f"<td>{_verdict(item['self_hosting_cheaper'])}</td></tr>"
        for item in report["position"]
    )
    return (
        "<table class=usage-position><caption>Break-even position of the live traffic</caption>"
        "<thead><tr><th scope=col>paid API</th><th scope=col>same traffic cost</th>"
        "<th scope=col>per request</th><th scope=col>per day at today's volume</th>"
        "<th scope=col>self-hosting breaks even at (requests/day)</th><th scope=col>verdict</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _when(stamp: str | None, otherwise: str) -> str:
    """'2026-01-03 00:00 UTC' from an ISO timestamp in UTC."""
    return otherwise if stamp is None else f"{stamp[:16].replace('T', ' ')} UTC"


def _volume(value: float | None) -> str:
    return "-" if value is None else volume(value)


def _verdict(cheaper: bool | None) -> str:
    return {True: "▶ self-hosting cheaper", False: "◀ API cheaper", None: "no verdict yet"}[cheaper]


def render_ledger_page(report: dict[str, Any]) -> str:
    usages = report["usages"]
    window = f"{_when(report['since'], 'the first request')} to {_when(report['until'], 'now')}"
    parts = [
        "<section id=answer aria-labelledby=answer-h><h2 id=answer-h>The answer so far</h2>"
        f"<p class=answer data-answer=ledger>{escape(report['answer'])}</p></section>",
        scrollable(
            "<section id=position aria-labelledby=position-h><h2 id=position-h>Against each "
            "paid API</h2><p>The fleet costs about the same per day whatever it serves (idle "
            "time is paid for); an API charges per request. Self-hosting pays off above the "
            f"fleet's cost per day divided by the API's cost per request.</p>"
            f"{render_position(report)}</section>"
        ),
    ]
    if report["chart"] is not None:
        parts.append(render_chart_block(
            report["chart"], "Cost per UTC day: self-hosted (idle included) and each API",
            "Cost per UTC day of the self-hosted fleet, idle included, and of each paid API "
            "for the same traffic. The same data is in the table below.",
            render_usage_table(usages["day"], report["apis"]),
        ))  # fmt: skip
    for by in ("key", "model", "upstream"):
        parts.append(scrollable(
            f"<section id=usage-by-{by} aria-labelledby=usage-by-{by}-h><h2 "
            f"id=usage-by-{by}-h>By {TITLES[by]}</h2>"
            f"{render_usage_table(usages[by], report['apis'])}</section>"
        ))  # fmt: skip
    notes = "".join(f"<li>{escape(note)}</li>" for note in usages["model"]["notes"])
    parts.append(
        "<section id=notes aria-labelledby=notes-h><h2 id=notes-h>How these figures are made</h2>"
        "<ul><li>Self-hosted cost is each metered upstream's hourly price over its metered "
        "time, split over the requests in flight by their time in flight; the rest is idle, "
        "and it is counted. Per-day figures are over the metered time, not the traffic's span."
        f"</li>{notes}</ul></section>"
    )
    header = (
        "<header><p class=kicker>llmecon usage report</p>"
        f"<h1>{escape(report['title'])}</h1><p class=meta>Ledger: {escape(report['source'])} · "
        f"{escape(window)}</p></header>"
    )
    return document(report["title"], "\n".join([header, "<main>", *parts, "</main>"]))
