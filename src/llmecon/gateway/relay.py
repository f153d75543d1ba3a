"""Forwarding one call upstream and relaying the answer, event by event when streamed.

The relay counts what it sees: the upstream's usage when it sends one, else the content
events (llama.cpp streams one token per event); the app then counts the prompt (marked
"gateway"). Whatever happens (client gone, upstream broken), it returns an Outcome.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.requests import Call
from llmecon.gateway.upstream_client import (
    Response,
    UpstreamBrokenError,
    UpstreamClient,
    UpstreamConnectError,
    UpstreamTimeoutError,
)
from llmecon.gateway.upstreams import Upstream
from llmecon.sse import DONE, has_text, split_events, usage_of

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
PATHS = {"chat": "/chat/completions", "completions": "/completions"}
OVER_LIMIT = GatewayError(
    502, "sent more tokens than the request's limit; the stream was stopped", "upstream_error"
)
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


@dataclass
class Outcome:
    status: int = 0
    outcome: str = "ok"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = "none"
    ttft_ms: float | None = None
    content_events: int = 0
    started: bool = False  # response headers already sent to the client
    answer_text: str | None = None  # a non-streamed answer's text, when it came without usage


@dataclass(frozen=True)
class Leg:
    """One call on its way: where it goes, what it is, and the client's ASGI channel."""

    client: UpstreamClient
    upstream: Upstream
    call: Call
    send: Send
    receive: Receive
    t0: float  # perf_counter when the request arrived
    finish: Callable[[Leg, Outcome], None] = lambda leg, outcome: None  # before the last byte
    cap: int = 1 << 62  # completion tokens per answer when the call sets no limit

    @property
    def url(self) -> str:
        return self.upstream.base_url + PATHS[self.call.endpoint]

    @property
    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.upstream.api_key:
            headers["authorization"] = f"Bearer {self.upstream.api_key}"
        return headers

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000

    def error(self, status: int, body: bytes) -> GatewayError:
        try:
            message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = body[:300].decode(errors="replace")
        if status >= 500:
            name = self.upstream.name
            text = f"upstream {name} failed ({status}): {message}"
            return GatewayError(502, text, "upstream_error", retryable=True)
        return GatewayError(status, str(message), "upstream_rejected")


async def relay_once(leg: Leg, outcome: Outcome) -> Outcome:
    """A non-streamed call: one upstream response, forwarded with its usage noted."""
    name = leg.upstream.name
    response: Response | None = None
    try:
        response = await leg.client.post(leg.url, leg.call.body, leg.headers)
        content = await response.read()
    except asyncio.CancelledError:
        if response is not None:
            response.abort()  # the client went away or the gateway is shutting down
        raise
    except UpstreamConnectError as error:
        raise GatewayError(502, f"upstream {name} unreachable: {error}", "upstream_unreachable",
                           retryable=True) from None  # fmt: skip
    except UpstreamTimeoutError:
        raise GatewayError(504, f"upstream {name} timed out", "upstream_timeout") from None
    except UpstreamBrokenError as error:
        raise GatewayError(502, f"upstream {name} failed: {error}", "upstream_error") from None
    if response.status >= 400:
        raise leg.error(response.status, content)
    outcome.status, outcome.ttft_ms = 200, leg.elapsed_ms()
    _take_usage(outcome, usage_of(content) or {})
    if outcome.token_source == "none":
        outcome.answer_text = answer_text(content)
    headers = [(b"content-type", response.header(b"content-type") or b"application/json")]
    await leg.send({"type": "http.response.start", "status": 200, "headers": headers})
    leg.finish(leg, outcome)
    await leg.send({"type": "http.response.body", "body": content})
    return outcome


