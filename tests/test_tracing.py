"""OpenTelemetry traces (`serve --otel`, the `otel` extra) through the in-process gateway, with the
SDK's in-memory exporter: a server span per request and a client span per upstream try, GenAI
and llmecon attributes, W3C trace context from the client and to the upstream; and nothing at
all (OpenTelemetry not even imported) when tracing is off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from bad_upstream import END, bad_upstream, chunk, head, json_answer
from conftest import Run
from gateway_runner import MINI, run_gateway
from llmecon.core.prices import Price
from llmecon.gateway.app import Gateway
from llmecon.gateway.tracing import Tracing
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger

ROOT = Path(__file__).resolve().parent.parent
CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_PARENT = "b7ad6b7169203331"
ANSWER = {
    "id": "x",
    "choices": [{"message": {"content": "ok"}}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3},
}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as store:
        yield store


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _tracing(exporter: InMemorySpanExporter) -> Tracing:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider)


def _streamed(body: bytes) -> list[bytes]:
    pieces = [
        b'{"choices":[{"delta":{"content":"o"}}]}',
        b'{"choices":[{"delta":{"content":"k"}}]}',
        b'{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}',
        b"[DONE]",
    ]
    return [head(kind="text/event-stream"), *(chunk(b"data: " + p + b"\n\n") for p in pieces), END]


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi there"}], **extra}


def _by_kind(spans: tuple[ReadableSpan, ...]) -> tuple[list[ReadableSpan], list[ReadableSpan]]:
    return (
        [s for s in spans if s.kind == SpanKind.SERVER],
        [s for s in spans if s.kind == SpanKind.CLIENT],
    )


def _traceparent(head_bytes: bytes) -> str:
    for line in head_bytes.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "traceparent":
            return value.strip()
    raise AssertionError("no traceparent sent upstream")


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_is_a_server_span_with_a_client_span_per_upstream_try(
    stream: bool, ledger: Ledger, exporter: InMemorySpanExporter
) -> None:
    heads: list[bytes] = []
    answer = _streamed if stream else json_answer(ANSWER)
    parent = f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"
    with bad_upstream(answer, heads) as url:
        router = Router([Upstream("gpu", url, ("m",), Price(2.5, "instance-hour", "test"))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            return await client.post(
                "/v1/chat/completions",
                json=_chat(stream=stream, max_tokens=9),
                headers={"traceparent": parent, "user-agent": "tests"},
            )

        reply = run_gateway(router, ledger, body, compare_with=(MINI,),
                            tracing=lambda: _tracing(exporter))  # fmt: skip
    assert reply.status_code == 200
    [server], [leg] = _by_kind(exporter.get_finished_spans())
    [row] = ledger.rows()
    tokens = (5, 2) if stream else (7, 3)
    assert (row.prompt_tokens, row.completion_tokens) == tokens
    # the client's trace goes on: server span under its parent, the upstream leg under that
    assert server.context is not None and leg.context is not None and leg.parent is not None
    assert server.parent is not None and server.parent.span_id == int(CLIENT_PARENT, 16)
    assert server.context.trace_id == leg.context.trace_id == int(CLIENT_TRACE, 16)
    assert leg.parent.span_id == server.context.span_id
    [sent] = heads
    assert _traceparent(sent) == f"00-{CLIENT_TRACE}-{leg.context.span_id:016x}-01"
    assert server.name == "POST /v1/chat/completions"
    assert leg.name == "chat m"
    attributes = dict(server.attributes or {})
    assert attributes["http.response.status_code"] == 200
    assert attributes["gen_ai.request.model"] == "m"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == attributes["gen_ai.provider.name"] == "openai"
    assert (attributes["gen_ai.usage.input_tokens"],
            attributes["gen_ai.usage.output_tokens"]) == tokens  # fmt: skip
    assert attributes["llmecon.request_id"] == row.request_id
    assert attributes["llmecon.upstream"] == "gpu"
    assert attributes["llmecon.upstream.usd_per_hour"] == 2.5
    assert attributes["llmecon.stream"] is stream
    counterfactual = row.counterfactual_nusd["mini"]
    assert counterfactual is not None and counterfactual > 0
    assert attributes["llmecon.counterfactual_cost_usd.mini"] == counterfactual / 1e9
    leg_attributes = dict(leg.attributes or {})
    assert leg_attributes["server.address"] == "127.0.0.1"
    assert leg_attributes["server.port"] == int(url.rsplit(":", 1)[1].split("/")[0])
    assert leg_attributes["gen_ai.request.max_tokens"] == 9
    assert (leg_attributes["gen_ai.usage.input_tokens"],
            leg_attributes["gen_ai.usage.output_tokens"]) == tokens  # fmt: skip
    assert server.status.status_code != StatusCode.ERROR


def test_keys_and_failed_upstream_tries_are_on_the_spans(
    ledger: Ledger, exporter: InMemorySpanExporter
) -> None:
    from llmecon.gateway.upstreams import Fallback

    _, secret = ledger.create_key("team-search")
    with bad_upstream(json_answer(ANSWER)) as good:
        router = Router(
            [Upstream("down", "http://127.0.0.1:9/v1", ("m",)), Upstream("good", good, ("n",))],
            [Fallback("m", "good", "n")],
        )

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            auth = {"authorization": f"Bearer {secret}"}
            ok = await client.post("/v1/chat/completions", json=_chat(), headers=auth)
            refused = await client.post("/v1/chat/completions", json=_chat())
            return [ok.status_code, refused.status_code]

        statuses = run_gateway(router, ledger, body, no_auth=False,
                               tracing=lambda: _tracing(exporter))  # fmt: skip
    assert statuses == [200, 401]
    servers, legs = _by_kind(exporter.get_finished_spans())
    assert [dict(s.attributes or {})["http.response.status_code"] for s in servers] == [200, 401]
    first = dict(servers[0].attributes or {})
    assert first["llmecon.key_name"] == "team-search"
    assert first["llmecon.upstream"] == "good"
    assert "gen_ai.request.model" not in dict(servers[1].attributes or {})  # refused at the door
    assert [leg.name for leg in legs] == ["chat m", "chat n"]
    assert legs[0].status.status_code == StatusCode.ERROR  # the unreachable one
    assert legs[1].status.status_code != StatusCode.ERROR


def test_other_routes_have_no_spans(ledger: Ledger, exporter: InMemorySpanExporter) -> None:
    async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
        return [(await client.get(path)).status_code for path in ("/healthz", "/metrics")]

    router = Router([Upstream("u", "http://127.0.0.1:9/v1", ("m",))])
    assert run_gateway(router, ledger, body, tracing=lambda: _tracing(exporter)) == [200, 200]
    assert exporter.get_finished_spans() == ()


def test_without_tracing_opentelemetry_is_never_imported_nor_a_header_sent(
    tmp_path: Path,
) -> None:
    """A gateway without --otel serves a request without importing OpenTelemetry (so it does
    no work for it) and sends no trace context upstream."""
    script = f"""
