"""Review of the day's gateway features (embeddings' limits and budgets, the allowance gauges,
the console's API, traces): each case as a request a client could send."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bad_upstream import bad_upstream, chat_or_embedding, head, json_answer
from bad_upstream import chunk as wire_chunk
from gateway_runner import run_gateway
from llmecon.gateway.admission import Door
from llmecon.gateway.app import Gateway
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger
from llmecon.ledger.keys import KeyLimits
from llmecon.limits import KeyPolicy, MemoryLimiter
from llmecon.pricebook.catalog import api_options, embedding_options
from llmecon.pricebook.loader import load_pricebook

SPECIALS = 2  # a BERT tokenizer's [CLS] and [SEP], around every input


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as store:
        yield store


def _wordpiece_like(body: bytes) -> list[bytes]:
    """An embedding server that bills as all-MiniLM-L6-v2's tokenizer does for plain words:
    a token per word plus [CLS] and [SEP] per input (an empty string is 2 tokens)."""
    data = json.loads(body)
    inputs = data["input"] if isinstance(data["input"], list) else [data["input"]]
    tokens = sum(len(text.split()) + SPECIALS for text in inputs)
    document = {
        "object": "list",
        "model": data["model"],
        "data": [
            {"object": "embedding", "index": i, "embedding": [0.5]} for i in range(len(inputs))
        ],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return [head(), wire_chunk(json.dumps(document).encode()), b"0\r\n\r\n"]


def _embedding_door(policy: KeyPolicy) -> Door:
    [small] = embedding_options(load_pricebook(), ("text-embedding-3-small",))
    return Door(MemoryLimiter(), policy, None, embedding_price=small)


@pytest.mark.parametrize(
    ("policy", "inputs"),
    [
        (KeyPolicy(tokens_per_minute=1_000), [""] * 8_000),
        # $0.0001 a day at $0.02 per 1M tokens: 5,000 tokens
        (KeyPolicy(budget_per_day_nusd=100_000), [""] * 8_000),
        (KeyPolicy(tokens_per_minute=1_000), ["a"] * 2_000),
    ],
)
def test_an_embedding_request_cannot_take_more_than_its_limit_in_one_go(
    ledger: Ledger, policy: KeyPolicy, inputs: list[str]
) -> None:
    """The reservation of an embeddings call must bound what the upstream bills: many short or
    empty inputs cost a few tokens each upstream (a BERT tokenizer adds [CLS] and [SEP], 16,000
    tokens for 8,000 empty strings) while their joined text counts nearly none."""
    with bad_upstream(_wordpiece_like) as url:
        router = Router([Upstream("own", url, ("emb",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> int:
            reply = await client.post("/v1/embeddings", json={"model": "emb", "input": inputs})
            return reply.status_code

        status = run_gateway(router, ledger, body, door=_embedding_door(policy))
    billed = sum(r.prompt_tokens or 0 for r in ledger.rows())
    spent = billed * 20  # nano-dollars at $0.02 per 1M tokens
    if status == 200:
        assert policy.tokens_per_minute is None or billed <= policy.tokens_per_minute
        assert policy.budget_per_day_nusd is None or spent <= policy.budget_per_day_nusd
    else:
        assert status == 400, status  # the request alone is over the limit: refused up front
        assert billed == 0


def test_concurrent_embedding_requests_stay_within_a_tokens_per_minute_limit(
    ledger: Ledger,
) -> None:
    """Requests in flight together: each reserves what it may be billed, so together they
    cannot pass the limit (8 requests of 1,000 empty strings: 2,000 tokens each upstream)."""
    with bad_upstream(_wordpiece_like) as url:
        router = Router([Upstream("own", url, ("emb",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            payload = {"model": "emb", "input": [""] * 1_000}
            replies = await asyncio.gather(
                *(client.post("/v1/embeddings", json=payload) for _ in range(8))
            )
            return [reply.status_code for reply in replies]

        statuses = run_gateway(
            router, ledger, body, door=_embedding_door(KeyPolicy(tokens_per_minute=10_000))
        )
    billed = sum(r.prompt_tokens or 0 for r in ledger.rows() if r.status == 200)
    assert set(statuses) <= {200, 429}
    assert billed <= 10_000, (statuses, billed)


def _metric_text(ledger: Ledger, keys: int, secret: str, **config: Any) -> str:
    for index in range(keys):
        ledger.create_key(f"k{index:03d}", KeyLimits(budget_day_nusd=10**9))

    async def body(client: httpx.AsyncClient, app: Gateway) -> str:
        reply = await client.get("/metrics", headers={"authorization": f"Bearer {secret}"})
        assert reply.status_code == 200, reply.text
        return reply.text

    router = Router([Upstream("u", "http://127.0.0.1:9/v1", ("m",))])
    return str(run_gateway(router, ledger, body, **config))


def test_metrics_series_per_key_are_bounded_and_the_exposition_parses(ledger: Ledger) -> None:
    ledger.create_key(
        'quote" back\\ <img src=x onerror=alert(1)>', KeyLimits(requests_per_minute=3)
    )
    import hashlib

    door = Door(MemoryLimiter(), KeyPolicy())
    admin = "admin-secret-0123456789"  # every key's series: the admin key (a client key: its own)
    digest = hashlib.sha256(admin.encode()).hexdigest()
    text = _metric_text(ledger, 150, admin, no_auth=False, door=door, admin_key_sha256=digest)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    left = families["llmecon_budget_remaining_usd"].samples
    # 100 keys with series of their own (the first has no budget), the other 51 summed
    assert len(left) == 99 + 1
    [other] = [s for s in left if s.labels["key"] == "(other)"]
    assert other.value == pytest.approx(51.0)  # 51 keys of $1 a day each, none spent
    rates = families["llmecon_rate_limit_remaining"].samples
    [odd] = [s for s in rates if "onerror" in s.labels["key"]]
    assert odd.labels["key"] == 'quote" back\\ <img src=x onerror=alert(1)>'
    assert odd.value == 3


def _keys_reply(ledger: Ledger, secret: str | None, **config: Any) -> httpx.Response:
    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        headers = {"authorization": f"Bearer {secret}"} if secret else {}
        return await client.get("/ui/api/keys", headers=headers)

    router = Router([Upstream("u", "http://127.0.0.1:9/v1", ("m",))])
    reply: httpx.Response = run_gateway(router, ledger, body, **config)
    return reply


def test_the_console_api_wants_the_admin_key_and_shows_no_secret(ledger: Ledger) -> None:
    import hashlib

    admin = "admin-secret-0123456789"
    info, secret = ledger.create_key(
        "<img src=x onerror=alert(1)>", KeyLimits(requests_per_minute=5)
    )
    config = {
        "no_auth": False,
        "admin_key_sha256": hashlib.sha256(admin.encode()).hexdigest(),
        "door": Door(MemoryLimiter(), KeyPolicy()),
    }
    assert _keys_reply(ledger, None, **config).status_code == 401
    assert _keys_reply(ledger, secret, **config).status_code == 401  # a client key
    assert _keys_reply(ledger, admin + "x", **config).status_code == 401
    off = {**config, "admin_key_sha256": None}
    assert _keys_reply(ledger, secret, **off).status_code == 404  # no admin key: no console
    reply = _keys_reply(ledger, admin, **config)
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in reply.headers
    text = reply.text
    assert secret not in text
    assert secret[len(info.prefix) :] not in text
    assert hashlib.sha256(secret.encode()).hexdigest() not in text
    [record] = reply.json()["keys"]
    assert record["name"] == "<img src=x onerror=alert(1)>"


def _with_traceparent(ledger: Ledger, traceparent: bytes, heads: list[bytes], **config: Any) -> int:
    """One chat request through the gateway with this `traceparent` header; the upstream's
    request heads land in `heads`; the status."""
    answer = {"id": "x", "choices": [{"message": {"content": "ok"}}],
              "usage": {"prompt_tokens": 7, "completion_tokens": 3}}  # fmt: skip
    with bad_upstream(json_answer(answer), heads) as url:
        router = Router([Upstream("u", url, ("m",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> int:
            reply = await client.post(
                "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                headers=[(b"traceparent", traceparent)],
            )
            return reply.status_code

        status: int = run_gateway(router, ledger, body, **config)
    return status


@pytest.mark.parametrize(
    "traceparent",
    [
        "garbage",
        "00-" + "0" * 32 + "-" + "0" * 16 + "-01",  # all-zero ids: invalid
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff: invalid
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "\u00e9" * 300,  # not ASCII
    ],
)
def test_a_malformed_traceparent_breaks_nothing_and_is_never_forwarded_without_otel(
    ledger: Ledger, traceparent: str
) -> None:
    heads: list[bytes] = []
    assert _with_traceparent(ledger, traceparent.encode("utf-8"), heads) == 200
    assert b"traceparent" not in heads[0].lower()
    assert [row.status for row in ledger.rows()] == [200]


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_reservations_that_cost_nothing_settle_side_by_side(store: str) -> None:
    """Two requests in flight whose reservations round to 0 nano-dollars (a free catalog
    price, an empty embedding input): each settles, and the spend is counted."""
    import uuid

    from llmecon.limits import Admission, Limiter
    from llmecon.limits.redis_store import RedisLimiter
    from test_limits import REDIS_URL, _redis_client

    prefix = f"test-review-{uuid.uuid4().hex[:12]}"
    if store == "redis":
        _redis_client().close()  # skips when no Redis answers

    async def main() -> tuple[int, int]:
        limiter: Limiter = (
            MemoryLimiter() if store == "memory" else RedisLimiter(REDIS_URL, prefix=prefix)
        )
        policy = KeyPolicy(budget_per_day_nusd=10**9)
        first = await limiter.admit("k", policy, 1, 0)
        second = await limiter.admit("k", policy, 1, 0)
        assert isinstance(first, Admission) and isinstance(second, Admission)
        await limiter.settle(first, 5, 100)
        await limiter.settle(second, 5, 100)
        usage = await limiter.usage("k")
        await limiter.aclose()
        return usage.day_spent_nusd, usage.day_held_nusd

    try:
        assert asyncio.run(main()) == (200, 0)
    finally:
        if store == "redis":
            client = _redis_client()
            stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if stale:
                client.delete(*stale)
            client.close()


@pytest.mark.parametrize("traceparent", ["garbage", "00-" + "0" * 32 + "-" + "0" * 16 + "-01"])
def test_with_tracing_a_malformed_traceparent_starts_a_new_trace(
    ledger: Ledger, traceparent: str
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmecon.gateway.tracing import Tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    heads: list[bytes] = []
    status = _with_traceparent(
        ledger, traceparent.encode("ascii"), heads, tracing=lambda: Tracing(provider)
    )
    assert status == 200
    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.parent is None]  # a root: the client's id was not used
    assert server.context is not None and server.context.trace_id != 0
    sent = [line for line in heads[0].split(b"\r\n") if line.lower().startswith(b"traceparent")]
    assert sent and f"{server.context.trace_id:032x}".encode() in sent[0]


def test_usage_break_even_prices_each_api_per_request_of_its_own_endpoint(ledger: Ledger) -> None:
    """10 chat requests (1,000 + 10 tokens: 156,000 nano-dollars each at gpt-4o-mini's $0.15 /
    $0.60) and 30 embedding requests (2,000 tokens: 40,000 at text-embedding-3-small's $0.02):
    a chat request would cost $0.000156 at the API, an embedding one $0.00004; dividing by all
    40 requests gives $0.000039 and $0.00003."""
    from llmecon.ledger.usage_report import usage_report
    from llmecon.pricebook.catalog import api_options

    book = load_pricebook()
    chat = tuple(api_options(book, ("gpt-4o-mini",)))
    embeddings = tuple(embedding_options(book, ("text-embedding-3-small",)))
    with bad_upstream(chat_or_embedding) as url:
        router = Router([Upstream("u", url, ("emb", "chat"))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> None:
            for _ in range(10):
                await client.post("/v1/chat/completions", json={
                    "model": "chat", "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
            for _ in range(30):
                await client.post("/v1/embeddings", json={"model": "emb", "input": "a b"})

        run_gateway(router, ledger, body, compare_with=chat, compare_embeddings=embeddings)
    rows = ledger.rows()
    assert sorted({r.model: dict(r.counterfactual_nusd) for r in rows}.items()) == [
        ("chat", {"gpt-4o-mini": 156_000}),
        ("emb", {"text-embedding-3-small": 40_000}),
    ]
    for by in ("model", "key", "upstream"):
        report = usage_report(ledger, by, None, None)
        positions = {p["api"]: p["per_request_usd"] for p in report["totals"]["breakeven"]}
        assert positions == {
            "gpt-4o-mini": pytest.approx(0.000156),
            "text-embedding-3-small": pytest.approx(0.00004),
        }
        assert any("only part of the traffic" in note for note in report["notes"])
        # nothing metered (no priced upstream): no break-even volume, not "0 requests/day"
        assert {p["breakeven_requests_per_day"] for p in report["totals"]["breakeven"]} == {None}


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("http://evil.example", 403),  # any web page the operator opens
        ("null", 403),  # a sandboxed frame or a file:// page
        ("http://127.0.0.1:8000", 200),
        ("http://localhost:3000", 200),  # a local web app
        ("http://[::1]:8000", 200),
        (None, 200),  # curl, SDKs: no Origin
    ],
)
def test_without_auth_a_cross_site_page_cannot_spend_through_the_gateway(
    ledger: Ledger, origin: str | None, expected: int
) -> None:
    """`serve --no-auth` on loopback: a page on another site can POST a "simple" request
    (text/plain, no preflight) to 127.0.0.1; the browser sends its Origin, and the gateway
    must refuse it before it spends."""
    answer = {"id": "x", "choices": [{"message": {"content": "ok"}}],
              "usage": {"prompt_tokens": 7, "completion_tokens": 3}}  # fmt: skip
    with bad_upstream(json_answer(answer)) as url:
        router = Router([Upstream("u", url, ("m",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> int:
            headers = {"content-type": "text/plain;charset=UTF-8"}
            if origin is not None:
                headers["origin"] = origin
            chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            reply = await client.post(
                "/v1/chat/completions", content=json.dumps(chat), headers=headers
            )
            if reply.status_code == 403:
                assert reply.json()["error"]["type"] == "permission_error"
            return reply.status_code

        assert run_gateway(router, ledger, body) == expected
    assert len(ledger.rows()) == (1 if expected == 200 else 0)


def test_metrics_take_embedding_spend_off_at_the_embedding_price(ledger: Ledger) -> None:
    """One embeddings call billed 2,000 tokens at text-embedding-3-small ($0.02 per 1M):
    40,000 nano-dollars off the key's $1 a day, not gpt-4o-mini's 300,000."""
    _, secret = ledger.create_key("emb-user", KeyLimits(budget_day_nusd=10**9))
    with bad_upstream(chat_or_embedding) as url:
        router = Router([Upstream("own", url, ("emb",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> str:
            auth = {"authorization": f"Bearer {secret}"}
            reply = await client.post(
                "/v1/embeddings", json={"model": "emb", "input": "a b"}, headers=auth
            )
            assert reply.status_code == 200
            return (await client.get("/metrics", headers=auth)).text

        small = tuple(embedding_options(load_pricebook(), ("text-embedding-3-small",)))
        door = _embedding_door(KeyPolicy())
        text = run_gateway(router, ledger, body, no_auth=False, door=door, compare_embeddings=small)
    [left] = [
        s
        for f in text_string_to_metric_families(text)
        if f.name == "llmecon_budget_remaining_usd"
        for s in f.samples
    ]
    assert left.labels["key"] == "emb-user"
    assert left.value == pytest.approx(1 - 40_000 / 10**9, abs=1e-12)
    [row] = ledger.rows()
    assert row.budget_price == "text-embedding-3-small"
    assert dict(row.counterfactual_nusd) == {"text-embedding-3-small": 40_000}


def _big_embedding(body: bytes) -> list[bytes]:
    """An upstream that embeds and bills a batch, its answer over the gateway's size limit
    (2,048 inputs at 3,072 dimensions is about 110 MB of JSON; the limit is 64 MB)."""
    vector = [0.0123456789] * 3_072
    document = {
        "object": "list",
        "model": "text-embedding-3-large",
        "data": [{"object": "embedding", "index": 0, "embedding": vector}],
        "usage": {"prompt_tokens": 2_000, "total_tokens": 2_000},
    }
    return json_answer(document)(body)


def test_an_embedding_answer_too_large_to_relay_still_counts_against_the_budget(
    ledger: Ledger,
) -> None:
    [small] = embedding_options(load_pricebook(), ("text-embedding-3-small",))
    door = Door(MemoryLimiter(), KeyPolicy(budget_per_day_nusd=10**9), None, embedding_price=small)
    with bad_upstream(_big_embedding) as url:
        router = Router([Upstream("openai", url, ("text-embedding-3-large",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> tuple[list[int], int]:
            statuses = []
            for _ in range(5):
                reply = await client.post(
                    "/v1/embeddings",
                    json={"model": "text-embedding-3-large", "input": ["some text"] * 500},
                )
                statuses.append(reply.status_code)
            usage = await door.limiter.usage("(no key)")
            return statuses, usage.day_spent_nusd

        # a small limit stands for the 64 MB one
        statuses, spent = run_gateway(router, ledger, body, door=door, max_response_bytes=20_000)
    assert statuses == [502] * 5
    assert spent > 0  # the upstream billed five batches
    rows = ledger.rows()
    assert len(rows) == 5 and {(r.status, r.outcome) for r in rows} == {(502, "upstream_error")}
    assert all(r.prompt_tokens and r.completion_tokens == 0 for r in rows)
    # text-embedding-3-small: $0.02 per 1M tokens = 20 nano-dollars a token
    assert spent == sum(20 * (r.prompt_tokens or 0) for r in rows)


def _big_chat(body: bytes) -> list[bytes]:
    document = {
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x" * 50_000}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 10},
    }
    return json_answer(document)(body)


def test_a_chat_answer_too_large_to_relay_is_charged_at_its_limit_and_not_retried(
    ledger: Ledger,
) -> None:
    """The upstream billed the answer: charged at the prompt plus the call's limit (the most it
    can have cost), and the fallback route is not tried (it would bill a second time)."""
    [mini] = api_options(load_pricebook(), ("gpt-4o-mini",))
    door = Door(MemoryLimiter(), KeyPolicy(budget_per_day_nusd=10**9), mini)
    with bad_upstream(_big_chat) as first, bad_upstream(_big_chat) as second:
        router = Router([Upstream("a", first, ("m",)), Upstream("b", second, ("m",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> tuple[int, str, int]:
            chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 7}  # fmt: skip
            reply = await client.post("/v1/chat/completions", json=chat)
            usage = await door.limiter.usage("(no key)")
            return reply.status_code, reply.json()["error"]["message"], usage.day_spent_nusd

        status, message, spent = run_gateway(
            router, ledger, body, door=door, max_response_bytes=20_000
        )
    assert status == 502 and "charged" in message
    [row] = ledger.rows()
    assert (row.upstream, row.status, row.completion_tokens) == ("a", 502, 7)
    assert row.prompt_tokens
    # gpt-4o-mini: $0.15 / $0.60 per 1M tokens = 150 / 600 nano-dollars a token
    assert spent == 150 * row.prompt_tokens + 600 * 7
