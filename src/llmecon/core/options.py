"""The ways to serve a workload, each able to bill itself at a volume."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol

from llmecon.core.bill import Bill, LineItem
from llmecon.core.capacity import CapacityFleet, FixedFleet, FleetPlan
from llmecon.core.commitments import Commitment
from llmecon.core.fixed_costs import Overhead
from llmecon.core.prices import Price
from llmecon.core.token_pricing import TokenPricing
from llmecon.core.workload import Tokens

SECONDS_PER_DAY = 86_400

__all__ = [
    "ApiGatewayFront", "ApiOption", "FixedFleet", "Fleet", "LambdaFront", "Option",
    "SelfHostedOption", "TokenPricing", "requests_in_flight", "serial_capacity_per_day",
]  # fmt: skip


class Option(Protocol):
    """Anything that can be compared: it has a name and a kind and bills a volume."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    def bill(self, requests_per_day: float, tokens: Tokens) -> Bill: ...


@dataclass(frozen=True)
class ApiOption:
    """A paid LLM API billed per token.

    `cached_fraction` of each prompt is billed at the cached-input rate (when the model has one);
    `batch` marks prices that are the provider's batch rates (results within hours, not seconds).
    """

    name: str
    pricing: TokenPricing
    model: str | None = None
    cached_fraction: float = 0.0
    batch: bool = False
    overheads: tuple[Overhead, ...] = ()
    kind: ClassVar[str] = "api"

    def bill(self, requests_per_day: float, tokens: Tokens) -> Bill:
        return Bill(
            option=self.name,
            kind=self.kind,
            requests_per_day=requests_per_day,
            tokens_per_request=tokens.total,
            line_items=self._items(requests_per_day, tokens)
            + tuple(o.item(requests_per_day, tokens) for o in self.overheads),
        )

    def request_cost(self, prompt: int, completion: int) -> float:
        """`bill(1, Tokens.of_split(prompt, completion)).daily_cost`, the same float, without
        building the bill and its labelled line items (the gateway prices every request)."""
        if self.overheads or self.pricing.total is not None:
            return self.bill(1, Tokens.of_split(prompt, completion)).daily_cost
        found = self.pricing.rates(prompt)
        # the same operations, in the same order, as _items and LineItem.priced
        cached = prompt * self.cached_fraction if found.cached_input is not None else 0.0
        total = (1 * (prompt - cached) / found.input.per) * found.input.amount
        if cached > 0 and found.cached_input is not None:
            price = found.cached_input
            total += (1 * cached / price.per) * price.amount
        return total + (1 * completion / found.output.per) * found.output.amount

    def _items(self, volume: float, tokens: Tokens) -> tuple[LineItem, ...]:
        pricing = self.pricing
        label = self.model or self.name
        if pricing.total is not None or not tokens.is_split:
            if not pricing.is_flat:
                raise ValueError(f"{self.name}: split input/output prices need split tokens")
            flat = pricing.total or pricing.input
            assert flat is not None
            return (LineItem.priced(f"{label} tokens", volume * tokens.total, flat),)
        assert tokens.input is not None and tokens.output is not None
        rates = pricing.rates(tokens.input)
        if rates.tier is not None:
            label = f"{label} (prompt > {rates.tier.above:,} tokens)"
        cached = tokens.input * self.cached_fraction if rates.cached_input is not None else 0.0
        uncached = volume * (tokens.input - cached)
        items = [LineItem.priced(f"{label} input tokens", uncached, rates.input)]
        if cached > 0 and rates.cached_input is not None:
            items.append(
                LineItem.priced(f"{label} cached input tokens", volume * cached, rates.cached_input)
            )
        items.append(
            LineItem.priced(f"{label} output tokens", volume * tokens.output, rates.output)
        )
        return tuple(items)


@dataclass(frozen=True)
class LambdaFront:
    """The article's request handler: AWS Lambda billed per GB-second and per request."""

    memory_gb: float
    seconds_per_request: float
    per_gb_second: Price
    per_million_requests: Price

    def items(self, volume: float) -> tuple[LineItem, ...]:
        gb_seconds = volume * self.seconds_per_request * self.memory_gb
        return (
            LineItem.priced("Lambda duration", gb_seconds, self.per_gb_second),
            LineItem.priced("Lambda requests", volume, self.per_million_requests),
        )


