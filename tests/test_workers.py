"""`llmecon serve --workers N`: N processes on one port, one ledger, exact limits, full drain.

Real processes against the in-repo mock. The SQLite tests need nothing else; the exact-limit
test needs PostgreSQL (a fresh schema, conftest.postgres_schema) and Redis at 127.0.0.1:6379
(keys are per API key id and each test creates its own key)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import Backend, postgres_schema
from llmecon.cli.serve_workers import FLAPPING_S, SharedOnly, gather_journals, worker_journal
from llmecon.errors import LlmeconError
from llmecon.ledger import open_ledger
from llmecon.limits import Admission, KeyPolicy, LimitsUnavailableError, MemoryLimiter
from llmecon.mock import MockSettings, running
from llmecon.processes import free_port

pytestmark = pytest.mark.slow
REDIS = os.environ.get("LLMECON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BODY = {"model": "mock", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 4}


def _llmecon(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmecon", *args]


def _key(ledger: str, *limits: str) -> str:
    done = subprocess.run(_llmecon("keys", "create", "team", "--ledger", ledger, *limits),
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def _serve(tmp: Path, ledger: str, upstream: str, *extra: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(_llmecon(
        "serve", "--no-embedded", "--upstream", f"mock={upstream}", "--port", str(port),
        "--ledger", ledger, "--journal", str(tmp / "journal.jsonl"), "--workers", "2",
        "--compare-with", "gpt-4o-mini", *extra,
    ), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("serve --workers 2 did not answer /healthz")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return err


def _workers_of(parent: int) -> set[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return {int(pid) for pid in children}


async def _burst(port: int, key: str | None, count: int, stream: bool = False) -> list[int]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {**BODY, "stream": stream}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        replies = await asyncio.gather(*(
            client.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body,
                        headers=headers) for _ in range(count)))  # fmt: skip
    return [reply.status_code for reply in replies]


@pytest.fixture
def postgres() -> Iterator[Backend]:
    yield from postgres_schema()


def test_two_workers_keep_an_exact_rate_limit(tmp_path: Path, postgres: Backend) -> None:
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        key = _key(postgres.url)
        gateway, port = _serve(tmp_path, postgres.url, upstream, "--redis", REDIS, "--rpm", "50")
        try:
            assert len(_workers_of(gateway.pid)) == 2
            statuses = asyncio.run(_burst(port, key, 200))
        finally:
            _stop(gateway)
    assert statuses.count(200) == 50
    assert statuses.count(429) == 150
    ledger = open_ledger(postgres.url)
    try:
        rows = ledger.rows()
    finally:
        ledger.close()
    assert len(rows) == 50  # one ledger, both workers' rows
    assert all(row.status == 200 for row in rows)
    assert len({row.request_id for row in rows}) == 50


def test_sqlite_with_two_workers_counts_every_request_once(tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = MockSettings(ttft_ms=0, itl_ms=1, output_tokens=4)
    with running(settings) as upstream:
        key = _key(ledger)
        gateway, port = _serve(tmp_path, ledger, upstream, "--upstream-price", "mock=3.6",
                               "--interval", "1")  # fmt: skip
        try:
            workers = _workers_of(gateway.pid)
            statuses = asyncio.run(_burst(port, key, 300))
            statuses += asyncio.run(_burst(port, key, 300, stream=True))
            time.sleep(2.5)  # a slot or two closes while both workers run
        finally:
            _stop(gateway)
    assert statuses == [200] * 600
    assert len(workers) == 2
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*), count(DISTINCT request_id) FROM usage").fetchone() == (
            600,
            600,
        )
        # both workers served requests (busy spans) and reported them, each as its own replica
        replicas = db.execute(
            "SELECT count(DISTINCT replica) FROM meter_report WHERE busy != '[]'"
        ).fetchone()[0]
        assert replicas == 2
        # each slot is closed once and its cost split once: shares never exceed the slot
        assert db.execute("SELECT count(*) FROM idle_cost").fetchone()[0] > 0
        # the cost of a slot is its metered time (the union of both workers', at most the
        # slot) at 3.6 $/h = 1,000,000 nano-$ per second, charged once: idle + shares
        slots = db.execute(
            "SELECT i.idle_nusd, i.allocated_nusd, i.metered_seconds,"
            " (julianday(i.interval_end) - julianday(i.interval_start)) * 86400,"
            " (SELECT coalesce(sum(s.nusd), 0) FROM cost_share s"
            "  WHERE s.upstream = i.upstream AND s.slot_start = i.interval_start)"
            " FROM idle_cost i"
        ).fetchall()
    for idle, allocated, metered, length, shared in slots:
        assert metered <= length + 0.01
        assert abs(idle + allocated - 1_000_000 * metered) <= 2
        assert abs(shared - allocated) <= len(slots) + 1
    assert all(not p.exists() or p.stat().st_size == 0 for p in tmp_path.glob("journal*.jsonl"))


def test_sigterm_drains_every_worker(tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    # each streamed answer takes about 1.5 s: in flight on both workers when SIGTERM arrives
    settings = MockSettings(ttft_ms=0, itl_ms=50, output_tokens=30)
    with running(settings) as upstream:
        gateway, port = _serve(tmp_path, ledger, upstream, "--no-auth", "--drain", "20")

        async def load() -> list[int]:
            burst = asyncio.ensure_future(_burst(port, None, 40, stream=True))
            await asyncio.sleep(0.5)
            gateway.send_signal(signal.SIGTERM)
            return await burst

        workers = _workers_of(gateway.pid)
        statuses = asyncio.run(load())
        gateway.communicate(timeout=60)
    assert gateway.returncode == 0
    assert statuses == [200] * 40
    assert len(workers) == 2 and not any(Path(f"/proc/{pid}").exists() for pid in workers)
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        outcomes = db.execute("SELECT outcome, count(*) FROM usage GROUP BY outcome").fetchall()
    assert outcomes == [("ok", 40)]


def test_limits_in_memory_with_workers_need_redis(tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    with running(MockSettings(ttft_ms=0, itl_ms=0)) as upstream:
        base = _llmecon("serve", "--no-embedded", "--upstream", f"mock={upstream}", "--port",
                        str(free_port()), "--ledger", ledger, "--workers", "2")  # fmt: skip
        flag = subprocess.run(
            [*base, "--rpm", "50"], capture_output=True, text=True, timeout=60, check=False
        )
        _key(ledger, "--budget-day", "1")
        keyed = subprocess.run(base, capture_output=True, text=True, timeout=60, check=False)
    assert flag.returncode == 2
    assert "add --redis URL" in flag.stderr and "Traceback" not in flag.stderr
    assert len(flag.stderr.strip().splitlines()) == 1
    assert keyed.returncode == 2
    assert "the key 'team' has its own limits" in keyed.stderr


def test_worker_journals_gather_rows_of_another_worker_count(tmp_path: Path) -> None:
    base = tmp_path / "journal.jsonl"
    owner = "sqlite:///x.db"
    for index in range(3):  # an earlier run with three workers left a row in each
        path = worker_journal(base, index, 3)
        path.write_text(f'{{"row": {index}}}\n')
        path.with_name(path.name + ".owner").write_text(owner + "\n")
    gather_journals(base, 2, owner)
    first = worker_journal(base, 0, 2)
    assert sorted(first.read_text().splitlines()) == ['{"row": 0}', '{"row": 2}']
    assert worker_journal(base, 1, 2).read_text() == '{"row": 1}\n'
    assert not worker_journal(base, 2, 3).exists()
    gather_journals(base, 1, owner)  # back to one process: every row in the plain journal
    assert len(base.read_text().splitlines()) == 3
    assert list(tmp_path.glob("journal.worker*")) == []
    (tmp_path / "journal.worker5.jsonl").write_text("{}\n")
    (tmp_path / "journal.worker5.jsonl.owner").write_text("sqlite:///other.db\n")
    with pytest.raises(LlmeconError, match=r"holds rows for the ledger sqlite:///other\.db"):
        gather_journals(base, 1, owner)


def test_a_key_with_limits_met_later_is_refused_not_admitted_per_worker() -> None:
    guard = SharedOnly(MemoryLimiter())

    async def admit(policy: KeyPolicy) -> object:
        return await guard.admit("key-1", policy, 10, 10)

    assert isinstance(asyncio.run(admit(KeyPolicy())), Admission)
    with pytest.raises(LimitsUnavailableError, match="--redis"):
        asyncio.run(admit(KeyPolicy(requests_per_minute=5)))


def _wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_dead_worker_is_started_again_and_its_rows_kept(tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        gateway, port = _serve(tmp_path, ledger, upstream, "--no-auth")
        try:
            first = _workers_of(gateway.pid)
            statuses = asyncio.run(_burst(port, None, 50))
            time.sleep(FLAPPING_S + 0.5)  # past the crash-loop guard
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            assert _wait_for(lambda: len(_workers_of(gateway.pid) - {victim}) == 2, 30)
            assert _wait_for(lambda: _healthy(port), 30)
            statuses += asyncio.run(_burst(port, None, 50))
        finally:
            err = _stop(gateway)
    assert statuses == [200] * 100
    assert "ended (signal 9); starting it again" in err
    with sqlite3.connect(tmp_path / "ledger.db") as db:  # journaled rows replayed, none twice
        assert db.execute("SELECT count(*) FROM usage").fetchone()[0] == 100


def test_workers_stop_when_the_parent_is_killed(tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    with running(MockSettings(ttft_ms=0, itl_ms=0)) as upstream:
        gateway, _ = _serve(tmp_path, ledger, upstream, "--no-auth")
        workers = _workers_of(gateway.pid)
        gateway.kill()
        gateway.communicate(timeout=30)
        gone = _wait_for(lambda: not any(_alive(pid) for pid in workers), 30)
    assert len(workers) == 2 and gone


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_one_process_exits_0_on_sigterm_after_its_drain(tmp_path: Path) -> None:
    # uvicorn raises the signal again once it has stopped; serve's own cleanup (the embedded
    # model, the ledger) must still run, so the process exits 0, not by SIGTERM
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    port = free_port()
    with running(MockSettings(ttft_ms=0, itl_ms=0)) as upstream:
        process = subprocess.Popen(_llmecon(
            "serve", "--no-embedded", "--upstream", f"mock={upstream}", "--port", str(port),
            "--ledger", ledger, "--journal", str(tmp_path / "journal.jsonl"), "--no-auth",
        ), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert _wait_for(lambda: _healthy(port), 60)
        assert asyncio.run(_burst(port, None, 5)) == [200] * 5
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 0
