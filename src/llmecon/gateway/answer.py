"""A non-streamed call: one upstream answer, checked, then forwarded with its usage noted.

The answer must be a JSON object (a 502 otherwise, and the next route is tried), no larger than
the leg's limit. A successful answer over that limit is a 502 too, but the upstream has billed
it: it is charged (prompt counted, completion at the call's limit) and no other route is tried.
A client that leaves while the upstream works cancels the upstream request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Leg, Outcome, disconnected, take_usage
from llmecon.gateway.upstream_client import (
    Response,
    ResponseTooLargeError,
    UpstreamBrokenError,
    UpstreamConnectError,
    UpstreamTimeoutError,
)

FAILURES = (UpstreamConnectError, UpstreamTimeoutError, UpstreamBrokenError)


async def relay_once(leg: Leg, outcome: Outcome) -> Outcome:
    task = asyncio.current_task()
    assert task is not None
    watch = _Watch(task)
    gone = asyncio.ensure_future(watch.wait(leg))
    try:
        response, content = await _fetch(leg)
    except asyncio.CancelledError:
        if not watch.left:
            raise  # not the client leaving: the gateway is shutting down
        task.uncancel()
        outcome.status, outcome.outcome = 499, "client_disconnected"
        return outcome
    except _BilledTooLargeError as error:
        _charge_unrelayed(leg, outcome)
        raise GatewayError(502, f"upstream {leg.upstream.name} answered {error}; it was not "
                           "relayed but is charged (the upstream billed it)",
                           "upstream_error") from None  # fmt: skip
    finally:
        gone.cancel()
    if response.status >= 400:
        raise leg.error(response.status, content, response.header(b"retry-after"))
    document = _document(leg, content)
    outcome.status, outcome.ttft_ms = 200, leg.elapsed_ms()
    endpoint = leg.call.endpoint
    take_usage(outcome, document.get("usage"), endpoint)
    if outcome.token_source == "none":
        outcome.answer_text = "" if endpoint == "embeddings" else answer_text(document)
    headers = [(b"content-type", b"application/json")]
    await leg.send({"type": "http.response.start", "status": 200, "headers": headers})
    leg.finish(leg, outcome)
    await leg.send({"type": "http.response.body", "body": content})
    return outcome


class _Watch:
    """Cancels the request's task when the client goes away (one task per request)."""

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task, self.left = task, False

    async def wait(self, leg: Leg) -> None:
        await disconnected(leg.receive)
        self.left = True
        self.task.cancel("llmecon: the client went away")


async def _fetch(leg: Leg) -> tuple[Response, bytes]:
    response: Response | None = None
    try:
        response = await leg.client.post(leg.url, leg.call.body, leg.headers)
        return response, await response.read(leg.max_response_bytes)
    except asyncio.CancelledError:
        if response is not None:
            response.abort()  # the upstream stops generating
        raise
    except ResponseTooLargeError as error:
        assert response is not None  # the body was being read
        if response.status < 400:
            raise _BilledTooLargeError(str(error)) from None
        raise leg.failure(error) from None
    except FAILURES as error:
        raise leg.failure(error) from None


class _BilledTooLargeError(Exception):
    """A successful answer too large to relay: the upstream did the work and billed it."""


def _charge_unrelayed(leg: Leg, outcome: Outcome) -> None:
    """The most the answer could have cost: its prompt as counted and every completion at the
    call's limit (embeddings: none). Unknown (not charged) when the call set no limit."""
    call = leg.call
    outcome.status, outcome.outcome = 502, "upstream_error"
    if call.completions == 0 or call.max_tokens is not None:
        outcome.prompt_tokens = leg.count_prompt()
        outcome.completion_tokens = call.most_completion_tokens(0)
        outcome.token_source = "gateway"


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
    """The text of every choice (message content, tool-call arguments or completion text), or
    of a Responses answer's output, for counting its tokens; None if there is neither."""
    if isinstance(document.get("output"), list):
        return _output_text(document["output"])
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


def _output_text(output: list[Any]) -> str:
    """The text of a Responses answer's output items (messages' text parts, function-call
    arguments)."""
    parts: list[str] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("arguments"), str):
            parts.append(item["arguments"])
        for part in item.get("content") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
    return "\n".join(parts)
