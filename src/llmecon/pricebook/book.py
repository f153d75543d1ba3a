"""Looking prices up by name and date. Pure: the loader builds a PriceBook, this reads it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date

from llmecon.core.prices import ContextTier, Price
from llmecon.core.token_pricing import TokenPricing
from llmecon.errors import LlmeconError
from llmecon.pricebook.entries import (
    ApiModelPrice,
    Entry,
    GatewayPrice,
    InstancePrice,
    LambdaPrice,
    entry_kind,
)


@dataclass(frozen=True)
class SnapshotInfo:
    """Which API price snapshot is in use: its source and date, where it was read, its size."""

    source: str
    as_of: date
    location: str
    models: int
    digest: str

    def describe(self) -> str:
        return (
            f"API prices: {self.models:,} models from {self.source}, as of "
            f"{self.as_of.isoformat()} ({self.location})"
        )


@dataclass(frozen=True)
class PriceBook:
    """All known prices. `version` names the data it was built from (stored with results)."""

    api_history: Mapping[str, tuple[ApiModelPrice, ...]]  # per model, oldest first
    api_current: Mapping[str, ApiModelPrice]
    instances: Mapping[str, InstancePrice]
    lambdas: Mapping[str, LambdaPrice]
    gateways: Mapping[str, GatewayPrice]
    version: str
    snapshot: SnapshotInfo

    def api_model(self, name: str, as_of: date | None = None) -> ApiModelPrice:
        """The model's price in force on `as_of` (None: the current price)."""
        history = self.api_history.get(name, ())
        current = self.api_current.get(name) or self._current_by_suffix(name)
        if as_of is None:
            if current is not None:
                return current
            if history:
                return history[-1]
        elif history:
            return _with_extras(_in_force(name, history, as_of), current)
        elif current is not None:
            return current  # current prices only; the comparison notes it
        raise LlmeconError(
            f"unknown API model {name!r}{_suggest(name, self.api_names())}; "
            "see `llmecon prices list --kind api --search TEXT`"
        )

    def instance(self, name: str) -> InstancePrice:
        if name in self.instances:
            return self.instances[name]
        raise LlmeconError(
            f"unknown instance {name!r}{_suggest(name, self.instances)}; "
            "see `llmecon prices list --kind instance`"
        )

    def lambda_price(self, name: str) -> LambdaPrice:
        return self.lambdas[name]

    def gateway(self, name: str) -> GatewayPrice:
        return self.gateways[name]

    def api_names(self) -> list[str]:
        return sorted(set(self.api_history) | set(self.api_current))

    def entries(self) -> Iterator[Entry]:
        """Every entry: instances, serverless fronts, dated API history, then current API prices."""
        yield from self.instances.values()
        yield from self.lambdas.values()
        yield from self.gateways.values()
        for history in self.api_history.values():
            yield from history
        yield from self.api_current.values()

    def find(self, name: str) -> list[Entry]:
        """Entries named `name` (an API model may have several dated prices)."""
        found = [entry for entry in self.entries() if entry.name == name]
        if not found:
            known = {entry.name for entry in self.entries()}
            raise LlmeconError(
                f"no price named {name!r}{_suggest(name, known)}; "
                "see `llmecon prices list --search TEXT`"
            )
        return found

    def search(
        self, *, provider: str | None = None, text: str | None = None, kind: str | None = None
    ) -> list[Entry]:
        return [
            entry
            for entry in self.entries()
            if (provider is None or entry.provider.lower() == provider.lower())
            and (text is None or text.lower() in entry.name.lower())
            and (kind is None or entry_kind(entry) == kind)
        ]

    def _current_by_suffix(self, name: str) -> ApiModelPrice | None:
        matches = [key for key in self.api_current if key.endswith(f"/{name}")]
        return self.api_current[matches[0]] if len(matches) == 1 else None


