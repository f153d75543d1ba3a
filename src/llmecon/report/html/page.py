"""The report page: HTML from the report data (`build_report`), self-contained, no network.

The renderer computes nothing: it formats the contract's numbers. `render_results` is the part
the calculator page refreshes; `render_page` wraps it with the trade-offs, prices and notes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from html import escape
from importlib.resources import files
from typing import Any

from llmecon.report.html.breakevens import render_breakevens
from llmecon.report.html.chart import without_size
from llmecon.report.html.considerations import LEANS
from llmecon.report.html.fine_tune_section import render_fine_tune
from llmecon.report.html.quality_section import render_quality
from llmecon.report.html.traffic_section import render_traffic
from llmecon.report.numbers import money, quantity, volume

LEAN_MARKS = {"api": "◀ API", "self_hosted": "▶ self-host", "neutral": "● neutral"}


def asset(name: str) -> str:
    """A packaged asset (CSS, JS, HTML template) as text."""
    return (files("llmecon.report.html") / "assets" / name).read_text(encoding="utf-8")


def render_page(reports: Sequence[dict[str, Any]], bench: dict[str, Any] | None = None) -> str:
    """One self-contained HTML document: one scenario, or several with a table of contents.

    `bench` (a `bench_summary`) is shown once, after the scenarios; a single report's own
    `bench` is shown with it.
    """
    if len(reports) == 1:
        title = reports[0]["title"]
        header = _header(title, reports[0])
        parts = [_scenario_body(reports[0])]
    else:
        title = "; ".join(r["title"] for r in reports)
        header = (
            "<header><p class=kicker>llmecon decision report</p><h1>"
            f"{len(reports)} scenarios</h1><nav aria-label=Scenarios><ol>"
            + "".join(f'<li><a href="#{r["id"]}top">{escape(r["title"])}</a></li>' for r in reports)
            + "</ol></nav></header>"
        )
        parts = [
            f"<article id={r['id']}top aria-labelledby={r['id']}title>"
            f"{_header(r['title'], r, tag='h2', heading_id=r['id'] + 'title')}"
            f"{_scenario_body(r)}</article>"
            for r in reports
        ]
    parts.append(scrollable(render_bench(bench)))
    return document(title, "\n".join([header, "<main>", *parts, "</main>"]))


def document(title: str, body: str) -> str:
    """The HTML document around `body`, with the report's inline CSS and hover script."""
    return (
        asset("page.html")
        .replace("{{title}}", escape(title))
        .replace("{{css}}", asset("report.css"))
        .replace("{{js}}", asset("report.js"))
        .replace("{{body}}", body)
    )


def _header(title: str, report: dict[str, Any], tag: str = "h1", heading_id: str = "") -> str:
    kicker = "<p class=kicker>llmecon decision report</p>" if tag == "h1" else ""
    ident = f" id={heading_id}" if heading_id else ""
    return (
        f"<header>{kicker}<{tag}{ident}>{escape(title)}</{tag}>"
        f"<p class=meta>Scenario: {escape(report['source'])} · price book "
        f"{escape(str(report['comparison'].get('price_book')))}</p></header>"
    )


def _scenario_body(report: dict[str, Any]) -> str:
    prefix = report.get("id", "")
    return "\n".join(
        [
            render_results(report),
            scrollable(render_quality(report.get("quality"), prefix)),
            scrollable(render_fine_tune(report.get("fine_tune"), prefix)),
            scrollable(render_considerations(report["considerations"], prefix)),
            scrollable(render_bench(report.get("bench"), prefix)),
            scrollable(render_prices(report["prices"], report["comparison"]["notes"], prefix)),
        ]
    )


def render_results(report: dict[str, Any]) -> str:
    """Question, answer, chart (with its table), break-evens and the tables per volume."""
    corrected = report.get("corrected")
    comparison = report["comparison"]
    p = report.get("id", "")
    parts = [
        f"<section id={p}answer aria-labelledby={p}answer-h><h2 id={p}answer-h>The question and "
        "the answer</h2>",
        f"<p class=question><strong>Question:</strong> {escape(report['question'])}</p>",
    ]
    if corrected is not None:
        parts += [
            f"<p class=answer data-answer=corrected><strong>Answer, with capacity counted:"
            f"</strong> {escape(corrected['answer'])}</p>",
            f"<p class=asprice><strong>As the scenario is written</strong> (a fixed fleet at "
            f"every volume): {escape(report['answer'])}</p>",
        ]
    else:
        parts.append(
            f"<p class=answer data-answer=main><strong>Answer:</strong> "
            f"{escape(report['answer'])}</p>"
        )
    parts.append("</section>")
    parts.append(render_traffic(report.get("traffic"), p))
    parts.append(render_chart(report["chart"]))
    parts.append(render_comparison(comparison, "as written" if corrected else "", "main"))
    if corrected is not None:
        parts += [
            f"<section id={p}corrected aria-labelledby={p}corrected-h>"
            f"<h2 id={p}corrected-h>Capacity counted</h2>",
            f"<p>{escape(corrected['why'])}</p>",
            render_chart(corrected["chart"]),
            render_comparison(corrected["comparison"], "with capacity", "corrected"),
            "</section>",
        ]
    parts.append(render_sensitivity(report.get("sensitivity") or [], p))
    return scrollable("\n".join(parts))


