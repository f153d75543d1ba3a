"""Real clients, real operations (issue 11, gateway side): stream usage for clients that ask,
pass-through of fields the gateway does not need, metrics in Prometheus' format, the serve
config file, and one-line errors for mistyped names and busy ports."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bad_upstream import bad_upstream, json_answer
from conftest import Run
from gateway_runner import run_gateway
from llmecon.gateway.app import Gateway
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger
from llmecon.mock import MockSettings, running


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as store:
        yield store


def _run(router: Router, ledger: Ledger, body: Any, **config: Any) -> Any:
    return run_gateway(router, ledger, body, **config)


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "mock", "messages": [{"role": "user", "content": "hi there"}], **extra}


def test_stream_usage_is_sent_when_asked_and_the_upstream_sends_none(ledger: Ledger) -> None:
    with running(MockSettings(ttft_ms=1, itl_ms=1, output_tokens=6, usage=False)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[str]:
            options = {"include_usage": True}
            reply = await client.post(
                "/v1/chat/completions", json=_chat(stream=True, stream_options=options)
            )
            return [line for line in reply.text.splitlines() if line.startswith("data: ")]

        events = _run(Router([Upstream("u", url, ("mock",))]), ledger, body)
    assert events[-1] == "data: [DONE]"
    usage = json.loads(events[-2].removeprefix("data: "))
    assert usage["choices"] == [] and usage["object"] == "chat.completion.chunk"
    assert usage["usage"] == {"prompt_tokens": 2, "completion_tokens": 6, "total_tokens": 8}
    [row] = ledger.rows()
    assert (row.prompt_tokens, row.completion_tokens, row.token_source) == (2, 6, "gateway")


def test_fields_the_gateway_does_not_need_reach_the_upstream_unchanged(ledger: Ledger) -> None:
    seen: list[dict[str, Any]] = []
    answer = json_answer({"id": "x", "choices": [{"message": {"content": "ok"}}]})

    def record(body: bytes) -> list[bytes]:
        seen.append(json.loads(body))
        return answer(body)

    extra = {
        "chat_template_kwargs": {"enable_thinking": False},
        "guided_json": {"type": "object"},
        "prompt_cache_key": "user-42",
        "verbosity": "low",
        "a_field_from_next_month": [1, {"x": None}],
    }
    with bad_upstream(record) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> int:
            reply = await client.post("/v1/chat/completions", json=_chat(**extra))
            return reply.status_code

        assert _run(Router([Upstream("u", url, ("mock",))]), ledger, body) == 200
    [forwarded] = seen
    assert {key: forwarded[key] for key in extra} == extra


def test_metrics_are_prometheus_text_with_histograms_and_costs(ledger: Ledger) -> None:
    from llmecon.core.options import ApiOption, TokenPricing
    from llmecon.core.prices import Price

    pricing = TokenPricing(
        input=Price(0.15, "tokens", "t", per=1e6), output=Price(0.6, "tokens", "t", per=1e6)
    )
    mini = ApiOption("mini", pricing, "mini")
    with running(MockSettings(ttft_ms=1, itl_ms=1, output_tokens=6)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> str:
            for stream in (True, False):
                await client.post("/v1/chat/completions", json=_chat(stream=stream))
            return (await client.get("/metrics")).text

        text = _run(Router([Upstream("u", url, ("mock",))]), ledger, body, compare_with=(mini,))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["llmecon_request_seconds"].type == "histogram"
    assert families["llmecon_ttft_seconds"].type == "histogram"
    assert families["llmecon_tokens_per_request"].type == "histogram"
    counts = [s for s in families["llmecon_request_seconds"].samples if s.name.endswith("_count")]
    assert [s.value for s in counts] == [2.0]
    [cost] = families["llmecon_counterfactual_cost_usd"].samples
    assert cost.labels == {"api": "mini"} and cost.value > 0
    assert families["llmecon_upstream_healthy"].samples[0].value == 1.0


def test_serve_config_round_trips_every_flag(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    flags = [
        "--host", "127.0.0.1", "--port", "9123", "--upstream", "a=http://127.0.0.1:1/v1",
        "--upstream", "b=http://127.0.0.1:2/v1", "--upstream-price", "a=1.5",
        "--no-embedded", "--compare-with", "gpt-4o-mini", "--ledger", "sqlite:///x.db",
        "--interval", "5", "--body-limit", "2048", "--fallback", "m=b:n", "--journal", "j.jsonl",
        "--rpm", "10", "--tpm", "1000", "--budget-day", "2", "--budget-month", "30",
        "--budget-price", "gpt-4o-mini", "--default-max-tokens", "256", "--drain", "3",
        "--max-connections", "100", "--header-timeout", "4", "--body-timeout", "5",
        "--upstream-timeout", "50", "--first-byte-timeout", "6", "--idle-timeout", "7",
        "--log-level", "info", "--access-log", "json", "--redis", "redis://127.0.0.1:6379/0",
        "--otel",
    ]  # fmt: skip
    printed = llmecon("serve", *flags, "--print-config")
    assert printed.code == 0, printed.err
    config = tmp_path / "serve.yaml"
    config.write_text(printed.out)
    again = llmecon("serve", "--config", str(config), "--print-config")
    assert again.code == 0 and again.out == printed.out
    import yaml

    settings = yaml.safe_load(printed.out)
    assert settings["upstream"] == ["a=http://127.0.0.1:1/v1", "b=http://127.0.0.1:2/v1"]
    assert settings["max_connections"] == 100 and settings["embedded"] is False
    # a flag overrides the file
    override = llmecon("serve", "--config", str(config), "--port", "9999", "--print-config")
    assert yaml.safe_load(override.out)["port"] == 9999


def test_serve_config_errors_are_one_line(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text("ledgr: sqlite:///x.db\n")
    bad = llmecon("serve", "--config", str(config))
    assert bad.code == 2 and "unknown key 'ledgr' (did you mean 'ledger'?)" in bad.err
    config.write_text("port: eighty\n")
    bad = llmecon("serve", "--config", str(config))
    assert bad.code == 2 and "port" in bad.err and len(bad.err.strip().splitlines()) == 1


def test_environment_sets_the_ledger(
    tmp_path: Path, llmecon: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMECON_LEDGER", "sqlite:///from-env.db")
    import yaml

    printed = llmecon("serve", "--print-config")
    assert yaml.safe_load(printed.out)["ledger"] == "sqlite:///from-env.db"


def test_mistyped_upstream_names_and_busy_ports_are_one_line_errors(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    ledger = f"sqlite:///{tmp_path / 'l.db'}"
    with running(MockSettings()) as url:
        typo = llmecon("serve", "--upstream", f"mock={url}", "--upstream-price", "mok=1.0",
                       "--ledger", ledger)  # fmt: skip
        assert typo.code == 2 and "no upstream named 'mok'" in typo.err
        with socket.create_server(("127.0.0.1", 0)) as taken:
            port = taken.getsockname()[1]
            busy = llmecon("serve", "--upstream", f"mock={url}", "--port", str(port),
                           "--ledger", ledger, "--journal", str(tmp_path / "j"))  # fmt: skip
    assert busy.code == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.err
    assert "gateway: http" not in busy.err  # nothing claimed to be serving


def test_embeddings_are_relayed_metered_and_recorded(ledger: Ledger) -> None:
    from llmecon.core.prices import Price

    answer = {"object": "list", "data": [{"object": "embedding", "index": 0,
                                          "embedding": [0.1, 0.2]}],
              "model": "mock", "usage": {"prompt_tokens": 5, "total_tokens": 5}}  # fmt: skip
    seen: list[dict[str, Any]] = []

    def record(body: bytes) -> list[bytes]:
        seen.append(json.loads(body))
        return json_answer(answer)(body)

    with bad_upstream(record) as url:
        router = Router([Upstream("u", url, ("mock",), Price(3.6, "instance-hour", "t"))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[Any]:
            one = await client.post("/v1/embeddings", json={"model": "mock", "input": "a b c"})
            ids = await client.post("/v1/embeddings", json={"model": "mock", "input": [[1, 2]]})
            return [one.json(), ids.status_code]

        (reply, status) = _run(router, ledger, body, interval_s=1.0)
    assert reply["data"][0]["embedding"] == [0.1, 0.2] and status == 200
    assert seen[0] == {"model": "mock", "input": "a b c"}  # no limit written in
    rows = sorted(ledger.rows(), key=lambda r: r.started_at)
    assert [(r.endpoint, r.prompt_tokens, r.completion_tokens) for r in rows] == [
        ("embeddings", 5, 0),
        ("embeddings", 5, 0),
    ]
    assert all(r.self_hosted_nusd is not None for r in rows)  # allocated like completions


def test_responses_are_relayed_streamed_or_not_with_usage(ledger: Ledger) -> None:
    from bad_upstream import END, chunk, head

    document = {"id": "resp_1", "object": "response", "output": [
        {"type": "message", "content": [{"type": "output_text", "text": "hello there"}]}],
        "usage": {"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}}  # fmt: skip
    deltas = [{"type": "response.output_text.delta", "delta": w} for w in ("hel", "lo")]
    done = {"type": "response.completed", "response": {**document}}

    def answer(body: bytes) -> list[bytes]:
        if not json.loads(body).get("stream"):
            return json_answer(document)(body)
        events = [
            chunk(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode())
            for e in [*deltas, done]
        ]
        return [head(kind="text/event-stream"), *events, END]

    with bad_upstream(answer) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[str]:
            request = {"model": "mock", "input": "say hello", "instructions": "be brief"}
            once = await client.post("/v1/responses", json=request)
            streamed = await client.post("/v1/responses", json={**request, "stream": True})
            return [once.text, streamed.text]

        once, streamed = _run(Router([Upstream("u", url, ("mock",))]), ledger, body)
    assert json.loads(once)["output"][0]["content"][0]["text"] == "hello there"
    assert "event: response.completed" in streamed and streamed.count("output_text.delta") == 4
    rows = sorted(ledger.rows(), key=lambda r: r.stream)
    assert [(r.endpoint, r.stream, r.prompt_tokens, r.completion_tokens, r.outcome)
            for r in rows] == [("responses", False, 7, 2, "ok"),
                               ("responses", True, 7, 2, "ok")]  # fmt: skip


def test_a_responses_request_with_bad_instructions_is_400(ledger: Ledger) -> None:
    """Found by schemathesis: `instructions` that are not a string were a 500."""

    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        request = {"model": "mock", "input": "0", "instructions": [None, None]}
        return await client.post("/v1/responses", json=request)

    reply = _run(Router([Upstream("u", "http://127.0.0.1:9/v1", ("mock",))]), ledger, body)
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "instructions"
