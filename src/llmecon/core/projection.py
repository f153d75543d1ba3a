"""Cost month by month as volume grows: monthly and cumulative cost per option, the month in
which each self-hosted option pays back its one-off costs against the cheapest paid API, and the
volume at which each option first becomes the cheapest.

A month is 365/12 days at that month's requests/day. One-off costs (set-up, migration labour)
count in full before month 1. Price changes multiply an option's bill from a month on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from llmecon.core.bill import DAYS_PER_YEAR, MONTHS_PER_YEAR
from llmecon.core.comparison import Scenario
from llmecon.core.one_off import OneOffCost

DAYS_PER_MONTH = DAYS_PER_YEAR / MONTHS_PER_YEAR

__all__ = ["Month", "OneOffCost", "PriceChange", "Projection", "monthly_volumes", "project"]


@dataclass(frozen=True)
class PriceChange:
    """From month `month` (1 = the first projected month) on, `option`'s bill x `factor`."""

    option: str
    factor: float
    month: int
    label: str = ""


@dataclass(frozen=True)
class Month:
    month: int
    requests_per_day: float
    cost: Mapping[str, float]  # this month's cost per option
    cumulative: Mapping[str, float]  # one-off costs + every month so far

    @property
    def cheapest(self) -> str:
        return min(self.cost, key=lambda name: (self.cost[name], name))


@dataclass(frozen=True)
class Projection:
    options: tuple[str, ...]
    kinds: Mapping[str, str]
    one_off: Mapping[str, float]
    months: tuple[Month, ...]
    changes: tuple[PriceChange, ...] = ()

    def payback(self, option: str) -> int | None:
        """The first month in which `option`'s cumulative cost is at most that of the cheapest
        paid API (by cumulative cost at that month); None if never within the projection."""
        apis = [name for name in self.options if self.kinds[name] == "api" and name != option]
        if not apis:
            return None
        for month in self.months:
            if month.cumulative[option] <= min(month.cumulative[a] for a in apis):
                return month.month
        return None

    def first_win(self, option: str) -> Month | None:
        """The first month (and so volume) in which `option` is the cheapest that month."""
        return next((m for m in self.months if m.cheapest == option), None)


def monthly_volumes(start: float, growth: float, months: int) -> tuple[float, ...]:
    """`start` requests/day growing by `growth` (0.08: +8%) each month."""
    return tuple(start * (1 + growth) ** index for index in range(months))


def one_off_by_option(scenario: Scenario, costs: tuple[OneOffCost, ...]) -> dict[str, float]:
    totals = {option.name: 0.0 for option in scenario.options}
    for cost in costs:
        names = cost.applies_to or tuple(
            o.name for o in scenario.options if o.kind == "self_hosted"
        )
        for name in names:
            if name not in totals:
                known = ", ".join(totals)
                raise ValueError(
                    f"one-off cost {cost.name!r}: no option {name!r} (options: {known})"
                )
            totals[name] += cost.amount
    return totals


def project(
    scenario: Scenario, volumes: tuple[float, ...], one_off: tuple[OneOffCost, ...] | None = None,
    changes: tuple[PriceChange, ...] = (),
) -> Projection:  # fmt: skip
    """Monthly and cumulative cost of every option at `volumes` (one requests/day per month)."""
    tokens = scenario.workload.tokens
    upfront = one_off_by_option(scenario, scenario.one_off_costs if one_off is None else one_off)
    running = dict(upfront)
    months = []
    for index, volume in enumerate(volumes, start=1):
        cost = {}
        for option in scenario.options:
            factor = 1.0
            for change in changes:
                if change.option == option.name and index >= change.month:
                    factor *= change.factor
            cost[option.name] = option.bill(volume, tokens).daily_cost * DAYS_PER_MONTH * factor
            running[option.name] += cost[option.name]
        months.append(Month(index, volume, MappingProxyType(cost), MappingProxyType(dict(running))))
    return Projection(
        options=tuple(o.name for o in scenario.options),
        kinds=MappingProxyType({o.name: o.kind for o in scenario.options}),
        one_off=MappingProxyType(upfront),
        months=tuple(months),
        changes=changes,
    )
