"""A streamed call relayed event by event (the events of one upstream read in one write).

The relay counts what it sees: the upstream's usage when it sends one (if plausible), else the
content events (llama.cpp streams one token per event); the app then counts the prompt (marked
"gateway"). An event that is not a JSON object, one over the leg's size limit, or more tokens
than the request's limit end the stream with an OpenAI-style error event. Whatever happens
(client gone, upstream broken), it returns an Outcome.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from llmecon.chunks import END, ERROR, MALFORMED, OTHER, TEXT, classify, usage_of
from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Leg, Outcome, disconnected, take_usage
from llmecon.gateway.upstream_client import (
    Response,
    UpstreamBrokenError,
    UpstreamConnectError,
    UpstreamTimeoutError,
)
from llmecon.sse import MESSAGE, EventReader, EventTooLargeError, encode_event

OVER_LIMIT = GatewayError(
    502, "sent more tokens than the request's limit; the stream was stopped", "upstream_error"
)
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
FAILURES = (UpstreamConnectError, UpstreamTimeoutError, UpstreamBrokenError)


Pump = Callable[[Leg, Response, "asyncio.Future[None]", Outcome], Awaitable[None]]


async def relay_stream(leg: Leg, outcome: Outcome) -> Outcome:
    """A streamed chat or completions call relayed event by event."""
    return await relay_events(leg, outcome, _pump)


async def relay_events(leg: Leg, outcome: Outcome, pump: Pump) -> Outcome:
    """A streamed call: the upstream's answer is checked, then `pump` relays its events; stops
    cleanly when the client goes away."""
    gone = asyncio.ensure_future(disconnected(leg.receive))
    response: Response | None = None
    try:
        response = await leg.client.post(leg.url, leg.call.body, leg.headers)
        if response.status >= 400:
            body = await response.read(leg.max_response_bytes)
            raise leg.error(response.status, body, response.header(b"retry-after"))
        start = {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS}
        await leg.send(start)
        outcome.started, outcome.status = True, 200
        await pump(leg, response, gone, outcome)
    except FAILURES as error:
        await fail_stream(leg, outcome, leg.failure(error))
    finally:
        gone.cancel()
        if response is not None:
            response.abort()
    return outcome


async def _pump(leg: Leg, response: Response, gone: asyncio.Future[None], outcome: Outcome) -> None:
    reader = EventReader(max_event_bytes=leg.max_event_bytes)  # each byte searched once
    finished = False
    async for chunk in response:
        try:
            events = reader.feed(chunk)
        except EventTooLargeError:
            await fail_stream(
                leg, outcome, _bad(f"sent an event over {leg.max_event_bytes:,} bytes")
            )
            return
        wires: list[bytes] = []  # the events of one upstream read leave in one write
        for event in events:
            payload = event.data
            kind = classify(payload)
            finished = finished or kind == END
            if kind == MALFORMED:
                await _forward(leg, wires)
                await fail_stream(leg, outcome, _bad("sent an event that is not a JSON object"))
                return
            if not _relay_worthy(leg, payload, kind, outcome):
                continue
            if gone.done():
                outcome.outcome = "client_disconnected"
                return
            if outcome.content_events > leg.call.most_completion_tokens(leg.cap):
                await _forward(leg, wires)
                await fail_stream(leg, outcome, OVER_LIMIT)
                return
            if kind == END and owes_usage(leg, outcome):
                wires.append(usage_event(leg, outcome))
            name = event.event if event.event != MESSAGE else b""
            wires.append(encode_event(payload, name))
        await _forward(leg, wires)
    await end_stream(leg, outcome, finished=finished)


async def _forward(leg: Leg, wires: list[bytes]) -> None:
    """Send the events gathered from one upstream read, if any, as one body chunk (one write
    to the client instead of one per event; none waits for a later read)."""
    if wires:
        await leg.send({"type": "http.response.body", "body": b"".join(wires), "more_body": True})


def _relay_worthy(leg: Leg, payload: bytes, kind: str, outcome: Outcome) -> bool:
    """Note what the event carries; False for the usage chunk the client did not ask for."""
    if kind == TEXT:
        if outcome.ttft_ms is None:
            outcome.ttft_ms = leg.elapsed_ms()
        outcome.content_events += 1
        return True
    if kind == ERROR:
        outcome.outcome = "upstream_error"  # the upstream streamed an error: relay it
        return True
    usage = usage_of(payload) if kind == OTHER else None
    if usage is not None:
        take_usage(outcome, usage)
        return leg.call.wants_usage or b'"choices":[]' not in payload.replace(b" ", b"")
    return True


def owes_usage(leg: Leg, outcome: Outcome) -> bool:
    """The client asked for stream usage (chat or completions) and has not had it yet."""
    return (
        leg.call.wants_usage
        and leg.call.endpoint in {"chat", "completions"}
        and outcome.token_source != "upstream"
    )


def usage_event(leg: Leg, outcome: Outcome) -> bytes:
    """The final usage chunk, in OpenAI's shape, from the gateway's own counts (also recorded)."""
    prompt, completion = leg.count_prompt(), outcome.content_events
    outcome.prompt_tokens, outcome.completion_tokens = prompt, completion
    outcome.token_source = "gateway"
    chat = leg.call.endpoint == "chat"
    chunk: dict[str, Any] = {
        "id": "llmecon-usage",
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": int(time.time()),
        "model": leg.call.model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return encode_event(json.dumps(chunk).encode())


def _bad(what: str) -> GatewayError:
    return GatewayError(502, what, "upstream_error")


async def end_stream(leg: Leg, outcome: Outcome, *, finished: bool) -> None:
    """The upstream's stream is over: an error event if it ended before its last event, the
    row recorded, the client's response closed."""
    if not finished:
        outcome.outcome = "upstream_error"
        error = GatewayError(502, "the upstream stream ended early", "upstream_error")
        await leg.send({"type": "http.response.body", "body": encode_event(error.body()),
                        "more_body": True})  # fmt: skip
    leg.finish(leg, outcome)
    await leg.send({"type": "http.response.body", "body": b"", "more_body": False})


async def fail_stream(leg: Leg, outcome: Outcome, error: GatewayError) -> None:
    if not outcome.started:
        raise error
    if error.code in {"upstream_error", "upstream_timeout"} and not error.message.startswith(
        "upstream "
    ):
        error = GatewayError(error.status, f"upstream {leg.upstream.name} {error.message}",
                             error.code)  # fmt: skip
    outcome.outcome = "upstream_error"
    event = b"data: " + error.body() + b"\n\n"
    leg.finish(leg, outcome)
    try:
        await leg.send({"type": "http.response.body", "body": event, "more_body": False})
    except OSError:
        outcome.outcome = "client_disconnected"
