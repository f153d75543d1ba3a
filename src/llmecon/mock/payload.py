"""What the mock sends: OpenAI chat and text completions, as timed pieces of bytes.

A response is planned as a list of events `(offset_s, data)`: `data` leaves at t0 + offset_s,
where t0 is the moment the request body was received. Streams are SSE (`data: {json}\\n\\n`);
constant parts are pre-encoded and chunks are put together from bytes, so planning a
1,000-token stream costs a fraction of a millisecond.

Prompt tokens are counted as whitespace-separated words: for chat, the sum over messages of
`len(content.split())` (text parts of list contents included); for completions,
`len(prompt.split())` (summed over a list of prompts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmecon.mock.settings import MockSettings

TOKEN = "tok "
TOKEN_BYTES = TOKEN.encode()
DONE = b"data: [DONE]\n\n"
MALFORMED = b"data: mock fault: this event is not JSON\n\n"
ERROR_MESSAGE = "mock fault: an error half-way through the answer (see --fault)"
END = b"]}\n\n"
NOT_FINISHED = b',"logprobs":null,"finish_reason":null}'
Event = tuple[float, bytes]


class RequestError(ValueError):
    """A request the mock cannot answer (400), naming the parameter at fault."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Request:
    """What the mock reads from a completion request."""

    tokens: int
    prompt_tokens: int
    stream: bool
    include_usage: bool


@dataclass(frozen=True)
class Plan:
    """A timed response: `mid` is where faults cut or corrupt it; `length` None means SSE."""

    events: list[Event]
    mid: int
    length: int | None
    close: bool = False


@dataclass(frozen=True)
class Shape:
    """How chat and text completions differ on the wire."""

    id_prefix: str
    chunk_object: bytes
    body_object: str
    text_open: bytes
    text_close: bytes
    finish: bytes
    role: bytes | None
    count_prompt: Callable[[dict[str, Any]], int]
    choice: Callable[[str], dict[str, Any]]


def _words(content: object) -> int:
    if isinstance(content, str):
        return len(content.split())
    if isinstance(content, list):
        texts = (part.get("text") if isinstance(part, dict) else part for part in content)
        return sum(len(text.split()) for text in texts if isinstance(text, str))
    return 0


def _chat_prompt(data: dict[str, Any]) -> int:
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(
            '\'messages\' must be a non-empty list, e.g. [{"role": "user", "content": "Hi"}]',
            "messages",
        )
    return sum(_words(m.get("content")) for m in messages if isinstance(m, dict))


def _text_prompt(data: dict[str, Any]) -> int:
    if "prompt" not in data:
        raise RequestError('\'prompt\' is required, e.g. "prompt": "Say hi"', "prompt")
    return _words(data["prompt"])


CHAT = Shape(
    id_prefix="chatcmpl-mock-",
    chunk_object=b"chat.completion.chunk",
    body_object="chat.completion",
    text_open=b'{"index":0,"delta":{"content":"',
    text_close=b'"}' + NOT_FINISHED,
    finish=b'{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}',
    role=b'{"index":0,"delta":{"role":"assistant","content":""}' + NOT_FINISHED,
    count_prompt=_chat_prompt,
    choice=lambda text: {"index": 0, "message": {"role": "assistant", "content": text}},
)
TEXT = Shape(
    id_prefix="cmpl-mock-",
    chunk_object=b"text_completion",
    body_object="text_completion",
    text_open=b'{"index":0,"text":"',
    text_close=b'"' + NOT_FINISHED,
    finish=b'{"index":0,"text":"","logprobs":null,"finish_reason":"length"}',
    role=None,
    count_prompt=_text_prompt,
    choice=lambda text: {"index": 0, "text": text},
)


def parse_request(body: bytes, shape: Shape, default_tokens: int) -> Request:
    """Read a completion request; RequestError says what to fix."""
    try:
        data = json.loads(body)
    except ValueError as error:
        message = f"the request body is not valid JSON ({error}); send a JSON object"
        raise RequestError(message) from None
    if not isinstance(data, dict):
        raise RequestError(f"the request body must be a JSON object, got {type(data).__name__}")
    tokens = data.get("max_tokens")
    if tokens is None:
        tokens = data.get("max_completion_tokens")
    if tokens is None:
        tokens = default_tokens
    elif isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise RequestError(f"max_tokens must be an integer >= 1, got {tokens!r}", "max_tokens")
    options = data.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return Request(tokens, shape.count_prompt(data), data.get("stream") is True, include_usage)


