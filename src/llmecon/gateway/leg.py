"""One call on its way upstream: where it goes (`Leg`), what came of it (`Outcome`), and how an
upstream's failure is told to the client.

Errors never leak what the client should not see: an upstream is named by its configured name
only (no host or port); an upstream that refuses the gateway's own credentials (401/403) is a
502, not the client's 401; a 429 keeps the upstream's Retry-After.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.requests import Call
from llmecon.gateway.upstream_client import (
    UpstreamBrokenError,
    UpstreamClient,
    UpstreamConnectError,
    UpstreamTimeoutError,
)
from llmecon.gateway.upstreams import Upstream

log = logging.getLogger("llmecon.gateway")
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
PATHS = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    "responses": "/responses",
}
# what an upstream's error text should never show a client: a traceback, a source file's path
_INTERNALS = re.compile(
    r'Traceback \(most recent|File "|[\w.-]+\.(py|cpp|cc|c|h|rs|go)\b'
    r"|(/[\w.-]+){2,}|[A-Za-z]:\\[\w\\.-]+"
)
MAX_TOKENS_SEEN = 2**53  # a usage count at or above this is nonsense (and not exact in JSON)


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
    max_response_bytes: int = 64 << 20  # a non-streamed answer
    max_event_bytes: int = 1 << 20  # one streamed event
    count_prompt: Callable[[], int] = lambda: 0  # the prompt's tokens, counted by the gateway
    trace_headers: tuple[tuple[str, str], ...] = ()  # W3C trace context, when tracing

    @property
    def url(self) -> str:
        return self.upstream.url_for(self.call.model) + PATHS[self.call.endpoint]

    @property
    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.upstream.api_key:
            headers["authorization"] = f"Bearer {self.upstream.api_key}"
        if self.trace_headers:
            headers.update(self.trace_headers)
        return headers

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000

    def error(self, status: int, body: bytes, retry_after: bytes | None = None) -> GatewayError:
        """The client's error for an upstream's error answer."""
        name = self.upstream.name
        if status in {401, 403}:
            log.warning("upstream %s refused the gateway's credentials (%d)", name, status)
            text = f"upstream {name} refused the gateway's credentials; tell the operator"
            return GatewayError(502, text, "upstream_auth_failed", retryable=True)
        message = _message(body)
        if status == 429:
            error = GatewayError(429, f"upstream {name} is rate limited: {message}",
                                 "upstream_rate_limited", retryable=True)  # fmt: skip
            if retry_after is not None and retry_after.strip().isdigit():
                error.headers = [(b"retry-after", retry_after.strip())]
            return error
        if status >= 500:
            if _INTERNALS.search(message):  # a traceback or a source path: the operator's
                log.warning("upstream %s failed (%d): %s", name, status, message)
                message = "its error detail is withheld (it names the upstream's internals)"
            text = f"upstream {name} failed ({status}): {message}"
            return GatewayError(502, text, "upstream_error", retryable=True)
        return GatewayError(status, message, "upstream_rejected")

    def failure(self, error: Exception) -> GatewayError:
        """The client's error for a failed exchange (nothing reached the client yet)."""
        name = self.upstream.name
        if isinstance(error, UpstreamConnectError):
            log.warning("upstream %s unreachable: %s", name, error)
            return GatewayError(502, f"upstream {name} is unreachable", "upstream_unreachable",
                                retryable=True)  # fmt: skip
        if isinstance(error, UpstreamTimeoutError):
            return GatewayError(504, f"upstream {name} timed out: {error}", "upstream_timeout")
        assert isinstance(error, UpstreamBrokenError)
        return GatewayError(502, f"upstream {name} failed: {error}", "upstream_error",
                            retryable=True)  # fmt: skip


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])[:500]
    except (ValueError, KeyError, TypeError):
        return body[:300].decode(errors="replace")


def take_usage(outcome: Outcome, usage: Any, endpoint: str = "chat") -> None:
    """Note the upstream's token counts if they are plausible (ints in [0, 2^53)); otherwise
    leave them unknown, so the gateway counts what it relayed. Responses count input and
    output tokens; embeddings only input."""
    if not isinstance(usage, dict):
        return
    if endpoint == "responses":
        prompt, completion = usage.get("input_tokens"), usage.get("output_tokens")
    else:
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if endpoint == "embeddings" and completion is None:
        completion = 0
    if _count(prompt) and _count(completion):
        outcome.prompt_tokens, outcome.completion_tokens = prompt, completion
        outcome.token_source = "upstream"
    elif prompt is not None or completion is not None:
        log.warning("ignored implausible usage from upstream: %r", usage)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_TOKENS_SEEN


async def disconnected(receive: Receive) -> None:
    """Returns when the client goes away."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
