"""Issue 12: the same open model hosted per token, as an alternative to self-hosting it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from conftest import Run
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.hosted import canonical, hosted_offers

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
