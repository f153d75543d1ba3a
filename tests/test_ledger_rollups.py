"""Issue 18 at fleet volume: roll-ups kept exact as rows land and as their cost is allocated,
`usage` answered from them (equal to the raw rows' answer, before and after a prune), and on
PostgreSQL day partitions (m007 from an unpartitioned ledger; any timestamp lands)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from conftest import Backend, Run
from ledger_legacy import legacy_insert
from llmecon.ledger import MeterReport, UsageRow, open_ledger
from llmecon.ledger.migrations import MIGRATIONS
from llmecon.ledger.usage_report import usage_report

T0 = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
BYS = ("key", "model", "day", "upstream")


def _row(n: int, **changes: Any) -> UsageRow:
    at = T0 + timedelta(minutes=37 * n, seconds=n % 7)
    row = UsageRow(
        request_id=uuid.uuid4().hex, started_at=at, finished_at=at + timedelta(seconds=3),
        key_id=(None, "k1", "k2")[n % 3], model=("llama", "qwen")[n % 2],
        upstream=("gpu-a", "api")[n % 2], endpoint="chat", stream=n % 2 == 0, status=200,
        outcome="ok", prompt_tokens=None if n % 11 == 0 else 100 + n,
        completion_tokens=7 + n % 5, token_source="upstream", ttft_ms=None, latency_ms=3000.0,
        self_hosted_nusd=None if n % 2 == 0 else 1000 + n,
        counterfactual_nusd={"gpt-4o-mini": 5_000 + n, "other": None if n % 5 == 0 else n},
        price_book="test",
    )  # fmt: skip
    return replace(row, **changes)


def _answers(ledger: Any, source: str) -> dict[str, Any]:
    found = {}
    for by in BYS:
        found[by] = ledger.usage(by, source=source)
        found[by + "-days"] = ledger.usage(
            by, T0 + timedelta(hours=2), T0 + timedelta(days=2, hours=5), source=source
        )
        found[by + "-hours-days-hours"] = ledger.usage(
            by, T0 + timedelta(hours=1), T0 + timedelta(days=1, hours=5), source=source
        )
    return found


class RawView:
    """A ledger whose `usage` sums raw rows only (what `llmecon usage` would answer without
    roll-ups)."""

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger

    def usage(self, by: str, since: Any = None, until: Any = None) -> Any:
        return self.ledger.usage(by, since, until, source="raw")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)


def _reports(ledger: Any) -> dict[str, Any]:
    return {by: usage_report(ledger, by, None, T0 + timedelta(days=4)) for by in BYS}


def test_usage_from_rollups_equals_raw_rows_through_allocation_and_prune(
    backend: Backend,
) -> None:
    rows = [_row(n) for n in range(120)]  # 120 requests over ~3 days, every hour ragged
    with open_ledger(backend.url) as ledger:
        ledger.record(rows[:70])
        ledger.record(rows[50:])  # a retried overlap: each row counts once
        raw = _answers(ledger, "raw")
        assert _answers(ledger, "auto") == raw
        assert raw["model"][0].requests + raw["model"][1].requests == 120
        assert _reports(ledger) == _reports(RawView(ledger))
        # cost allocated later: a slot over the first requests of gpu-a closes
        unallocated = [r for r in rows[:20] if r.upstream == "gpu-a"]
        weights = {r.request_id: 1_000_000 + i for i, r in enumerate(unallocated)}
        start = T0
        ledger.report_meters([
            MeterReport("gpu-a", "r1", start, start + timedelta(hours=1), (0, 3_600_000_000),
                        3_600_000_000_000, ((0, 3_600_000_000),), weights)
        ])  # fmt: skip
        assert len(ledger.close_slots(start + timedelta(hours=2))) == 1
        allocated = ledger.usage("model", source="raw")
        assert allocated != raw["model"]  # the slot's cost reached the rows
        assert _answers(ledger, "auto") == _answers(ledger, "raw")
        before_prune = _answers(ledger, "auto")
        reports = _reports(ledger)
        pruned = ledger.prune(T0 + timedelta(days=1, hours=7, minutes=20))
        assert pruned.rows == len([r for r in rows if r.started_at < pruned.before])
        assert pruned.hours > 0
        assert _answers(ledger, "auto") == before_prune  # raw rows gone, totals kept
        assert _reports(ledger) == reports
        assert _answers(ledger, "raw") != before_prune


def test_a_ragged_window_takes_its_partial_hours_from_raw_rows(backend: Backend) -> None:
    rows = [_row(n) for n in range(40)]
    since, until = T0 + timedelta(minutes=50), T0 + timedelta(hours=9, minutes=10)
    with open_ledger(backend.url) as ledger:
        ledger.record(rows)
        for by in BYS:
            assert ledger.usage(by, since, until) == ledger.usage(by, since, until, source="raw")
            inside = ledger.usage(by, since, since + timedelta(minutes=3))
            assert inside == ledger.usage(by, since, since + timedelta(minutes=3), source="raw")


def test_usage_json_from_rollups_equals_raw(backend: Backend, llmecon: Callable[..., Run]) -> None:
    with open_ledger(backend.url) as ledger:
        ledger.record([_row(n) for n in range(60)])
        expected = usage_report(RawView(ledger), "model", None, None)
    run = llmecon("usage", "--by", "model", "--format", "json", "--ledger", backend.url)
    assert run.code == 0, run.err
    assert json.loads(run.out) == json.loads(json.dumps(expected))


def test_m007_keeps_rows_and_old_rollups(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmecon.ledger import migrations

    rows = [_row(n) for n in range(30)]
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:6])
    # an m006 ledger: raw rows, and one hour an old prune folded into roll-ups
    legacy_insert(
        backend.url,
        rows,
        "INSERT INTO usage_hourly VALUES ('2026-11-01T05:00:00.000000+00:00', 'k9', 'llama',"
        " 'gpu-a', 4, 400, 28, 9000, 1)"
        if backend.kind == "sqlite"
        else "INSERT INTO usage_hourly VALUES ('2026-11-01 05:00+00', 'k9', 'llama',"
        " 'gpu-a', 4, 400, 28, 9000, 1)",
    )
    hour = datetime(2026, 11, 1, 5, tzinfo=UTC)
    folded = [  # what that roll-up summed
        _row(0, started_at=hour, finished_at=hour, key_id="k9", model="llama", upstream="gpu-a",
             prompt_tokens=100, completion_tokens=7, self_hosted_nusd=None if n == 0 else 3000,
             counterfactual_nusd={})
        for n in range(4)
    ]  # fmt: skip
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    with open_ledger(":memory:") as reference:
        reference.record(rows + folded)
        expected = {by: reference.usage(by, source="raw") for by in BYS}
    with open_ledger(backend.url) as new:
        assert new.migrations_applied()[-1] == "m007_partitions_live_rollups"
        assert new.rows() == sorted(rows, key=lambda r: (r.started_at, r.request_id))
        assert {by: new.usage(by) for by in BYS} == expected
        later = [_row(n) for n in range(30, 40)]
        new.record(later)
        assert len(new.rows()) == 40
        assert new.usage("model", T0 - timedelta(days=1)) == new.usage(
            "model", T0 - timedelta(days=1), source="raw"
        )
    if backend.kind == "postgres":
        with psycopg.connect(backend.url) as conn:
            (kind,) = conn.execute(
                "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'usage'::regclass"
            ).fetchone()
            assert kind == "r"
            days = {d for (d,) in conn.execute("SELECT DISTINCT started_at::date FROM usage")}
            parts = conn.execute(
                "SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'usage'::regclass"
            ).fetchone()
            assert parts is not None and parts[0] >= len(days)


def test_any_timestamp_lands_in_a_partition(backend: Backend) -> None:
    if backend.kind != "postgres":
        pytest.skip("day partitions are PostgreSQL's")
    far = [
        _row(1, started_at=datetime(2001, 2, 3, 4, tzinfo=UTC),
             finished_at=datetime(2001, 2, 3, 5, tzinfo=UTC)),
        _row(2, started_at=datetime(2090, 12, 31, 23, 59, tzinfo=UTC),
             finished_at=datetime(2091, 1, 1, 0, 1, tzinfo=UTC)),
    ]  # fmt: skip
    with open_ledger(backend.url) as one, open_ledger(backend.url) as two:
        one.record(far)
        two.record(far)  # a retry from another replica: no duplicate, no error
        assert one.rows() == far
        assert sum(t.requests for t in one.usage("day")) == 2
        assert one.prune(datetime(2050, 1, 1, tzinfo=UTC)).rows == 1
        assert one.rows() == far[1:]
        assert sum(t.requests for t in one.usage("day")) == 2
        two.record([far[0]])  # the dropped day comes back on demand
        assert len(one.rows()) == 2


def test_whole_days_come_from_the_daily_rollups_the_hours_around_from_the_hourly() -> None:
    from llmecon.ledger.usage_sql import tiers

    day = datetime(2026, 11, 21, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert tiers((day - 2 * hour, day + timedelta(days=2) + 3 * hour)) == [
        ("daily", (day, day + timedelta(days=2))),
        ("hourly", (day - 2 * hour, day)),
        ("hourly", (day + timedelta(days=2), day + timedelta(days=2) + 3 * hour)),
    ]
    assert tiers((None, None)) == [("daily", (None, None))]
    assert tiers((day + hour, day + 5 * hour)) == [("hourly", (day + hour, day + 5 * hour))]
    assert tiers(None) == []