def _in_force(name: str, history: tuple[ApiModelPrice, ...], as_of: date) -> ApiModelPrice:
    dated = [entry for entry in history if entry.effective_from and entry.effective_from <= as_of]
    if not dated:
        first = history[0].effective_from
        raise LlmeconError(
            f"{name} had no known price on {as_of.isoformat()} (its first price is effective "
            f"from {first}); pick a later --as-of date or another model"
        )
    price = dated[-1]
    if price.until is not None and as_of > price.until:
        raise LlmeconError(
            f"{name} was no longer sold on {as_of.isoformat()} (sold until "
            f"{price.until.isoformat()}); pick an earlier --as-of date or another model"
        )
    return price


def _with_extras(price: ApiModelPrice, current: ApiModelPrice | None) -> ApiModelPrice:
    """A dated price with the snapshot's tiers, cached/batch rates and limits when it is the same
    price (same input and output rates); an older, different price keeps only its two rates."""
    if current is None or (price.input.amount, price.output.amount) != (
        current.input.amount,
        current.output.amount,
    ):
        return price
    return replace(
        price,
        cached_input=current.cached_input,
        batch_input=current.batch_input,
        batch_output=current.batch_output,
        batch_cached_input=current.batch_cached_input,
        max_input_tokens=current.max_input_tokens,
        max_output_tokens=current.max_output_tokens,
        tiers=current.tiers,
    )


def api_pricing(price: ApiModelPrice, *, batch: bool = False) -> TokenPricing:
    """The core's token pricing for a catalog chat price (its batch rates when `batch`)."""
    if price.mode != "chat":
        raise LlmeconError(
            f"{price.model} is an {price.mode} model ({price.summary()}), not a chat model; "
            "compare chat workloads against chat models (`llmecon prices list --search TEXT`)"
        )
    input_price, output_price, tiers = price.input, price.output, price.tiers
    cached = price.cached_input
    if batch:
        if price.batch_input is None or price.batch_output is None:
            raise LlmeconError(
                f"no batch price is known for {price.model}; remove batch: true "
                "(see `llmecon prices show` for what the snapshot has)"
            )
        ratio = price.batch_input.amount / input_price.amount if input_price.amount else 1.0
        input_price, output_price = price.batch_input, price.batch_output
        tiers = tuple(
            ContextTier(t.above, _scaled(t.input, ratio), _scaled(t.output, ratio)) for t in tiers
        )
        cached = price.batch_cached_input or _interactive(price.cached_input)
    return TokenPricing(
        input=input_price,
        output=output_price,
        cached_input=cached,
        tiers=tiers,
        max_input_tokens=price.max_input_tokens,
        max_output_tokens=price.max_output_tokens,
    )


def lacks_batch_cached_rate(price: ApiModelPrice) -> bool:
    """True when batch requests' cached tokens fall back to the interactive cached rate: the
    price book has a cached-input rate but no batch one (not halved: nothing states a discount)."""
    return price.cached_input is not None and price.batch_cached_input is None


def _interactive(cached: Price | None) -> Price | None:
    if cached is None:
        return None
    source = f"{cached.source} (the interactive cached rate: no batch cached-input rate is known)"
    return Price(cached.amount, cached.unit, source, cached.as_of, cached.per)


def embedding_pricing(price: ApiModelPrice) -> TokenPricing:
    """The core's token pricing for a catalog embedding price: input tokens only."""
    if price.mode != "embedding":
        raise LlmeconError(
            f"{price.model} is a {price.mode} model, not an embedding model; give an embedding "
            "model such as text-embedding-3-small (`llmecon prices list --search embed`)"
        )
    free = Price(0.0, "tokens", "an embedding bills no output tokens", price.input.as_of, 1e6)
    return TokenPricing(input=price.input, output=free, max_input_tokens=price.max_input_tokens)


def _scaled(price: Price, ratio: float) -> Price:
    source = f"{price.source} (x{ratio:g}, the batch discount)"
    return Price(price.amount * ratio, price.unit, source, price.as_of, price.per)


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""
