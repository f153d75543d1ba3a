"""A streamed call to OpenAI's Responses API, relayed event by event.

Its events are typed (`event: response.output_text.delta`, `data: {"type": ...}`) and carry no
`[DONE]`: the answer ends with `response.completed` (or `.incomplete`, `.failed`), whose
`response.usage` has the input and output tokens. Each event is decoded (they are few and
varied); one that is not a JSON object, or over the leg's size limit, ends the stream with an
error event, as for chat streams.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Leg, Outcome, take_usage
from llmecon.gateway.relay import end_stream, fail_stream, relay_events
from llmecon.gateway.upstream_client import Response
from llmecon.sse import MESSAGE, Event, EventReader, EventTooLargeError, encode_event

ENDINGS = {"response.completed", "response.incomplete", "response.failed"}


async def relay_responses_stream(leg: Leg, outcome: Outcome) -> Outcome:
    return await relay_events(leg, outcome, _pump)


async def _pump(leg: Leg, response: Response, gone: asyncio.Future[None], outcome: Outcome) -> None:
    reader = EventReader(max_event_bytes=leg.max_event_bytes)
    finished = False
    async for chunk in response:
        try:
            events = reader.feed(chunk)
        except EventTooLargeError:
            error = GatewayError(502, f"sent an event over {leg.max_event_bytes:,} bytes",
                                 "upstream_error")  # fmt: skip
            await fail_stream(leg, outcome, error)
            return
        for event in events:
            data = _decoded(event)
            if data is None:
                bad = GatewayError(502, "sent an event that is not a JSON object", "upstream_error")
                await fail_stream(leg, outcome, bad)
                return
            finished = _note(leg, data, outcome) or finished
            if gone.done():
                outcome.outcome = "client_disconnected"
                return
            name = event.event if event.event != MESSAGE else b""
            await leg.send({"type": "http.response.body", "body": encode_event(event.data, name),
                            "more_body": True})  # fmt: skip
    await end_stream(leg, outcome, finished=finished)


def _decoded(event: Event) -> dict[str, Any] | None:
    try:
        data = json.loads(event.data)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _note(leg: Leg, data: dict[str, Any], outcome: Outcome) -> bool:
    """Count text deltas and take the final usage; True at the answer's last event."""
    kind = data.get("type")
    if kind == "response.output_text.delta" and data.get("delta"):
        if outcome.ttft_ms is None:
            outcome.ttft_ms = leg.elapsed_ms()
        outcome.content_events += 1
    if kind in ENDINGS:
        body = data.get("response")
        take_usage(outcome, body.get("usage") if isinstance(body, dict) else None, "responses")
        if kind == "response.failed":
            outcome.outcome = "upstream_error"
        return True
    return False
