"""One contract suite for the ledger, run against a real SQLite file and a real PostgreSQL schema.

PostgreSQL: LLMECON_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Each
test gets its own schema, dropped afterwards. When that variable is unset and no server answers,
the PostgreSQL half is skipped (and `-ra` says so); when it is set, an unreachable server fails.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

import llmecon.ledger
from llmecon.errors import LlmeconError
from llmecon.ledger import (
    AllocationConflictError,
    IdleRow,
    Ledger,
    LedgerUnavailableError,
    UsageRow,
    default_ledger_url,
    open_ledger,
    to_nano,
    to_usd,
)
from llmecon.ledger.migrations import MIGRATIONS

PG_URL = os.environ.get("LLMECON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
GPU = "gpu-a"


@dataclass(frozen=True)
class Backend:
    """A fresh, empty database: its URL and every byte or value stored in it."""

    kind: str
    url: str
    dump: Callable[[], bytes]


def _sqlite(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "ledger.db"

    def dump() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("ledger.db*")))

    yield Backend("sqlite", f"sqlite:///{path}", dump)


def _postgres() -> Iterator[Backend]:
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if "LLMECON_TEST_POSTGRES_URL" in os.environ:
            raise
        pytest.skip(f"no PostgreSQL at {PG_URL}: {error}")
    schema = f"test_ledger_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in PG_URL else "?"
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")

        def dump() -> bytes:
            tables = admin.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            text = [
                str(row[0])
                for (table,) in tables
                for row in admin.execute(f"SELECT t::text FROM {schema}.{table} AS t").fetchall()
            ]
            return "\n".join(text).encode()

        try:
            yield Backend("postgres", f"{PG_URL}{sep}options=-csearch_path%3D{schema}", dump)
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from _sqlite(tmp_path) if request.param == "sqlite" else _postgres()


@pytest.fixture
def ledger(backend: Backend) -> Iterator[Ledger]:
    with open_ledger(backend.url) as opened:
        yield opened


def _row(n: int = 0, **changes: object) -> UsageRow:
    row = UsageRow(
        request_id=uuid.uuid4().hex,
        started_at=T0 + timedelta(minutes=n),
        finished_at=T0 + timedelta(minutes=n, seconds=2, microseconds=123456),
        key_id="k1",
        model="llama-3.1-8b",
        upstream=GPU,
        endpoint="chat",
        stream=True,
        status=200,
        outcome="ok",
        prompt_tokens=100,
        completion_tokens=50,
        token_source="upstream",
        ttft_ms=12.5,
        latency_ms=2123.456,
        self_hosted_nusd=None,
        counterfactual_nusd={"gpt-4o-mini": 45_000, "claude-haiku": 70_000},
        price_book="2026-01-15",
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def _idle(start: datetime, minutes: int, allocated: int, idle: int = 500) -> IdleRow:
    return IdleRow(GPU, start, start + timedelta(minutes=minutes), idle, 42.5, allocated)


def test_round_trip_keeps_every_field_and_null(ledger: Ledger) -> None:
    paris = timezone(timedelta(hours=2))
    full = _row(0, started_at=T0.astimezone(paris), self_hosted_nusd=7)
    sparse = _row(
        1,
        key_id=None,
        endpoint="completions",
        stream=False,
        status=499,
        outcome="client_disconnected",
        prompt_tokens=None,
        completion_tokens=None,
        token_source="none",
        ttft_ms=None,
        latency_ms=None,
        counterfactual_nusd={"gpt-4o-mini": None},
    )
    bare = _row(2, counterfactual_nusd={})
    ledger.record([full, sparse, bare])
    assert ledger.rows() == [full, sparse, bare]
    stored = ledger.rows()
    assert all(r.started_at.utcoffset() == timedelta(0) for r in stored)
    assert stored[0].started_at == T0 and stored[0].finished_at.microsecond == 123456
    assert stored[1].prompt_tokens is None and stored[1].self_hosted_nusd is None
    assert stored[1].counterfactual_nusd == {"gpt-4o-mini": None}
    assert ledger.rows(since=T0 + timedelta(minutes=1)) == [sparse, bare]
    assert ledger.rows(until=T0 + timedelta(minutes=1)) == [full]


def test_record_is_idempotent_on_request_id(ledger: Ledger) -> None:
    first = _row(0)
    ledger.record([first])
    retry = replace(first, model="other", counterfactual_nusd={"gpt-4o": 1})
    ledger.record([retry, first])
    ledger.record([])
    assert ledger.rows() == [first]
    twice = _row(1)
    ledger.record([twice, twice])
    assert ledger.rows() == [first, twice]


def test_allocate_sets_shares_and_stores_idle(ledger: Ledger) -> None:
    rows = [_row(0), _row(1, prompt_tokens=None), _row(2, upstream="gpu-b")]
    ledger.record(rows)
    end = T0 + timedelta(minutes=5)
    pending = ledger.unallocated(GPU, end)
    assert pending == [(rows[0].request_id, 150), (rows[1].request_id, 50)]
    idle = _idle(T0, 5, allocated=3_000)
    ledger.allocate(GPU, T0, end, {rows[0].request_id: 2_250, rows[1].request_id: 750}, idle)
    stored = {r.request_id: r.self_hosted_nusd for r in ledger.rows()}
    assert stored == {rows[0].request_id: 2_250, rows[1].request_id: 750, rows[2].request_id: None}
    assert ledger.unallocated(GPU, end) == []
    [gpu] = [t for t in ledger.usage("upstream") if t.group == GPU]
    assert (gpu.self_hosted_nusd, gpu.idle_nusd, gpu.total_self_hosted_nusd) == (3_000, 500, 3_500)
    # a retry of the same allocation is a no-op; other figures for the same interval are refused
    ledger.allocate(GPU, T0, end, {rows[0].request_id: 2_250, rows[1].request_id: 750}, idle)
    with pytest.raises(AllocationConflictError):
        ledger.allocate(GPU, T0, end, {}, _idle(T0, 5, allocated=0))
    [gpu] = [t for t in ledger.usage("upstream") if t.group == GPU]
    assert (gpu.self_hosted_nusd, gpu.idle_nusd) == (3_000, 500)


def test_allocate_writes_nothing_when_a_request_does_not_fit(ledger: Ledger) -> None:
    done, other = _row(0, self_hosted_nusd=10), _row(1, upstream="gpu-b")
    fresh = _row(2)
    ledger.record([done, other, fresh])
    start = T0 + timedelta(hours=1)
    for wrong in (done.request_id, other.request_id, "no-such-request"):
        shares = {fresh.request_id: 5, wrong: 5}
        with pytest.raises(AllocationConflictError, match="take the ids from unallocated"):
            ledger.allocate(GPU, start, start + timedelta(minutes=1), shares, _idle(start, 1, 10))
    assert [r.self_hosted_nusd for r in ledger.rows()] == [10, None, None]
    assert all(t.idle_nusd == 0 for t in ledger.usage("upstream"))


def test_allocate_refuses_inconsistent_arguments(ledger: Ledger) -> None:
    row = _row(0)
    ledger.record([row])
    end = T0 + timedelta(minutes=1)
    with pytest.raises(ValueError, match="must be equal"):
        ledger.allocate(GPU, T0, end, {row.request_id: 1}, _idle(T0, 1, allocated=2))
    with pytest.raises(ValueError, match="allocation for"):
        ledger.allocate("gpu-b", T0, end, {row.request_id: 1}, _idle(T0, 1, allocated=1))
    with pytest.raises(ValueError, match="interval"):
        ledger.allocate(GPU, T0, T0 + timedelta(minutes=2), {}, _idle(T0, 1, allocated=0))
    assert ledger.rows() == [row]


def test_unallocated_is_strictly_before_and_per_upstream(ledger: Ledger) -> None:
    early, late = _row(0), _row(10, completion_tokens=None)
    ledger.record([early, late, _row(1, upstream="gpu-b"), _row(2, self_hosted_nusd=3)])
    assert ledger.unallocated(GPU, early.finished_at) == []
    assert ledger.unallocated(GPU, late.finished_at) == [(early.request_id, 150)]
    after = late.finished_at + timedelta(microseconds=1)
    assert ledger.unallocated(GPU, after) == [(early.request_id, 150), (late.request_id, 100)]
    assert ledger.unallocated("nowhere", after) == []


def _usage_fixture(ledger: Ledger) -> None:
    """Two days (the 31st 23:00 UTC and the 1st), two keys and no key, two models, two GPUs."""
    day2 = 90  # minutes after T0: 2026-02-01 00:30 UTC
    ledger.record(
        [
            _row(0, self_hosted_nusd=1_000),
            _row(1, key_id="k2", model="qwen", counterfactual_nusd={"gpt-4o-mini": None}),
            _row(day2, key_id=None, prompt_tokens=None, self_hosted_nusd=2_000),
            _row(day2 + 1, upstream="gpu-b", counterfactual_nusd={"gpt-4o-mini": 5}),
        ]
    )
    ledger.allocate(GPU, T0, T0 + timedelta(minutes=5), {}, _idle(T0, 5, allocated=0, idle=300))
    later = T0 + timedelta(minutes=day2)
    ledger.allocate(GPU, later, later + timedelta(minutes=5), {}, _idle(later, 5, 0, idle=40))


def _summary(ledger: Ledger, by: str, **window: datetime) -> dict[str, tuple[object, ...]]:
    return {
        t.group: (
            t.requests,
            t.prompt_tokens,
            t.completion_tokens,
            t.self_hosted_nusd,
            t.idle_nusd,
            t.counterfactual_nusd,
            t.unallocated_requests,
        )
        for t in ledger.usage(by, **window)  # type: ignore[arg-type]
    }


def test_usage_by_key_puts_idle_in_its_own_group(ledger: Ledger) -> None:
    _usage_fixture(ledger)
    totals = ledger.usage("key")
    assert [t.group for t in totals] == ["(no key)", "k1", "k2", "(idle)"]
    assert _summary(ledger, "key") == {
        "k1": (2, 200, 100, 1_000, 0, {"gpt-4o-mini": 45_005, "claude-haiku": 70_000}, 1),
        "k2": (1, 100, 50, 0, 0, {"gpt-4o-mini": 0}, 1),
        "(no key)": (1, 0, 50, 2_000, 0, {"gpt-4o-mini": 45_000, "claude-haiku": 70_000}, 0),
        "(idle)": (0, 0, 0, 0, 340, {}, 0),
    }
    assert totals[2].unpriced_counterfactual == {"gpt-4o-mini": 1}


def test_usage_by_model(ledger: Ledger) -> None:
    _usage_fixture(ledger)
    summary = _summary(ledger, "model")
    assert set(summary) == {"llama-3.1-8b", "qwen", "(idle)"}
    assert summary["llama-3.1-8b"][:5] == (3, 200, 150, 3_000, 0)
    assert summary["llama-3.1-8b"][5] == {"gpt-4o-mini": 90_005, "claude-haiku": 140_000}
    assert summary["(idle)"][4] == 340


def test_usage_by_day_and_upstream_carry_idle(ledger: Ledger) -> None:
    _usage_fixture(ledger)
    days = _summary(ledger, "day")
    assert sorted(days) == ["2026-01-31", "2026-02-01"]
    assert days["2026-01-31"][:5] == (2, 200, 100, 1_000, 300)
    assert days["2026-02-01"][:5] == (2, 100, 100, 2_000, 40)
    upstreams = _summary(ledger, "upstream")
    assert upstreams[GPU][:5] == (3, 200, 150, 3_000, 340)
    assert upstreams["gpu-b"][:5] == (1, 100, 50, 0, 0)
    assert upstreams["gpu-b"][5] == {"gpt-4o-mini": 5}
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    assert sorted(_summary(ledger, "day", since=feb)) == ["2026-02-01"]
    assert _summary(ledger, "upstream", until=feb)[GPU][:5] == (2, 200, 100, 1_000, 300)


def test_usage_refuses_an_unknown_grouping(ledger: Ledger) -> None:
    with pytest.raises(LlmeconError, match="use one of key, model, day, upstream"):
        ledger.usage("week")  # type: ignore[arg-type]


def test_migrations_are_recorded_and_applied_once(backend: Backend) -> None:
    names = [m.name for m in MIGRATIONS]
    row = _row(0)
    with open_ledger(backend.url) as first:
        assert first.migrations_applied() == names
        first.record([row])
    with open_ledger(backend.url) as again:
        assert again.migrations_applied() == names
        assert again.rows() == [row]


def test_opening_at_once_migrates_once(backend: Backend) -> None:
    opened: list[Ledger] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(open_ledger(backend.url))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for each in opened:
        assert each.migrations_applied() == [m.name for m in MIGRATIONS]
        each.close()
    assert errors == []


def test_keys_create_verify_revoke_list(backend: Backend, ledger: Ledger) -> None:
    info, secret = ledger.create_key("team-search")
    other, other_secret = ledger.create_key("  batch jobs ")
    assert secret.startswith("llmecon-") and len(secret) > 40
    assert info.prefix == secret[:12] and info.name == "team-search" and info.active
    assert other.name == "batch jobs"
    assert ledger.verify_key(secret) == info
    assert ledger.verify_key(secret + "x") is None
    assert ledger.verify_key("") is None
    assert ledger.list_keys() == [info, other] or ledger.list_keys() == [other, info]
    assert ledger.revoke_key(info.id) is True
    assert ledger.revoke_key(info.id) is False
    assert ledger.revoke_key("no-such-key") is False
    assert ledger.verify_key(secret) is None
    assert ledger.verify_key(other_secret) == other
    [revoked] = [k for k in ledger.list_keys() if k.id == info.id]
    assert revoked.revoked_at is not None and not revoked.active
    assert revoked.revoked_at.utcoffset() == timedelta(0)
    stored = backend.dump()
    for each in (secret, other_secret):
        assert each.encode() not in stored
        assert each[12:].encode() not in stored  # not even the part after the shown prefix
    assert info.prefix.encode() in stored  # the dump does hold the keys table
    with pytest.raises(ValueError, match="needs a name"):
        ledger.create_key(" ")


def test_concurrent_writers_lose_no_row(backend: Backend) -> None:
    writers, batches, per_batch = 4, 15, 3
    with open_ledger(backend.url) as one, open_ledger(backend.url) as two:
        errors: list[BaseException] = []

        def write(ledger: Ledger) -> None:
            try:
                for _ in range(batches):
                    ledger.record([_row(i) for i in range(per_batch)])
                    ledger.verify_key("llmecon-nothing")
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [
            threading.Thread(target=write, args=(one if i % 2 else two,)) for i in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(one.rows()) == writers * batches * per_batch
        [model] = one.usage("model")
        assert model.counterfactual_nusd["gpt-4o-mini"] == 45_000 * writers * batches * per_batch


@pytest.mark.parametrize(
    "url", ["mysql://root:hunter2@db/llm", "sqlite://relative.db", "sqlite:///", "  "]
)
def test_a_bad_url_says_what_works(url: str) -> None:
    with pytest.raises(LlmeconError, match=r"use sqlite:///PATH\.db or postgresql://") as caught:
        open_ledger(url)
    assert "hunter2" not in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.fixture
def postgres_backend() -> Iterator[Backend]:
    yield from _postgres()


def test_postgres_reconnects_after_losing_its_connection(postgres_backend: Backend) -> None:
    name = f"llmecon_test_{uuid.uuid4().hex[:8]}"
    with open_ledger(f"{postgres_backend.url}&application_name={name}") as ledger:
        ledger.record([_row(0)])
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            )
        with pytest.raises(LedgerUnavailableError, match="check that the server is up"):
            ledger.rows()
        ledger.record([_row(1)])  # the next call reconnects
        assert len(ledger.rows()) == 2


def test_a_closed_ledger_says_so(backend: Backend) -> None:
    ledger = open_ledger(backend.url)
    ledger.close()
    with pytest.raises(LlmeconError, match="is closed"):
        ledger.rows()


def test_an_unreachable_postgres_is_unavailable_not_a_crash() -> None:
    with pytest.raises(LedgerUnavailableError, match="is unavailable") as caught:
        open_ledger("postgresql://postgres:hunter2@127.0.0.1:1/test?connect_timeout=2")
    assert "hunter2" not in str(caught.value)


def test_sqlite_paths_plain_relative_and_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for url, made in [
        ("sqlite:///rel/ledger.db", tmp_path / "rel" / "ledger.db"),
        (str(tmp_path / "plain.db"), tmp_path / "plain.db"),
        (default_ledger_url({"LLMECON_HOME": str(tmp_path / "home")}), tmp_path / "home/ledger.db"),
    ]:
        with open_ledger(url) as ledger:
            ledger.record([_row(0)])
        assert made.exists(), url
    assert default_ledger_url({"LLMECON_HOME": "/x"}) == "sqlite:////x/ledger.db"
    with open_ledger("sqlite:///:memory:") as memory:
        assert memory.migrations_applied() == [m.name for m in MIGRATIONS]


def test_money_is_integer_nano_dollars() -> None:
    assert to_nano(1.0) == 1_000_000_000
    assert to_nano(0.1) == 100_000_000
    assert to_nano(0.15e-6) == 150
    assert (to_nano(0.5e-9), to_nano(1.5e-9), to_nano(2.5e-9)) == (0, 2, 2)
    assert to_usd(2_500_000_000) == 2.5
    with pytest.raises(ValueError, match="finite"):
        to_nano(float("nan"))


def test_rows_refuse_naive_times_and_bad_values() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        _row(0, started_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="self_hosted_nusd"):
        _row(0, self_hosted_nusd=-1)
    with pytest.raises(ValueError, match="endpoint"):
        _row(0, endpoint="embeddings")


def test_the_facade_exports_what_it_lists() -> None:
    for name in llmecon.ledger.__all__:
        assert hasattr(llmecon.ledger, name), name
