"""What changing a scenario did: option costs and break-evens of two comparisons, side by side."""

from __future__ import annotations

from dataclasses import dataclass

from llmecon.core.comparison import Comparison


@dataclass(frozen=True)
class CostChange:
    option: str
    requests_per_day: float
    before: float | None  # $/day; None: the option is not in that scenario
    after: float | None


@dataclass(frozen=True)
class BreakevenChange:
    between: tuple[str, str]
    before: tuple[float, ...] | None  # crossing volumes; None: the pair is not in that scenario
    after: tuple[float, ...] | None


@dataclass(frozen=True)
class ComparisonDiff:
    costs: tuple[CostChange, ...]
    breakevens: tuple[BreakevenChange, ...]
    cheapest: tuple[tuple[float, str | None, str | None], ...]  # (volume, before, after)


def _costs(comparison: Comparison) -> dict[tuple[str, float], float]:
    return {
        (bill.option, result.requests_per_day): bill.daily_cost
        for result in comparison.results
        for bill in result.bills
    }


def _crossings(comparison: Comparison) -> dict[tuple[str, str], tuple[float, ...]]:
    return {
        tuple(sorted(b.between)): tuple(c.requests_per_day for c in b.crossings)  # type: ignore[misc]
        for b in comparison.breakevens
    }


def diff_comparisons(before: Comparison, after: Comparison) -> ComparisonDiff:
    """Each option's daily cost at each volume of either, the break-evens and the cheapest."""
    old, new = _costs(before), _costs(after)
    keys = sorted(set(old) | set(new), key=lambda k: (k[1], k[0]))
    costs = tuple(CostChange(name, volume, old.get((name, volume)), new.get((name, volume)))
                  for name, volume in keys)  # fmt: skip
    old_b, new_b = _crossings(before), _crossings(after)
    breakevens = tuple(
        BreakevenChange(pair, old_b.get(pair), new_b.get(pair))
        for pair in sorted(set(old_b) | set(new_b))
    )
    cheapest_old = {r.requests_per_day: r.cheapest.option for r in before.results}
    cheapest_new = {r.requests_per_day: r.cheapest.option for r in after.results}
    cheapest = tuple(
        (volume, cheapest_old.get(volume), cheapest_new.get(volume))
        for volume in sorted(set(cheapest_old) | set(cheapest_new))
    )
    return ComparisonDiff(costs, breakevens, cheapest)