def answer_text(content: bytes) -> str | None:
    """The text of every choice of a non-streamed answer (message content, tool-call arguments
    or completion text), for counting its tokens; None if the body is not such an answer."""
    try:
        choices = json.loads(content).get("choices")
    except (ValueError, AttributeError):
        return None
    if not isinstance(choices, list):
        return None
    parts: list[str] = []
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        if isinstance(message, dict):
            parts.append(str(message.get("content") or ""))
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    parts.append(str(function.get("arguments") or ""))
        if isinstance(choice.get("text"), str):
            parts.append(choice["text"])
    return "\n".join(parts)


def _take_usage(outcome: Outcome, usage: dict[str, Any]) -> None:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        outcome.prompt_tokens, outcome.completion_tokens = prompt, completion
        outcome.token_source = "upstream"


async def relay_stream(leg: Leg, outcome: Outcome) -> Outcome:
    """A streamed call relayed event by event; stops cleanly when the client goes away."""
    gone = asyncio.ensure_future(_disconnected(leg.receive))
    response: Response | None = None
    try:
        response = await leg.client.post(leg.url, leg.call.body, leg.headers)
        if response.status >= 400:
            raise leg.error(response.status, await response.read())
        start = {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS}
        await leg.send(start)
        outcome.started, outcome.status = True, 200
        await _pump(leg, response, gone, outcome)
    except UpstreamConnectError as error:
        failure = GatewayError(502, f"unreachable ({error})", "upstream_unreachable",
                               retryable=True)  # fmt: skip
        await _fail(leg, outcome, failure)
    except UpstreamTimeoutError:
        await _fail(leg, outcome, GatewayError(504, "timed out", "upstream_timeout"))
    except UpstreamBrokenError as error:
        await _fail(leg, outcome, GatewayError(502, f"broke ({error})", "upstream_error"))
    finally:
        gone.cancel()
        if response is not None:
            response.abort()
    return outcome


async def _pump(leg: Leg, response: Response, gone: asyncio.Future[None], outcome: Outcome) -> None:
    buffer = bytearray()
    finished = False
    async for chunk in response:
        buffer.extend(chunk)
        for payload in split_events(buffer):
            finished = finished or payload == DONE
            if not _relay_worthy(leg, payload, outcome):
                continue
            if gone.done():
                outcome.outcome = "client_disconnected"
                return
            if outcome.content_events > leg.call.most_completion_tokens(leg.cap):
                await _fail(leg, outcome, OVER_LIMIT)
                return
            event = b"data: " + payload + b"\n\n"
            await leg.send({"type": "http.response.body", "body": event, "more_body": True})
    if not finished:
        outcome.outcome = "upstream_error"
        error = GatewayError(502, "the upstream stream ended early", "upstream_error")
        event = b"data: " + error.body() + b"\n\n"
        await leg.send({"type": "http.response.body", "body": event, "more_body": True})
    leg.finish(leg, outcome)
    await leg.send({"type": "http.response.body", "body": b"", "more_body": False})


def _relay_worthy(leg: Leg, payload: bytes, outcome: Outcome) -> bool:
    """Note what the event carries; False for the usage chunk the client did not ask for."""
    if payload != DONE and has_text(payload):
        if outcome.ttft_ms is None:
            outcome.ttft_ms = leg.elapsed_ms()
        outcome.content_events += 1
        return True
    usage = usage_of(payload)
    if usage is not None and isinstance(usage.get("completion_tokens"), int):
        _take_usage(outcome, usage)
        return leg.call.wants_usage or b'"choices":[]' not in payload.replace(b" ", b"")
    return True


async def _fail(leg: Leg, outcome: Outcome, error: GatewayError) -> None:
    message = f"upstream {leg.upstream.name} {error.message}"
    error = GatewayError(error.status, message, error.code, retryable=error.retryable)
    if not outcome.started:
        raise error
    outcome.outcome = "upstream_error"
    event = b"data: " + error.body() + b"\n\n"
    leg.finish(leg, outcome)
    try:
        await leg.send({"type": "http.response.body", "body": event, "more_body": False})
    except OSError:
        outcome.outcome = "client_disconnected"


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
