"""A report from a `llmecon bench` result alone (`llmecon report --bench RESULT.json`): measured
capacity, $/1M tokens and break-evens as the result file has them, and replicas at volumes.

Replicas at volumes come from a scenario built from the result (the page shows it as YAML):
the measured endpoint at the result's hourly price, sized by `capacity: {profile: FILE}` (the
best valid run, as every scenario reads a bench result), at the mean tokens per request of that
run, against the paid APIs the bench compared. `llmecon compare` on that YAML prints the same
tables.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import yaml

from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.report.html.bench_section import bench_summary
from llmecon.report.html.breakevens import render_breakevens
from llmecon.report.html.build import build_report
from llmecon.report.html.page import (
    document,
    render_bench,
    render_prices,
    render_results,
    scrollable,
)
from llmecon.report.numbers import clean, money
from llmecon.scenario.capacity_source import best_profile_run, run_rate

DEFAULT_VOLUMES = (1_000.0, 10_000.0, 100_000.0, 1_000_000.0)
MEASURED = "measured endpoint"  # the self-hosted option's name, as in the bench's break-evens
COST_FIELDS = ("per_1m_output_tokens", "per_1m_tokens_blended")


def bench_report(
    data: Any, path: Path, book: PriceBook, volumes: tuple[float, ...] = ()
) -> dict[str, Any]:
    """The page data: the bench runs, their costs and break-evens, and the sized comparison."""
    summary = bench_summary(data)
    best = best_profile_run(data)
    if best is None:
        raise LlmeconError(
            f"--bench {path}: no valid run with a positive throughput; rerun the bench "
            "(see the reasons it printed)"
        )
    runs = [run for run in data["runs"] if isinstance(run, dict)]
    priced = next((run["cost"] for run in runs if isinstance(run.get("cost"), dict)), None)
    scenario = None
    if priced is not None:
        scenario = derived_scenario(data, best, priced, path.name, volumes or DEFAULT_VOLUMES)
    return {
        "title": f"{data.get('model')} at {data.get('endpoint')}: measured capacity and cost",
        "source": str(path),
        "bench": summary,
        "best_run": runs.index(best) + 1,
        "capacity_rps": clean(run_rate(best)),
        "goodput": (best.get("summary") or {}).get("goodput_requests_per_second") is not None,
        "hourly": _hourly(priced),
        "runs": [_cost_row(n, run) for n, run in enumerate(runs, start=1)],
        "scenario_yaml": None if scenario is None else yaml.safe_dump(scenario, sort_keys=False),
        "report": None
        if scenario is None
        else build_report(scenario, book, f"{path.name} (llmecon bench)", path.parent),
    }


def _hourly(cost: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if cost is None else {"price": cost["hourly_price"], "source": cost["source"]}


def _cost_row(number: int, run: dict[str, Any]) -> dict[str, Any]:
    summary = run.get("summary") or {}
    cost = run.get("cost") or {}
    peak = cost.get("max_throughput") or {}
    slo = cost.get("slo_goodput") or {}
    return {
        "name": f"run {number}",
        "requests_per_second": summary.get("requests_per_second"),
        "output_tokens_per_second": summary.get("output_tokens_per_second"),
        **{field: peak.get(field) for field in COST_FIELDS},
        "slo_per_1m_output_tokens": slo.get("per_1m_output_tokens"),
        "breakeven": cost.get("breakeven") or [],
    }


def derived_scenario(
    data: dict[str, Any], best: dict[str, Any], cost: dict[str, Any], file_name: str,
    volumes: tuple[float, ...],
) -> dict[str, Any]:  # fmt: skip
    """The scenario that sizes the measured endpoint at `volumes` (YAML-ready plain data)."""
    summary = best["summary"]
    rate = summary["requests_per_second"]
    apis = []
    for run in data["runs"]:
        for item in (run.get("cost") or {}).get("breakeven") or []:
            if item.get("api") and item["api"] not in apis:
                apis.append(item["api"])
    options: list[dict[str, Any]] = [{"name": api, "api": {"model": api}} for api in apis]
    options.append({"name": MEASURED, "self_hosted": {
        "hourly_price": cost["hourly_price"], "capacity": {"profile": file_name}}})  # fmt: skip
    return {
        "name": f"{data.get('model')} measured by llmecon bench ({file_name})",
        "workload": {
            "requests_per_day": [clean(v) for v in volumes],
            "input_tokens": clean(summary["input_tokens_per_second"] / rate),
            "output_tokens": clean(summary["output_tokens_per_second"] / rate),
        },
        "options": options,
        "notes": [
            f"{MEASURED}: ${cost['hourly_price']:g}/h from the bench result ({cost['source']}); "
            f"tokens per request are the measured means of run {data['runs'].index(best) + 1}, "
            "the best valid run (the one capacity: {profile} reads).",
        ],
    }


def _cell(value: float | None, field: str) -> str:
    shown = "-" if value is None else (money(value) if field.startswith("per_1m") else
                                       f"{value:,.4g}")  # fmt: skip
    return f"<td data-field={field} data-value={value!r}>{shown}</td>"


def render_costs(report: dict[str, Any]) -> str:
    """Each run's throughput and $/1M tokens at full use, and its break-evens, from the file."""
    hourly = report["hourly"]
    if hourly is None:
        return (
            "<section id=benchcost aria-labelledby=benchcost-h><h2 id=benchcost-h>Cost</h2>"
            "<p>This bench result has no hourly price: rerun <code>llmecon bench</code> with "
            "<code>--instance NAME</code> or <code>--hourly-price USD</code> (and "
            "<code>--api MODEL</code> for break-evens) to see $/1M tokens and replicas at "
            "volumes.</p></section>"
        )
    rows = "".join(
        f'<tr data-option="{run["name"]}"><th scope=row>{run["name"]}</th>'
        + "".join(_cell(run[f], f) for f in ("requests_per_second", "output_tokens_per_second"))
        + "".join(_cell(run[f], f) for f in COST_FIELDS)
        + f"<td>{money(run['slo_per_1m_output_tokens'])}</td></tr>"
        for run in report["runs"]
    )
    breakevens = "".join(
        render_breakevens(
            run["breakeven"],
            f"{run['name'].capitalize()}: break-evens with the paid APIs at this run's throughput",
        )
        for run in report["runs"]
        if run["breakeven"]
    )
    return (
        "<section id=benchcost aria-labelledby=benchcost-h><h2 id=benchcost-h>Cost per 1M "
        f"tokens</h2><p>At ${hourly['price']:g}/h ({escape(hourly['source'])}), one replica "
        "running all hour at each run's throughput:</p><table class=benchcost><caption>Cost at "
        "each run's throughput</caption><thead><tr><th scope=col>run</th><th scope=col>requests/s"
        "</th><th scope=col>output tokens/s</th><th scope=col>per 1M output tokens</th>"
        "<th scope=col>per 1M tokens (blended)</th><th scope=col>per 1M output tokens at the "
        f"SLOs</th></tr></thead><tbody>{rows}</tbody></table>{breakevens}</section>"
    )


