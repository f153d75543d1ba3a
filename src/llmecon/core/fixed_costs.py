"""Costs of ownership beyond compute: labour, on-call, monitoring, storage, transfer, balancer.

Each is a line item in the bill with its own source (a catalog price or "your figure"), marked
`fixed` so a bill can show compute-only and full cost of ownership side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from llmecon.core.bill import DAYS_PER_YEAR, MONTHS_PER_YEAR, LineItem
from llmecon.core.prices import Price
from llmecon.core.workload import Tokens

FIXED = "fixed"
BYTES_PER_GB = 1e9


class Overhead(Protocol):
    """A cost that comes with running an option, billed per day at a volume."""

    def item(self, requests_per_day: float, tokens: Tokens) -> LineItem: ...


@dataclass(frozen=True)
class Recurring:
    """`amount` units of `price` every `period` ("year" or "month"): 0.5 FTE-years a year."""

    name: str
    amount: float
    price: Price
    period: str = "year"

    def item(self, requests_per_day: float, tokens: Tokens) -> LineItem:
        periods_per_year = DAYS_PER_YEAR if self.period == "day" else (
            MONTHS_PER_YEAR if self.period == "month" else 1
        )  # fmt: skip
        per_day = self.amount * periods_per_year / DAYS_PER_YEAR
        return _fixed(LineItem.priced(self.name, per_day * self.price.per, self.price))


@dataclass(frozen=True)
class DataTransfer:
    """Responses leaving the cloud: output tokens x bytes per token, billed per GB."""

    per_gb: Price
    bytes_per_token: float = 4.0

    def item(self, requests_per_day: float, tokens: Tokens) -> LineItem:
        sent = tokens.output if tokens.output is not None else tokens.total
        gigabytes = requests_per_day * sent * self.bytes_per_token / BYTES_PER_GB
        return _fixed(
            LineItem.priced("data transfer out", gigabytes * self.per_gb.per, self.per_gb)
        )


def _fixed(item: LineItem) -> LineItem:
    return LineItem(
        item.name, item.quantity, item.unit, item.unit_price, item.source, item.as_of, FIXED
    )
