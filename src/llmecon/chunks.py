"""OpenAI stream chunks: does this event carry generated text, and what would a decode say?

`decode_chunk` is the reference: it decodes the JSON and reads the generated text from every
choice (`text`, and `content`, `reasoning_content` and tool-call `arguments` of its `delta` or
`message`); an object with an `error` object and no choices is an error the server streamed
(vLLM and the gateway send them mid-stream). `classify` gives exactly the same kind (text,
other, malformed, error, done) without
decoding most chunks: when a chunk has no backslash and only ASCII bytes, every quote in it
is a string delimiter, so the string after the first `"content"` (or `"text"`, ...) key can be
cut out; the rest of the chunk (its template) is decoded once, with a one-letter and with an
empty string put back, and the two kinds are remembered for that template. Any text without
quotes, backslashes or control bytes put back gives the one-letter kind (same tokens, same
structure), so a chunk is classified by its template and whether its string is empty.
Chunks with escapes, non-ASCII bytes or no such key are decoded.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DONE = b"[DONE]"
TEXT, OTHER, MALFORMED, ERROR, END = "text", "other", "malformed", "error", "done"
_KEYS = (b'"content"', b'"text"', b'"arguments"', b'"reasoning_content"')
_WHITESPACE = b" \t\r\n"
_CONTROL = bytes(range(32))
_BACKSLASH = 0x5C  # `int in bytes` is the fastest membership test
TEMPLATES = 1024  # templates remembered (a stream has one or two; ids make one per request)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A fully decoded chunk: its kind, generated text and usage object."""

    kind: str
    text: str = ""
    usage: dict[str, Any] | None = None


def decode_chunk(payload: bytes) -> Chunk:
    """The reference reading of one event's data: a JSON decode, like the peers do."""
    if payload == DONE:
        return Chunk(END)
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return Chunk(MALFORMED)
    if not isinstance(data, dict):
        return Chunk(MALFORMED)
    text = "".join(_text_parts(data))
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else None
    if not text and isinstance(data.get("error"), dict) and "choices" not in data:
        return Chunk(ERROR, usage=usage)
    return Chunk(TEXT if text else OTHER, text, usage)


def _text_parts(data: dict[str, Any]) -> Iterator[str]:
    choices = data.get("choices")
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        text = choice.get("text")
        if isinstance(text, str):
            yield text
        for key in ("delta", "message"):
            message = choice.get(key)
            if isinstance(message, dict):
                yield from _message_parts(message)


def _message_parts(message: dict[str, Any]) -> Iterator[str]:
    for key in ("content", "reasoning_content"):
        value = message.get(key)
        if isinstance(value, str):
            yield value
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(arguments, str):
            yield arguments


def classify(payload: bytes) -> str:
    """TEXT, OTHER, MALFORMED, ERROR or END: always what `decode_chunk(payload).kind` says."""
    if payload == DONE:
        return END
    if _BACKSLASH in payload or not payload.isascii():
        return decode_chunk(payload).kind
    span = _text_span(payload)
    if span is None:
        return decode_chunk(payload).kind
    start, end = span
    value = payload[start:end]
    if len(value.translate(None, _CONTROL)) != len(value):
        return decode_chunk(payload).kind
    with_text, empty = _template_kinds(payload[:start] + b"\\" + payload[end:])
    return with_text if end > start else empty


@functools.lru_cache(maxsize=TEMPLATES)
def _template_kinds(template: bytes) -> tuple[str, str]:
    """The kinds of a template (its one backslash marks the string) with "x" and with ""."""
    return decode_chunk(template.replace(b"\\", b"x")).kind, decode_chunk(
        template.replace(b"\\", b"")
    ).kind


def _text_span(payload: bytes) -> tuple[int, int] | None:
    """Where the string value of the first text key starts and ends (payload without `\\`)."""
    for key in _KEYS:
        at = payload.find(key)
        if at < 0:
            continue
        value = at + len(key) + 1
        if payload[value - 1 : value] != b":":  # not the usual `"key":"`
            value = _value_start(payload, value - 1)
        # an even number of quotes before it: this quote opens a string
        if payload[value : value + 1] == b'"' and payload.count(b'"', 0, value) % 2 == 0:
            end = payload.find(b'"', value + 1)
            if end > 0:
                return value + 1, end
    return None


def _value_start(payload: bytes, index: int) -> int:
    """Where the value after a key starts (-1 when the key is not followed by a colon)."""
    size = len(payload)
    while index < size and payload[index] in _WHITESPACE:
        index += 1
    if index >= size or payload[index] != 0x3A:
        return -1
    index += 1
    while index < size and payload[index] in _WHITESPACE:
        index += 1
    return index if index < size else -1


def has_text(payload: bytes) -> bool:
    """True when a chunk carries non-empty generated text (a role-only delta does not)."""
    return classify(payload) == TEXT


def error_of(payload: bytes) -> str:
    """The message of an error event, in one line."""
    try:
        error = json.loads(payload)["error"]
        return str(error.get("message") or error)[:200]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return payload[:200].decode(errors="replace")


def usage_of(payload: bytes) -> dict[str, Any] | None:
    """The `usage` object of a chunk that has one (decoded only when the bytes may hold one)."""
    if b'"usage"' not in payload and _BACKSLASH not in payload:
        return None
    return decode_chunk(payload).usage


def text_of(payload: bytes) -> str:
    """The generated text in one chunk (for counting tokens when the server sends no usage)."""
    return decode_chunk(payload).text
