"""Server-sent events, read to the WHATWG spec, and OpenAI stream chunks classified cheaply.

Reading (`EventReader`): lines end with LF, CR or CRLF (a CRLF split across two chunks
included); a blank line dispatches the event; `data` lines are joined with LF; `event`, `id`
(kept across events, as the spec's last event ID) and `retry` fields; lines starting with a
colon are comments; unknown fields are ignored; an event with no data is not dispatched; a
final event without its blank line is never dispatched. Each byte is scanned for separators
once (the scan resumes where the last one stopped), and an event larger than
`max_event_bytes` raises `EventTooLargeError` instead of growing the buffer without bound.

Classifying (`classify`): what a full JSON decode of each chunk would say (text, other,
malformed), without decoding most chunks; see `llmecon.chunks`.
"""

from __future__ import annotations

from typing import NamedTuple

from llmecon.chunks import DONE, classify, decode_chunk, has_text, text_of, usage_of

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DONE",
    "Event",
    "EventReader",
    "EventTooLargeError",
    "classify",
    "decode_chunk",
    "encode_event",
    "has_text",
    "split_events",
    "text_of",
    "usage_of",
]

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
MESSAGE = b"message"
_BOM = b"\xef\xbb\xbf"
_NUL = b"\x00"
_CR = 0x0D


class Event(NamedTuple):
    """One dispatched event: its data (lines joined with LF), type and last event ID."""

    data: bytes
    event: bytes = MESSAGE
    id: bytes = b""


class EventTooLargeError(ValueError):
    """An event grew past the reader's size cap before its blank line arrived."""


class EventReader:
    """Incremental event-stream parser: `feed(chunk)` returns the events it completed.

    Line ends are normalised to LF as chunks arrive (a CR at the end of one chunk and an LF
    at the start of the next make one line end), so events end at the first LF LF. Bytes
    already searched are never searched again: the search resumes one byte before the end of
    what was buffered.
    """

    __slots__ = ("_buffer", "_cr", "_scan", "_started", "last_event_id", "max_event_bytes", "retry")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        if max_event_bytes < 1:
            raise ValueError(f"max_event_bytes must be >= 1, got {max_event_bytes}")
        self.max_event_bytes = max_event_bytes
        self.last_event_id = b""
        self.retry: int | None = None  # the last `retry` field, in milliseconds
        self._buffer = bytearray()  # an incomplete event (LF-normalised)
        self._scan = 0  # where the next search for LF LF in _buffer starts
        self._cr = False  # the last chunk ended with CR (its LF may start the next chunk)
        self._started = False

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Event]:
        """Take the next bytes of the stream; return the events they complete, in order."""
        if type(chunk) is not bytes:
            chunk = bytes(chunk)
        chunk = self._normalise(chunk)
        buffer = self._buffer
        if buffer:
            buffer += chunk
            end = buffer.find(b"\n\n", self._scan)
            if end < 0:
                self._scan = len(buffer) - 1
                self._check_size(len(buffer))
                return []
            data = bytes(buffer)
            buffer.clear()
            return self._split(data, end)
        return self._split(chunk, chunk.find(b"\n\n"))

    def pending(self) -> bytes:
        """The bytes of the incomplete event, as a fresh reader would need them."""
        rest = bytes(self._buffer)
        return rest[:-1] + b"\r" if self._cr and rest.endswith(b"\n") else rest

    def _normalise(self, chunk: bytes) -> bytes:
        if not self._started:
            self._started = bool(chunk)
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        if self._cr:
            self._cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return chunk

    def _split(self, data: bytes, end: int) -> list[Event]:
        """Events up to the last LF LF in `data` (the first one is at `end`); keep the rest."""
        events: list[Event] = []
        start = 0
        while end >= 0:
            block = data[start:end]
            start = end + 2
            if block[:5] == b"data:" and b"\n" not in block:  # the usual one-line event
                if len(block) > self.max_event_bytes:
                    self._check_size(len(block))
                value = block[6:] if block[5:6] == b" " else block[5:]
                events.append(Event(value, MESSAGE, self.last_event_id))
            else:
                self._block(block, events)
            end = data.find(b"\n\n", start)
        if start < len(data):
            self._buffer += data[start:] if start else data
            self._scan = len(self._buffer) - 1
            self._check_size(len(self._buffer))
        return events

    def _block(self, block: bytes, events: list[Event]) -> None:
        """The lines of one event (a leading empty line dispatches nothing)."""
        self._check_size(len(block))
        data: list[bytes] = []
        kind = b""
        for line in block.split(b"\n"):
            if not line or line[0] == 0x3A:  # an empty line (no data yet) or a comment
                continue
            name, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                kind = value
            elif name == b"id":
                if _NUL not in value:
                    self.last_event_id = value
            elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII digits only
                self.retry = int(value)
        if data:
            events.append(Event(b"\n".join(data), kind or MESSAGE, self.last_event_id))

    def _check_size(self, size: int) -> None:
        if size > self.max_event_bytes:
            self._buffer.clear()
            raise EventTooLargeError(
                f"an SSE event passed {self.max_event_bytes:,} bytes without its blank line; "
                "the stream is not SSE or the limit is too low"
            )


def split_events(buffer: bytearray) -> list[bytes]:
    """Remove every complete event at the buffer's start; return their data (spec rules).

    Stateless, so it searches the whole buffer on every call (one pass when no blank line is
    there yet); a caller that keeps an `EventReader` per stream searches each byte once and caps
    the event size.
    """
    if buffer.find(b"\n\n") < 0 and (
        _CR not in buffer or (buffer.find(b"\r\r") < 0 and buffer.find(b"\n\r") < 0)
    ):
        return []  # no blank line yet (with CR line ends, one needs CR CR or LF CR)
    reader = EventReader(max_event_bytes=max(len(buffer), 1))
    payloads = [event.data for event in reader.feed(bytes(buffer))]
    buffer[:] = reader.pending()
    return payloads


def encode_event(data: bytes, event: bytes = b"") -> bytes:
    """One event on the wire: each line of `data` as its own `data:` line, then a blank line."""
    head = b"event: " + event + b"\n" if event else b""
    return head + b"data: " + data.replace(b"\n", b"\ndata: ") + b"\n\n"


def looks_like_json_object(payload: bytes) -> bool:
    """A cheap structural check (kept for callers of the old reader; `classify` is exact)."""
    stripped = payload.strip()
    return stripped.startswith(b"{") and stripped.endswith(b"}")
