"""The ledger's half of cost allocation: meter reports in, closed slots out.

Every gateway replica reports, per priced upstream and slot, when it metered, when its requests
were in flight and each request's time in flight (`meter_report`, `cost_share` with no amount).
A slot is closed once: the first replica to insert its `idle_cost` row (primary key upstream +
slot start) splits the slot's cost over every replica's requests and sets their amounts; a
replica that loses that race charges nothing. A request's `usage.self_hosted_nusd` is the sum
of its shares, set when the slot it finished in closes (and added to its hourly roll-up:
ledger.live_rollup). Shared by SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from llmecon.core.allocation import intersect, length, split_slot
from llmecon.ledger import live_rollup
from llmecon.ledger.model import IdleRow, Metered, MeterReport


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...


Dialect = live_rollup.Dialect  # what the metering SQL needs of a backend, too


INSERT_REPORT = (
    "INSERT INTO meter_report (upstream, slot_start, replica, slot_end, metered_start_us,"
    " metered_end_us, hourly_nusd, busy, final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (upstream, slot_start, replica) DO NOTHING"
)
INSERT_SHARE = (
    "INSERT INTO cost_share (upstream, slot_start, request_id, weight_us) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (upstream, slot_start, request_id) DO NOTHING"
)
PENDING = (
    "SELECT r.upstream, r.slot_start FROM meter_report AS r"
    " WHERE NOT EXISTS (SELECT 1 FROM idle_cost AS i"
    "  WHERE i.upstream = r.upstream AND i.interval_start = r.slot_start)"
    " AND r.slot_end <= ? GROUP BY r.upstream, r.slot_start ORDER BY r.slot_start, r.upstream"
)
INSERT_IDLE = (
    "INSERT INTO idle_cost (upstream, interval_start, interval_end, idle_nusd, busy_seconds,"
    " allocated_nusd, metered_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (upstream, interval_start) DO NOTHING"
)
SET_SHARE = (
    "UPDATE cost_share SET nusd = ? WHERE upstream = ? AND slot_start = ? AND request_id = ?"
)
# a request's cost once the slot it finished in closes: the sum of its shares
SET_USAGE = (
    "UPDATE usage SET self_hosted_nusd ="
    " (SELECT COALESCE(SUM(s.nusd), 0) FROM cost_share AS s WHERE s.request_id = usage.request_id)"
    " WHERE request_id IN (SELECT request_id FROM cost_share WHERE upstream = ? AND slot_start = ?)"
    " AND NOT EXISTS (SELECT 1 FROM cost_share AS later"
    "  WHERE later.request_id = usage.request_id AND later.slot_start > ?)"
    " AND started_at >= ?"
)
METERED = (
    "SELECT upstream, COALESCE(SUM(metered_seconds), 0),"
    " CAST(COALESCE(SUM(idle_nusd + allocated_nusd), 0) AS BIGINT)"
    " FROM idle_cost WHERE {where} GROUP BY upstream ORDER BY upstream"
)


def write_reports(dialect: Dialect, conn: Conn, reports: Sequence[MeterReport]) -> None:
    """Store reports and their requests' weights (a repeated report is a no-op)."""
    for report in reports:
        start = dialect._to_db(report.slot_start)
        stored = conn.execute(
            dialect._sql(INSERT_REPORT),
            (
                report.upstream,
                start,
                report.replica,
                dialect._to_db(report.slot_end),
                *report.metered,
                report.hourly_nusd,
                json.dumps([list(span) for span in report.busy]),
                report.final,
            ),
        ).rowcount
        if not stored:
            continue  # a repeated report
        dialect._execute_many(
            conn,
            dialect._sql(INSERT_SHARE),
            [(report.upstream, start, rid, weight) for rid, weight in report.weights.items()],
        )
        if _closed(dialect, conn, report.upstream, start):
            # late (after the slot closed: e.g. a gateway restarted within the slot): its own
            # metered time is charged as a sub-interval keyed by where that time starts
            key = report.slot_start + timedelta(microseconds=max(report.metered[0], 1))
            _close(dialect, conn, (report.upstream, start, dialect._to_db(key)), [_as_row(report)],
                   report.weights)  # fmt: skip


