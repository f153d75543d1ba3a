"""Core options built from the catalog: GPU machines to plan on, paid APIs, hosted offers.

Shared by the library (`llmecon.plan`) and the commands (`plan`, `bench`, `serve`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from llmecon.core.commitments import PRICING_KEYS, UNSOURCED_KEYS, is_commitment
from llmecon.core.options import ApiOption
from llmecon.core.planning import Machine
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook, api_pricing, embedding_pricing
from llmecon.pricebook.hosted import hosted_offers

if TYPE_CHECKING:
    from llmecon.core.prices import Price
    from llmecon.core.roofline import GpuSpec
    from llmecon.pricebook.entries import InstancePrice

__all__ = ["api_options", "embedding_options", "hosted_options", "machines", "token_options"]


def machines(
    book: PriceBook,
    gpus: dict[str, GpuSpec],
    service: str,
    pricing: str | Iterable[str],
    clouds: frozenset[str] = frozenset({"aws"}),
) -> list[Machine]:
    """Catalog instances with whole GPUs the roofline model knows, priced each way asked:
    on_demand, spot, a commitment key (reserved_1y_no_upfront, ...) or "both" (on_demand and
    spot). An instance without a price of that kind is left out for that kind."""
    kinds = pricing_kinds(pricing)
    found = []
    for entry in book.instances.values():
        gpu = gpus.get((entry.gpu or "").lower())
        if gpu is None or entry.gpus < 1 or service not in {"all", entry.service}:
            continue
        if entry.provider not in clouds:
            continue
        for kind in kinds:
            price = _price_of(entry, kind)
            if price is not None:
                found.append(Machine(entry.name, price, gpu, int(entry.gpus), kind))
    if not found:
        raise LlmeconError(
            f"no {', '.join(kinds)} GPU instances for service {service!r} in the catalog"
            + ("; commitments are priced for EC2 only (--service ec2 or all, --cloud aws)"
               if any(is_commitment(k) for k in kinds) else "")
        )  # fmt: skip
    return found


def pricing_kinds(pricing: str | Iterable[str]) -> tuple[str, ...]:
    """The pricing kinds asked for ("a,b" or a list), checked; "both" is on_demand and spot."""
    parts = pricing.split(",") if isinstance(pricing, str) else list(pricing)
    kinds: list[str] = []
    for part in (p.strip() for p in parts):
        for kind in ("on_demand", "spot") if part == "both" else (part,):
            if kind in UNSOURCED_KEYS:
                raise LlmeconError(
                    f"pricing {kind!r}: no dated per-instance Savings Plans rates are in the "
                    "price book; use a reserved_* key (EC2) or give hourly_price"
                )
            if kind not in PRICING_KEYS:
                raise LlmeconError(
                    f"unknown pricing {kind!r}; use some of {', '.join(PRICING_KEYS)} "
                    "(comma-separated)"
                )
            if kind not in kinds:
                kinds.append(kind)
    if not kinds:
        raise LlmeconError(f"no pricing given; use some of {', '.join(PRICING_KEYS)}")
    return tuple(kinds)


def _price_of(entry: InstancePrice, kind: str) -> Price | None:
    if kind == "on_demand":
        return entry.hourly
    if kind == "spot":
        return entry.spot_hourly
    return entry.commitments.get(kind)


def api_options(book: PriceBook, names: Iterable[str]) -> list[ApiOption]:
    """Paid API models from the price book, as options priced per token."""
    return [ApiOption(name, api_pricing(book.api_model(name)), name) for name in names]


def embedding_options(book: PriceBook, names: Iterable[str]) -> list[ApiOption]:
    """Paid embedding models from the price book, priced per input token."""
    return [ApiOption(name, embedding_pricing(book.api_model(name)), name) for name in names]


def token_options(book: PriceBook, names: Iterable[str]) -> list[ApiOption]:
    """Paid API models of either mode, each priced as its mode bills (budgets take both)."""
    options = []
    for name in names:
        price = book.api_model(name)
        pricing = embedding_pricing(price) if price.mode == "embedding" else api_pricing(price)
        options.append(ApiOption(name, pricing, name))
    return options


def hosted_options(book: PriceBook, model: str) -> list[ApiOption]:
    """The open model hosted per token: the cheapest offer of every provider in the map."""
    offers = hosted_offers(book, model).offers
    return [ApiOption(p.model, api_pricing(p), p.model) for p in offers]
