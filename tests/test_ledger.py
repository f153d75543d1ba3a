"""One contract suite for the ledger, run against a real SQLite file and a real PostgreSQL schema.

PostgreSQL: LLMECON_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Each
test gets its own schema, dropped afterwards. When that variable is unset and no server answers,
the PostgreSQL half is skipped (and `-ra` says so); when it is set, an unreachable server fails.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

import llmecon.ledger
from conftest import PG_URL, Backend, postgres_schema
from ledger_legacy import legacy_insert
from llmecon.errors import LlmeconError
from llmecon.ledger import (
    Ledger,
    LedgerUnavailableError,
    MeterReport,
    UsageRow,
    default_ledger_url,
    open_ledger,
    to_nano,
    to_usd,
)
from llmecon.ledger.migrations import MIGRATIONS

T0 = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
GPU = "gpu-a"
FAR = datetime(9999, 1, 1, tzinfo=UTC)


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


def _report(
    start: datetime,
    seconds: float,
    hourly_nusd: int,
    weights: dict[str, int] | None = None,
    busy: tuple[tuple[int, int], ...] = (),
    replica: str = "r1",
    upstream: str = GPU,
    metered: tuple[int, int] | None = None,
) -> MeterReport:
    span = round(seconds * 1e6)
    return MeterReport(
        upstream=upstream,
        replica=replica,
        slot_start=start,
        slot_end=start + timedelta(microseconds=span),
        metered=metered or (0, span),
        hourly_nusd=hourly_nusd,
        busy=busy,
        weights=weights or {},
    )


def _idle_slot(ledger: Ledger, start: datetime, minutes: int, idle_nusd: int) -> None:
    """A closed slot of `minutes` with no request: all of its cost `idle_nusd` is idle."""
    ledger.report_meters([_report(start, minutes * 60, idle_nusd * 60 // minutes)])
    ledger.close_slots(FAR)


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


def test_a_slot_is_split_by_time_in_flight(ledger: Ledger) -> None:
    # $3.60/h over a 10 s slot costs 10,000,000 nUSD; 4 s + 2 s in flight, overlapping 1 s
    early, late = _row(0), _row(0)
    ledger.record([early, late])
    hourly = 3_600_000_000_000
    start = T0 + timedelta(minutes=5)  # both rows finished before the slot ends
    report = _report(
        start - timedelta(minutes=5),
        600,
        hourly,
        weights={early.request_id: 4_000_000, late.request_id: 2_000_000},
        busy=((0, 4_000_000), (3_000_000, 5_000_000)),
    )
    ledger.report_meters([report])
    assert ledger.rows()[0].self_hosted_nusd is None  # the slot is not closed yet
    [idle] = ledger.close_slots(FAR)
    total = 600 * 1_000_000_000  # 600 s at $1/1000 s
    busy = 5 * 1_000_000_000  # the union of the spans: 5 s
    assert (idle.allocated_nusd, idle.idle_nusd) == (busy, total - busy)
    assert (idle.busy_seconds, idle.metered_seconds) == (5.0, 600.0)
    shares = {r.request_id: r.self_hosted_nusd for r in ledger.rows()}
    assert shares == {early.request_id: busy * 2 // 3, late.request_id: busy - busy * 2 // 3}
    assert ledger.close_slots(FAR) == []  # closed once
    ledger.report_meters([report])  # a repeated report changes nothing
    assert ledger.close_slots(FAR) == []
    [gpu] = ledger.metered()
    assert (gpu.seconds, gpu.total_nusd) == (600.0, total)


def test_replicas_share_one_slot_and_charge_it_once(ledger: Ledger) -> None:
    a, b = _row(0), _row(0)
    ledger.record([a, b])
    hourly = 3_600_000_000  # $3.60 per hour is 1,000,000 nUSD per second
    ledger.report_meters(
        [
            _report(T0, 60, hourly, {a.request_id: 30_000_000}, ((0, 30_000_000),), "r1"),
            _report(T0, 60, hourly, {b.request_id: 30_000_000}, ((10_000_000, 40_000_000),), "r2"),
        ]
    )
    [idle] = ledger.close_slots(FAR)
    assert idle.metered_seconds == 60.0 and idle.busy_seconds == 40.0
    assert idle.total_nusd == 60_000_000 and idle.allocated_nusd == 40_000_000
    assert sorted(r.self_hosted_nusd or 0 for r in ledger.rows()) == [20_000_000, 20_000_000]
    assert ledger.active_replicas(T0) == {"r1", "r2"}


def test_a_late_report_is_charged_as_its_own_part_of_the_slot(ledger: Ledger) -> None:
    """A gateway restarted within a slot that the first run closed at its shutdown: the second
    run's metered time is charged too (a sub-interval keyed by where it starts), not lost."""
    a, b = _row(0), _row(0)
    ledger.record([a, b])
    hourly = 3_600_000_000  # 1,000,000 nUSD per second
    first = _report(T0, 60, hourly, {a.request_id: 4_000_000}, ((0, 4_000_000),), "r1",
                    metered=(0, 5_000_000))  # fmt: skip
    ledger.report_meters([first])
    ledger.close_slots(FAR)
    late = _report(T0, 60, hourly, {b.request_id: 4_000_000}, ((9_000_000, 13_000_000),),
                   "r2", metered=(9_000_000, 14_000_000))  # fmt: skip
    ledger.report_meters([late])
    ledger.report_meters([late])  # repeated: nothing more
    shares = {r.request_id: r.self_hosted_nusd for r in ledger.rows()}
    assert shares == {a.request_id: 4_000_000, b.request_id: 4_000_000}
    [gpu] = ledger.metered()
    assert (gpu.seconds, gpu.total_nusd) == (10.0, 10_000_000)  # 5 s + 5 s, each once
    assert ledger.close_slots(FAR) == []


