"""The gateway's per-request savings (issue 19) keep what they save honest: a stream's events
leave in as few writes as they arrived in, a key without token limits is not tokenized, and the
tokenizer's cheaper call gives the same tokens."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bad_upstream import END, bad_upstream, chunk, head
from gateway_runner import MINI
from llmecon.bench.prompts import bundled_tiktoken
from llmecon.core.prices import Price
from llmecon.gateway.admission import Door
from llmecon.gateway.app import GatewayConfig, create_app
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger
from llmecon.limits import KeyPolicy, open_limiter
from llmecon.mock import MockSettings, running

EVENTS = [
    b'{"choices":[{"delta":{"content":"a"}}]}',
    b'{"choices":[{"delta":{"content":"b"}}]}',
    b'{"choices":[{"delta":{"content":"c"}}]}',
    b'{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}',
    b"[DONE]",
]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        yield opened


def _post(app: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    """One POST /v1/chat/completions straight through the ASGI app: the messages it sent."""
    body = json.dumps(request).encode()
    sent: list[dict[str, Any]] = []
    delivered = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not delivered.is_set():
            delivered.set()
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer ends
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        app.start()
        try:
            scope = {"type": "http", "path": "/v1/chat/completions", "method": "POST",
                     "headers": [(b"content-type", b"application/json")]}  # fmt: skip
            await app(scope, receive, send)
        finally:
            await app.stop()

    asyncio.run(main())
    return sent


def test_the_events_of_one_upstream_read_leave_in_one_write(ledger: Ledger) -> None:
    whole = b"".join(b"data: " + e + b"\n\n" for e in EVENTS)
    answer = head(kind="text/event-stream") + chunk(whole) + END  # one write: one read

    with bad_upstream(lambda body: [answer]) as url:
        config = GatewayConfig(router=Router([Upstream("u", url, ("mock",))]), no_auth=True)
        app = create_app(config, ledger, lambda text: len(text.split()))
        request = {"model": "mock", "stream": True, "stream_options": {"include_usage": True},
                   "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
        sent = _post(app, request)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
    assert bodies == [whole]  # every event, in order, unchanged, in one chunk
    (row,) = ledger.rows()
    assert (row.status, row.completion_tokens, row.token_source) == (200, 3, "upstream")


@pytest.mark.parametrize(
    ("policy", "counted"),
    [
        (KeyPolicy(requests_per_minute=1000), False),
        (KeyPolicy(tokens_per_minute=1_000_000), True),
        (KeyPolicy(budget_per_day_nusd=10**12), True),
    ],
    ids=["requests-only", "tokens-per-minute", "budget"],
)
def test_the_body_is_tokenized_only_when_a_token_limit_or_budget_applies(
    ledger: Ledger, policy: KeyPolicy, counted: bool
) -> None:
    """Without a tokens-per-minute limit or a budget, the prompt's count decides nothing (the
    upstream reports usage here): the body is not tokenized. With either, it is."""
    texts: list[str] = []

    def count(text: str) -> int:
        texts.append(text)
        return len(text.split())

    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as url:
        door = Door(open_limiter("memory://"), policy, MINI, default_max_tokens=64)
        config = GatewayConfig(router=Router([Upstream("u", url, ("mock",))]), no_auth=True,
                               door=door, compare_with=(MINI,))  # fmt: skip
        app = create_app(config, ledger, count)
        request = {"model": "mock", "messages": [{"role": "user", "content": "hello there"}],
                   "max_tokens": 4}  # fmt: skip
        sent = _post(app, request)
    assert sent[0]["status"] == 200
    assert bool(texts) is counted
    (row,) = ledger.rows()
    assert row.token_source == "upstream" and row.completion_tokens == 4


@pytest.mark.parametrize(
    "text",
    [
        "plain words and numbers 12345",
        "special tokens as text: <|endoftext|> <|fim_prefix|><|im_start|>",
        'json {"a": "\\u00e9\\n", "b": [1, 2]} and unicode: naïve 日本語 🙂',
        "",
    ],
)
def test_the_tokenizer_counts_special_token_text_as_ordinary_text(text: str) -> None:
    tokenizer = bundled_tiktoken()
    expected = tokenizer.encoding.encode(text, allowed_special=set(), disallowed_special=())
    assert tokenizer.encode(text) == expected


def test_a_request_is_priced_exactly_as_its_bill(book: Any) -> None:
    """`ApiOption.request_cost` skips building the bill; it must give the bill's very float
    for every API in the price book (tiers, cached input) and fall back for the rest."""
    import dataclasses

    from llmecon.core.fixed_costs import DataTransfer
    from llmecon.core.workload import Tokens
    from llmecon.pricebook.catalog import token_options

    apis = token_options(book, book.api_names())  # chat and embedding models alike
    transfer = DataTransfer(Price(0.09, "GB", "t", per=1.0))
    apis += [dataclasses.replace(apis[0], cached_fraction=0.5),
             dataclasses.replace(apis[0], overheads=(transfer,))]  # fmt: skip
    counts = [(0, 0), (1, 1), (37, 5), (1000, 333), (128_001, 7), (200_001, 4096),
              (272_001, 9), (1_000_003, 1)]  # fmt: skip
    for api in apis:
        cached = dataclasses.replace(api, cached_fraction=0.3)
        for option in (api, cached):
            for prompt, completion in counts:
                expected = option.bill(1, Tokens.of_split(prompt, completion)).daily_cost
                assert option.request_cost(prompt, completion) == expected, (option.name, prompt)
