"""Compare every option at every volume, and find the break-evens between every pair."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from itertools import combinations

from llmecon.core.audit import audit
from llmecon.core.bill import Bill
from llmecon.core.breakeven import Breakeven, solve_breakeven
from llmecon.core.one_off import OneOffCost
from llmecon.core.options import Option
from llmecon.core.quality import Quality, QualityView, assess
from llmecon.core.workload import Tokens, Workload


@dataclass(frozen=True)
class Scenario:
    """A named workload and the options to serve it; `notes` are the author's own remarks."""

    name: str
    workload: Workload
    options: tuple[Option, ...]
    notes: tuple[str, ...] = ()
    one_off_costs: tuple[OneOffCost, ...] = ()  # set-up, migration: paid once (projections)
    quality: Quality | None = None  # accuracy per option, from a `quality:` block (issue 17)


@dataclass(frozen=True)
class VolumeResult:
    """Every option's bill at one volume, cheapest first."""

    requests_per_day: float
    bills: tuple[Bill, ...]

    @property
    def cheapest(self) -> Bill:
        return self.bills[0]


@dataclass(frozen=True)
class Comparison:
    scenario: str
    results: tuple[VolumeResult, ...]
    breakevens: tuple[Breakeven, ...]
    notes: tuple[str, ...]
    currency: str = "USD"
    quality: QualityView | None = None


def bill_at(option: Option, tokens: Tokens, requests_per_day: float) -> Bill:
    """`option`'s bill at one volume (argument order suits `partial`)."""
    return option.bill(requests_per_day, tokens)


def compare(scenario: Scenario) -> Comparison:
    """Bills per volume (sorted by daily cost, ties by name) and pairwise break-evens."""
    tokens = scenario.workload.tokens
    results = tuple(
        VolumeResult(
            volume,
            tuple(
                sorted(
                    (option.bill(volume, tokens) for option in scenario.options),
                    key=lambda bill: (bill.daily_cost, bill.option),
                )
            ),
        )
        for volume in scenario.workload.volumes
    )
    breakevens = tuple(
        solve_breakeven(partial(bill_at, first, tokens), partial(bill_at, second, tokens))
        for first, second in combinations(scenario.options, 2)
    )
    quality = None
    if scenario.quality is not None:
        volumes = tuple((r.requests_per_day, r.bills) for r in results)
        quality = assess(volumes, breakevens, scenario.quality)
    return Comparison(
        scenario=scenario.name,
        results=results,
        breakevens=breakevens,
        notes=audit(scenario.workload, scenario.options) + scenario.notes,
        quality=quality,
    )