def render_bench_page(report: dict[str, Any]) -> str:
    """The whole document for a bench result alone."""
    sized = report["report"]
    at = " at the SLOs (goodput)" if report["goodput"] else ""
    lead = (
        "<section id=capacity aria-labelledby=capacity-h><h2 id=capacity-h>Capacity per "
        f"replica</h2><p class=answer data-answer=capacity>One replica serves "
        f"<strong data-capacity={report['capacity_rps']!r}>{report['capacity_rps']:,.4g} "
        f"requests/s</strong>{at}: run {report['best_run']}, the best valid run, which is "
        "what <code>capacity: {profile: FILE}</code> reads in a scenario.</p></section>"
    )
    parts = [lead, scrollable(render_bench(report["bench"])), scrollable(render_costs(report))]
    if sized is not None:
        parts += [
            render_results(sized),
            "<details class=scenario><summary>The scenario these tables come from (save it "
            "next to the bench result and run <code>llmecon compare</code> on it)</summary>"
            f"<pre class=scenario-yaml>{escape(report['scenario_yaml'])}</pre></details>",
            scrollable(render_prices(sized["prices"], sized["comparison"]["notes"])),
        ]
    header = (
        "<header><p class=kicker>llmecon capacity report</p>"
        f"<h1>{escape(report['title'])}</h1><p class=meta>Bench result: "
        f"{escape(report['source'])}</p></header>"
    )
    return document(report["title"], "\n".join([header, "<main>", *parts, "</main>"]))
