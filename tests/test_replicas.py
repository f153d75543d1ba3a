"""Two gateway replicas sharing one PostgreSQL ledger and one Redis: exact limits, no overspend.

Real services: PostgreSQL at 127.0.0.1:5432 (database `test`, a fresh schema per test) and
Redis at 127.0.0.1:6379 (a fresh key prefix is not needed: keys are per API key id, and each
test creates new API keys)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from llmecon.ledger import open_ledger
from llmecon.mock import MockSettings, running
from llmecon.processes import free_port

pytestmark = pytest.mark.slow
POSTGRES = os.environ.get("LLMECON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("LLMECON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def ledger_url() -> Iterator[str]:
    schema = f"test_replicas_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _llmecon(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmecon", *args]


def _replicas(
    tmp: Path, ledger: str, upstream: str, *limits: str
) -> list[tuple[subprocess.Popen[bytes], int]]:
    started = []
    for index in range(2):
        port = free_port()
        process = subprocess.Popen(_llmecon(
            "serve", "--no-embedded", "--upstream", f"mock={upstream}", "--port", str(port),
            "--ledger", ledger, "--journal", str(tmp / f"journal-{index}.jsonl"),
            "--redis", REDIS, "--compare-with", "gpt-4o-mini", *limits,
        ), stdin=subprocess.DEVNULL)  # fmt: skip
        started.append((process, port))
    for process, port in started:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert process.poll() is None
    return started


def _stop(replicas: list[tuple[subprocess.Popen[bytes], int]]) -> None:
    for process, _ in replicas:
        process.send_signal(signal.SIGINT)
    for process, _ in replicas:
        process.wait(30)


async def _burst(ports: list[int], key: str, count: int, max_tokens: int) -> list[int]:
    body = {"model": "mock", "messages": [{"role": "user", "content": "hello there"}],
            "max_tokens": max_tokens}  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        replies = await asyncio.gather(*(
            client.post(f"http://127.0.0.1:{ports[i % 2]}/v1/chat/completions", json=body,
                        headers=headers) for i in range(count)))  # fmt: skip
    return [reply.status_code for reply in replies]


def _key(ledger: str) -> str:
    done = subprocess.run(_llmecon("keys", "create", "team", "--ledger", ledger),
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def test_two_replicas_share_an_exact_rate_limit(tmp_path: Path, ledger_url: str) -> None:
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        key = _key(ledger_url)
        replicas = _replicas(tmp_path, ledger_url, upstream, "--rpm", "50")
        try:
            statuses = asyncio.run(_burst([p for _, p in replicas], key, 200, 4))
        finally:
            _stop(replicas)
    assert statuses.count(200) == 50
    assert statuses.count(429) == 150
    ledger = open_ledger(ledger_url)
    try:
        rows = ledger.rows()
    finally:
        ledger.close()
    assert len(rows) == 50  # one ledger, both replicas' rows
    assert all(row.status == 200 for row in rows)


def test_two_replicas_never_overspend_a_budget(tmp_path: Path, ledger_url: str) -> None:
    # Each request reserves (prompt + 100 max tokens) at gpt-4o-mini prices: about $0.0000617;
    # a $0.003 daily budget admits about 48 of 200 concurrent requests by reservation.
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        key = _key(ledger_url)
        replicas = _replicas(tmp_path, ledger_url, upstream, "--budget-day", "0.003")
        try:
            statuses = asyncio.run(_burst([p for _, p in replicas], key, 200, 100))
        finally:
            _stop(replicas)
    ok = statuses.count(200)
    assert 0 < ok < 200 and statuses.count(402) == 200 - ok
    ledger = open_ledger(ledger_url)
    try:
        spent = sum(row.counterfactual_nusd["gpt-4o-mini"] or 0 for row in ledger.rows())
    finally:
        ledger.close()
    assert spent <= 3_000_000  # $0.003 in nano-dollars: never overspent


def test_a_revoked_key_stops_on_both_replicas_at_once(tmp_path: Path, ledger_url: str) -> None:
    """The cache keeps a valid key 2 s; PostgreSQL's NOTIFY ends it sooner on every replica."""
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        key = _key(ledger_url)
        replicas = _replicas(tmp_path, ledger_url, upstream)
        ledger = open_ledger(ledger_url)
        body = {"model": "mock", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
        headers = {"Authorization": f"Bearer {key}"}
        try:
            urls = [f"http://127.0.0.1:{port}/v1/chat/completions" for _, port in replicas]
            warm = [httpx.post(url, json=body, headers=headers).status_code for url in urls]
            assert warm == [200, 200]
            (info,) = ledger.list_keys()
            assert ledger.revoke_key(info.id)  # both replicas have the key cached for ~2 s
            revoked = time.monotonic()
            took = []
            for url in urls:
                while httpx.post(url, json=body, headers=headers).status_code == 200:
                    assert time.monotonic() - revoked < 5
                    time.sleep(0.01)
                took.append(time.monotonic() - revoked)
        finally:
            ledger.close()
            _stop(replicas)
    assert max(took) < 1.0, took  # without the notice: about 2 s (the cache's TTL)
