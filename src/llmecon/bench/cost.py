"""What a measured throughput costs: $/1M tokens at the peak and at the SLO point, break-evens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from llmecon.bench.metrics import Summary
from llmecon.core.breakeven import Breakeven, solve_breakeven
from llmecon.core.capacity import CapacityFleet, Throughput
from llmecon.core.comparison import bill_at
from llmecon.core.options import ApiOption, SelfHostedOption
from llmecon.core.prices import Price
from llmecon.core.workload import Tokens

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class CostPoint:
    """$ per 1M tokens when one replica runs at this throughput all hour."""

    requests_per_second: float
    input_tokens_per_second: float
    output_tokens_per_second: float
    per_1m_output_tokens: float | None
    per_1m_input_tokens: float | None
    per_1m_tokens_blended: float | None


@dataclass(frozen=True)
class CostReport:
    hourly: Price
    max_throughput: CostPoint
    slo_goodput: CostPoint | None
    breakevens: tuple[tuple[str, Breakeven], ...]


def _per_million(hourly: float, tokens_per_second: float) -> float | None:
    if tokens_per_second <= 0:
        return None
    return hourly / (tokens_per_second * SECONDS_PER_HOUR) * 1e6


def cost_point(hourly: float, rps: float, input_tps: float, output_tps: float) -> CostPoint:
    return CostPoint(
        rps, input_tps, output_tps,
        _per_million(hourly, output_tps), _per_million(hourly, input_tps),
        _per_million(hourly, input_tps + output_tps),
    )  # fmt: skip


def cost_report(summary: Summary, hourly: Price, apis: Sequence[ApiOption]) -> CostReport:
    """Costs at maximum throughput and at the SLO goodput point, and break-evens with APIs."""
    peak = cost_point(
        hourly.amount, summary.requests_per_second,
        summary.input_tokens_per_second, summary.output_tokens_per_second,
    )  # fmt: skip
    slo = None
    if summary.goodput_requests_per_second is not None and summary.requests_per_second > 0:
        share = summary.goodput_requests_per_second / summary.requests_per_second
        slo = cost_point(
            hourly.amount, summary.goodput_requests_per_second,
            summary.input_tokens_per_second * share, summary.output_tokens_per_second * share,
        )  # fmt: skip
    capacity = slo.requests_per_second if slo is not None else peak.requests_per_second
    return CostReport(hourly, peak, slo, _breakevens(summary, hourly, capacity, apis))


def _breakevens(
    summary: Summary, hourly: Price, capacity: float, apis: Sequence[ApiOption]
) -> tuple[tuple[str, Breakeven], ...]:
    if capacity <= 0 or summary.completed == 0:
        return ()
    tokens = Tokens.of_split(
        summary.input_tokens_per_second / summary.requests_per_second,
        summary.output_tokens_per_second / summary.requests_per_second,
    )
    hosted = SelfHostedOption(
        "measured endpoint", hourly,
        CapacityFleet(Throughput("measured by llmecon bench", requests_per_second=capacity)),
    )  # fmt: skip
    return tuple(
        (
            api.name,
            solve_breakeven(partial(bill_at, api, tokens), partial(bill_at, hosted, tokens)),
        )
        for api in apis
    )
