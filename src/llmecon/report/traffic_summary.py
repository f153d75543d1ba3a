"""The one-sentence answer for observed traffic: what was paid, what self-hosting would have cost,
and at what multiple of today's volume the two break even."""

from __future__ import annotations

from llmecon.core.bill import Bill
from llmecon.core.comparison import Comparison
from llmecon.report.numbers import money
from llmecon.scenario.traffic_source import TrafficWorkload


def traffic_summary(comparison: Comparison, found: TrafficWorkload) -> str:
    days = found.observed.days
    period = f"{found.start:%Y-%m-%d}..{found.end:%Y-%m-%d}"
    priced = [(model, cost) for model, cost in found.paid if cost is not None]
    unpriced = [model for model, cost in found.paid if cost is None]
    if priced:
        paid = f"you paid {money(sum(c for _, c in priced))} on " + ", ".join(m for m, _ in priced)
    else:
        paid = "your models are not in the price book"
    if unpriced:
        paid += f" (not priced: {', '.join(unpriced)})"
    bills = comparison.results[0].bills
    hosted = [b for b in bills if b.kind == "self_hosted"]
    apis = [b for b in bills if b.kind == "api"]
    if not hosted:
        return f"over {period} {paid}."
    best = hosted[0]
    text = f"over {period} {paid}; {_plan(best, days, found.peak_rps)}"
    if apis:
        text += _breakeven(comparison, apis[0], best, found.observed.requests_per_day)
    return text + "."


def _plan(bill: Bill, days: float, peak_rps: float) -> str:
    replicas = f"{bill.replicas} replica{'s' if bill.replicas != 1 else ''} of {bill.option}"
    return (
        f"the cheapest self-hosted plan for this traffic would have cost "
        f"{money(bill.daily_cost * days)} ({replicas}, peak {peak_rps:.3g} req/s)"
    )


def _breakeven(comparison: Comparison, api: Bill, hosted: Bill, observed: float) -> str:
    pair = {api.option, hosted.option}
    for breakeven in comparison.breakevens:
        if set(breakeven.between) != pair:
            continue
        if breakeven.crossings:
            crossing = breakeven.crossings[0]
            return (
                f"; break-even with {api.option} at {crossing.requests_per_day / observed:.3g}x "
                "today's volume"
            )
        if breakeven.cheaper_throughout:
            return f"; {breakeven.cheaper_throughout} is cheaper at every volume checked"
    return ""