@dataclass(frozen=True)
class ApiGatewayFront:
    """The article's API layer: Amazon API Gateway billed per request."""

    per_million_requests: Price

    def items(self, volume: float) -> tuple[LineItem, ...]:
        return (LineItem.priced("API Gateway requests", volume, self.per_million_requests),)


class Fleet(Protocol):
    """How many replicas run in each hour at a volume (fixed, or sized from capacity)."""

    def plan(self, requests_per_day: float, tokens: Tokens) -> FleetPlan: ...


@dataclass(frozen=True)
class SelfHostedOption:
    """An open model on rented instances, with the article's optional Lambda + API Gateway front.

    With a `commitment` (a Reserved Instance term at `hourly`, its effective rate), the machines'
    line names what the day's share is: the upfront fee amortized, the hourly charge, or (Partial
    Upfront, whose split the source does not state) the effective rate.
    """

    name: str
    hourly: Price
    fleet: Fleet
    instance: str | None = None
    lambda_front: LambdaFront | None = None
    api_gateway: ApiGatewayFront | None = None
    overheads: tuple[Overhead, ...] = ()
    commitment: Commitment | None = None
    kind: ClassVar[str] = "self_hosted"

    def bill(self, requests_per_day: float, tokens: Tokens) -> Bill:
        fleet = self.fleet.plan(requests_per_day, tokens)
        front = self._front_items(requests_per_day)
        front += [o.item(requests_per_day, tokens) for o in self.overheads]
        alternative = None
        if isinstance(self.fleet, CapacityFleet) and self.fleet.autoscale:
            fixed = self.fleet.fixed().plan(requests_per_day, tokens)
            alternative = self._hours(fixed).daily_cost + sum(i.daily_cost for i in front)
        return Bill(
            option=self.name,
            kind=self.kind,
            requests_per_day=requests_per_day,
            tokens_per_request=tokens.total,
            line_items=(self._hours(fleet), *front),
            replicas=fleet.peak_replicas,
            regime=fleet.replicas_by_hour,
            fleet=fleet if isinstance(self.fleet, CapacityFleet) else None,
            capacity_source=self.fleet.throughput.source
            if isinstance(self.fleet, CapacityFleet)
            else None,
            fixed_fleet_daily_cost=alternative,
            commitment=self.commitment,
        )

    def _hours(self, fleet: FleetPlan) -> LineItem:
        label = self.instance or "instance"
        terms = self.commitment
        if terms is None:
            return LineItem.priced(f"{label} hours", fleet.instance_hours, self.hourly)
        upfront, recurring = terms.upfront_per_machine, terms.recurring_hourly
        if upfront is None or recurring is None:
            name = f"{label} hours ({terms.key} effective rate: upfront + hourly, split not stated)"
            return LineItem.priced(name, fleet.instance_hours, self.hourly)
        if upfront > 0 and recurring > 0:  # no such term is priced yet: one line each
            raise ValueError(f"{terms.key}: both an upfront fee and an hourly charge")
        if upfront > 0:
            name = f"{label} upfront fee ({terms.key}) amortized over {terms.term_hours:,} h"
            amount = upfront / terms.term_hours
        else:
            name, amount = f"{label} hourly charge ({terms.key})", recurring
        price = Price(amount, self.hourly.unit, self.hourly.source, self.hourly.as_of)
        return LineItem.priced(name, fleet.instance_hours, price)

    def _front_items(self, requests_per_day: float) -> list[LineItem]:
        items: list[LineItem] = []
        if self.lambda_front is not None:
            items.extend(self.lambda_front.items(requests_per_day))
        if self.api_gateway is not None:
            items.extend(self.api_gateway.items(requests_per_day))
        return items


def requests_in_flight(requests_per_day: float, seconds_per_request: float) -> float:
    """Average concurrency by Little's law: arrival rate x time in system."""
    return requests_per_day / SECONDS_PER_DAY * seconds_per_request


def serial_capacity_per_day(seconds_per_request: float) -> int:
    """Requests/day one replica serves when it handles one request at a time."""
    return math.floor(SECONDS_PER_DAY / seconds_per_request)