def render_sensitivity(rows: list[dict[str, Any]], p: str = "") -> str:
    """What flips the decision: the margin between the cheapest and the runner-up per volume."""
    if not rows:
        return ""
    body = "".join(
        f"<tr><th scope=row>{volume(r['requests_per_day'])}</th><td>{escape(r['cheapest'])}</td>"
        f"<td>{escape(r['runner_up'])}</td><td data-margin=rise>{r['cheapest_may_rise']:,.1%}</td>"
        f"<td data-margin=fall>{r['runner_up_must_fall']:,.1%}</td></tr>"
        for r in rows
    )
    return (
        f"<section id={p}sensitivity aria-labelledby={p}sensitivity-h><h2 id={p}sensitivity-h>"
        "What flips the decision</h2><p>At each volume, the cheapest option stays cheapest "
        "unless its daily cost rises by more than the first margin (a price rise, more tokens "
        "per request, lower throughput per replica) or the runner-up's falls by more than the "
        "second (a discount, a reserved or spot price, a faster engine). Volume changes flip it "
        "at the break-evens above.</p><table><caption>Margins before the order flips</caption>"
        "<thead><tr><th scope=col>requests/day</th><th scope=col>cheapest</th>"
        "<th scope=col>runner-up</th><th scope=col>cheapest may rise by</th>"
        f"<th scope=col>runner-up must fall by</th></tr></thead><tbody>{body}</tbody></table>"
        "</section>"
    )


_TABLE = re.compile(r"<table[ >].*?<caption>(.*?)</caption>.*?</table>", re.S)


def scrollable(html: str) -> str:
    """Each table in a keyboard-reachable region that scrolls sideways on a narrow screen."""
    return _TABLE.sub(
        lambda m: (
            f'<div class=scroll tabindex=0 role=region aria-label="{m.group(1)} (table)">'
            f"{m.group(0)}</div>"
        ),
        html,
    )