def _closed(dialect: Dialect, conn: Conn, upstream: str, start: object) -> bool:
    found = conn.execute(
        dialect._sql("SELECT 1 FROM idle_cost WHERE upstream = ? AND interval_start = ?"),
        (upstream, start),
    ).fetchone()
    return found is not None


def active_replicas(dialect: Dialect, conn: Conn, since: datetime) -> set[str]:
    """The replicas that reported a slot ending at or after `since` and have not stopped."""
    found = conn.execute(
        dialect._sql(
            "SELECT DISTINCT replica FROM meter_report WHERE slot_end >= ? AND replica NOT IN"
            " (SELECT replica FROM meter_report WHERE final = ?)"
        ),
        (dialect._to_db(since), True),
    ).fetchall()
    return {replica for (replica,) in found}


def pending_slots(dialect: Dialect, conn: Conn, ended_by: datetime) -> list[tuple[str, Any]]:
    """(upstream, stored slot start) of reported slots that ended by `ended_by`, not closed."""
    found = conn.execute(dialect._sql(PENDING), (dialect._to_db(ended_by),)).fetchall()
    return [(upstream, start) for upstream, start in found]


def close_slot(dialect: Dialect, conn: Conn, upstream: str, start: Any) -> IdleRow | None:
    """Split one slot's cost over every replica's requests; None if another replica won."""
    reports = conn.execute(
        dialect._sql(
            "SELECT metered_start_us, metered_end_us, hourly_nusd, busy, slot_end"
            " FROM meter_report WHERE upstream = ? AND slot_start = ?"
        ),
        (upstream, start),
    ).fetchall()
    if not reports:
        return None
    weights = dict(
        conn.execute(
            dialect._sql(
                "SELECT request_id, weight_us FROM cost_share WHERE upstream = ? AND slot_start = ?"
            ),
            (upstream, start),
        ).fetchall()
    )
    return _close(dialect, conn, (upstream, start, start), reports, weights)


def _as_row(report: MeterReport) -> tuple[Any, ...]:
    busy = json.dumps([list(span) for span in report.busy])
    return (*report.metered, report.hourly_nusd, busy, report.slot_end)


def _close(
    dialect: Dialect,
    conn: Conn,
    where: tuple[str, Any, Any],
    reports: Sequence[Sequence[Any]],
    weights: Mapping[str, int],
) -> IdleRow | None:
    """Charge `reports` (metered, hourly, busy) once under the idle_cost key `where`
    (upstream, the slot's stored start, the interval start to key it by)."""
    upstream, start, key = where
    metered = [(int(low), int(high)) for low, high, *_ in reports]
    busy = [(int(a), int(b)) for *_, spans, _end in reports for a, b in json.loads(spans)]
    split = split_slot(max(int(r[2]) for r in reports), metered, busy, weights)
    slot_start = dialect._from_db(start)
    idle = IdleRow(
        upstream,
        dialect._from_db(key),
        slot_start + timedelta(microseconds=max(1, *(high for _, high in metered))),
        split.idle,
        length(intersect(busy, metered)) / 1e6,
        split.total - split.idle,
        length(metered) / 1e6,
    )
    inserted = conn.execute(
        dialect._sql(INSERT_IDLE),
        (upstream, key, dialect._to_db(idle.interval_end), idle.idle_nusd, idle.busy_seconds,
         idle.allocated_nusd, idle.metered_seconds),
    ).rowcount  # fmt: skip
    if not inserted:
        return None
    dialect._execute_many(
        conn,
        dialect._sql(SET_SHARE),
        [(nusd, upstream, start, rid) for rid, nusd in split.shares.items()],
    )
    before = live_rollup.cost_snapshot(dialect, conn, upstream, start)
    since = dialect._to_db(slot_start - live_rollup.LONGEST_REQUEST)
    conn.execute(dialect._sql(SET_USAGE), (upstream, start, start, since))
    live_rollup.apply_cost_changes(
        dialect, conn, before, live_rollup.cost_snapshot(dialect, conn, upstream, start)
    )
    return idle


def metered(dialect: Dialect, conn: Conn, where: str, params: Sequence[object]) -> list[Metered]:
    """Metered seconds and cost (idle included) per upstream over the intervals in `where`."""
    found = conn.execute(dialect._sql(METERED.format(where=where)), params).fetchall()
    return [Metered(upstream, float(seconds), int(total)) for upstream, seconds, total in found]
