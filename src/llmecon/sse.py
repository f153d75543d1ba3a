"""Reading OpenAI-style server-sent events cheaply: is this event content, usage, or the end?

The hot path must not parse JSON for every event: a benchmark client that does is slower than
the server it measures. Events are classified by looking at their bytes; only the few that
matter (the first content event, usage) are parsed.
"""

from __future__ import annotations

import json
from typing import Any

DONE = b"[DONE]"
_TEXT_KEYS = (b'"content"', b'"text"')
_WHITESPACE = b" \t\r\n"


def split_events(buffer: bytearray) -> list[bytes]:
    """Remove and return the `data:` payloads of every complete event at the buffer's start."""
    payloads = []
    start = 0
    while True:
        end = buffer.find(b"\n\n", start)
        if end < 0:
            break
        payloads.extend(_data_lines(bytes(buffer[start:end])))
        start = end + 2
    if start:
        del buffer[:start]
    return payloads


def _data_lines(event: bytes) -> list[bytes]:
    if b"\r" in event:
        event = event.replace(b"\r", b"")
    return [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]


def has_text(payload: bytes) -> bool:
    """True when a chunk carries non-empty generated text (a role-only delta does not)."""
    for key in _TEXT_KEYS:
        at = payload.find(key)
        while at >= 0:
            value = _value_start(payload, at + len(key))
            if (
                value >= 0
                and payload[value : value + 1] == b'"'
                and payload[value + 1 : value + 2] != b'"'
            ):
                return True
            at = payload.find(key, at + 1)
    return False


def _value_start(payload: bytes, index: int) -> int:
    """Where the value after a key starts (-1 when the key is not followed by a colon)."""
    size = len(payload)
    while index < size and payload[index] in _WHITESPACE:
        index += 1
    if index >= size or payload[index] != ord(":"):
        return -1
    index += 1
    while index < size and payload[index] in _WHITESPACE:
        index += 1
    return index


def looks_like_json_object(payload: bytes) -> bool:
    """A cheap structural check: a malformed event (not a JSON object) is an error."""
    stripped = payload.strip()
    return stripped.startswith(b"{") and stripped.endswith(b"}")


def usage_of(payload: bytes) -> dict[str, Any] | None:
    """The `usage` object of a chunk that has one (parsed only when the bytes mention it)."""
    if b'"usage"' not in payload:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    usage = data.get("usage") if isinstance(data, dict) else None
    return usage if isinstance(usage, dict) else None


def text_of(payload: bytes) -> str:
    """The generated text in one chunk (for counting tokens when the server sends no usage)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    parts = []
    for choice in data.get("choices") or []:
        delta = choice.get("delta") or choice.get("message") or {}
        parts.append(delta.get("content") or choice.get("text") or "")
    return "".join(part for part in parts if isinstance(part, str))
