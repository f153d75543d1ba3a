"""Connection hygiene for the gateway: uvicorn's httptools protocol with the limits it lacks.

uvicorn closes idle keep-alive connections and parses with llhttp, but it keeps a connection
that never sends a request, accepts headers at any speed and of any size, and gives a body as
long as the client likes. `guarded_protocol(limits)` returns a subclass that:

- answers 503 and closes at once any connection past `max_connections` (so idle sockets cannot
  exhaust the process's file descriptors);
- closes a connection whose request line and headers are not complete within
  `header_timeout_s` of its first byte (or of the connection, for the first request): slowloris
  and sockets that never send anything;
- answers 431 and closes when the request line and headers pass `max_header_bytes`, before
  buffering more;
- answers 408 and closes when a body is not complete within `body_timeout_s` of its headers
  (a deadline for the whole body, not per read).

Error answers before the body was read carry `connection: close`, so an unread upload is never
buffered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 1000
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_header_bytes: int = 32 * 1024


def _answer(status: int, reason: str, text: str) -> bytes:
    body = (
        '{"error": {"message": "' + text + '", "type": "invalid_request_error", '
        '"param": null, "code": "' + reason.lower().replace(" ", "_") + '"}}'
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


BUSY = _answer(503, "Service Unavailable", "too many connections; retry later")
HEADERS_TOO_LARGE = _answer(
    431, "Request Header Fields Too Large", "the request headers are too large"
)
SLOW_BODY = _answer(408, "Request Timeout", "the request body arrived too slowly")


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with `limits` (see the module's doc)."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: asyncio.TimerHandle | None = None
        self.head_bytes = self.parsed_bytes = 0
        self.in_headers = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            transport.write(BUSY)
            transport.close()
            return
        self._arm(self.limits.header_timeout_s, None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counting = self.in_headers
        super().data_received(data)
        if counting and self.in_headers:  # the headers are still not complete after this read
            self.head_bytes += len(data)
            if self.head_bytes > self.limits.max_header_bytes:
                self._refuse(HEADERS_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_headers, self.head_bytes, self.parsed_bytes = True, 0, 0
        self._arm(self.limits.header_timeout_s, None)

    def on_url(self, url: bytes) -> None:
        self.parsed_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # headers that arrived within one read are counted here, as the parser hands them on
        self.parsed_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_headers = False
        if self.parsed_bytes > self.limits.max_header_bytes:
            self._refuse(HEADERS_TOO_LARGE)
            return
        self._arm(self.limits.body_timeout_s, SLOW_BODY)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, answer: bytes | None) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(seconds, self._expire, answer)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expire(self, answer: bytes | None) -> None:
        self.deadline = None
        cycle = self.cycle
        started = cycle is not None and cycle.response_started
        self._refuse(None if started else answer)

    def _refuse(self, answer: bytes | None) -> None:
        if self.transport.is_closing():
            return
        if answer is not None:
            self.transport.write(answer)
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedProtocol]:
    """The protocol class uvicorn instantiates per connection, with `limits`."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})
