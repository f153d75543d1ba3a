"""A non-streamed call: one upstream answer, checked, then forwarded with its usage noted.

The answer must be a JSON object (a 502 otherwise, and the next route is tried), no larger than
the leg's limit. A client that leaves while the upstream works cancels the upstream request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Leg, Outcome, disconnected, take_usage
from llmecon.gateway.upstream_client import (
    Response,
    UpstreamBrokenError,
    UpstreamConnectError,
    UpstreamTimeoutError,
)

FAILURES = (UpstreamConnectError, UpstreamTimeoutError, UpstreamBrokenError)


async def relay_once(leg: Leg, outcome: Outcome) -> Outcome:
    gone = asyncio.ensure_future(disconnected(leg.receive))
    work = asyncio.ensure_future(_fetch(leg))
    try:
        await asyncio.wait((gone, work), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not work.done():
            work.cancel()  # the client left (or the gateway is shutting down)
        gone.cancel()
    if not work.done() or work.cancelled():
        outcome.status, outcome.outcome = 499, "client_disconnected"
        return outcome
    response, content = work.result()
    if response.status >= 400:
        raise leg.error(response.status, content, response.header(b"retry-after"))
    document = _document(leg, content)
    outcome.status, outcome.ttft_ms = 200, leg.elapsed_ms()
    take_usage(outcome, document.get("usage"))
    if outcome.token_source == "none":
        outcome.answer_text = answer_text(document)
    headers = [(b"content-type", b"application/json")]
    await leg.send({"type": "http.response.start", "status": 200, "headers": headers})
    leg.finish(leg, outcome)
    await leg.send({"type": "http.response.body", "body": content})
    return outcome


async def _fetch(leg: Leg) -> tuple[Response, bytes]:
    response: Response | None = None
    try:
        response = await leg.client.post(leg.url, leg.call.body, leg.headers)
        return response, await response.read(leg.max_response_bytes)
    except asyncio.CancelledError:
        if response is not None:
            response.abort()  # the upstream stops generating
        raise
    except FAILURES as error:
        raise leg.failure(error) from None


def _document(leg: Leg, content: bytes) -> dict[str, Any]:
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        message = f"upstream {leg.upstream.name} sent an answer that is not a JSON object"
        raise GatewayError(502, message, "upstream_error", retryable=True)
    return document


def answer_text(document: dict[str, Any]) -> str | None:
    """The text of every choice (message content, tool-call arguments or completion text),
    for counting its tokens; None if the document has no choices."""
    choices = document.get("choices")
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
