"""The user's own traffic in the report (`--traffic FILE`, or a scenario's `workload.traffic`):
what was observed, what was paid for it, and the sentence `compare --traffic` prints."""

from __future__ import annotations

from html import escape
from typing import Any

from llmecon.core.comparison import Comparison
from llmecon.report.numbers import clean, money, volume
from llmecon.report.traffic_summary import traffic_summary
from llmecon.scenario.traffic_source import TrafficWorkload


def traffic_section(found: TrafficWorkload, comparison: Comparison) -> dict[str, Any]:
    """The observed period, volume, token mix and peak, as plain data."""
    observed = found.observed
    tokens = observed.tokens
    summary = traffic_summary(comparison, found)
    return {
        "label": observed.label,
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
        "days": clean(observed.days),
        "requests": observed.total_requests,
        "requests_per_day": clean(observed.requests_per_day),
        "input_tokens": None if tokens.input is None else clean(tokens.input),
        "output_tokens": None if tokens.output is None else clean(tokens.output),
        "peak_requests_per_second": clean(found.peak_rps),
        "peak_factor": clean(observed.peak_factor),
        "growth_per_month": found.growth_per_month,
        "paid": [{"model": model, "cost": cost} for model, cost in found.paid],
        "summary": summary[0].upper() + summary[1:],
    }


def render_traffic(section: dict[str, Any] | None, p: str = "") -> str:
    if section is None:
        return ""
    paid = "".join(
        f"<tr><th scope=row>{escape(row['model'])}</th><td>"
        f"{'not in the price book' if row['cost'] is None else money(row['cost'])}</td></tr>"
        for row in section["paid"]
    )
    tokens = (
        ""
        if section["input_tokens"] is None
        else f", {section['input_tokens']:,.1f} input and {section['output_tokens']:,.1f} "
        "output tokens per request on average (APIs are priced request by request)"
    )
    growth = section["growth_per_month"]
    trend = "" if growth is None else f" Fitted growth: {growth:+.1%} a month."
    return (
        f"<section id={p}traffic aria-labelledby={p}traffic-h><h2 id={p}traffic-h>Your traffic"
        f"</h2><p class=answer data-answer=traffic>{escape(section['summary'])}</p>"
        f"<p>{escape(section['label'])}: {section['start'][:10]} to {section['end'][:10]} "
        f"({section['days']:,.2f} days), {volume(section['requests'])} requests, "
        f"<span data-requests-per-day={section['requests_per_day']!r}>"
        f"{volume(section['requests_per_day'])} requests/day</span>{tokens}. Busiest hour: "
        f"{section['peak_requests_per_second']:.3g} requests/s ({section['peak_factor']:.3g}x "
        f"the average rate); self-hosted fleets are sized for it.{trend}</p>"
        "<table class=paid><caption>What this traffic cost at catalog prices</caption><thead>"
        "<tr><th scope=col>model used</th><th scope=col>cost over the period</th></tr></thead>"
        f"<tbody>{paid}</tbody></table></section>"
    )
