"""Issue 11 (embeddings): paid embedding models in the price book, kept apart from chat models."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest

from conftest import ROOT, Run
from llmecon.errors import LlmeconError
from llmecon.pricebook import snapshot
from llmecon.pricebook.book import api_pricing
from llmecon.pricebook.catalog import api_options, embedding_options
from llmecon.pricebook.hosted import hosted_offers
from llmecon.pricebook.loader import load_pricebook

LITELLM_MAP = {
    "gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat",
                    "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
    "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding",
                               "input_cost_per_token": 2e-08, "output_cost_per_token": 0.0,
                               "input_cost_per_token_batches": 1e-08, "max_input_tokens": 8191},
    "mistral/mistral-embed": {"litellm_provider": "mistral", "mode": "embedding",
                              "input_cost_per_token": 1e-07},  # no output price at all
    "a-rerank": {"mode": "rerank", "input_cost_per_token": 1e-08, "output_cost_per_token": 0},
}  # fmt: skip


def test_litellm_embedding_models_are_kept_with_their_mode() -> None:
    parsed = snapshot.parse(json.dumps(LITELLM_MAP), "map.json", source="x", as_of=date(2027, 1, 1))
    assert set(parsed.rows) == {"gpt-4o-mini", "text-embedding-3-small", "mistral/mistral-embed"}
    embed = snapshot.build_price("text-embedding-3-small", parsed)
    assert (embed.mode, embed.input.amount, embed.max_input_tokens) == ("embedding", 0.02, 8191)
    assert embed.summary() == "$0.02 per 1M input tokens (embedding; output n/a)"
    assert snapshot.build_price("mistral/mistral-embed", parsed).input.amount == 0.1
    assert snapshot.build_price("gpt-4o-mini", parsed).mode == "chat"


def test_a_schema_1_snapshot_written_by_an_older_llmecon_still_reads_as_chat_models() -> None:
    old = {
        "format": snapshot.FORMAT, "schema": 1, "source": "s", "as_of": "2026-11-01",
        "columns": ["provider", "input", "output", "cached_input", "batch_input", "batch_output",
                    "max_input_tokens", "max_output_tokens", "tiers"],
        "models": {"gpt-4o-mini": ["openai", 0.15, 0.6, None, None, None, None, None, []]},
    }  # fmt: skip
    parsed = snapshot.parse(json.dumps(old), "old.json")
    assert snapshot.build_price("gpt-4o-mini", parsed).mode == "chat"
    assert snapshot.parse(parsed.to_json(), "again.json").rows == parsed.rows


def test_shipped_snapshot_has_the_paid_embedding_models_with_honest_provenance() -> None:
    book = load_pricebook()
    expected = {
        "text-embedding-3-small": 0.02, "text-embedding-3-large": 0.13,
        "text-embedding-ada-002": 0.1, "amazon.titan-embed-text-v2:0": 0.02,
        "cohere.embed-english-v3": 0.1, "voyage/voyage-3": 0.06, "mistral/mistral-embed": 0.1,
        "text-embedding-005": 0.1,
    }  # fmt: skip
    for model, amount in expected.items():
        price = book.api_model(model)
        assert (price.mode, price.input.amount) == ("embedding", amount), model
        assert price.input.as_of == date(2026, 11, 25) and "1.110.2" in price.input.source
    raw = json.loads((ROOT / "src/llmecon/data/prices/api_prices.json").read_text())
    assert raw["as_of"] == "2026-11-25" and raw["upstream"]["sha256"].startswith("8943af58")
    modes = [row[-1] for row in raw["models"].values()]
    assert modes.count("embedding") > 100 and modes.count("chat") == 3536  # chat rows unchanged
    assert book.api_model("gpt-4o-mini").mode == "chat"


def test_chat_pricing_refuses_an_embedding_model_and_embedding_pricing_a_chat_model() -> None:
    book = load_pricebook()
    with pytest.raises(LlmeconError, match="text-embedding-3-small is an embedding model") as err:
        api_pricing(book.api_model("text-embedding-3-small"))
    assert "\n" not in str(err.value)
    with pytest.raises(LlmeconError, match="gpt-4o-mini is a chat model"):
        embedding_options(book, ("gpt-4o-mini",))
    [option] = embedding_options(book, ("text-embedding-3-small",))
    bill_nusd = option.bill(1, _tokens(1_000_000, 0)).daily_cost
    assert bill_nusd == pytest.approx(0.02)
    assert api_options(book, ("gpt-4o-mini",))[0].name == "gpt-4o-mini"


def test_embedding_models_are_not_offered_as_hosted_chat_alternatives() -> None:
    book = load_pricebook()
    embedding = [name for name in book.api_current if book.api_current[name].mode == "embedding"]
    assert "text-embedding-3-small" in embedding
    for offers in (hosted_offers(book, "bge-m3"), hosted_offers(book, "text-embedding-3-small")):
        assert all(p.mode == "chat" for p in offers.offers)
        assert not offers.offers


def test_compare_against_an_embedding_model_is_a_one_line_error(
    llmecon: Callable[..., Run],
) -> None:
    run = llmecon(
        "compare", "--requests-per-day", "1000", "--input-tokens", "500",
        "--output-tokens", "100", "--api", "text-embedding-3-small",
    )  # fmt: skip
    assert run.code == 2
    assert "text-embedding-3-small is an embedding model" in run.err
    assert "Traceback" not in run.err and len(run.err.strip().splitlines()) == 1


def test_prices_list_and_show_give_embedding_prices_per_input_token(
    llmecon: Callable[..., Run],
) -> None:
    listing = llmecon("prices", "list", "--search", "text-embedding-3-small")
    assert listing.code == 0, listing.err
    assert "$0.02 per 1M input tokens" in listing.out.replace("\n", " ")
    shown = llmecon("prices", "show", "text-embedding-3-large")
    assert shown.code == 0, shown.err
    assert "$0.13 per 1M input tokens (embedding; output n/a)" in shown.out
    assert "mode: embedding" in shown.out
    shown_json = llmecon("prices", "show", "text-embedding-3-large", "--format", "json")
    as_json = json.loads(shown_json.out)
    assert as_json[0]["mode"] == "embedding" and as_json[0]["output"]["amount"] == 0


def _tokens(prompt: int, completion: int) -> object:
    from llmecon.core.workload import Tokens

    return Tokens.of_split(prompt, completion)
