"""Which uncertain inputs flip the decision: each varied over a range, the others held.

The decision is the cheapest option at one volume. For each factor the margin is the best
alternative's daily cost minus the baseline winner's (positive: the winner still wins) at the
low and high ends of its range; where the sign changes, bisection finds the multiplier at which
the decision flips. Factors: API prices, instance prices, target utilisation, tokens per
request, volume, and per-replica throughput over the roofline's worst out-of-sample error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from llmecon.core.accuracy import OUT_OF_SAMPLE
from llmecon.core.bill import Bill
from llmecon.core.capacity import CapacityFleet, Throughput
from llmecon.core.comparison import Scenario
from llmecon.core.options import Option, SelfHostedOption
from llmecon.core.traffic_workload import ObservedApiOption
from llmecon.core.workload import Tokens

_BISECTIONS = 40


@dataclass(frozen=True)
class ScaledOption:
    """`inner` with the line items whose name ends with `suffix` ("" for all) x `factor`."""

    inner: Option
    factor: float
    suffix: str = ""

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def kind(self) -> str:
        return self.inner.kind

    def bill(self, requests_per_day: float, tokens: Tokens) -> Bill:
        bill = self.inner.bill(requests_per_day, tokens)
        items = tuple(
            replace(i, unit_price=i.unit_price * self.factor) if i.name.endswith(self.suffix)
            else i
            for i in bill.line_items
        )  # fmt: skip
        return replace(bill, line_items=items)


def _scale_kind(kind: str, suffix: str = "") -> Callable[[Scenario, float], Scenario]:
    def vary(scenario: Scenario, factor: float) -> Scenario:
        options = tuple(
            ScaledOption(o, factor, suffix) if o.kind == kind else o for o in scenario.options
        )
        return replace(scenario, options=options)

    return vary


def _fleets(change: Callable[[CapacityFleet, float], CapacityFleet]) -> Callable[
    [Scenario, float], Scenario
]:  # fmt: skip
    def vary(scenario: Scenario, factor: float) -> Scenario:
        options = tuple(
            replace(o, fleet=change(o.fleet, factor))
            if isinstance(o, SelfHostedOption) and isinstance(o.fleet, CapacityFleet)
            else o
            for o in scenario.options
        )
        return replace(scenario, options=options)

    return vary


def _utilisation(fleet: CapacityFleet, factor: float) -> CapacityFleet:
    return replace(fleet, target_utilization=min(1.0, fleet.target_utilization * factor))


def _throughput(fleet: CapacityFleet, factor: float) -> CapacityFleet:
    rate = fleet.throughput
    scaled = Throughput(
        f"{rate.source} x{factor:.3g}",
        rate.requests_per_second * factor if rate.requests_per_second else None,
        rate.output_tokens_per_second * factor if rate.output_tokens_per_second else None,
    )
    return replace(fleet, throughput=scaled)


def _tokens(scenario: Scenario, factor: float) -> Scenario:
    tokens = scenario.workload.tokens
    scaled = Tokens(
        tokens.total * factor,
        tokens.input * factor if tokens.input is not None else None,
        tokens.output * factor if tokens.output is not None else None,
        tokens.words * factor if tokens.words is not None else None,
    )
    options = tuple(
        ScaledOption(o, factor) if isinstance(o, ObservedApiOption) else o for o in scenario.options
    )
    return replace(scenario, workload=replace(scenario.workload, tokens=scaled), options=options)


def _volume(scenario: Scenario, factor: float) -> Scenario:
    volumes = tuple(v * factor for v in scenario.workload.volumes)
    return replace(scenario, workload=replace(scenario.workload, volumes=volumes))


@dataclass(frozen=True)
class Factor:
    name: str
    low: float
    high: float
    vary: Callable[[Scenario, float], Scenario]


FACTORS: tuple[Factor, ...] = (
    Factor("API price", 0.5, 2.0, _scale_kind("api")),
    Factor("instance price", 0.5, 2.0, _scale_kind("self_hosted", " hours")),
    Factor("target utilisation", 0.6, 1.0, _fleets(_utilisation)),
    Factor("tokens per request", 0.5, 2.0, _tokens),
    Factor("volume", 0.5, 2.0, _volume),
    Factor(
        "per-replica throughput (roofline error)",
        1 / OUT_OF_SAMPLE.worst,
        OUT_OF_SAMPLE.worst,
        _fleets(_throughput),
    ),
)


@dataclass(frozen=True)
class Swing:
    factor: str
    low: float
    high: float
    margin_low: float  # best alternative minus the baseline winner, $/day
    margin_high: float
    choice_low: str
    choice_high: str
    flip_at: float | None  # the multiplier at which the decision flips (None: no flip)

    @property
    def width(self) -> float:
        return abs(self.margin_high - self.margin_low)


@dataclass(frozen=True)
class Sensitivity:
    scenario: str
    requests_per_day: float
    choice: str
    runner_up: str
    margin: float
    swings: tuple[Swing, ...]  # widest first


def _bills(scenario: Scenario) -> list[Bill]:
    volume, tokens = scenario.workload.volumes[0], scenario.workload.tokens
    bills = [option.bill(volume, tokens) for option in scenario.options]
    return sorted(bills, key=lambda b: (b.daily_cost, b.option))


def _margin(scenario: Scenario, choice: str) -> tuple[float, str]:
    bills = _bills(scenario)
    own = next(b.daily_cost for b in bills if b.option == choice)
    other = min(b.daily_cost for b in bills if b.option != choice)
    return other - own, bills[0].option


def _flip(scenario: Scenario, factor: Factor, choice: str, end: float) -> float:
    """Bisect (in log space) between 1 and `end` for where `choice` stops winning."""
    inside, outside = 0.0, math.log(end)
    for _ in range(_BISECTIONS):
        middle = (inside + outside) / 2
        margin, _ = _margin(factor.vary(scenario, math.exp(middle)), choice)
        inside, outside = (middle, outside) if margin >= 0 else (inside, middle)
    return math.exp(outside)


def sensitivity(scenario: Scenario, factors: tuple[Factor, ...] = FACTORS) -> Sensitivity:
    """The tornado of `factors` at the scenario's first volume."""
    if len(scenario.options) < 2:
        raise ValueError("sensitivity needs at least two options to choose between")
    base = _bills(scenario)
    choice = base[0].option
    swings = []
    for factor in factors:
        margin_low, choice_low = _margin(factor.vary(scenario, factor.low), choice)
        margin_high, choice_high = _margin(factor.vary(scenario, factor.high), choice)
        flip = None
        for margin, end in ((margin_low, factor.low), (margin_high, factor.high)):
            if margin < 0 and flip is None and end != 1.0:
                flip = _flip(scenario, factor, choice, end)
        swings.append(Swing(factor.name, factor.low, factor.high, margin_low, margin_high,
                            choice_low, choice_high, flip))  # fmt: skip
    return Sensitivity(
        scenario=scenario.name,
        requests_per_day=scenario.workload.volumes[0],
        choice=choice,
        runner_up=base[1].option,
        margin=base[1].daily_cost - base[0].daily_cost,
        swings=tuple(sorted(swings, key=lambda s: -s.width)),
    )
