"""The few HTTP pieces the gateway's handlers share: answering, reading a body, the bearer key."""

from __future__ import annotations

import asyncio

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Receive, Send

BODY_TIMEOUT_S = 30.0  # per read; the connection's own deadline covers the whole body
CLOSE = (b"connection", b"close")


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
