"""The gateway as a pure ASGI application: `create_app(config, ledger)`.

Routes: POST /v1/chat/completions and /v1/completions (relayed to the upstream serving the
model), GET /v1/models, /healthz, /metrics, /openapi.json. Every completion request ends as one
ledger row: tokens and their source, latency, status, the counterfactual cost at each compared
API and, once its interval closes, its share of the self-hosted cost.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import httpx

from llmecon.core.allocation import NANO
from llmecon.core.options import ApiOption
from llmecon.gateway import embedded_embeddings
from llmecon.gateway.accounting import LedgerWriter
from llmecon.gateway.admission import Door, Pricing
from llmecon.gateway.answer import relay_once
from llmecon.gateway.auth import KeyCheck
from llmecon.gateway.errors import GatewayError
from llmecon.gateway.http import check_origin, read_body, respond
from llmecon.gateway.journal import Journal
from llmecon.gateway.leg import Leg, Outcome, Receive, Send
from llmecon.gateway.metering import Meter
from llmecon.gateway.metrics import Metrics
from llmecon.gateway.relay import owes_usage, relay_stream, usage_event
from llmecon.gateway.requests import ENDPOINTS, Call, parse_call
from llmecon.gateway.responses import relay_responses_stream
from llmecon.gateway.status import ROUTES
from llmecon.gateway.upstream_client import UpstreamClient, UpstreamTimeouts
from llmecon.gateway.upstreams import Route, Router
from llmecon.ledger.keys import KeyInfo, KeyStore
from llmecon.ledger.model import Endpoint, TokenSource, UsageRow, to_nano
from llmecon.ledger.protocol import Ledger
from llmecon.limits import Admission

if TYPE_CHECKING:
    from collections.abc import Callable

    from llmecon.gateway.tracing import Tracing

log = logging.getLogger("llmecon.gateway")
access = logging.getLogger("llmecon.access")
LONG_PROMPT = 4096  # characters: a prompt this long is counted in a worker thread
JSON = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class GatewayConfig:
    router: Router
    compare_with: tuple[ApiOption, ...] = ()
    compare_embeddings: tuple[ApiOption, ...] = ()  # paid embedding APIs, for /v1/embeddings
    price_book: str = ""
    no_auth: bool = False
    body_limit: int = 1 << 20
    timeouts: UpstreamTimeouts = field(default_factory=UpstreamTimeouts)
    max_response_bytes: int = 64 << 20  # a non-streamed upstream answer
    max_event_bytes: int = 1 << 20  # one streamed event
    interval_s: float = 60.0
    version: str = "0"
    journal_path: Path | None = None  # rows land here before the client's last byte
    ledger_name: str | None = None  # the ledger the journal belongs to (URL without password)
    health_every_s: float = 5.0
    door: Door | None = None  # rate limits and budgets (None: none)
    drain_s: float = 10.0  # at shutdown, how long requests in flight may still finish
    admin_key_sha256: str | None = None  # the console's key (`serve --admin-key-env`)
    tracing: Callable[[], Tracing] | None = None  # OpenTelemetry (`serve --otel`), per process


@dataclass
class Gateway:
    """The ASGI callable and its per-instance state (no module globals)."""

    config: GatewayConfig
    ledger: Ledger
    count_tokens: Any  # text -> int, for prompts when the upstream reports no usage
    keys: KeyCheck
    metrics: Metrics = field(default_factory=Metrics)
    client: UpstreamClient | None = None
    health_client: httpx.AsyncClient | None = None
    writer: LedgerWriter | None = None
    health_task: asyncio.Task[None] | None = None
    in_flight: set[asyncio.Task[Any]] = field(default_factory=set)
    cut: bool = False  # the drain period is over: requests still in flight are ended
    tracing: Tracing | None = None  # spans, when the config asks for them

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if self.tracing is None:
                await self._http(scope, receive, send)
            else:
                await self.tracing.serve(self._http, scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start(self) -> None:
        self.client = UpstreamClient(self.config.timeouts)
        self.health_client = httpx.AsyncClient(timeout=httpx.Timeout(2.0))
        replica = uuid.uuid4().hex[:16]
        slot_us = round(self.config.interval_s * 1_000_000)
        meters = {
            u.name: Meter(u.name, to_nano(u.hourly.amount), slot_us, replica)
            for u in self.config.router.upstreams
            if u.hourly is not None
        }
        path = self.config.journal_path
        journal = Journal(path, self.config.ledger_name) if path is not None else None
        self.writer = LedgerWriter(
            self.ledger, meters, self.config.interval_s, journal, replica=replica
        )
        self.writer.on_slots = lambda closed: self.metrics.cost(
            {}, {slot.upstream: slot.total_nusd / NANO for slot in closed}
        )
        self.writer.start()
        self.keys.watch(asyncio.get_running_loop())
        self.tracing = self.config.tracing() if self.config.tracing is not None else None
        self.health_task = asyncio.get_running_loop().create_task(self._check_health())

    async def _check_health(self) -> None:
        """Mark each upstream healthy or not by GET /models, every few seconds."""
        assert self.health_client is not None
        router = self.config.router
        while True:
            for upstream in router.upstreams:
                headers = (
                    {"authorization": f"Bearer {upstream.api_key}"} if upstream.api_key else {}
                )
                try:
                    response = await self.health_client.get(
                        upstream.base_url + "/models", headers=headers, timeout=2.0
                    )
                    router.mark(upstream, healthy=response.status_code < 500)
                except httpx.HTTPError:
                    router.mark(upstream, healthy=False)
            await asyncio.sleep(self.config.health_every_s)

    def drain(self) -> None:
        """Shutdown begins: requests in flight get `drain_s` seconds, then are ended (an error
        event for streams, a 503 otherwise) and recorded with outcome `shutdown`."""
        asyncio.get_running_loop().call_later(self.config.drain_s, self._cut)

    def _cut(self) -> None:
        self.cut = True
        for task in list(self.in_flight):
            task.cancel("llmecon: drain period over")

    async def stop(self) -> None:
        self.keys.unwatch()
        if self.health_task is not None:
            self.health_task.cancel()
        if self.config.door is not None:
            await self.config.door.limiter.aclose()
        if self.client is not None:
            self.client.close()
        if self.health_client is not None:
            await self.health_client.aclose()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
        if self.tracing is not None:
            await self.tracing.close()

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        try:
            if path in ENDPOINTS:
                if method != "POST":
                    raise _not_allowed(method, path, b"POST")
                await self._complete(scope, path, receive, send)
            elif path in ROUTES:
                if method not in {"GET", "HEAD"}:
                    raise _not_allowed(method, path, b"GET, HEAD")
                await ROUTES[path](self, scope, send)
            else:
                raise GatewayError(404, f"no route {method} {path}", "not_found")
        except GatewayError as error:
            await respond(send, error.status, error.body(), headers=error.headers)

    async def authorize(self, scope: dict[str, Any]) -> KeyInfo | None:
        """The valid bearer key (None with --no-auth); 401 without one, 503 if the store is
        down or does not answer in time."""
        if self.config.no_auth:
            check_origin(scope.get("headers", []))
            return None
        return await self.keys.check(scope)

    async def _complete(
        self, scope: dict[str, Any], path: str, receive: Receive, send: Send
    ) -> None:
        started, t0 = datetime.now(UTC), time.perf_counter()
        key = await self.authorize(scope)  # from the headers, before reading any body
        raw = await read_body(receive, self.config.body_limit)
        call = parse_call(path, raw)
        routes = self.config.router.routes(call.model)
        if not routes:
            message = f"the model {call.model!r} does not exist here; see GET /v1/models"
            raise GatewayError(404, message, "model_not_found", "model")
        assert self.client is not None
        door = self.config.door
        counts = door is not None and door.counts_tokens(key)
        if door is not None and counts:
            call = call.with_limit(door.default_max_tokens)
        recorder = _Recorder(self, started, key)
        leg = Leg(self.client, routes[0].upstream, call, send, receive, t0, recorder.finish,
                  max_response_bytes=self.config.max_response_bytes,
                  max_event_bytes=self.config.max_event_bytes,
                  count_prompt=lambda: self._prompt_tokens(recorder, call))  # fmt: skip
        recorder.leg, recorder.current = leg, Outcome()
        if len(call.prompt_text) >= LONG_PROMPT:  # counted off the loop
            recorder.prompt_tokens = await self._count(call.prompt_text) + call.prompt_token_ids
        admission, pricing = await self._admit(key, call, routes, recorder, counts=counts)
        task = asyncio.current_task()
        assert task is not None
        self.in_flight.add(task)
        try:
            await self._forward(routes, recorder)
        except asyncio.CancelledError:
            if not self.cut:
                raise
            task.uncancel()
            await _end_at_shutdown(recorder.leg, recorder.current)
        finally:
            self.in_flight.discard(task)
            recorder.finish(recorder.leg, recorder.current)
            if door is not None and admission is not None:
                await door.finish(admission, _settled_tokens(recorder.outcome), pricing)

    async def _forward(self, routes: list[Route], recorder: _Recorder) -> None:
        """Try the routes in order until one answers (or fails past the first byte)."""
        for index, route in enumerate(routes):
            leg = recorder.leg
            recorder.leg = replace(
                leg, upstream=route.upstream, call=leg.call.for_model(route.model)
            )
            recorder.current = Outcome()
            try:
                await self._attempt(recorder.leg, recorder.request_id, recorder.current)
                return
            except GatewayError as error:
                recorder.current.status, recorder.current.outcome = error.status, "upstream_error"
                if not error.retryable or index == len(routes) - 1:
                    raise
                self.config.router.mark(route.upstream, healthy=False)
                log.warning("upstream %s failed; trying the next route", route.upstream.name)

    async def _admit(
        self,
        key: KeyInfo | None,
        call: Call,
        routes: list[Route],
        recorder: _Recorder,
        *,
        counts: bool,
    ) -> tuple[Admission | None, Pricing]:
        """Reserve the call's most tokens and cost at the dearest price of its routes
        (`counts`: a tokens-per-minute limit or a budget applies to the key)."""
        door = self.config.door
        if door is None:
            return None, Pricing(None)
        floor = -(-len(call.body) // 3)
        if not counts:
            # no token limit or budget: the prompt's count decides nothing (a reservation is
            # settled at the true usage), so the body is not tokenized for it
            prompt = floor + call.reserve_extra
        elif call.reserve_text:  # the whole body: the most the upstream can bill for the prompt
            # tokenizers differ: never less than a token per 3 bytes (English runs ~4 bytes a
            # token, CJK ~3), nor less than our own count of the body
            prompt = max(await self._count(call.reserve_text), floor) + call.reserve_extra
        else:
            prompt = self._prompt_tokens(recorder, call) + call.reserve_extra
        most = call.most_completion_tokens(door.default_max_tokens)
        candidates = [(r.model, r.upstream.hourly is None) for r in routes]
        pricing = door.dearest(candidates, prompt, most, embedding=call.endpoint == "embeddings")
        recorder.budget_price = pricing.name
        return await door.admit(key, prompt, most, pricing), pricing

    def _compared(self, call: Call) -> tuple[ApiOption, ...]:
        """The APIs a request is priced at: embeddings at the embedding APIs (input tokens),
        everything else at the chat APIs."""
        if call.endpoint == "embeddings":
            return self.config.compare_embeddings
        return self.config.compare_with

    def _prompt_tokens(self, recorder: _Recorder, call: Call) -> int:
        """The prompt's tokens: counted once per request (long prompts before forwarding, off
        the event loop), short ones here when first needed."""
        if recorder.prompt_tokens is None:
            recorder.prompt_tokens = (
                int(self.count_tokens(call.prompt_text)) + call.prompt_token_ids
            )
        return recorder.prompt_tokens

    async def _count(self, text: str) -> int:
        """Prompt tokens; a long prompt is counted off the event loop."""
        if len(text) < LONG_PROMPT:
            return int(self.count_tokens(text))
        return int(await asyncio.to_thread(self.count_tokens, text))

    async def _attempt(self, leg: Leg, request_id: str, outcome: Outcome) -> Outcome:
        """One upstream try (in a client span when tracing)."""
        if self.tracing is None:
            return await self._try(leg, request_id, outcome)
        return await self.tracing.upstream(leg, outcome, lambda traced: self._try(
            traced, request_id, outcome))  # fmt: skip

    async def _try(self, leg: Leg, request_id: str, outcome: Outcome) -> Outcome:
        """One upstream try, counted as outstanding and as time in flight on its meter."""
        router = self.config.router
        meter = self.writer.meters.get(leg.upstream.name) if self.writer else None
        router.begin(leg.upstream)
        if meter is not None:
            meter.begin(request_id)
        try:
            relay = _RELAYS[(leg.call.endpoint == "responses", leg.call.stream)]
            return await embedded_embeddings.adapt(leg, relay)(leg, outcome)
        finally:
            router.end(leg.upstream)
            if meter is not None:
                meter.end(request_id)

    def _record(self, leg: Leg, recorder: _Recorder, outcome: Outcome) -> None:
        call, upstream = leg.call, leg.upstream
        seconds = time.perf_counter() - leg.t0
        if outcome.token_source == "none" and (
            outcome.content_events or outcome.answer_text is not None
        ):
            # the upstream sent no usage: count what the client received, and the prompt
            outcome.completion_tokens = (
                int(self.count_tokens(outcome.answer_text))
                if outcome.answer_text is not None
                else outcome.content_events
            )
            outcome.prompt_tokens = self._prompt_tokens(recorder, call)
            outcome.token_source = "gateway"
        tokens = (outcome.prompt_tokens, outcome.completion_tokens)
        label = call.model if call.model in self.config.router.models() else "(other)"
        ttft = outcome.ttft_ms / 1000 if outcome.ttft_ms is not None else None
        self.metrics.observe(
            label, call.endpoint, outcome.status or 499, seconds, tokens, ttft_s=ttft
        )
        row = UsageRow(
            request_id=recorder.request_id,
            started_at=recorder.started,
            finished_at=datetime.now(UTC),
            key_id=recorder.key.id if recorder.key is not None else None,
            model=call.model,
            upstream=upstream.name,
            endpoint=_endpoint(call.endpoint),
            stream=call.stream,
            status=outcome.status or 499,
            outcome=outcome.outcome,
            prompt_tokens=outcome.prompt_tokens,
            completion_tokens=outcome.completion_tokens,
            token_source=_source(outcome.token_source),
            ttft_ms=outcome.ttft_ms,
            latency_ms=seconds * 1000,
            self_hosted_nusd=None,
            counterfactual_nusd=counterfactual(self._compared(call), outcome),
            price_book=self.config.price_book,
            budget_price=recorder.budget_price,
        )
        self.metrics.cost({api: n / NANO for api, n in row.counterfactual_nusd.items() if n}, {})
        if self.writer is not None:
            self.writer.submit(row)
        if self.tracing is not None:
            self.tracing.record(row, recorder.key, upstream)
        if access.isEnabledFor(logging.INFO):
            access.info("request", extra={"access": _access_fields(row)})


@dataclass
class _Recorder:
    """Writes a request's ledger row exactly once (before its last byte, when possible)."""

    gateway: Gateway
    started: datetime
    key: KeyInfo | None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    budget_price: str | None = None
    prompt_tokens: int | None = None  # counted once, when first needed
    outcome: Outcome | None = None  # as recorded
    leg: Leg = field(init=False)  # the current try
    current: Outcome = field(default_factory=Outcome)  # its outcome so far

    def finish(self, leg: Leg, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.gateway._record(leg, self, outcome)


def counterfactual(apis: tuple[ApiOption, ...], outcome: Outcome) -> Mapping[str, int | None]:
    """What each compared API would have charged for these tokens (None when unknown)."""
    prompt, completion = outcome.prompt_tokens, outcome.completion_tokens
    costs: dict[str, int | None] = {}
    for api in apis:
        if prompt is None or completion is None:
            costs[api.name] = None
            continue
        costs[api.name] = round(api.request_cost(prompt, completion) * NANO)
    return costs


async def _end_at_shutdown(leg: Leg, outcome: Outcome) -> None:
    """The drain period is over: end the answer in the client's format, record `shutdown`."""
    outcome.outcome = "shutdown"
    error = GatewayError(503, "the gateway is shutting down; retry", "shutting_down")
    try:
        if outcome.started:
            usage = usage_event(leg, outcome) if owes_usage(leg, outcome) else b""
            event = b"data: " + error.body() + b"\n\n" + usage + b"data: [DONE]\n\n"
            leg.finish(leg, outcome)
            await leg.send({"type": "http.response.body", "body": event, "more_body": False})
        else:
            outcome.status = 503
            leg.finish(leg, outcome)
            await respond(leg.send, 503, error.body())
    except OSError:
        return  # the client is gone too


def _settled_tokens(outcome: Outcome | None) -> tuple[int, int] | None:
    """The tokens to settle a reservation at; None (release it) when unknown."""
    if outcome is None or outcome.prompt_tokens is None or outcome.completion_tokens is None:
        return None
    return outcome.prompt_tokens, outcome.completion_tokens


def _source(name: str) -> TokenSource:
    return "upstream" if name == "upstream" else ("gateway" if name == "gateway" else "none")


_RELAYS = {
    (False, False): relay_once,
    (False, True): relay_stream,
    (True, False): relay_once,
    (True, True): relay_responses_stream,
}


def _endpoint(name: str) -> Endpoint:
    for endpoint in get_args(Endpoint):
        if endpoint == name:
            return endpoint  # type: ignore[no-any-return]
    raise ValueError(f"unknown endpoint {name!r}")


def _access_fields(row: UsageRow) -> dict[str, Any]:
    """What the access log says of a request: never a key's secret or the prompt."""
    return {
        "time": row.finished_at.isoformat(timespec="milliseconds"),
        "request_id": row.request_id,
        "key_id": row.key_id,
        "model": row.model,
        "upstream": row.upstream,
        "endpoint": row.endpoint,
        "stream": row.stream,
        "status": row.status,
        "outcome": row.outcome,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "latency_ms": round(row.latency_ms or 0.0, 2),
        "ttft_ms": round(row.ttft_ms, 2) if row.ttft_ms is not None else None,
    }


def _not_allowed(method: str, path: str, allow: bytes) -> GatewayError:
    error = GatewayError(405, f"{method} is not allowed on {path}", "method_not_allowed")
    error.headers = [(b"allow", allow)]
    return error


def create_app(
    config: GatewayConfig, ledger: Ledger, count_tokens: Any, keys: KeyStore | None = None
) -> Gateway:
    """The gateway; `keys` is the key store (default: the ledger; give it its own connection
    so that key checks never wait behind ledger writes)."""
    return Gateway(config, ledger, count_tokens, KeyCheck(keys or ledger))
