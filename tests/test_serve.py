"""`llmecon serve` end to end: the real embedded model behind the gateway, the `openai` client,
and the ledger rows it leaves (SQLite here; tests/test_ledger.py runs the ledger on PostgreSQL)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from llmecon.ledger import open_ledger
from llmecon.ledger.model import UsageRow
from llmecon.processes import free_port

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m"


@dataclass
class Gateway:
    url: str
    key: str
    ledger_url: str
    process: subprocess.Popen[bytes]

    def client(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url, api_key=key or self.key, max_retries=0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(30)

    def rows(self) -> list[UsageRow]:
        ledger = open_ledger(self.ledger_url)
        try:
            return sorted(ledger.rows(None, None), key=lambda r: r.started_at)
        finally:
            ledger.close()


def _llmecon(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "llmecon", *args], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    ledger_url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.db'}"
    key = _llmecon("keys", "create", "tests", "--ledger", ledger_url)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llmecon", "serve", "--port", str(port), "--ledger", ledger_url,
         "--interval", "2", "--compare-with", "gpt-4o-mini", "--body-limit", "20000"],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    gateway = Gateway(url, key, ledger_url, process)
    yield gateway
    gateway.stop()


def _wait_rows(gateway: Gateway, count: int) -> list[UsageRow]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = gateway.rows()
        if len(rows) >= count:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"expected {count} ledger rows, found {len(gateway.rows())}")


def test_chat_matches_the_ledger(gateway: Gateway) -> None:
    before = len(gateway.rows())
    reply = gateway.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Say hello"}], max_tokens=8
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None
    row = _wait_rows(gateway, before + 1)[-1]
    assert (row.prompt_tokens, row.completion_tokens) == (
        reply.usage.prompt_tokens, reply.usage.completion_tokens)  # fmt: skip
    assert row.token_source == "upstream" and row.status == 200 and row.outcome == "ok"
    assert row.counterfactual_nusd["gpt-4o-mini"] == round(
        (reply.usage.prompt_tokens * 0.15 + reply.usage.completion_tokens * 0.60) * 1000
    )  # 1e9 nUSD/USD x $/1M tokens / 1e6
    assert row.key_id is not None and row.model == MODEL and row.upstream == "embedded"


def test_streaming_is_relayed_and_counted(gateway: Gateway) -> None:
    before = len(gateway.rows())
    stream = gateway.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Count to five"}], max_tokens=10,
        stream=True,
    )  # fmt: skip
    pieces = [
        c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert pieces
    row = _wait_rows(gateway, before + 1)[-1]
    assert row.stream and row.completion_tokens == len(pieces)
    assert row.token_source == "gateway"  # llama-cpp-python streams no usage
    assert row.ttft_ms is not None and row.ttft_ms <= (row.latency_ms or 0)


def test_the_openai_client_gets_stream_usage_from_the_embedded_model(gateway: Gateway) -> None:
    """llama-cpp-python sends no usage when streaming; a client that asks gets the gateway's."""
    before = len(gateway.rows())
    stream = gateway.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Name a colour"}], max_tokens=8,
        stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    pieces = sum(1 for c in chunks if c.choices and c.choices[0].delta.content)
    assert usage.completion_tokens == pieces and usage.total_tokens == (
        usage.prompt_tokens + usage.completion_tokens
    )
    row = _wait_rows(gateway, before + 1)[-1]
    assert (row.prompt_tokens, row.completion_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )


def test_completions_and_models(gateway: Gateway) -> None:
    client = gateway.client()
    # the embedded embedding model too (issue 11; its wheel is installed by `make venv`)
    assert [m.id for m in client.models.list().data] == ["all-minilm-l6-v2", MODEL]
    reply = client.completions.create(model=MODEL, prompt="The sky is", max_tokens=5)
    assert reply.choices[0].text is not None and reply.usage is not None


def test_errors_in_openai_format(gateway: Gateway) -> None:
    client = gateway.client()
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        gateway.client(key="llmecon-wrong").models.list()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[])
    headers = {"Authorization": f"Bearer {gateway.key}"}
    bad = httpx.post(f"{gateway.url}/chat/completions", content=b"{nope", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    huge = httpx.post(f"{gateway.url}/chat/completions", content=b"x" * 30_000, headers=headers)
    assert huge.status_code == 413


def test_the_secret_is_never_stored(gateway: Gateway) -> None:
    _wait_rows(gateway, 1)
    database = Path(gateway.ledger_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert gateway.key.encode() not in stored
    assert all(gateway.key not in (row.key_id or "") for row in gateway.rows())


def test_client_disconnect_leaves_a_row(gateway: Gateway) -> None:
    before = len(gateway.rows())
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Tell a long story"}],
            "max_tokens": 200, "stream": True}  # fmt: skip
    headers = {"Authorization": f"Bearer {gateway.key}"}
    with httpx.stream("POST", f"{gateway.url}/chat/completions", json=body, headers=headers,
                      timeout=30) as response:  # fmt: skip
        for index, _ in enumerate(response.iter_lines()):
            if index >= 3:
                break  # leave mid-stream
    row = _wait_rows(gateway, before + 1)[-1]
    assert row.outcome == "client_disconnected"
    assert row.completion_tokens is not None and 1 <= row.completion_tokens < 200


def test_cost_is_allocated_with_idle_time(gateway: Gateway) -> None:
    _wait_rows(gateway, 1)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        rows = gateway.rows()
        if rows and all(r.self_hosted_nusd is not None for r in rows[:1]):
            break
        time.sleep(0.5)
    assert rows[0].self_hosted_nusd is not None and rows[0].self_hosted_nusd > 0


def test_metrics_and_openapi(gateway: Gateway) -> None:
    base = gateway.url.removesuffix("/v1")
    assert httpx.get(f"{base}/metrics").status_code == 401  # behind a key
    headers = {"Authorization": f"Bearer {gateway.key}"}
    metrics = httpx.get(f"{base}/metrics", headers=headers).text
    assert "llmecon_requests_total" in metrics and f'model="{MODEL}"' in metrics
    document = httpx.get(f"{base}/openapi.json", headers=headers).json()
    assert "/v1/chat/completions" in document["paths"]
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"


def test_usage_report_after_a_clean_shutdown(gateway: Gateway, tmp_path: Path) -> None:
    gateway.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Last one"}], max_tokens=4
    )
    gateway.stop()
    rows = gateway.rows()
    assert rows and all(r.self_hosted_nusd is not None for r in rows)  # final interval allocated
    import json

    report = json.loads(_llmecon("usage", "--ledger", gateway.ledger_url, "--format", "json"))
    totals = report["totals"]
    assert totals["requests"] == len(rows)
    assert totals["prompt_tokens"] == sum(r.prompt_tokens or 0 for r in rows)
    assert totals["self_hosted_cost"] > 0 and totals["idle_cost"] >= 0
    assert set(totals["counterfactual_cost"]) == {"gpt-4o-mini"}