import asyncio, json, sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from bad_upstream import bad_upstream, json_answer
from gateway_runner import run_gateway
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import open_ledger
import llmecon.cli.serve, llmecon.cli.serve_setup
heads = []
with bad_upstream(json_answer({ANSWER!r}), heads) as url:
    async def body(client, app):
        return (await client.post("/v1/chat/completions", json={_chat()!r})).status_code
    with open_ledger("sqlite:///{tmp_path / "l.db"}") as ledger:
        status = run_gateway(Router([Upstream("u", url, ("m",))]), ledger, body)
print(json.dumps([status, [m for m in sys.modules if m.startswith("opentelemetry")],
                  b"traceparent" in heads[0].lower()]))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=False, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [200, [], False]


def test_otel_without_the_extra_is_a_one_line_error(
    llmecon: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmecon.cli import serve_setup

    monkeypatch.setattr(serve_setup, "OTEL_MODULES", ("opentelemetry.sdk.not_installed",))
    run = llmecon("serve", "--otel", "--upstream", "u=http://127.0.0.1:9/v1")
    assert run.code == 2
    assert run.err.strip().splitlines() == [
        "llmecon: error: --otel needs the otel extra (opentelemetry.sdk.not_installed is missing): "
        "pip install 'llmecon[otel]'"
    ]


def test_otel_is_a_serve_flag_a_config_key_and_an_environment_variable(
    tmp_path: Path, llmecon: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    assert yaml.safe_load(llmecon("serve", "--print-config").out)["otel"] is False
    assert yaml.safe_load(llmecon("serve", "--otel", "--print-config").out)["otel"] is True
    config = tmp_path / "serve.yaml"
    config.write_text("otel: true\n")
    printed = llmecon("serve", "--config", str(config), "--print-config")
    assert yaml.safe_load(printed.out)["otel"] is True
    monkeypatch.setenv("LLMECON_OTEL", "1")
    assert yaml.safe_load(llmecon("serve", "--print-config").out)["otel"] is True


def test_from_environment_exports_over_otlp_http_where_the_otel_variables_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from llmecon.gateway.tracing import from_environment

    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "team-gateway")
        tracing = from_environment()
        with tracing.tracer.start_as_current_span("a span"):
            pass
        asyncio.run(tracing.close())  # exports what is left
    finally:
        server.shutdown()
        server.server_close()
    [(path, payload)] = received
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(payload)
    [resource_spans] = request.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "team-gateway"
    [scope_spans] = resource_spans.scope_spans
    assert [span.name for span in scope_spans.spans] == ["a span"]
