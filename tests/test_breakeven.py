"""Break-even: exact for affine costs, every crossing for staircases, 'none' when none."""

from __future__ import annotations

import math
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmecon.core.bill import Bill
from llmecon.core.breakeven import solve_breakeven
from llmecon.core.capacity import CapacityFleet, Throughput
from llmecon.core.comparison import bill_at
from llmecon.core.options import (
    ApiOption,
    FixedFleet,
    LambdaFront,
    SelfHostedOption,
    TokenPricing,
)
from llmecon.core.prices import Price
from llmecon.core.workload import Tokens

TOKENS = Tokens.of_total(1000)


def _price(amount: float, unit: str = "tokens", per: float = 1.0) -> Price:
    return Price(amount, unit, "test", per=per)


def api(name: str, per_1k: float) -> ApiOption:
    return ApiOption(name, TokenPricing(total=_price(per_1k, per=1e3)))


def step_fleet(per_replica_per_day: float) -> CapacityFleet:
    """Replicas = ceil(volume / per_replica): the staircase the capacity model makes."""
    return CapacityFleet(Throughput("test", requests_per_second=per_replica_per_day / 86_400))


def hosted(name: str, hourly: float, fleet: object, per_request: float = 0.0) -> SelfHostedOption:
    front = None
    if per_request:
        front = LambdaFront(1.0, 1.0, _price(per_request, "GB-second"), _price(0, "requests"))
    return SelfHostedOption(name, _price(hourly, "instance-hour"), fleet, lambda_front=front)  # type: ignore[arg-type]


def curve(option: object) -> partial[Bill]:
    return partial(bill_at, option, TOKENS)


def test_affine_crossing_is_exact() -> None:
    # API: $0.002 per request; self-hosted: $24/day + $0.0005 per request -> 24 / 0.0015
    result = solve_breakeven(curve(api("a", 0.002)), curve(hosted("b", 1.0, FixedFleet(1), 0.0005)))
    (crossing,) = result.crossings
    assert crossing.requests_per_day == pytest.approx(16_000, rel=1e-12)
    assert (crossing.cheaper_below, crossing.cheaper_above) == ("a", "b")


def test_none_in_range_names_the_cheaper_option() -> None:
    result = solve_breakeven(curve(api("cheap", 1e-9)), curve(hosted("dear", 100.0, FixedFleet(1))))
    assert result.crossings == ()
    assert result.cheaper_throughout == "cheap"


def test_identical_costs_have_no_crossing() -> None:
    result = solve_breakeven(curve(api("a", 0.002)), curve(api("b", 0.002)))
    assert result.crossings == ()
    assert result.cheaper_throughout is None


def test_staircase_against_a_line_finds_every_crossing() -> None:
    # Each replica ($24/day) serves 10,000 requests/day; the API costs $0.0025 per request.
    # Fleet: 24 ceil(v / 10k); API: 0.0025 v. Within step n the API passes the fleet at 9,600 n,
    # and at the next step the fleet jumps back above it: two crossings per step (up to n = 24).
    stairs = curve(hosted("stairs", 1.0, step_fleet(10_000)))
    line = curve(api("line", 0.0025))
    result = solve_breakeven(line, stairs, (1.0, 120_000.0))
    expected = _exact_crossings(10_000, 24.0, 0.0025, 120_000.0)
    assert len(expected) == 23
    assert [c.requests_per_day for c in result.crossings] == pytest.approx(expected, rel=1e-8)
    assert {c.cheaper_above for c in result.crossings} == {"line", "stairs"}


def _exact_crossings(
    per_replica: float, daily: float, per_request: float, hi: float
) -> list[float]:
    """Where `daily * max(1, ceil(v / per_replica))` and `per_request * v` swap order, by algebra.

    Inside step n (volumes in ((n-1)p, np]) the line meets the flat step at v = daily n / c;
    at the step edge (n-1)p the fleet jumps from daily (n-1) to daily n, and the order swaps when
    the line lies between the two.
    """
    found = []
    for n in range(1, math.ceil(hi / per_replica) + 1):
        start, end = (n - 1) * per_replica, min(n * per_replica, hi)
        level = daily * n
        if n > 1 and daily * (n - 1) < per_request * start < level:
            found.append(start)
        inside = level / per_request
        if max(start, 1.0) < inside < end:
            found.append(inside)
    return found


@settings(max_examples=60, deadline=None)
@given(
    per_replica=st.floats(1_000, 50_000),
    hourly=st.floats(0.1, 5.0),
    per_1k=st.floats(0.0005, 0.01),
)
def test_staircase_crossings_match_the_algebra(
    per_replica: float, hourly: float, per_1k: float
) -> None:
    stairs = curve(hosted("stairs", hourly, step_fleet(per_replica)))
    line = curve(api("line", per_1k))
    hi = 40 * per_replica
    result = solve_breakeven(line, stairs, (1.0, hi))
    expected = _exact_crossings(per_replica, hourly * 24, per_1k / 1000 * 1000, hi)
    assert [c.requests_per_day for c in result.crossings] == pytest.approx(expected, rel=1e-6)
