"""The embedded embedding model held to OpenAI's /v1/embeddings contract (review): token-id
inputs and unsupported `dimensions` are a clear 400, `encoding_format: "base64"` gets base64 of
little-endian float32; other upstreams pass through; an upstream's traceback never reaches the
client. The embedded upstream is played by a fake llama.cpp that answers floats."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bad_upstream import bad_upstream, head, json_answer
from bad_upstream import chunk as wire_chunk
from gateway_runner import run_gateway
from llmecon.gateway.app import Gateway
from llmecon.gateway.embedded_embeddings import encode, prepare
from llmecon.gateway.errors import GatewayError
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger

VECTOR = [0.25, -1.5, 3.0]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as store:
        yield store


def _llama_cpp(seen: list[dict[str, Any]]) -> Any:
    """Floats whatever is asked, like llama.cpp's /v1/embeddings; notes each request body."""

    def answer(body: bytes) -> list[bytes]:
        data = json.loads(body)
        seen.append(data)
        inputs = data["input"] if isinstance(data["input"], list) else [data["input"]]
        document = {
            "object": "list",
            "model": data["model"],
            "data": [
                {"object": "embedding", "index": i, "embedding": VECTOR} for i in range(len(inputs))
            ],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }
        return [head(), wire_chunk(json.dumps(document).encode()), b"0\r\n\r\n"]

    return answer


def _post(
    ledger: Ledger, payload: dict[str, Any], embedded: bool = True
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    with bad_upstream(_llama_cpp(seen)) as url:
        urls = (("emb", url),) if embedded else ()
        router = Router([Upstream("embedded", "http://127.0.0.1:9/v1", ("chat", "emb"),
                                  model_urls=urls)] if embedded else
                        [Upstream("paid", url, ("emb",))])  # fmt: skip

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            return await client.post("/v1/embeddings", json={"model": "emb", **payload})

        reply = run_gateway(router, ledger, body)
    assert isinstance(reply, httpx.Response)
    return reply, seen


@pytest.mark.parametrize("ids", [[1, 2, 3], [[1, 2], [3]]])
def test_token_ids_are_a_clear_400_for_the_embedded_model(ledger: Ledger, ids: Any) -> None:
    reply, seen = _post(ledger, {"input": ids})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert "takes text inputs, not token ids" in error["message"]
    assert error["type"] == "invalid_request_error" and error["param"] == "input"
    assert seen == []  # never sent upstream


def test_base64_is_little_endian_float32_for_the_embedded_model(ledger: Ledger) -> None:
    reply, seen = _post(ledger, {"input": ["a", "b"], "encoding_format": "base64"})
    assert reply.status_code == 200, reply.text
    assert "encoding_format" not in seen[0]
    for item in reply.json()["data"]:
        raw = base64.b64decode(item["embedding"])
        assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == VECTOR
    floats, _ = _post(ledger, {"input": "a", "encoding_format": "float"})
    assert floats.json()["data"][0]["embedding"] == VECTOR


@pytest.mark.parametrize(("dimensions", "status"), [(256, 400), (384, 200)])
def test_dimensions_other_than_384_are_refused_for_the_embedded_model(
    ledger: Ledger, dimensions: int, status: int
) -> None:
    reply, seen = _post(ledger, {"input": "a", "dimensions": dimensions})
    assert reply.status_code == status, reply.text
    if status == 400:
        assert reply.json()["error"]["param"] == "dimensions" and seen == []
    else:
        assert "dimensions" not in seen[0]


def test_other_upstreams_get_the_request_as_sent(ledger: Ledger) -> None:
    payload = {"input": [1, 2], "encoding_format": "base64", "dimensions": 8}
    reply, seen = _post(ledger, payload, embedded=False)
    assert reply.status_code == 200
    assert seen[0]["encoding_format"] == "base64" and seen[0]["dimensions"] == 8
    assert reply.json()["data"][0]["embedding"] == VECTOR  # their answer, untouched


def test_the_translation_alone() -> None:
    body, wanted = prepare(b'{"model": "m", "input": "x", "encoding_format": "base64"}')
    assert json.loads(body) == {"model": "m", "input": "x"} and wanted
    assert prepare(b'{"model": "m", "input": ["x", "y"]}')[1] is False
    with pytest.raises(GatewayError, match="encoding_format"):
        prepare(b'{"model": "m", "input": "x", "encoding_format": "hex"}')
    encoded = json.loads(encode(json.dumps({"data": [{"embedding": [1.0, 2]}]}).encode()))
    assert base64.b64decode(encoded["data"][0]["embedding"]) == struct.pack("<2f", 1.0, 2.0)
    assert encode(b"not json") == b"not json"


TRACEBACK = (
    'Traceback (most recent call last):\n  File "/usr/lib/python3/site-packages/server/app.py",'
    " line 12, in embed\nValueError: bad input"
)


@pytest.mark.parametrize(
    "document",
    [
        {"error": {"message": TRACEBACK, "type": "server_error", "code": 500}},
        {"detail": "failed in /opt/llama.cpp/tools/server/server.cpp"},
    ],
)
def test_an_upstream_traceback_or_path_never_reaches_the_client(
    ledger: Ledger, document: dict[str, Any]
) -> None:
    with bad_upstream(json_answer(document, status=500)) as url:
        router = Router([Upstream("u", url, ("m",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            return await client.post("/v1/embeddings", json={"model": "m", "input": "a"})

        reply = run_gateway(router, ledger, body)
    assert reply.status_code == 502
    message = reply.json()["error"]["message"]
    assert "upstream u failed (500)" in message
    assert ".py" not in message and ".cpp" not in message and "Traceback" not in message


def test_an_openai_shaped_upstream_error_is_kept(ledger: Ledger) -> None:
    document = {"error": {"message": "the model is overloaded; retry", "type": "server_error"}}
    with bad_upstream(json_answer(document, status=503)) as url:
        router = Router([Upstream("u", url, ("m",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            return await client.post("/v1/embeddings", json={"model": "m", "input": "a"})

        reply = run_gateway(router, ledger, body)
    assert reply.json()["error"]["message"].endswith("the model is overloaded; retry")
