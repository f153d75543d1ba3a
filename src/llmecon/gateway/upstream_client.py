"""A lean HTTP/1.1 client for relaying to upstreams: asyncio protocols, the httptools parser,
and pooled keep-alive connections. Bodies arrive as a stream of chunks (a queue), so the relay
can forward events as they come. Failures are typed: connect (retryable), timeout, broken."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools


@dataclass(frozen=True)
class UpstreamTimeouts:
    """Seconds: to connect, to the response headers, between body chunks, for the whole
    exchange."""

    connect: float = 10.0
    first_byte: float = 120.0
    idle: float = 60.0
    total: float = 600.0


class UpstreamConnectError(Exception):
    """No connection could be made (nothing was sent: another upstream may be tried)."""


class UpstreamTimeoutError(Exception):
    """The upstream did not finish in time."""


class UpstreamBrokenError(Exception):
    """The connection broke or the response was malformed."""


class ResponseTooLargeError(UpstreamBrokenError):
    """The response's body is over the size the gateway relays."""


class Response:
    """Status, then body chunks as they arrive; iterate it or `read()` it whole."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()
        self.timer: asyncio.TimerHandle | None = None  # the request's timeout, until the end
        self.connection: _Connection | None = None

    def abort(self) -> None:
        """Stop an unfinished response (the client left): the upstream stops generating."""
        if self.timer is not None:
            self.timer.cancel()
        if self.connection is not None and self.connection.response is self:
            self.connection._fail(UpstreamBrokenError("aborted by the gateway"))

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.chunks.get()
            if chunk is None or isinstance(chunk, Exception):
                if self.timer is not None:
                    self.timer.cancel()
                if chunk is None:
                    return
                raise chunk
            yield chunk

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body; UpstreamBrokenError (and the connection dropped) past `limit`."""
        chunks, size = [], 0
        async for chunk in self:
            size += len(chunk)
            if limit is not None and size > limit:
                self.abort()
                raise ResponseTooLargeError(f"the response is over {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


class _Connection(asyncio.Protocol):
    def __init__(self, pool: _HostPool) -> None:
        self.pool = pool
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.response: Response | None = None
        self.head: asyncio.Future[Response] | None = None
        self.reusable = True
        self.first_byte: asyncio.TimerHandle | None = None  # until the response headers
        self.idle_s = 0.0  # the longest silence allowed while a body is coming
        self.last_data = 0.0
        self.watch: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.last_data = asyncio.get_running_loop().time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(UpstreamBrokenError(f"bad HTTP from upstream: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(UpstreamBrokenError("the upstream closed the connection"))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.response is not None:
            self.response.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.first_byte is not None:
            self.first_byte.cancel()
            self.first_byte = None
        if self.response is not None and self.head is not None and not self.head.done():
            self.response.status = self.parser.get_status_code()
            self.head.set_result(self.response)
            if self.idle_s:
                self._watch()

    def _watch(self) -> None:
        """Fail the response when no byte came for `idle_s` (one timer, re-armed lazily)."""
        loop = asyncio.get_running_loop()
        quiet = loop.time() - self.last_data
        if self.response is None:
            self.watch = None
        elif quiet >= self.idle_s:
            self.watch = None
            self._fail(UpstreamTimeoutError(f"no data for {self.idle_s:g} s"))
        else:
            self.watch = loop.call_later(self.idle_s - quiet, self._watch)

    def on_body(self, body: bytes) -> None:
        if self.response is not None:
            self.response.chunks.put_nowait(body)

    def on_message_complete(self) -> None:
        response = self.response
        if response is None:
            return
        self._stop_timers()
        self.response = self.head = None
        response.chunks.put_nowait(None)
        if self.parser.should_keep_alive() and self.reusable:
            self.pool.idle.append(self)
        elif self.transport is not None:
            self.transport.close()

    def _stop_timers(self) -> None:
        for timer in (self.first_byte, self.watch):
            if timer is not None:
                timer.cancel()
        self.first_byte = self.watch = None

    def _fail(self, error: Exception) -> None:
        self._stop_timers()
        response, head = self.response, self.head
        self.response = self.head = None
        self.reusable = False
        if head is not None and not head.done():
            head.set_exception(error)
        elif response is not None:
            response.chunks.put_nowait(error)
        if self.transport is not None:
            self.transport.abort()

    def send(self, request: bytes, timeouts: UpstreamTimeouts) -> asyncio.Future[Response]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.response = Response()
        self.head = loop.create_future()
        self.idle_s, self.last_data = timeouts.idle, loop.time()
        error = UpstreamTimeoutError(f"no response in {timeouts.first_byte:g} s")
        self.first_byte = loop.call_later(timeouts.first_byte, self._fail, error)
        self.transport.write(request)
        return self.head


class _HostPool:
    def __init__(self, host: str, port: int, tls: bool) -> None:
        self.host, self.port = host, port
        self.ssl = ssl.create_default_context() if tls else None
        self.idle: list[_Connection] = []

    async def connection(self, timeout: float) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if connection.transport is not None and not connection.transport.is_closing():
                return connection
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                ),
                timeout,
            )  # fmt: skip
        except (OSError, TimeoutError) as error:
            raise UpstreamConnectError(f"{self.host}:{self.port}: {error or 'timeout'}") from None
        return protocol

    def close(self) -> None:
        for connection in self.idle:
            if connection.transport is not None:
                connection.transport.close()
        self.idle.clear()


class UpstreamClient:
    """POSTs to upstream URLs over pooled keep-alive connections."""

    def __init__(self, timeouts: UpstreamTimeouts | None = None) -> None:
        self.timeouts = timeouts or UpstreamTimeouts()
        self.pools: dict[tuple[str, int, bool], _HostPool] = {}

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """Send the request; returns once the response headers arrived. A kept-alive connection
        the upstream closed meanwhile is retried once on a fresh one."""
        parts = urlsplit(url)
        tls = parts.scheme == "https"
        host, port = parts.hostname or "", parts.port or (443 if tls else 80)
        pool = self.pools.setdefault((host, port, tls), _HostPool(host, port, tls))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            reused = bool(pool.idle)
            connection = await pool.connection(self.timeouts.connect)
            try:
                return await self._exchange(connection, request)
            except UpstreamBrokenError:
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, connection: _Connection, request: bytes) -> Response:
        loop = asyncio.get_running_loop()
        error = UpstreamTimeoutError(f"not done in {self.timeouts.total:g} s")
        timer = loop.call_later(self.timeouts.total, connection._fail, error)
        try:
            response = await connection.send(request, self.timeouts)
        except BaseException as error:
            timer.cancel()
            if isinstance(error, asyncio.CancelledError):
                connection._fail(UpstreamBrokenError("the request was cancelled"))
            raise
        response.timer, response.connection = timer, connection
        return response

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
