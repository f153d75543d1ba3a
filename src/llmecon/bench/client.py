"""A small, fast HTTP/1.1 client for benchmarking: asyncio protocols and the httptools parser.

Each connection carries one exchange at a time and is reused (keep-alive). Timestamps come
from `time.perf_counter()` taken as bytes arrive, before any parsing, and every failure is an
outcome with a kind (connect, timeout, http_NNN, malformed, cut, closed), never an exception.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

from llmecon.errors import LlmeconError
from llmecon.sse import DONE, has_text, looks_like_json_object, split_events, usage_of


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

    def fail(self, kind: str, detail: str = "") -> None:
        if self.error is None:
            self.error, self.detail = kind, detail

    @property
    def ok(self) -> bool:
        return self.error is None and self.t_done is not None


class Connection(asyncio.Protocol):
    """One keep-alive connection; `exchange()` sends a request and waits for its end."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.current: Exchange | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.buffer = bytearray()
        self.now = 0.0
        self.reusable = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.now = time.perf_counter()  # before parsing
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._end("malformed", f"bad HTTP: {error}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        exchange = self.current
        if exchange is not None and exchange.t_done is None:
            self._end("cut" if exchange.status else "closed", str(exc or "connection closed"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        if self.current is not None:
            self.current.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        exchange = self.current
        if exchange is None:
            return
        if exchange.stream and exchange.status == 200:
            self.buffer.extend(body)
            for payload in split_events(self.buffer):
                self._event(exchange, payload)
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
                f"http_{exchange.status}", bytes(exchange.body[:200]).decode(errors="replace")
            )
        elif not exchange.stream:
            self._whole_body(exchange)
        exchange.t_done = self.now
        self._end(None)

    def _event(self, exchange: Exchange, payload: bytes) -> None:
        if payload == DONE:
            return
        if has_text(payload):
            if exchange.t_first is None:
                exchange.t_first = self.now
            exchange.t_last = self.now
            exchange.content_events += 1
            exchange.texts.append(payload)
            return
        if not looks_like_json_object(payload):
            exchange.fail("malformed", payload[:80].decode(errors="replace"))
            return
        usage = usage_of(payload)
        if usage is not None:
            exchange.usage = usage

    def _whole_body(self, exchange: Exchange) -> None:
        try:
            data = json.loads(exchange.body)
        except ValueError:
            exchange.fail("malformed", "response body is not JSON")
            return
        if not isinstance(data, dict):
            exchange.fail("malformed", "response body is not a JSON object")
            return
        exchange.t_first = exchange.t_last = self.now
        exchange.content_events = 1
        exchange.usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        exchange.texts.append(bytes(exchange.body))

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
        self.buffer.clear()
        if not waiter.done():
            waiter.set_result(None)

    async def exchange(self, exchange: Exchange, request: bytes, timeout: float) -> None:
        """Send `request` and wait until `exchange` ends (success, error or timeout)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.current, self.waiter = exchange, loop.create_future()
        waiter = self.waiter
        timer = loop.call_later(timeout, self._end, "timeout", f"no end after {timeout:g} s")
        exchange.t_send = time.perf_counter()
        self.transport.write(request)
        try:
            await waiter
        finally:
            timer.cancel()


class Pool:
    """Idle keep-alive connections to one endpoint; opens more as needed."""

    def __init__(self, endpoint: Endpoint, connect_timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.idle: list[Connection] = []
        self.connect_timeout = connect_timeout
        self.ssl = ssl.create_default_context() if endpoint.scheme == "https" else None

    async def send(self, exchange: Exchange, request: bytes, timeout: float) -> None:
        """Run one exchange on an idle or new connection; failures are recorded on it."""
        connection = self.idle.pop() if self.idle else None
        if connection is None:
            connection = await self._connect(exchange)
            if connection is None:
                return
        await connection.exchange(exchange, request, timeout)
        if connection.reusable and exchange.error is None:
            self.idle.append(connection)
        elif connection.transport is not None:
            connection.transport.abort()

    async def _connect(self, exchange: Exchange) -> Connection | None:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    Connection, self.endpoint.host, self.endpoint.port, ssl=self.ssl,
                    server_hostname=self.endpoint.host if self.ssl else None,
                ),
                self.connect_timeout,
            )  # fmt: skip
        except (OSError, TimeoutError) as error:
            exchange.t_send = time.perf_counter()
            exchange.fail("connect", str(error) or type(error).__name__)
            return None
        return protocol

    def close(self) -> None:
        for connection in self.idle:
            if connection.transport is not None:
                connection.transport.close()
        self.idle.clear()
