"""Issue 12: the same open model hosted per token, as an alternative to self-hosting it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from conftest import Run
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.hosted import canonical, hosted_offers, spellings

PLAN = (
    "plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000", "--input-tokens", "500",
    "--output-tokens", "167", "--ttft-p95", "1000", "--tpot", "50", "--format", "json",
)  # fmt: skip


@pytest.mark.parametrize(
    "key",
    [
        "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct",
        "together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
        "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
        "meta.llama3-1-8b-instruct-v1:0",
        "groq/llama-3.1-8b-instant",
        "lambda_ai/llama3.1-8b-instruct",
    ],
)
def test_provider_spellings_reduce_to_the_catalog_name(key: str) -> None:
    assert canonical(key) == "llama-3.1-8b"


def test_other_models_do_not_match() -> None:
    for key in ("deepinfra/meta-llama/Meta-Llama-3.1-70B-Instruct", "gpt-4o-mini",
                "together_ai/meta-llama/Llama-3.2-3B-Instruct-Turbo"):  # fmt: skip
        assert canonical(key) != "llama-3.1-8b"


@pytest.mark.parametrize(
    "key",
    [
        # the provider's own name prefixes the model id (review R1)
        "databricks/databricks-meta-llama-3-1-8b-instruct",
        # Bedrock cross-region inference profiles: a region prefix
        "us.meta.llama3-1-8b-instruct-v1:0",
        "eu.meta.llama3-1-8b-instruct-v1:0",
    ],
)
def test_provider_and_region_prefixes_are_not_part_of_the_name(key: str) -> None:
    assert "llama-3.1-8b" in spellings(key)


@pytest.mark.parametrize(
    "key",
    [
        "databricks/databricks-meta-llama-3-1-80b-instruct",  # 80b is not 8b
        "databricks/databricks-meta-llama-3-1-8b-guard",
        "groq/llama-3.1-8b-guard-instruct",
        "deepinfra/meta-llama/Llama-3.1-8B-Instruct-guard",
        "together_ai/meta-llama/Llama-Guard-3-8B",
        "us.meta.llama3-1-80b-instruct-v1:0",
        "databricks/databricks-meta-llama-3-1-70b-instruct",
        "mistral/mistral-7b-instruct",  # stripping the provider leaves "7b": no model
        "fireworks_ai/accounts/fireworks/models/dobby-mini-unhinged-plus-llama-3-1-8b",
    ],
)
def test_near_names_do_not_match(key: str) -> None:
    assert "llama-3.1-8b" not in spellings(key)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        # "2-70b" is Llama 2 at 70B, not a version "2.7" (was read as llama-2.70b)
        ("databricks/databricks-llama-2-70b-chat", "llama-2-70b"),
        ("together_ai/meta-llama/Llama-2-7b-chat-hf", "llama-2-7b"),
        ("fireworks_ai/accounts/fireworks/models/llama-v2-13b-chat", "llama-2-13b"),
        ("meta.llama3-8b-instruct-v1:0", "llama-3-8b"),  # Llama 3 8B, not "llama-3.8b"
        ("mistral/mistral-7b-instruct", "mistral-7b"),
    ],
)
def test_sizes_are_not_read_as_minor_versions(key: str, name: str) -> None:
    assert name in spellings(key)


def test_databricks_serves_llama_3_1_8b(book: PriceBook) -> None:
    found = hosted_offers(book, "llama-3.1-8b")
    keys = {offer.model for offer in found.offers}
    assert "databricks/databricks-meta-llama-3-1-8b-instruct" in keys
    # 80B/70B and guard variants from any provider stay out
    assert not [k for k in keys if "70b" in k.lower() or "guard" in k.lower()]


def test_every_provider_serving_the_model_is_offered(book: PriceBook) -> None:
    found = hosted_offers(book, "llama-3.1-8b")
    providers = {offer.provider for offer in found.offers}
    assert {"deepinfra", "together_ai", "fireworks_ai", "bedrock", "nebius"} <= providers
    assert len(providers) == len(found.offers)  # one (the cheapest) per provider
    assert "vertex_ai/meta/llama-3.1-8b-instruct-maas" in found.free  # $0: not ranked
    assert all(o.input.amount > 0 and o.output.amount > 0 for o in found.offers)


def test_plan_lists_hosted_offers_and_recommends_the_cheapest(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*PLAN)
    assert run.code == 0, run.err
    plan = json.loads(run.out)
    hosted = [alt for alt in plan["api_alternatives"] if alt["hosted"]]
    closed = [alt for alt in plan["api_alternatives"] if not alt["hosted"]]
    assert len(hosted) >= 10 and closed[0]["model"] == "gpt-4o-mini"
    deepinfra = next(a for a in hosted if a["model"].startswith("deepinfra/"))
    # 1M x (500 x $0.02 + 167 x $0.04) / 1M tokens
    assert deepinfra["daily_cost"] == pytest.approx(1e6 * (500 * 0.02 + 167 * 0.04) / 1e6)
    assert plan["recommendation"]["kind"] == "hosted"
    assert plan["recommendation"]["daily_cost"] < plan["candidates"][0]["daily_cost"]

    without = json.loads(llmecon(*PLAN, "--no-hosted").out)
    assert not any(alt["hosted"] for alt in without["api_alternatives"])
    assert without["recommendation"]["kind"] == "self_hosted"


def test_compare_accepts_an_open_model_by_name(llmecon: Callable[..., Run]) -> None:
    run = llmecon(
        "compare", "--requests-per-day", "1000", "--input-tokens", "500", "--output-tokens", "167",
        "--api", "llama-3.1-8b", "--api", "together-ai/llama-3.1-8b", "--format", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    data = json.loads(run.out)
    sources = {o["name"]: o["line_items"][0]["name"] for o in data["results"][0]["options"]}
    assert sources["together-ai/llama-3.1-8b"].startswith("together-ai/llama-3.1-8b")
    assert any("hosted per token by" in note and "together_ai/" in note for note in data["notes"])
