"""A bill: line items that add up to a daily cost, and the figures derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from llmecon.core.capacity import FleetPlan
from llmecon.core.commitments import Commitment
from llmecon.core.prices import Price

DAYS_PER_YEAR = 365
MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class LineItem:
    """`quantity` `unit`s per day at `unit_price` each, from a cited source."""

    name: str
    quantity: float
    unit: str
    unit_price: float
    source: str
    as_of: date | None
    category: str = "compute"  # "fixed": a cost of ownership beyond compute (labour, storage...)

    @classmethod
    def priced(cls, name: str, quantity: float, price: Price) -> LineItem:
        """A line of `quantity` base units (tokens, requests) at `price` (e.g. per 1M of them)."""
        return cls(
            name, quantity / price.per, price.unit_label, price.amount, price.source, price.as_of
        )

    @property
    def daily_cost(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Bill:
    """What one option costs per day at one volume.

    `regime` identifies the cost's affine piece: two volumes with the same regime lie on one
    straight segment of the cost curve (same replica count, same price tier). Step counts only
    grow with volume, so equal regimes at both ends of an interval mean no step inside it.
    """

    option: str
    kind: str
    requests_per_day: float
    tokens_per_request: float
    line_items: tuple[LineItem, ...]
    replicas: int | None = None
    regime: tuple[int, ...] = ()
    fleet: FleetPlan | None = None  # when replicas were sized from capacity
    capacity_source: str | None = None
    fixed_fleet_daily_cost: float | None = None  # an autoscaled fleet's peak-sized alternative
    commitment: Commitment | None = None  # the term its machines are bought on, if committed

    @property
    def daily_cost(self) -> float:
        return sum(item.daily_cost for item in self.line_items)

    @property
    def fixed_daily_cost(self) -> float:
        """Costs of ownership beyond compute (the `fixed_costs:` of a scenario)."""
        return sum(item.daily_cost for item in self.line_items if item.category == "fixed")

    @property
    def compute_daily_cost(self) -> float:
        """The bill without the fixed costs of ownership."""
        return self.daily_cost - self.fixed_daily_cost

    @property
    def yearly_cost(self) -> float:
        return self.daily_cost * DAYS_PER_YEAR

    @property
    def monthly_cost(self) -> float:
        return self.yearly_cost / MONTHS_PER_YEAR

    @property
    def cost_per_request(self) -> float | None:
        if self.requests_per_day <= 0:
            return None
        return self.daily_cost / self.requests_per_day

    @property
    def cost_per_1m_tokens(self) -> float | None:
        tokens = self.requests_per_day * self.tokens_per_request
        if tokens <= 0:
            return None
        return self.daily_cost / tokens * 1e6
