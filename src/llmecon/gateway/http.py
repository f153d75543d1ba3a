"""The few HTTP pieces the gateway's handlers share: answering, reading a body, the bearer key,
a browser's cross-site origin."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Receive, Send

BODY_TIMEOUT_S = 30.0  # per read; the connection's own deadline covers the whole body
CLOSE = (b"connection", b"close")
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


async def respond(
    send: Send,
    status: int,
    body: bytes,
    kind: bytes = b"application/json",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    head = [(b"content-type", kind), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, at most `limit` bytes (413, and the connection closed, beyond)."""
    chunks, size = [], 0
    while True:
        try:  # asyncio.timeout, not wait_for: no task per read
            async with asyncio.timeout(BODY_TIMEOUT_S):
                message = await receive()
        except TimeoutError:
            raise _closing(408, "the request body arrived too slowly", "timeout") from None
        if message["type"] == "http.disconnect":
            raise GatewayError(400, "the client went away", "client_disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _closing(413, f"the request body is over {limit:,} bytes", "body_too_large")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _closing(status: int, message: str, code: str) -> GatewayError:
    error = GatewayError(status, message, code)
    error.headers = [CLOSE]  # the rest of the upload is not read
    return error


def bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def check_origin(headers: list[tuple[bytes, bytes]]) -> None:
    """Without auth, refuse (403) a browser request sent by a page of another site: its
    `Origin` is not a loopback one. Such a page can POST a text/plain body without a preflight,
    and the gateway would spend for it. Requests without an `Origin` (SDKs, curl) pass."""
    for name, value in headers:
        if name == b"origin":
            origin = value.decode("latin-1").strip()
            try:
                host = urlsplit(origin).hostname
            except ValueError:
                host = None
            if host not in LOOPBACK_HOSTS:
                raise GatewayError(
                    403,
                    f"requests from the web origin {origin[:100]!r} are refused when auth is "
                    "off; start serve with API keys (without --no-auth) to call it from a page",
                    "cross_origin_refused",
                )
