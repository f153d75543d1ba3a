"""Issue 11 (embeddings): embedding rows priced at paid embedding APIs (the counterfactual), set
with `serve --compare-embeddings`, and shown by `llmecon usage`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bad_upstream import bad_upstream, chat_or_embedding
from conftest import Run
from gateway_runner import run_gateway
from llmecon.core.prices import Price
from llmecon.gateway.app import Gateway
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger
from llmecon.pricebook.catalog import api_options, embedding_options
from llmecon.pricebook.loader import load_pricebook


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as store:
        yield store


def test_embedding_rows_carry_the_embedding_counterfactual_and_chat_rows_the_chat_one(
    ledger: Ledger, tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    book = load_pricebook()
    chat = tuple(api_options(book, ("gpt-4o-mini",)))
    embeddings = tuple(
        embedding_options(book, ("text-embedding-3-small", "text-embedding-3-large"))
    )
    with bad_upstream(chat_or_embedding) as url:
        router = Router([Upstream("u", url, ("emb", "chat"), Price(3.6, "instance-hour", "t"))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            one = await client.post("/v1/embeddings", json={"model": "emb", "input": "a b"})
            two = await client.post(
                "/v1/chat/completions",
                json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
            )
            return [one.status_code, two.status_code]

        statuses = run_gateway(
            router, ledger, body, compare_with=chat, compare_embeddings=embeddings, interval_s=1.0
        )
    assert statuses == [200, 200]
    rows = {row.endpoint: row for row in ledger.rows()}
    # 2,000 tokens at $0.02 and $0.13 per 1M: 40,000 and 260,000 nano-dollars, integers
    assert rows["embeddings"].counterfactual_nusd == {
        "text-embedding-3-small": 40_000,
        "text-embedding-3-large": 260_000,
    }
    # gpt-4o-mini: 1,000 in at $0.15 + 10 out at $0.60 per 1M
    assert rows["chat"].counterfactual_nusd == {"gpt-4o-mini": 150_000 + 6_000}
    assert rows["embeddings"].self_hosted_nusd is not None

    report = llmecon("usage", "--ledger", ledger_url(tmp_path), "--by", "model", "--format", "json")
    assert report.code == 0, report.err
    by_model = {row["group"]: row["counterfactual_cost"] for row in json.loads(report.out)["rows"]}
    assert by_model["emb"] == {"text-embedding-3-large": 0.00026, "text-embedding-3-small": 4e-05}
    assert by_model["chat"] == {"gpt-4o-mini": 0.000156}
    table = llmecon("usage", "--ledger", ledger_url(tmp_path), "--by", "model")
    assert "text-embedding-3-small" in table.out


def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def test_compare_embeddings_defaults_round_trips_and_reads_the_environment(
    tmp_path: Path, llmecon: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    default = yaml.safe_load(llmecon("serve", "--print-config").out)
    assert default["compare_embeddings"] == ["text-embedding-3-small"]
    printed = llmecon(
        "serve", "--compare-embeddings", "text-embedding-3-large,text-embedding-ada-002",
        "--compare-embeddings", "voyage/voyage-3", "--print-config",
    )  # fmt: skip
    assert printed.code == 0, printed.err
    settings: dict[str, Any] = yaml.safe_load(printed.out)
    assert settings["compare_embeddings"] == [
        "text-embedding-3-large", "text-embedding-ada-002", "voyage/voyage-3",
    ]  # fmt: skip
    config = tmp_path / "serve.yaml"
    config.write_text(printed.out)
    again = llmecon("serve", "--config", str(config), "--print-config")
    assert again.code == 0 and again.out == printed.out
    monkeypatch.setenv("LLMECON_COMPARE_EMBEDDINGS", "text-embedding-3-large")
    from_env = yaml.safe_load(llmecon("serve", "--print-config").out)
    assert from_env["compare_embeddings"] == ["text-embedding-3-large"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("gpt-4o-mini", "gpt-4o-mini is a chat model, not an embedding model"),
        ("text-embeding-3-small", "did you mean text-embedding-3-small"),
    ],
)
def test_compare_embeddings_with_a_wrong_model_is_a_one_line_error(
    llmecon: Callable[..., Run], tmp_path: Path, name: str, message: str
) -> None:
    run = llmecon(
        "serve", "--compare-embeddings", name, "--ledger", ledger_url(tmp_path),
        "--journal", str(tmp_path / "j"),
    )  # fmt: skip
    assert run.code == 2 and message in run.err and "--compare-embeddings" in run.err
    assert len(run.err.strip().splitlines()) == 1 and "gateway: http" not in run.err
    chat = llmecon("serve", "--compare-with", "text-embedding-3-small", "--ledger",
                   ledger_url(tmp_path), "--journal", str(tmp_path / "j"))  # fmt: skip
    assert chat.code == 2 and "text-embedding-3-small is an embedding model" in chat.err


def test_embedding_spend_counts_at_an_embedding_price_not_a_chat_one(ledger: Ledger) -> None:
    """A self-hosted embedding model's budget spend is at the first --compare-embeddings API;
    a paid upstream's embedding model at its own catalog price."""
    from llmecon.cli.serve import _door

    book = load_pricebook()
    door = _door(book, (None, None, 1.0, None), ("gpt-4o-mini",), None, 64,
                 embeddings=("text-embedding-3-small",))  # fmt: skip
    assert door is not None
    with bad_upstream(chat_or_embedding) as url:
        router = Router([
            Upstream("own", url, ("emb", "chat"), Price(3.6, "instance-hour", "t")),
            Upstream("openai", url, ("text-embedding-3-large",)),
        ])  # fmt: skip

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            replies = [
                await client.post("/v1/embeddings", json={"model": "emb", "input": "a b"}),
                await client.post(
                    "/v1/embeddings", json={"model": "text-embedding-3-large", "input": "a"}
                ),
                await client.post(
                    "/v1/chat/completions",
                    json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
                ),
            ]
            return [reply.status_code for reply in replies]

        assert run_gateway(router, ledger, body, door=door) == [200, 200, 200]
    assert {r.model: r.budget_price for r in ledger.rows()} == {
        "emb": "text-embedding-3-small",
        "text-embedding-3-large": "text-embedding-3-large",
        "chat": "gpt-4o-mini",
    }


def test_budget_price_maps_a_served_model_to_an_embedding_api() -> None:
    from llmecon.cli.serve import _door

    book = load_pricebook()
    door = _door(book, (None, None, 1.0, None),
                 ("gpt-4o-mini", "emb=text-embedding-3-large"), None, 64)  # fmt: skip
    assert door is not None
    price = door.price_for("emb", paid=False, embedding=True)
    assert price is not None and price.name == "text-embedding-3-large"
