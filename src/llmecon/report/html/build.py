"""The report's data: everything a page shows, as plain JSON-ready data (the page contract).

`build_report` runs the comparison once and gathers what the HTML renderer needs; the renderer
computes nothing. The numbers under "comparison" are exactly `compare --format json`'s.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmecon import records
from llmecon.core.comparison import Comparison, compare
from llmecon.core.options import requests_in_flight
from llmecon.core.series import cost_series, volume_span
from llmecon.pricebook.book import PriceBook
from llmecon.report.contract import comparison_to_dict
from llmecon.report.html.bench_section import bench_summary
from llmecon.report.html.chart import chart_points, chart_svg
from llmecon.report.html.considerations import checklist
from llmecon.report.html.fine_tune_section import fine_tune_section
from llmecon.report.html.quality_section import quality_section
from llmecon.report.html.traffic_section import traffic_section
from llmecon.report.numbers import money, volume
from llmecon.report.words import breakeven_sentences
from llmecon.scenario import scenario_from_data
from llmecon.scenario.quality_source import with_min_accuracy
from llmecon.scenario.schema import ScenarioSpec
from llmecon.scenario.traffic_source import TrafficWorkload, split_traffic, workload_data

CONTRACT_VERSION = 1


def build_report(
    data: dict[str, Any],
    book: PriceBook,
    label: str,
    base: Path | None = None,
    *,
    bench: dict[str, Any] | None = None,
    key: str = "",
    traffic: TrafficWorkload | None = None,
    min_accuracy: float | None = None,
) -> dict[str, Any]:
    """The report for scenario `data` (as parsed from YAML), optionally with a bench result;
    `key` prefixes the page ids, so several reports can share one page. `traffic` (observed
    traffic, as `compare --traffic` takes it) replaces the workload; `min_accuracy` is
    `--min-accuracy`."""
    run = _Run(book, label, base, traffic, min_accuracy)
    comparison, series = run(data)
    compared = comparison_to_dict(comparison, book.version)
    report: dict[str, Any] = {
        "contract": CONTRACT_VERSION,
        "id": key,
        "title": comparison.scenario,
        "source": label,
        "question": question(
            data if traffic is None else {**data, "workload": workload_data(traffic)}, comparison
        ),
        "comparison": compared,
        "answer": answer(comparison),
        "chart": _chart(comparison, series, f"{key}main"),
        "corrected": None,
        "considerations": checklist(_considerations(split_traffic(data, label)[0])),
        "prices": price_rows(comparison),
        "sensitivity": [],
        "bench": None if bench is None else bench_summary(bench),
        "traffic": None if traffic is None else traffic_section(traffic, comparison),
        "quality": quality_section(compared),
        "fine_tune": fine_tune_section(data, compared),
    }
    corrected_data = capacity_corrected(data, comparison)
    report["sensitivity"] = margins(comparison)
    if corrected_data is not None:
        fixed, fixed_series = run(corrected_data)
        report["sensitivity"] = margins(fixed)
        report["corrected"] = {
            "chart": _chart(fixed, fixed_series, f"{key}corrected"),
            "why": _correction_reason(data, corrected_data),
            "comparison": comparison_to_dict(fixed, book.version),
            "answer": answer(fixed) + fleet_sentence(fixed),
        }
    return report


@dataclass(frozen=True)
class _Run:
    """Compares scenario data the way `compare` does, with the same traffic and quality bar."""

    book: PriceBook
    label: str
    base: Path | None
    traffic: TrafficWorkload | None
    min_accuracy: float | None

    def __call__(self, data: dict[str, Any]) -> tuple[Comparison, Any]:
        scenario = scenario_from_data(
            data, self.book, self.label, base=self.base, traffic=self.traffic
        )
        scenario = with_min_accuracy(scenario, self.min_accuracy)
        comparison = compare(scenario)
        return comparison, cost_series(scenario, volume_span(comparison), points=200)


def _chart(comparison: Comparison, series: Any, key: str) -> dict[str, Any]:
    marks: dict[str, str] = {}
    if comparison.quality is not None:
        below = [row.option for v in comparison.quality.volumes for row in v.options
                 if row.meets_bar is False]  # fmt: skip
        marks = dict.fromkeys(below, "below the quality bar")
    return {
        "key": key,
        "svg": chart_svg(comparison, series, key, marks),
        "lines": chart_points(series),
    }


def _considerations(data: dict[str, Any]) -> dict[str, Any] | None:
    spec = records.read(ScenarioSpec, data).considerations
    return None if spec is None else {k: v for k, v in vars(spec).items() if v is not None}


def question(data: dict[str, Any], comparison: Comparison) -> str:
    """'At 1,000 and 1,000,000 requests/day (667 tokens each), is ... cheaper?'"""
    kinds = {bill.option: bill.kind for bill in comparison.results[0].bills}
    apis = [name for name, kind in kinds.items() if kind == "api"]
    hosted = [name for name, kind in kinds.items() if kind != "api"]
    volumes = " and ".join(volume(r.requests_per_day) for r in comparison.results)
    workload = data.get("workload", {})
    tokens = workload.get("tokens_per_request")
    if tokens is None and "input_tokens" in workload:
        tokens = f"{workload['input_tokens']:g} in + {workload.get('output_tokens', 0):g} out"
    each = f" ({tokens} tokens each)" if tokens is not None else ""
    sides = [f"a paid API ({', '.join(apis)})" if apis else "",
             f"self-hosting ({', '.join(hosted)})" if hosted else ""]  # fmt: skip
    options = " or ".join(side for side in sides if side)
    return f"At {volumes} requests/day{each}, is {options} cheaper, and where is the break-even?"


def answer(comparison: Comparison) -> str:
    """The cheapest option at each volume, then each break-even, in one sentence."""
    cheapest = [(r.requests_per_day, r.bills[0]) for r in comparison.results]
    names = {bill.option for _, bill in cheapest}
    costs = ", ".join(
        f"{money(bill.daily_cost)}/day at {volume(v)} requests/day" for v, bill in cheapest
    )
    if len(names) == 1:
        lead = f"at every volume asked the cheapest is {cheapest[0][1].option} ({costs})"
    else:
        lead = "the cheapest is " + ", ".join(
            f"{bill.option} at {volume(v)} requests/day ({money(bill.daily_cost)}/day)"
            for v, bill in cheapest
        )
    kinds = {bill.option: bill.kind for bill in comparison.results[0].bills}
    leader = next(iter(names)) if len(names) == 1 else None
    sentences = [
        sentence
        for breakeven in comparison.breakevens
        if leader is None or leader in breakeven.between
        for sentence in breakeven_sentences(breakeven, kinds)
    ]
    text = "; ".join([lead, *sentences])
    return text[0].upper() + text[1:] + "."


def margins(comparison: Comparison) -> list[dict[str, Any]]:
    """At each volume, how far the cheapest option's daily cost may rise (or the runner-up's
    fall) before the order flips: every cost here is linear in its prices, so the ratio says."""
    rows = []
    for result in comparison.results:
        if len(result.bills) < 2 or result.bills[0].daily_cost <= 0:
            continue
        first, second = result.bills[0], result.bills[1]
        rows.append(
            {
                "requests_per_day": result.requests_per_day,
                "cheapest": first.option,
                "runner_up": second.option,
                "cheapest_may_rise": second.daily_cost / first.daily_cost - 1,
                "runner_up_must_fall": 1 - first.daily_cost / second.daily_cost,
            }
        )
    return rows


def fleet_sentence(comparison: Comparison) -> str:
    """' At 1,000,000 requests/day flan needs 58 replicas ($8,711.67/day).' for sized fleets."""
    top = max(comparison.results, key=lambda r: r.requests_per_day)
    fleets = [
        f"{bill.option} needs {bill.replicas:,} replicas ({money(bill.daily_cost)}/day)"
        for bill in top.bills
        if bill.replicas is not None and bill.replicas > 1
    ]
    if not fleets:
        return ""
    return f" At {volume(top.requests_per_day)} requests/day {'; '.join(fleets)}."


def capacity_corrected(data: dict[str, Any], comparison: Comparison) -> dict[str, Any] | None:
    """The scenario with replicas sized from its own seconds per request, where a fixed fleet
    cannot serve the volume (one request at a time per replica, Little's law); None if none."""
    top = max(r.requests_per_day for r in comparison.results)
    fixed = copy.deepcopy(data)
    changed = False
    for option in fixed.get("options", []):
        hosted = option.get("self_hosted")
        if not isinstance(hosted, dict) or "capacity" in hosted:
            continue
        seconds = (hosted.get("lambda") or {}).get("seconds_per_request")
        replicas = hosted.get("replicas", 1)
        if not seconds or requests_in_flight(top, seconds) <= replicas:
            continue
        hosted.pop("replicas", None)
        hosted["capacity"] = {
            "seconds_per_request": seconds,
            "concurrency": 1,
            "min_replicas": replicas,
        }
        changed = True
    return fixed if changed else None


def _correction_reason(data: dict[str, Any], fixed: dict[str, Any]) -> str:
    names = [
        new["name"]
        for old, new in zip(data["options"], fixed["options"], strict=True)
        if old != new
    ]
    seconds = {
        new["self_hosted"]["capacity"]["seconds_per_request"]
        for old, new in zip(data["options"], fixed["options"], strict=True)
        if old != new
    }
    each = " and ".join(f"{s:g} s" for s in sorted(seconds))
    return (
        f"The scenario prices {', '.join(names)} with a fixed fleet at every volume, but at its "
        f"own {each} per request, served one at a time, that fleet cannot serve the larger "
        "volumes (Little's law). Below, replicas are sized from that throughput instead."
    )


def price_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Every distinct price the comparison used, with its source and date."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for result in comparison.results:
        for bill in result.bills:
            for item in bill.line_items:
                key = (bill.option, item.name, item.unit_price, item.unit)
                rows.setdefault(
                    key,
                    {
                        "option": bill.option,
                        "item": item.name,
                        "unit_price": item.unit_price,
                        "unit": item.unit,
                        "source": item.source,
                        "as_of": None if item.as_of is None else item.as_of.isoformat(),
                    },
                )
    return list(rows.values())
