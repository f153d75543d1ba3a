"""One plan's cheapest configuration under each way of paying for machines, side by side.

On-demand, spot and each commitment term are searched together by `plan --pricing a,b,c`; this
picks the cheapest candidate of each kind and, for a commitment, the lines a buyer signs for:
the upfront fee, its amortization over the term, the hourly charge and the term's total. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llmecon.core.commitments import Commitment, commitment, is_commitment
from llmecon.core.planning import Candidate, Plan


@dataclass(frozen=True)
class PricingRow:
    pricing: str
    candidate: Candidate | None  # None: no machine has a price of this kind
    commitment: Commitment | None = None
    saving_vs_on_demand: float | None = None  # fraction of the cheapest on-demand daily cost

    @property
    def lines(self) -> list[tuple[str, float | None]]:
        if self.commitment is None or self.candidate is None:
            return []
        return self.commitment.lines(self.candidate.replicas)


def compare_pricing(plan: Plan, kinds: Iterable[str]) -> tuple[PricingRow, ...]:
    """The cheapest candidate of each pricing kind, in the order asked."""
    best: dict[str, Candidate] = {}
    for candidate in plan.candidates:  # cheapest first
        best.setdefault(candidate.machine.pricing, candidate)
    on_demand = best.get("on_demand")
    rows = []
    for kind in kinds:
        found = best.get(kind)
        saving = None
        if found is not None and on_demand is not None and on_demand.daily_cost > 0:
            saving = 1 - found.daily_cost / on_demand.daily_cost
        terms = None
        if found is not None and is_commitment(kind):
            terms = commitment(kind, found.machine.hourly.amount)
        rows.append(PricingRow(kind, found, terms, saving))
    return tuple(rows)
