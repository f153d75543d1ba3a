"""Core options built from the catalog: GPU machines to plan on, paid APIs, hosted offers.

Shared by the library (`llmecon.plan`) and the commands (`plan`, `bench`, `serve`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from llmecon.core.options import ApiOption
from llmecon.core.planning import Machine
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook, api_pricing, embedding_pricing
from llmecon.pricebook.hosted import hosted_offers

if TYPE_CHECKING:
    from llmecon.core.roofline import GpuSpec

__all__ = ["api_options", "embedding_options", "hosted_options", "machines", "token_options"]


def machines(
    book: PriceBook,
    gpus: dict[str, GpuSpec],
    service: str,
    pricing: str,
    clouds: frozenset[str] = frozenset({"aws"}),
) -> list[Machine]:
    """Catalog instances with whole GPUs the roofline model knows, priced as asked."""
    found = []
    for entry in book.instances.values():
        gpu = gpus.get((entry.gpu or "").lower())
        if gpu is None or entry.gpus < 1 or service not in {"all", entry.service}:
            continue
        if entry.provider not in clouds:
            continue
        if pricing in {"on_demand", "both"}:
            found.append(Machine(entry.name, entry.hourly, gpu, int(entry.gpus)))
        if pricing in {"spot", "both"} and entry.spot_hourly is not None:
            found.append(Machine(entry.name, entry.spot_hourly, gpu, int(entry.gpus), "spot"))
    if not found:
        raise LlmeconError(f"no {pricing} GPU instances for service {service!r} in the catalog")
    return found


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
