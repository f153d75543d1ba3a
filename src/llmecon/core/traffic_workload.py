"""Observed traffic as a workload: the API priced request by request, the fleet sized for the
observed peak hour.

An API option's bill at the observed volume is the sum over requests (each request's prompt
picks its long-context tier; cached prompt tokens at the cached rate when the model has one).
At another volume it scales in proportion (the same mix, more or fewer requests). A self-hosted
fleet sized from capacity is sized for the busiest observed hour (peak factor = peak-hour rate /
average rate), or, autoscaled, hour by hour along the observed average day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from llmecon.core.bill import Bill, LineItem
from llmecon.core.capacity import CapacityFleet
from llmecon.core.comparison import Scenario
from llmecon.core.options import ApiOption, Option, SelfHostedOption
from llmecon.core.token_pricing import Rates
from llmecon.core.workload import Tokens, Workload

Ints = npt.NDArray[np.int64]

__all__ = [
    "ApiOption", "ObservedApiOption", "ObservedTraffic", "apply_traffic", "observed_items",
    "observed_option",
]  # fmt: skip


@dataclass(frozen=True)
class ObservedTraffic:
    """Per-record request counts and token totals over a period of `days`."""

    requests: Ints
    prompt: Ints
    completion: Ints
    cached: Ints
    days: float
    peak_factor: float
    hour_of_day: tuple[float, ...]
    label: str = "observed traffic"

    @property
    def total_requests(self) -> int:
        return int(self.requests.sum())

    @property
    def requests_per_day(self) -> float:
        return self.total_requests / self.days

    @property
    def tokens(self) -> Tokens:
        """Mean tokens per request (used for capacity; API bills use every request's own)."""
        total = self.total_requests
        return Tokens.of_split(int(self.prompt.sum()) / total, int(self.completion.sum()) / total)


def _sum(column: Ints, mask: npt.NDArray[np.bool_]) -> float:
    return float(column[mask].sum())


def observed_items(option: ApiOption, traffic: ObservedTraffic) -> tuple[LineItem, ...]:
    """`option`'s line items per day at the observed volume, summed over the requests."""
    pricing = option.pricing
    label = option.model or option.name
    days = traffic.days
    if pricing.total is not None:  # one rate for every token
        flat = pricing.total
        tokens = float(traffic.prompt.sum() + traffic.completion.sum())
        return (LineItem.priced(f"{label} tokens", tokens / days, flat),)
    used = traffic.requests > 0
    mean_prompt = np.zeros(traffic.requests.size)
    mean_prompt[used] = traffic.prompt[used] / traffic.requests[used]
    assigned = np.zeros(traffic.requests.size, dtype=bool)
    items: list[LineItem] = []
    for tier in sorted(pricing.tiers, key=lambda t: -t.above):
        mask = (mean_prompt > tier.above) & ~assigned
        assigned |= mask
        if mask.any():
            rates = pricing.rates(tier.above + 1)
            items += _rate_items(f"{label} (prompt > {tier.above:,} tokens)", rates, traffic, mask)
    rest = ~assigned
    items += _rate_items(label, pricing.rates(0), traffic, rest)
    return tuple(items)


def _rate_items(
    label: str, rates: Rates, traffic: ObservedTraffic, mask: npt.NDArray[np.bool_]
) -> list[LineItem]:
    input_price, output_price, cached_price = rates.input, rates.output, rates.cached_input
    days = traffic.days
    prompt = _sum(traffic.prompt, mask)
    cached = _sum(traffic.cached, mask) if cached_price is not None else 0.0
    items = [LineItem.priced(f"{label} input tokens", (prompt - cached) / days, input_price)]
    if cached > 0 and cached_price is not None:
        items.append(LineItem.priced(f"{label} cached input tokens", cached / days, cached_price))
    output = _sum(traffic.completion, mask) / days
    items.append(LineItem.priced(f"{label} output tokens", output, output_price))
    return items


def _scaled(item: LineItem, scale: float) -> LineItem:
    return replace(item, quantity=item.quantity * scale)


@dataclass(frozen=True)
class ObservedApiOption:
    """A paid API billed with the observed requests' own tokens, scaled to a volume."""

    inner: ApiOption
    items_per_day: tuple[LineItem, ...]
    observed_per_day: float
    kind: ClassVar[str] = "api"

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str | None:
        return self.inner.model

    def bill(self, requests_per_day: float, tokens: Tokens) -> Bill:
        scale = requests_per_day / self.observed_per_day
        return Bill(
            option=self.name,
            kind=self.kind,
            requests_per_day=requests_per_day,
            tokens_per_request=tokens.total,
            line_items=tuple(_scaled(item, scale) for item in self.items_per_day)
            + tuple(o.item(requests_per_day, tokens) for o in self.inner.overheads),
        )


def observed_option(option: Option, traffic: ObservedTraffic) -> Option:
    """`option` fitted to the observed traffic (see the module's doc)."""
    if isinstance(option, ApiOption):
        items = observed_items(option, traffic)
        return ObservedApiOption(option, items, traffic.requests_per_day)
    if isinstance(option, SelfHostedOption) and isinstance(option.fleet, CapacityFleet):
        fleet = option.fleet
        if fleet.autoscale:
            fleet = replace(fleet, daily_profile=traffic.hour_of_day, peak_factor=1.0)
        else:
            fleet = replace(fleet, daily_profile=None, peak_factor=traffic.peak_factor)
        return replace(option, fleet=fleet)
    return option


def apply_traffic(scenario: Scenario, traffic: ObservedTraffic) -> Scenario:
    """The scenario with its workload replaced by the observed traffic."""
    workload = Workload((traffic.requests_per_day,), traffic.tokens)
    options = tuple(observed_option(option, traffic) for option in scenario.options)
    note = (
        f"workload: {traffic.label}, {traffic.total_requests:,} requests over "
        f"{traffic.days:g} days; API options priced with each request's own tokens; fleets "
        f"sized for the busiest observed hour ({traffic.peak_factor:.2f}x the average rate)"
    )
    return replace(scenario, workload=workload, options=options, notes=(*scenario.notes, note))
