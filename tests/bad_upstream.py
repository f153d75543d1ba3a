"""An upstream that misbehaves on purpose: a raw asyncio server answering every POST with the
bytes a test gives it (GET /models lists one model), for the adversarial gateway tests."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from llmecon.processes import free_port

Answer = Callable[[bytes], list[bytes]]  # request body -> raw response pieces


def head(status: int = 200, kind: str = "application/json", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\n{extra}"
        "transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    ).encode()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


END = b"0\r\n\r\n"


def json_answer(document: object, status: int = 200, extra: str = "") -> Answer:
    return lambda body: [head(status, extra=extra), chunk(json.dumps(document).encode()), END]


# one embedding answer (2,000 prompt tokens) and one chat answer (1,000 + 10 tokens)
EMBEDDING_ANSWER = {
    "object": "list", "model": "emb",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
    "usage": {"prompt_tokens": 2_000, "total_tokens": 2_000},
}  # fmt: skip
CHAT_ANSWER = {
    "id": "c", "choices": [{"message": {"content": "ok"}}],
    "usage": {"prompt_tokens": 1_000, "completion_tokens": 10},
}  # fmt: skip


def chat_or_embedding(body: bytes) -> list[bytes]:
    """EMBEDDING_ANSWER to an embeddings request (it has `input`), else CHAT_ANSWER."""
    return json_answer(EMBEDDING_ANSWER if "input" in json.loads(body) else CHAT_ANSWER)(body)


def events(*payloads: bytes) -> Answer:
    return lambda body: [
        head(kind="text/event-stream"),
        *(chunk(b"data: " + p + b"\n\n") for p in payloads),
        END,
    ]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """A request's line and headers, and its body."""
    request = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in request.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return request, await reader.readexactly(length)


@contextmanager
def bad_upstream(answer: Answer, heads: list[bytes] | None = None) -> Iterator[str]:
    """Serve `answer` on a free loopback port; yields the base URL (ending in /v1). Each POST's
    request line and headers are appended to `heads` when given."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request, body = await _read_request(reader)
            if request.startswith(b"GET"):
                listing = json.dumps({"data": [{"id": "bad"}]}).encode()
                pieces = [head(), chunk(listing), END]
            else:
                if heads is not None:
                    heads.append(request)
                pieces = answer(body)
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        try:
            async with server:
                await server.serve_forever()
        except asyncio.CancelledError:
            return

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        for task in asyncio.all_tasks(loop):
            loop.call_soon_threadsafe(task.cancel)
        thread.join(5)
        loop.close()