def render_chart(chart: dict[str, Any]) -> str:
    lines = chart["lines"]
    picks = sorted(set(range(0, len(lines[0]["points"]), 6)) | {len(lines[0]["points"]) - 1})
    head = "".join(f"<th scope=col>{escape(line['option'])}</th>" for line in lines)
    rows = "".join(
        f"<tr><th scope=row>{volume(lines[0]['points'][i]['requests_per_day'])}</th>"
        + "".join(f"<td>{money(line['points'][i]['daily_cost'])}</td>" for line in lines)
        + "</tr>"
        for i in picks
    )
    key = chart["key"]
    title = "Daily cost against volume" + (
        " (capacity counted)" if key.endswith("corrected") else ""
    )
    table = (
        f"<table><caption>Daily cost by requests/day</caption><thead><tr>"
        f"<th scope=col>requests/day</th>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
    label = (
        "Daily cost of each option against requests per day, log scales; break-evens marked "
        "with stars. The same data is in the table below."
    )
    caption = (
        "Solid lines: paid APIs; dashed: self-hosted; each option has its own marker and its "
        "name at the end of its line. Stars: break-evens. Hover a point for its value."
    )
    return render_chart_block(chart, title, label, table, caption)


def render_chart_block(
    chart: dict[str, Any], title: str, label: str, table: str, caption: str = ""
) -> str:
    """A chart (`key`, `svg`, `lines` with hover labels) with its title, an accessible label,
    a caption and its table equivalent (collapsed; opened when printed)."""
    key = chart["key"]
    data = json.dumps(chart["lines"]).replace("</", "<\\/")
    caption = caption or "Each line has its own marker; hover a point for its value."
    return (
        f"<section class=chartblock data-chart={key} aria-labelledby={key}-chart-h>"
        f"<h2 id={key}-chart-h>{escape(title)}</h2>"
        f'<figure><div class=chart role=img aria-label="{escape(label)}">'
        f"{without_size(chart['svg'])}</div>"
        "<div class=tooltip role=status aria-live=polite hidden></div>"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
        f"<script type=application/json class=chart-data>{data}</script>"
        "<details class=chartdata><summary>The chart as a table</summary>"
        f"{table}</details></section>"
    )


_COLUMNS = (
    ("daily_cost", "per day"), ("monthly_cost", "per month"), ("yearly_cost", "per year"),
    ("cost_per_request", "per request"), ("cost_per_1m_tokens", "per 1M tokens"),
)  # fmt: skip


def render_comparison(comparison: dict[str, Any], label: str, variant: str) -> str:
    """One table per volume; every number carries data attributes the tests compare to JSON."""
    parts = [f"<section class=tables data-variant={variant}>"]
    heading = f" ({escape(label)})" if label else ""
    for result in comparison["results"]:
        rpd = result["requests_per_day"]
        parts.append(
            f"<table class=costs data-volume={rpd!r}><caption>{volume(rpd)} requests/day"
            f"{heading}</caption><thead><tr><th scope=col>rank</th><th scope=col>option</th>"
            "<th scope=col>kind</th><th scope=col>replicas</th>"
            + "".join(f"<th scope=col>{title}</th>" for _, title in _COLUMNS)
            + "<th scope=col>capacity source</th></tr></thead><tbody>"
        )
        parts += [_option_row(option) for option in result["options"]]
        parts.append("</tbody></table>")
    parts.append(render_breakevens(comparison["breakeven"]))
    parts.append("</section>")
    return "\n".join(parts)


def _option_row(option: dict[str, Any]) -> str:
    rank = "★ cheapest" if option["cheapest"] else str(option["rank"])
    replicas = "-" if option["replicas"] is None else str(option["replicas"])
    source = (option.get("capacity") or {}).get("source") or (
        "fixed fleet" if option["kind"] != "api" else "-"
    )
    cells = "".join(
        f"<td data-field={key} data-value={option[key]!r}>{money(option[key])}</td>"
        for key, _ in _COLUMNS
    )
    return (
        f'<tr data-option="{escape(option["name"])}"><td>{rank}</td>'
        f"<th scope=row>{escape(option['name'])}</th><td>{escape(option['kind'])}</td>"
        f"<td data-field=replicas>{replicas}</td>{cells}<td>{escape(str(source))}</td></tr>"
    )


def render_considerations(rows: list[dict[str, Any]], p: str = "") -> str:
    body = "".join(
        f"<tr data-topic={row['key']}><th scope=row>{escape(row['title'])}<br>"
        f"<span class=q>{escape(row['question'])}</span></th>"
        f"<td>{escape(row['answer'] or 'not stated')}"
        + (f"<br><span class=q>{escape(row['comment'])}</span>" if row["comment"] else "")
        + f"</td><td>{escape(row['consequence'])}</td>"
        f"<td class=lean-{row['lean']}>{LEAN_MARKS[row['lean']]}"
        f"<span class=sr> ({LEANS[row['lean']]})</span></td></tr>"
        for row in rows
    )
    return (
        f"<section id={p}tradeoffs aria-labelledby={p}tradeoffs-h><h2 id={p}tradeoffs-h>Beyond "
        "cost: the "
        "trade-offs</h2><p>The article's conclusion is half about things other than cost. State "
        "them in the scenario (<code>considerations:</code>); each answer's consequence is below."
        "</p><table class=tradeoffs><caption>Non-cost trade-offs</caption><thead><tr>"
        "<th scope=col>topic</th><th scope=col>scenario's answer</th><th scope=col>consequence"
        f"</th><th scope=col>leans</th></tr></thead><tbody>{body}</tbody></table></section>"
    )


def render_bench(bench: dict[str, Any] | None, p: str = "") -> str:
    if bench is None:
        return ""
    cols = ("load", "completed", "requests_per_second", "output_tokens_per_second",
            "ttft_p50_ms", "ttft_p95_ms", "e2e_p50_ms", "e2e_p95_ms",
            "cost_per_1m_output_tokens", "valid")  # fmt: skip
    head = "".join(f"<th scope=col>{c.replace('_', ' ')}</th>" for c in cols)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(run[c]))}</td>" for c in cols) + "</tr>"
        for run in bench["runs"]
    )
    return (
        f"<section id={p}bench aria-labelledby={p}bench-h><h2 id={p}bench-h>Measured capacity "
        "(bench)</h2>"
        f"<p>{escape(str(bench.get('model')))} at {escape(str(bench.get('endpoint')))}</p>"
        f"<table><caption>Bench runs</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return quantity(value)
    return str(value)


def render_notes(notes: list[str]) -> str:
    """The comparison's notes (what the numbers assume), for pages without the prices section."""
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return (
        "<section id=notes aria-labelledby=notes-h><h2 id=notes-h>Notes</h2>"
        f"<ul>{items}</ul></section>"
    )


def render_prices(prices: list[dict[str, Any]], notes: list[str], p: str = "") -> str:
    rows = "".join(
        f"<tr><td>{escape(p['option'])}</td><td>{escape(p['item'])}</td>"
        f"<td>{money(p['unit_price'])} / {escape(p['unit'])}</td><td>{escape(p['source'])}</td>"
        f"<td>{escape(p['as_of'] or 'not dated')}</td></tr>"
        for p in prices
    )
    note_items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return (
        f"<section id={p}assumptions aria-labelledby={p}assumptions-h><h2 id={p}assumptions-h>"
        "Every price "
        "and assumption</h2><table><caption>Prices used, with source and date</caption><thead>"
        "<tr><th scope=col>option</th><th scope=col>item</th><th scope=col>price</th>"
        f"<th scope=col>source</th><th scope=col>as of</th></tr></thead><tbody>{rows}</tbody>"
        f"</table><h3>Notes</h3><ul>{note_items}</ul></section>"
    )
