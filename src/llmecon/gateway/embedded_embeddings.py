"""The embedded embedding model (all-MiniLM-L6-v2 behind llama.cpp) held to OpenAI's
/v1/embeddings contract where llama.cpp differs: token-id inputs are a clear 400, `dimensions`
other than the model's own is a 400, and `encoding_format: "base64"` gets base64 of
little-endian float32 vectors (llama.cpp answers floats). Third-party upstreams decide for
themselves: their calls pass through untouched.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from llmecon.gateway.errors import GatewayError
from llmecon.gateway.leg import Leg, Outcome, Send

DIMENSIONS = 384  # all-MiniLM-L6-v2's vectors
Relay = Callable[[Leg, Outcome], Awaitable[Outcome]]


def is_embedded(leg: Leg) -> bool:
    """An embeddings call to a model the embedded upstream serves from its own URL."""
    return leg.call.endpoint == "embeddings" and leg.call.model in dict(leg.upstream.model_urls)


def adapt(leg: Leg, relay: Relay) -> Relay:
    """`relay`, held to OpenAI's contract when the leg goes to the embedded embedding model."""
    if not is_embedded(leg):
        return relay

    async def adapted(leg: Leg, outcome: Outcome) -> Outcome:
        body, base64_wanted = prepare(leg.call.body)
        leg = replace(leg, call=replace(leg.call, body=body))
        if base64_wanted:
            leg = replace(leg, send=_encoding(leg.send))
        return await relay(leg, outcome)

    return adapted


def prepare(raw: bytes) -> tuple[bytes, bool]:
    """The body to send llama.cpp (without `encoding_format` and `dimensions`), and whether the
    client wants base64; a 400 for what the embedded model cannot do."""
    data: dict[str, Any] = json.loads(raw)
    if _token_ids(data.get("input")):
        message = "the embedded embedding model takes text inputs, not token ids; send the text"
        raise GatewayError(400, message, "token_ids_not_supported", "input")
    dimensions = data.pop("dimensions", None)
    if dimensions is not None and dimensions != DIMENSIONS:
        message = (f"the embedded embedding model {data.get('model')!r} does not support "
                   f"'dimensions' other than {DIMENSIONS}; leave it out")  # fmt: skip
        raise GatewayError(400, message, "dimensions_not_supported", "dimensions")
    encoding = data.pop("encoding_format", None)
    if encoding not in (None, "float", "base64"):
        message = f"encoding_format must be 'float' or 'base64', not {encoding!r}"
        raise GatewayError(400, message, "invalid_encoding_format", "encoding_format")
    return json.dumps(data).encode(), encoding == "base64"


def _token_ids(value: Any) -> bool:
    """An input of token ids: a list of ints, or a list of lists of ints."""
    if not isinstance(value, list) or not value:
        return False
    return all(_int(v) for v in value) or all(
        isinstance(v, list) and all(_int(x) for x in v) for v in value
    )


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def encode(content: bytes) -> bytes:
    """An embeddings answer with each float vector as base64 of little-endian float32, as
    OpenAI answers `encoding_format: "base64"`; anything else unchanged."""
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return content
    items = document.get("data") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return content
    for item in items:
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(vector, list) and all(isinstance(x, int | float) for x in vector):
            packed = struct.pack(f"<{len(vector)}f", *vector)
            item["embedding"] = base64.b64encode(packed).decode("ascii")
    return json.dumps(document).encode()


def _encoding(send: Send) -> Send:
    """`send`, with a successful answer's body re-encoded (the answer is one body message)."""
    status = 0

    async def encoding(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and status == 200:
            message = {**message, "body": encode(message.get("body", b""))}
        await send(message)

    return encoding