def _usage(request: Request) -> dict[str, int]:
    total = request.prompt_tokens + request.tokens
    return {"prompt_tokens": request.prompt_tokens, "completion_tokens": request.tokens,
            "total_tokens": total}  # fmt: skip


def plan_stream(shape: Shape, settings: MockSettings, request: Request, ident: str) -> Plan:
    """SSE events: role delta at once, one token at ttft, then chunks as their tokens are due."""
    head = b'data: {"id":"%s","object":"%s","created":%d,"model":%s,"choices":[' % (
        ident.encode(),
        shape.chunk_object,
        int(time.time()),
        json.dumps(settings.model).encode(),
    )
    ttft, itl = settings.ttft_ms / 1000, settings.itl_ms / 1000
    per_chunk = settings.tokens_per_chunk

    def chunk(tokens: int) -> bytes:
        return head + shape.text_open + TOKEN_BYTES * tokens + shape.text_close + END

    events: list[Event] = []
    if settings.role_delta and shape.role is not None:
        events.append((0.0, head + shape.role + END))
    first = len(events)
    events.append((ttft, chunk(1)))
    full, sent = chunk(per_chunk), 1
    while sent < request.tokens:
        tokens = min(per_chunk, request.tokens - sent)
        sent += tokens
        events.append((ttft + (sent - 1) * itl, full if tokens == per_chunk else chunk(tokens)))
    tail = head + shape.finish + END
    if settings.usage and request.include_usage:
        tail += head + b'],"usage":' + json.dumps(_usage(request)).encode() + b"}\n\n"
    events.append((events[-1][0], tail + DONE))
    return Plan(events, mid=first + max(1, (len(events) - 1 - first) // 2), length=None)


def plan_body(shape: Shape, settings: MockSettings, request: Request, ident: str) -> Plan:
    """One JSON body, due when its last token is: t0 + ttft + (n - 1) * itl."""
    choice = shape.choice(TOKEN * request.tokens) | {"logprobs": None, "finish_reason": "length"}
    document: dict[str, Any] = {
        "id": ident, "object": shape.body_object, "created": int(time.time()),
        "model": settings.model, "choices": [choice],
    }  # fmt: skip
    if settings.usage:
        document["usage"] = _usage(request)
    body = json.dumps(document).encode()
    when = (settings.ttft_ms + (request.tokens - 1) * settings.itl_ms) / 1000
    half = len(body) // 2
    return Plan([(when, body[:half]), (when, body[half:])], mid=1, length=len(body))


def with_line_ending(plan: Plan, ending: bytes) -> Plan:
    """The same stream with its SSE lines ending in `ending` (CRLF or CR) instead of LF."""
    if plan.length is not None or ending == b"\n":
        return plan
    events = [(offset, data.replace(b"\n", ending)) for offset, data in plan.events]
    return Plan(events, plan.mid, plan.length, plan.close)


def cut(plan: Plan) -> Plan:
    """Fault: stop half-way and close the connection (no final chunk, no [DONE])."""
    return Plan(plan.events[: plan.mid], plan.mid, plan.length, close=True)


def malform(plan: Plan) -> Plan:
    """Fault: slip an event whose data is not JSON into the middle of the response."""
    events = [*plan.events]
    events.insert(plan.mid, (events[plan.mid - 1][0], MALFORMED))
    length = None if plan.length is None else plan.length + len(MALFORMED)
    return Plan(events, plan.mid, length, plan.close)


def error_event(plan: Plan) -> Plan:
    """Fault: an OpenAI error object half-way through a stream (as vLLM sends one); a body
    becomes that error object (with status 200)."""
    error = error_body(ERROR_MESSAGE, "server_error", code="mock_fault")
    if plan.length is not None:
        return Plan([(plan.events[-1][0], error)], 0, len(error), plan.close)
    events = [*plan.events]
    events.insert(plan.mid, (events[plan.mid - 1][0], b"data: " + error + b"\n\n"))
    return Plan(events, plan.mid, plan.length, plan.close)


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    """An error in OpenAI's format."""
    error = {"message": message, "type": kind, "param": param, "code": code}
    return json.dumps({"error": error}).encode()
