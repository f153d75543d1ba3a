"""The gateway in-process (ASGI) against mock upstreams: routing, fallback, faults, hostile
input, store outage, and the journal that survives a killed gateway."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway_runner import MINI, run_gateway
from llmecon.core.prices import Price
from llmecon.gateway.admission import Door
from llmecon.gateway.app import Gateway
from llmecon.gateway.upstreams import Fallback, Router, Upstream
from llmecon.ledger import open_ledger
from llmecon.ledger.keys import KeyLimits
from llmecon.ledger.protocol import Ledger
from llmecon.limits import KeyPolicy, open_limiter
from llmecon.mock import MockSettings, running

DEAD = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
PRICE = Price(1.0, "instance-hour", "test")


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running(MockSettings(ttft_ms=1, itl_ms=1, output_tokens=8)) as url:
        yield url


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    store = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield store
    store.close()


def _run(
    router: Router,
    ledger: Ledger,
    body: Callable[[httpx.AsyncClient, Gateway], Coroutine[Any, Any, Any]],
    **config: Any,
) -> Any:
    """The gateway run in-process (tests/gateway_runner.py), priced against `MINI`."""
    return run_gateway(router, ledger, body, **{"compare_with": (MINI,), **config})


def _chat(model: str = "m", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi there"}], **extra}


def test_fallback_to_another_upstream_when_the_first_is_down(mock_url: str, ledger: Ledger) -> None:
    router = Router(
        [Upstream("down", DEAD, ("m",), PRICE), Upstream("backup", mock_url, ("backup-model",))],
        [Fallback("m", "backup", "backup-model")],
    )

    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        return await client.post("/v1/chat/completions", json=_chat())

    response = _run(router, ledger, body)
    assert response.status_code == 200
    (row,) = ledger.rows()
    assert (row.upstream, row.model, row.outcome) == ("backup", "backup-model", "ok")
    assert row.counterfactual_nusd["mini"] is not None
    assert router.healthy["down"] is False


def test_retry_on_a_second_upstream_for_the_same_model(mock_url: str, ledger: Ledger) -> None:
    router = Router([Upstream("a", DEAD, ("m",)), Upstream("b", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
        replies = [await client.post("/v1/chat/completions", json=_chat()) for _ in range(3)]
        return [r.status_code for r in replies]

    assert _run(router, ledger, body) == [200, 200, 200]
    assert {row.upstream for row in ledger.rows()} == {"b"}


def test_least_outstanding_first() -> None:
    a, b = Upstream("a", DEAD, ("m",)), Upstream("b", DEAD, ("m",))
    router = Router([a, b])
    router.begin(a)
    assert [r.upstream.name for r in router.routes("m")] == ["b", "a"]
    router.mark(b, healthy=False)
    assert [r.upstream.name for r in router.routes("m")] == ["a", "b"]


def test_all_upstreams_down_is_a_502_with_a_row(ledger: Ledger) -> None:
    router = Router([Upstream("down", DEAD, ("m",), PRICE)])

    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        return await client.post("/v1/chat/completions", json=_chat())

    response = _run(router, ledger, body)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unreachable"
    (row,) = ledger.rows()
    assert (row.status, row.outcome, row.completion_tokens) == (502, "upstream_error", None)
    assert row.counterfactual_nusd == {"mini": None}  # unknown, not 0


def test_a_stream_cut_mid_way_ends_with_an_error_event_and_a_row(ledger: Ledger) -> None:
    settings = MockSettings(ttft_ms=1, itl_ms=1, output_tokens=20, fault="cut", fault_every=1)
    with running(settings) as url:
        router = Router([Upstream("u", url, ("m",), PRICE)])

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            return await client.post("/v1/chat/completions", json=_chat(stream=True))

        response = _run(router, ledger, body)
    events = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert json.loads(events[-1][6:])["error"]["type"] == "upstream_error"
    (row,) = ledger.rows()
    assert row.outcome == "upstream_error" and row.token_source == "gateway"
    assert row.completion_tokens is not None and 0 < row.completion_tokens < 20


def test_the_client_gets_no_usage_chunk_it_did_not_ask_for(mock_url: str, ledger: Ledger) -> None:
    router = Router([Upstream("u", mock_url, ("m",), PRICE)])

    async def body(client: httpx.AsyncClient, app: Gateway) -> list[str]:
        plain = await client.post("/v1/chat/completions", json=_chat(stream=True))
        asked = await client.post(
            "/v1/chat/completions", json=_chat(stream=True, stream_options={"include_usage": True})
        )
        return [plain.text, asked.text]

    plain, asked = _run(router, ledger, body)
    assert '"usage"' not in plain.replace('"usage":null', "")
    assert '"completion_tokens"' in asked
    assert all(row.token_source == "upstream" for row in ledger.rows())


HOSTILE = [
    (b"[" * 4000, 400, "invalid_json"),  # nested deeper than the JSON parser recurses
    (b'{"model": "m", "messages": "nope"}', 400, "invalid_type"),
    (b'{"model": 5, "messages": []}', 400, "invalid_type"),
    (
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1e30}',
        400,
        "invalid_type",
    ),
    (
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 99999999}',
        400,
        "invalid_value",
    ),
    (b"[1, 2]", 400, "invalid_body"),
    (
        b'{"model": "m\\r\\nX-Injected: 1", "messages": [{"role": "user", "content": "x"}]}',
        400,
        "invalid_value",
    ),
    (b"x" * 5000, 413, "body_too_large"),
]


@pytest.mark.parametrize(("raw", "status", "code"), HOSTILE)
def test_hostile_input_gets_a_4xx(
    mock_url: str, ledger: Ledger, raw: bytes, status: int, code: str
) -> None:
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> tuple[httpx.Response, int]:
        bad = await client.post("/v1/chat/completions", content=raw)
        good = await client.post("/v1/chat/completions", json=_chat())  # still serving
        return bad, good.status_code

    bad, good = _run(router, ledger, body, body_limit=4096)
    assert bad.status_code == status
    assert bad.json()["error"]["code"] == code
    assert good == 200


def test_store_outage_is_503_not_401(mock_url: str, tmp_path: Path) -> None:
    store = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    _, secret = store.create_key("team")
    _, other = store.create_key("other")
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> tuple[int, int, int]:
        def headers(key: str) -> dict[str, str]:
            return {"authorization": f"Bearer {key}"}

        before = await client.post("/v1/chat/completions", json=_chat(), headers=headers(secret))
        store.close()  # the store goes away
        cached = await client.post("/v1/chat/completions", json=_chat(), headers=headers(secret))
        after = await client.post("/v1/chat/completions", json=_chat(), headers=headers(other))
        return before.status_code, cached.status_code, after.status_code

    # a key checked a moment ago is still known (cached for 2 s); an unchecked one gets 503
    assert _run(router, store, body, no_auth=False) == (200, 200, 503)


def test_journal_replays_rows_the_ledger_never_got(mock_url: str, tmp_path: Path) -> None:
    """Rows are journaled before the client's last byte: a store that is down (or a gateway
    killed before its writer ran) loses nothing; the next start replays them."""
    journal, database = tmp_path / "journal.jsonl", f"sqlite:///{tmp_path / 'a.db'}"
    router = Router([Upstream("u", mock_url, ("m",))])
    first = open_ledger(database)
    first.close()  # the store is down for the whole first run

    async def body(client: httpx.AsyncClient, app: Gateway) -> None:
        for _ in range(3):
            assert (await client.post("/v1/chat/completions", json=_chat())).status_code == 200

    _run(router, first, body, journal_path=journal)
    assert len(journal.read_text().splitlines()) == 3  # every delivered response is journaled
    second = open_ledger(database)
    assert second.rows() == []
    _run(router, second, lambda client, app: asyncio.sleep(0), journal_path=journal)
    assert len(second.rows()) == 3
    assert journal.read_text() == ""
    second.close()


def _door(url: str = "memory://", **policy: Any) -> Door:
    return Door(open_limiter(url), KeyPolicy(**policy), MINI)


def test_rate_limit_answers_429_with_retry_after(mock_url: str, ledger: Ledger) -> None:
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> list[httpx.Response]:
        return [await client.post("/v1/chat/completions", json=_chat()) for _ in range(4)]

    replies = _run(router, ledger, body, door=_door(requests_per_minute=3))
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert int(replies[-1].headers["retry-after"]) >= 1
    assert replies[-1].json()["error"]["type"] == "rate_limit_error"
    assert len(ledger.rows()) == 3


def test_budget_answers_402_saying_which_and_when(mock_url: str, ledger: Ledger) -> None:
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> list[httpx.Response]:
        return [
            await client.post("/v1/chat/completions", json=_chat(max_tokens=100)) for _ in range(5)
        ]

    # each request reserves ~$0.00006 (100 tokens at $0.60/1M) and spends ~$0.000005
    replies = _run(router, ledger, body, door=_door(budget_per_day_nusd=70_000))
    codes = [r.status_code for r in replies]
    assert codes[0] == 200 and codes[-1] == 402, codes
    message = replies[-1].json()["error"]["message"]
    assert "daily budget of $0.00007 has $0.0000" in message and "resets at" in message
    assert replies[-1].json()["error"]["code"] == "budget_day_exceeded"
    spent = sum(r.counterfactual_nusd["mini"] or 0 for r in ledger.rows())
    assert 0 < spent <= 70_000


def test_a_request_alone_over_the_budget_is_400_not_402(mock_url: str, ledger: Ledger) -> None:
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        return await client.post("/v1/chat/completions", json=_chat(max_completion_tokens=2000))

    reply = _run(router, ledger, body, door=_door(budget_per_day_nusd=1000))
    assert reply.status_code == 400
    message = reply.json()["error"]["message"]
    # 2,000 completion tokens at $0.60/1M, plus the body counted as the prompt at $0.15/1M
    expected = r"could cost up to \$0\.0012\d+, over the key.s daily budget of \$0\.000001"
    assert re.search(expected, message)
    assert ledger.rows() == []


def test_a_request_over_the_token_limit_is_400(mock_url: str, ledger: Ledger) -> None:
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        return await client.post("/v1/chat/completions", json=_chat(max_tokens=5000))

    reply = _run(router, ledger, body, door=_door(tokens_per_minute=1000))
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "max_tokens"


def test_limits_store_down_is_503(mock_url: str, ledger: Ledger) -> None:
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        return await client.post("/v1/chat/completions", json=_chat())

    reply = _run(router, ledger, body, door=_door("redis://127.0.0.1:9/0", requests_per_minute=5))
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "store_unavailable"


def test_a_key_s_own_limit_overrides_the_default(mock_url: str, ledger: Ledger) -> None:
    _, tight = ledger.create_key("tight", KeyLimits(requests_per_minute=2))
    _, loose = ledger.create_key("loose")
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
        codes = []
        for secret in (tight, tight, tight, loose, loose, loose):
            reply = await client.post(
                "/v1/chat/completions", json=_chat(), headers={"authorization": f"Bearer {secret}"}
            )
            codes.append(reply.status_code)
        return codes

    door = _door(requests_per_minute=10)
    assert _run(router, ledger, body, no_auth=False, door=door) == [200, 200, 429] + [200] * 3