def test_only_ended_slots_close(ledger: Ledger) -> None:
    ledger.report_meters([_report(T0, 60, 3_600_000_000)])
    assert ledger.close_slots(T0 + timedelta(seconds=59)) == []
    assert len(ledger.close_slots(T0 + timedelta(seconds=60))) == 1


def test_a_report_outside_its_slot_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        _report(T0, 60, 1, busy=((0, 61_000_000),), metered=(0, 60_000_000))
    with pytest.raises(ValueError, match="outside the slot"):
        _report(T0, 60, 1, metered=(0, 61_000_000))


def test_traffic_span_is_computed_in_sql(ledger: Ledger) -> None:
    assert ledger.traffic_span() is None
    first, last = _row(0), _row(30)
    ledger.record([last, first])
    assert ledger.traffic_span() == (first.started_at, last.finished_at)


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
    _idle_slot(ledger, T0, 5, idle_nusd=300)
    _idle_slot(ledger, T0 + timedelta(minutes=day2), 5, idle_nusd=40)


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
    yield from postgres_schema()


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
        _row(0, endpoint="images")


def test_the_facade_exports_what_it_lists() -> None:
    for name in llmecon.ledger.__all__:
        assert hasattr(llmecon.ledger, name), name


def test_m005_keeps_rows_and_takes_embeddings_and_responses(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmecon.ledger import migrations

    before = _row(0, counterfactual_nusd={"gpt-4o-mini": 7})
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:4])
    legacy_insert(backend.url, [before])  # as the writer of m004 did (no roll-ups then)
    with pytest.raises(Exception):  # noqa: B017 - the old CHECK refuses it
        legacy_insert(backend.url, [_row(1, endpoint="embeddings")])
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    with open_ledger(backend.url) as new:
        assert "m005_endpoints" in new.migrations_applied()
        assert new.rows() == [before]  # counterfactual costs still joined
        later = [_row(2, endpoint="embeddings", completion_tokens=0), _row(3, endpoint="responses")]
        new.record(later)
        assert [r.endpoint for r in new.rows()] == ["chat", "embeddings", "responses"]
        with pytest.raises(ValueError, match="endpoint"):
            _row(4, endpoint="images")


def test_usage_json_metered_seconds_is_the_window_of_its_per_day_figures(ledger: Ledger) -> None:
    """Two upstreams metered 600 s and 300 s: the per-day window is the longer one, and
    `metered_seconds` says that window (not the 900 s sum); each upstream is listed apart."""
    from llmecon.ledger.usage_report import usage_report

    hourly = 3_600_000_000  # $3.60/h: $0.001 a second
    ledger.report_meters([_report(T0, 600, hourly), _report(T0, 300, hourly, upstream="gpu-b")])
    ledger.close_slots(FAR)
    report = usage_report(ledger, "model", None, None)
    assert report["metered_seconds"] == 600.0
    assert report["days"] * 86_400 == pytest.approx(report["metered_seconds"])
    assert report["metered"] == [
        {"upstream": GPU, "seconds": 600.0, "cost": 0.6},
        {"upstream": "gpu-b", "seconds": 300.0, "cost": 0.3},
    ]
