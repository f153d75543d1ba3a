"""A streamed call relayed event by event.

The relay counts what it sees: the upstream's usage when it sends one (if plausible), else the
content events (llama.cpp streams one token per event); the app then counts the prompt (marked
"gateway"). An event that is not a JSON object, one over the leg's size limit, or more tokens
than the request's limit end the stream with an OpenAI-style error event. Whatever happens
(client gone, upstream broken), it returns an Outcome.
"""

from __future__ import annotations

import asyncio

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Leg, Outcome, disconnected, take_usage
from llmecon.gateway.upstream_client import (
    Response,
    UpstreamBrokenError,
    UpstreamConnectError,
    UpstreamTimeoutError,
)
from llmecon.sse import DONE, has_text, split_events, usage_of

OVER_LIMIT = GatewayError(
    502, "sent more tokens than the request's limit; the stream was stopped", "upstream_error"
)
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
FAILURES = (UpstreamConnectError, UpstreamTimeoutError, UpstreamBrokenError)


async def relay_stream(leg: Leg, outcome: Outcome) -> Outcome:
    """A streamed call relayed event by event; stops cleanly when the client goes away."""
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
        await _pump(leg, response, gone, outcome)
    except FAILURES as error:
        await _fail(leg, outcome, leg.failure(error))
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
        if len(buffer) > leg.max_event_bytes and b"\n\n" not in buffer:
            await _fail(leg, outcome, _bad(f"sent an event over {leg.max_event_bytes:,} bytes"))
            return
        for payload in split_events(buffer):
            finished = finished or payload == DONE
            if payload != DONE and not _is_object(payload):
                await _fail(leg, outcome, _bad("sent an event that is not a JSON object"))
                return
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
    if usage is not None:
        take_usage(outcome, usage)
        return leg.call.wants_usage or b'"choices":[]' not in payload.replace(b" ", b"")
    return True


def _bad(what: str) -> GatewayError:
    return GatewayError(502, what, "upstream_error")


def _is_object(payload: bytes) -> bool:
    """A cheap check that an event's data is a JSON object (the full parse is left to the
    client): it starts with { and ends with }."""
    text = payload.strip()
    return text[:1] == b"{" and text[-1:] == b"}"


async def _fail(leg: Leg, outcome: Outcome, error: GatewayError) -> None:
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
