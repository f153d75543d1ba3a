"""Open models hosted per token: every provider in the API snapshot that serves a given model.

Providers spell one model many ways (`deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct`,
`meta.llama3-1-8b-instruct-v1:0`, `fireworks_ai/.../llama-v3p1-8b-instruct`); `canonical` reduces
a catalog key to the plain name the model catalog uses (`llama-3.1-8b`). Some keys also carry a
prefix that is not part of the model's name: the provider's own name
(`databricks/databricks-meta-llama-3-1-8b-instruct`) or a Bedrock cross-region profile's region
(`us.meta.llama3-1-8b-instruct-v1:0`); `spellings` gives the name with and without it, and a
model matches only when one spelling equals its plain name exactly (so `llama-3.1-80b` or a
`-guard` variant never matches `llama-3.1-8b`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmecon.core.workload import Tokens
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.entries import ApiModelPrice

_VENDOR = re.compile(r"^(meta-(?=llama)|meta\.|@cf-meta-|mistralai-|qwen-(?=qwen))")
_VERSION = (
    # 3-1-8b is version 3.1; 2-70b and 3-8b are a size, not a minor version (no digit or b after)
    (re.compile(r"llama-?v?(\d)(?:[.-]|p)(\d)(?![\db])"), r"llama-\1.\2"),
    (re.compile(r"llama-?v?(\d)(?=-)"), r"llama-\1"),
    (re.compile(r"mistral-7b-v0[.-]\d"), "mistral-7b"),
)
_REGION = re.compile(r"^(us-gov|us|eu|apac|au|jp|in|ca|global)\.")
_SUFFIX = re.compile(
    r"(-(instruct|chat|turbo|maas|instant|fp8|fp16|bf16|fast|hf|it|awq|lite|v\d+:\d+|v\d+))+$"
)


def canonical(key: str) -> str:
    """The plain name a catalog key serves: `.../Meta-Llama-3.1-8B-Instruct` -> llama-3.1-8b."""
    return _plain(key.lower().rsplit("/", 1)[-1].replace("_", "-"))


def spellings(key: str) -> tuple[str, ...]:
    """`canonical(key)`, then the same without a provider or region prefix when it has one:
    `databricks/databricks-meta-llama-3-1-8b-instruct` -> (databricks-meta-llama-3.1-8b,
    llama-3.1-8b). A spelling is only ever compared whole with a model's plain name."""
    parts = key.lower().replace("_", "-").split("/")
    name, found = parts[-1], [canonical(key)]
    provider = parts[0] if len(parts) > 1 else ""
    for prefix in (f"{provider}-", f"{provider}.") if provider else ():
        if name.startswith(prefix):
            found.append(_plain(name.removeprefix(prefix)))
    if _REGION.match(name):
        found.append(_plain(_REGION.sub("", name)))
    return tuple(dict.fromkeys(found))


def _plain(name: str) -> str:
    name = _VENDOR.sub("", name)
    for pattern, replacement in _VERSION:
        name = pattern.sub(replacement, name)
    return _SUFFIX.sub("", name)


@dataclass(frozen=True)
class HostedOffers:
    """The per-token offers for one open model, and those left out (with why)."""

    offers: tuple[ApiModelPrice, ...]
    free: tuple[str, ...]  # $0 entries: a free tier or missing data, not a price to rank


def hosted_offers(book: PriceBook, model: str) -> HostedOffers:
    """The cheapest paid entry per provider for `model`, cheapest first (input + output rate)."""
    wanted = model.lower()
    best: dict[str, ApiModelPrice] = {}
    free = []
    for key in book.api_current:
        if wanted not in spellings(key):
            continue
        price = book.api_current[key]
        if price.mode != "chat":
            continue  # an embedding model is no alternative to a chat model
        if price.input.amount == 0 or price.output.amount == 0:
            free.append(key)
            continue
        held = best.get(price.provider)
        if held is None or _rate(price) < _rate(held):
            best[price.provider] = price
    offers = sorted(best.values(), key=lambda p: (_rate(p), p.model))
    return HostedOffers(tuple(offers), tuple(sorted(free)))


def _rate(price: ApiModelPrice) -> float:
    return price.input.amount + price.output.amount


def resolve_hosted(
    book: PriceBook, name: str, tokens: Tokens | None = None
) -> tuple[ApiModelPrice, HostedOffers] | None:
    """`llama-3.1-8b` (the cheapest host) or `deepinfra/llama-3.1-8b` (that provider's offer).

    With `tokens`, "cheapest" is for those requests (input and output priced apart), among the
    offers whose input limit takes the prompt (all of them when none does, so the caller's
    context check names the limit).
    """
    provider, _, model = name.rpartition("/")
    found = hosted_offers(book, canonical(model))
    offers = [
        offer
        for offer in found.offers
        if not provider or offer.provider.lower() == provider.lower().replace("-", "_")
    ]
    if tokens is not None and tokens.input is not None and tokens.output is not None:
        prompt, completion = tokens.input, tokens.output
        fitting = [o for o in offers if o.max_input_tokens is None or prompt <= o.max_input_tokens]
        offers = sorted(
            fitting or offers,
            key=lambda o: (o.input.amount * prompt + o.output.amount * completion, o.model),
        )
    return (offers[0], found) if offers else None
