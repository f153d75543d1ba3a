"""OpenTelemetry traces of the gateway's model requests: `llmecon serve --otel` (the `otel` extra).

Off unless asked for: the gateway then never imports OpenTelemetry (this module is imported
only by `serve --otel`) and does no work for it per request. On:

- one SERVER span per request to /v1/chat/completions, /v1/completions, /v1/embeddings and
  /v1/responses (`POST /v1/chat/completions`), the child of the client's W3C `traceparent` when
  it sends one, with the HTTP attributes, the GenAI ones (`gen_ai.operation.name`,
  `gen_ai.request.model`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
  `gen_ai.provider.name` and the older `gen_ai.system`: "openai", the protocol spoken) and
  llmecon's (`llmecon.request_id`, the ledger row's id; key id and name, upstream, outcome, token
  source, TTFT, the budget price and `llmecon.counterfactual_cost_usd.<API>` per compared API);
- one CLIENT span per upstream try (`chat MODEL`), with `server.address`/`server.port` of the
  upstream, its tokens and status; its W3C `traceparent` goes to the upstream.

The self-hosted share of a request is allocated when its interval closes, after the span has
ended: find it in the ledger by `llmecon.request_id` (spans carry the upstream's USD per hour).
The exporter is OTLP over HTTP, set up by the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT
(or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME (default
`llmecon-gateway`), OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from llmecon import __version__
from llmecon.core.allocation import NANO
from llmecon.gateway.leg import Leg, Outcome, Receive, Send
from llmecon.gateway.requests import ENDPOINTS
from llmecon.gateway.upstreams import Upstream
from llmecon.ledger.keys import KeyInfo
from llmecon.ledger.model import UsageRow

OPERATIONS = {
    "chat": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "responses": "chat",
}
PROVIDER = "openai"  # the protocol every upstream speaks; server.address tells them apart
Handler = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


@dataclass
class Tracing:
    """Spans through `provider` (an OpenTelemetry TracerProvider); `owned`: shut it down with
    the gateway (the one `from_environment` made)."""

    provider: trace.TracerProvider
    owned: bool = False
    propagator: TraceContextTextMapPropagator = field(default_factory=TraceContextTextMapPropagator)
    server_key: str = field(default_factory=lambda: otel_context.create_key("llmecon-server"))

    def __post_init__(self) -> None:
        self.tracer = self.provider.get_tracer("llmecon.gateway", __version__)

    async def serve(self, handler: Handler, scope: dict[str, Any], receive: Receive,
                    send: Send) -> None:  # fmt: skip
        """Run `handler` for an HTTP request, inside a server span if it asks for a model."""
        path = scope["path"]
        if path not in ENDPOINTS:
            await handler(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        parent = self.propagator.extract(headers)
        with self.tracer.start_as_current_span(
            f"{scope['method']} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_http_attributes(scope, headers),
        ) as span:
            token = otel_context.attach(otel_context.set_value(self.server_key, span))
            try:
                await handler(scope, receive, _watched(send, span))
            finally:
                otel_context.detach(token)

    def record(self, row: UsageRow, key: KeyInfo | None, upstream: Upstream) -> None:
        """What the ledger row says of the request, on its server span."""
        span = otel_context.get_value(self.server_key)
        if not isinstance(span, Span):
            return
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": OPERATIONS.get(row.endpoint, row.endpoint),
            "gen_ai.request.model": row.model,
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.system": PROVIDER,
            "llmecon.request_id": row.request_id,
            "llmecon.upstream": row.upstream,
            "llmecon.outcome": row.outcome,
            "llmecon.token_source": row.token_source,
            "llmecon.stream": row.stream,
            "llmecon.price_book": row.price_book,
        }
        optional = {
            "gen_ai.usage.input_tokens": row.prompt_tokens,
            "gen_ai.usage.output_tokens": row.completion_tokens,
            "llmecon.key_id": row.key_id,
            "llmecon.key_name": key.name if key is not None else None,
            "llmecon.ttft_ms": row.ttft_ms,
            "llmecon.budget_price": row.budget_price,
            "llmecon.upstream.usd_per_hour": upstream.hourly.amount if upstream.hourly else None,
        }
        attributes.update({name: value for name, value in optional.items() if value is not None})
        for api, nusd in row.counterfactual_nusd.items():
            if nusd is not None:
                attributes[f"llmecon.counterfactual_cost_usd.{api}"] = nusd / NANO
        span.set_attributes(attributes)

    async def upstream(
        self, leg: Leg, outcome: Outcome, relay: Callable[[Leg], Awaitable[Outcome]]
    ) -> Outcome:
        """`relay` the leg inside a client span, its `traceparent` sent upstream."""
        call, where = leg.call, urlsplit(leg.upstream.base_url)
        operation = OPERATIONS.get(call.endpoint, call.endpoint)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": call.model,
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.system": PROVIDER,
            "server.address": where.hostname or "",
            "server.port": where.port or (443 if where.scheme == "https" else 80),
            "llmecon.upstream": leg.upstream.name,
            "llmecon.stream": call.stream,
        }
        if call.max_tokens is not None:
            attributes["gen_ai.request.max_tokens"] = call.max_tokens
        with self.tracer.start_as_current_span(
            f"{operation} {call.model}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            carrier: dict[str, str] = {}
            self.propagator.inject(carrier)
            try:
                return await relay(replace(leg, trace_headers=tuple(carrier.items())))
            finally:
                _outcome_attributes(span, outcome)

    async def close(self) -> None:
        """Export what is left and stop (only a provider this gateway made)."""
        shutdown = getattr(self.provider, "shutdown", None)
        if self.owned and shutdown is not None:
            await asyncio.to_thread(shutdown)


def from_environment() -> Tracing:
    """Tracing to the OTLP/HTTP endpoint that the OTEL_* variables name."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    attributes = {"service.version": __version__}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = "llmecon-gateway"
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider, owned=True)


def _http_attributes(scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "http.route": scope["path"],
    }
    server, client = scope.get("server"), scope.get("client")
    if server:
        attributes["server.address"], attributes["server.port"] = server[0], server[1]
    if client:
        attributes["client.address"] = client[0]
    if "user-agent" in headers:
        attributes["user_agent.original"] = headers["user-agent"]
    return attributes


def _watched(send: Send, span: Span) -> Send:
    """`send`, noting the response's status on the span (5xx: an error)."""

    async def watched(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
        await send(message)

    return watched


def _outcome_attributes(span: Span, outcome: Outcome) -> None:
    if outcome.status:
        span.set_attribute("http.response.status_code", outcome.status)
    if outcome.prompt_tokens is not None:
        span.set_attribute("gen_ai.usage.input_tokens", outcome.prompt_tokens)
    if outcome.completion_tokens is not None:
        span.set_attribute("gen_ai.usage.output_tokens", outcome.completion_tokens)
    if outcome.ttft_ms is not None:
        span.set_attribute("llmecon.ttft_ms", outcome.ttft_ms)
    span.set_attribute("llmecon.outcome", outcome.outcome)
