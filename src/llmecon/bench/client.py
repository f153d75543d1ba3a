"""A small, fast HTTP/1.1 client for benchmarking: asyncio protocols and the httptools parser.

Each connection carries one exchange at a time and is reused (keep-alive). Timestamps come
from `time.perf_counter()` taken as bytes arrive, before any parsing, and every failure is an
outcome with a kind (connect, timeout, http_NNN, malformed, answer_error, oversized, cut,
closed, closed_on_reuse), never an exception; `answer_error` is an error object in a 200
answer (an SSE event, as vLLM and gateways send mid-stream, or the body).

Keep-alive follows RFC 9112 section 9.3.1: a connection the server has closed (or is closing)
is never written to; one idle for a while gets one turn of the event loop first, so that a
close already on its way is seen. When a reused connection fails before any byte of the
request was written, the request is sent once more on a new connection (counted in
`Exchange.retries`); when it fails after the request went out, the request is not retried (a
POST may not be repeated) and ends as `closed_on_reuse`, not as a server error.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

from llmecon.bench.cause import connect_failure
from llmecon.chunks import (
    END,
    ERROR,
    MALFORMED,
    TEXT,
    classify,
    decode_chunk,
    error_of,
    usage_of,
)
from llmecon.errors import LlmeconError
from llmecon.sse import EventReader, EventTooLargeError

IDLE_CHECK_S = 0.001  # a connection idle longer than this gets one loop turn before reuse
PARSERS = ("fast", "full")  # fast: classify chunks exactly without decoding; full: decode each


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: `http(s)://host:port/prefix` (the prefix is usually /v1)."""

    scheme: str
    host: str
    port: int
    prefix: str
    api_key: str | None = None

    @classmethod
    def parse(cls, url: str, api_key: str | None = None) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise LlmeconError(
                f"{url!r} is not an http(s) URL; give the API base like http://127.0.0.1:8000/v1"
            )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"), api_key)

    def request_head(self, path: str, body_length: int) -> bytes:
        lines = [
            f"POST {self.prefix}{path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            "Accept: application/json, text/event-stream",
            f"Content-Length: {body_length}",
        ]
        if self.api_key:
            lines.append(f"Authorization: Bearer {self.api_key}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(slots=True, eq=False)
class Exchange:
    """One request: what was sent, when things arrived, and how it ended."""

    t_sched: float
    stream: bool
    t_fire: float = 0.0  # when the scheduler let it go (send lateness = t_fire - t_sched)
    t_send: float = 0.0
    t_first: float | None = None  # first event carrying generated text
    t_last: float | None = None  # last event carrying generated text
    t_done: float | None = None
    status: int = 0
    content_events: int = 0
    usage: dict[str, Any] | None = None
    texts: list[bytes] = field(default_factory=list)  # text payloads, for client-side counting
    body: bytearray = field(default_factory=bytearray)
    error: str | None = None
    detail: str = ""
    retries: int = 0  # sent again on a new connection: the reused one failed before writing

    def fail(self, kind: str, detail: str = "") -> None:
        if self.error is None:
            self.error, self.detail = kind, detail

    @property
    def ok(self) -> bool:
        return self.error is None and self.t_done is not None


class Connection(asyncio.Protocol):
    """One keep-alive connection; `exchange()` sends a request and waits for its end."""

    def __init__(self, parse: str = "fast") -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.current: Exchange | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.reader = EventReader()
        self.full = parse == "full"
        self.now = 0.0
        self.reusable = True
        self.used = 0  # exchanges started on this connection
        self.answered = False  # a byte of the current exchange's response arrived
        self.idle_since = 0.0
        self.idle_before = 0.0  # how long it sat idle before the current exchange

    @property
    def alive(self) -> bool:
        """Open, not closing, and not told by the server that it will close."""
        transport = self.transport
        return self.reusable and transport is not None and not transport.is_closing()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.now = time.perf_counter()  # before parsing
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._end("malformed", f"bad HTTP: {error}")

    def eof_received(self) -> bool | None:
        self.reusable = False
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        exchange = self.current
        if exchange is None or exchange.t_done is not None:
            return
        if exchange.status:
            self._end("cut", str(exc or "connection closed mid-response"))
        elif self.used > 1 and not self.answered and self.idle_before > IDLE_CHECK_S:
            why = "the server closed this idle keep-alive connection as the request went out"
            self._end("closed_on_reuse", f"{why} (not retried: the request had been sent)")
        else:
            self._end("closed", str(exc or "connection closed before any response"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        if self.current is not None:
            self.current.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        exchange = self.current
        if exchange is None:
            return
        if exchange.stream and exchange.status == 200:
            try:
                events = self.reader.feed(body)
            except EventTooLargeError as error:
                self._end("oversized", str(error))
                return
            handle = self._decoded if self.full else self._event
            for event in events:
                handle(exchange, event.data)
        else:
            exchange.body.extend(body)

    def on_message_complete(self) -> None:
        exchange = self.current
        if exchange is None:
            return
        if not self.parser.should_keep_alive():
            self.reusable = False
        if exchange.status >= 400:
            exchange.fail(
                f"http_{exchange.status}", bytes(exchange.body[:2000]).decode(errors="replace")
            )
        elif not exchange.stream:
            self._whole_body(exchange)
        exchange.t_done = self.now
        self._end(None)

    def _event(self, exchange: Exchange, payload: bytes) -> None:
        """Classify without decoding (exactly as a decode would); decode only usage."""
        kind = classify(payload)
        if kind == TEXT:
            self._text(exchange, payload)
        elif kind == MALFORMED:
            exchange.fail("malformed", payload[:80].decode(errors="replace"))
        elif kind == ERROR:
            exchange.fail("answer_error", error_of(payload))
        elif kind != END:
            usage = usage_of(payload)
            if usage is not None:
                exchange.usage = usage

    def _decoded(self, exchange: Exchange, payload: bytes) -> None:
        """The peers' way: decode every event and take its text and usage."""
        chunk = decode_chunk(payload)
        if chunk.kind == TEXT:
            self._text(exchange, payload)
        elif chunk.kind == MALFORMED:
            exchange.fail("malformed", payload[:80].decode(errors="replace"))
        elif chunk.kind == ERROR:
            exchange.fail("answer_error", error_of(payload))
        if chunk.usage is not None:
            exchange.usage = chunk.usage

    def _text(self, exchange: Exchange, payload: bytes) -> None:
        if exchange.t_first is None:
            exchange.t_first = self.now
        exchange.t_last = self.now
        exchange.content_events += 1
        exchange.texts.append(payload)

    def _whole_body(self, exchange: Exchange) -> None:
        body = bytes(exchange.body)
        chunk = decode_chunk(body)
        if chunk.kind == MALFORMED:
            exchange.fail("malformed", "response body is not a JSON object")
            return
        if chunk.kind == ERROR:
            exchange.fail("answer_error", error_of(body))
            return
        exchange.t_first = exchange.t_last = self.now
        exchange.content_events = 1
        exchange.usage = chunk.usage
        exchange.texts.append(body)

    def _end(self, kind: str | None, detail: str = "") -> None:
        exchange, waiter = self.current, self.waiter
        if exchange is None or waiter is None:
            return
        if kind is not None:
            exchange.fail(kind, detail)
            self.reusable = False
            if self.transport is not None:
                self.transport.abort()
        self.current = self.waiter = None
        self.reader = EventReader()
        self.idle_since = time.perf_counter()
        if not waiter.done():
            waiter.set_result(None)

    async def exchange(self, exchange: Exchange, request: bytes, timeout: float) -> bool:
        """Send `request` and wait until `exchange` ends (success, error or timeout).

        False, with the exchange untouched, when not a byte could be written (closed).
        """
        transport = self.transport
        if transport is None or not self.alive:
            return False
        loop = asyncio.get_running_loop()
        exchange.t_send = time.perf_counter()
        try:
            transport.write(request)
        except (RuntimeError, OSError):  # uvloop: "the handler is closed"
            self.reusable = False
            return False
        self.used += 1
        self.answered = False
        self.idle_before = exchange.t_send - self.idle_since
        self.current, self.waiter = exchange, loop.create_future()
        waiter = self.waiter
        timer = loop.call_later(timeout, self._end, "timeout", f"no end after {timeout:g} s")
        try:
            await waiter
        finally:
            timer.cancel()
        return True


class Pool:
    """Idle keep-alive connections to one endpoint; opens more as needed."""

    def __init__(
        self, endpoint: Endpoint, connect_timeout: float = 10.0, parse: str = "fast"
    ) -> None:
        if parse not in PARSERS:
            raise ValueError(f"parse must be one of {', '.join(PARSERS)}, got {parse!r}")
        self.endpoint = endpoint
        self.idle: list[Connection] = []
        self.connect_timeout = connect_timeout
        self.parse = parse
        self.ssl = ssl.create_default_context() if endpoint.scheme == "https" else None

    async def send(self, exchange: Exchange, request: bytes, timeout: float) -> None:
        """Run one exchange on an idle or new connection; failures are recorded on it."""
        connection = await self._idle()
        reused = connection is not None
        if connection is None:
            connection = await self._connect(exchange)
            if connection is None:
                return
        written = await connection.exchange(exchange, request, timeout)
        if not written and reused:  # nothing was sent: once more, on a new connection
            self._discard(connection)
            exchange.retries += 1
            connection = await self._connect(exchange)
            if connection is None:
                return
            written = await connection.exchange(exchange, request, timeout)
        if not written:
            exchange.t_send = exchange.t_send or time.perf_counter()
            exchange.fail("closed", "the connection closed before the request could be written")
        if connection.alive and exchange.error is None:
            self.idle.append(connection)
        else:
            self._discard(connection)

    async def _idle(self) -> Connection | None:
        """The most recently used idle connection still open (closed ones are dropped)."""
        while self.idle:
            connection = self.idle.pop()
            if connection.alive and time.perf_counter() - connection.idle_since > IDLE_CHECK_S:
                await asyncio.sleep(0)  # one loop turn: a close on its way is seen now
            if connection.alive:
                return connection
            self._discard(connection)
        return None

    @staticmethod
    def _discard(connection: Connection) -> None:
        if connection.transport is not None:
            connection.transport.abort()

    async def _connect(self, exchange: Exchange) -> Connection | None:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(self.parse), self.endpoint.host, self.endpoint.port,
                    ssl=self.ssl,
                    server_hostname=self.endpoint.host if self.ssl else None,
                ),
                self.connect_timeout,
            )  # fmt: skip
        except (OSError, TimeoutError) as error:
            exchange.t_send = time.perf_counter()
            exchange.fail("connect", connect_failure(self.endpoint, error, self.connect_timeout))
            return None
        return protocol

    def close(self) -> None:
        for connection in self.idle:
            if connection.transport is not None:
                connection.transport.close()
        self.idle.clear()
