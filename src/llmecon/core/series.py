"""Daily cost sampled over a range of volumes, for plots (the sampling is the core's job)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmecon.core.comparison import Comparison, Scenario


@dataclass(frozen=True)
class CostSeries:
    option: str
    kind: str
    volumes: tuple[float, ...]
    daily_costs: tuple[float, ...]


def volume_span(comparison: Comparison) -> tuple[float, float]:
    """A log range that shows the scenario's volumes and every break-even with margin."""
    marks = [r.requests_per_day for r in comparison.results] + [
        c.requests_per_day for b in comparison.breakevens for c in b.crossings
    ]
    lo, hi = min(marks) / 10, max(marks) * 10
    return max(1.0, lo), min(1e10, max(hi, lo * 100))


def cost_series(
    scenario: Scenario, span: tuple[float, float], points: int = 400
) -> tuple[CostSeries, ...]:
    """Each option's daily cost at `points` log-spaced volumes over `span`."""
    lo, hi = span
    step = (math.log10(hi) - math.log10(lo)) / (points - 1)
    volumes = tuple(10 ** (math.log10(lo) + i * step) for i in range(points))
    tokens = scenario.workload.tokens
    return tuple(
        CostSeries(
            option.name,
            option.kind,
            volumes,
            tuple(option.bill(v, tokens).daily_cost for v in volumes),
        )
        for option in scenario.options
    )
