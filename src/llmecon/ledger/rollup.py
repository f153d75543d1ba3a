"""Retention: hourly roll-ups, raw-row pruning, and the ledger's size (`llmecon ledger`).

`usage_hourly` (requests, tokens, allocated cost and unallocated count per hour, key, model and
upstream) and `counterfactual_hourly` (the same per compared API) are kept as rows land and as
their cost is allocated (`llmecon.ledger.live_rollup`; migration m007 filled them from the rows
stored before). `prune(before)` therefore only deletes raw rows that started before `before`
(rounded down to the hour), with their counterfactual prices and cost shares: `usage` answers
whole hours from the roll-ups, so its totals by key, model, day or upstream are unchanged by a
prune. Idle-cost rows are already one per slot and are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

from llmecon.ledger.model import NO_KEY_GROUP, UsageBy

TABLES = (
    "usage",
    "counterfactual_cost",
    "cost_share",
    "meter_report",
    "idle_cost",
    "usage_hourly",
    "counterfactual_hourly",
    "usage_daily",
    "counterfactual_daily",
    "api_keys",
)

_ROLL_USAGE = (
    "INSERT INTO usage_hourly (hour, key_id, model, upstream, requests, prompt_tokens,"
    " completion_tokens, self_hosted_nusd, unallocated)"
    " SELECT {hour}, COALESCE(u.key_id, '{no_key}'), u.model, u.upstream, COUNT(*),"
    " {sum_prompt}, {sum_completion}, {sum_cost},"
    " SUM(CASE WHEN u.self_hosted_nusd IS NULL THEN 1 ELSE 0 END)"
    " FROM usage AS u WHERE {where} GROUP BY 1, 2, 3, 4"
    " ON CONFLICT (hour, key_id, model, upstream) DO UPDATE SET"
    " requests = usage_hourly.requests + excluded.requests,"
    " prompt_tokens = usage_hourly.prompt_tokens + excluded.prompt_tokens,"
    " completion_tokens = usage_hourly.completion_tokens + excluded.completion_tokens,"
    " self_hosted_nusd = usage_hourly.self_hosted_nusd + excluded.self_hosted_nusd,"
    " unallocated = usage_hourly.unallocated + excluded.unallocated"
)
_ROLL_COUNTERFACTUAL = (
    "INSERT INTO counterfactual_hourly (hour, key_id, model, upstream, api, nusd, unpriced)"
    " SELECT {hour}, COALESCE(u.key_id, '{no_key}'), u.model, u.upstream, c.api, {sum_nusd},"
    " SUM(CASE WHEN c.nusd IS NULL THEN 1 ELSE 0 END)"
    " FROM usage AS u JOIN counterfactual_cost AS c ON c.request_id = u.request_id"
    " WHERE {where} GROUP BY 1, 2, 3, 4, 5"
    " ON CONFLICT (hour, key_id, model, upstream, api) DO UPDATE SET"
    " nusd = counterfactual_hourly.nusd + excluded.nusd,"
    " unpriced = counterfactual_hourly.unpriced + excluded.unpriced"
)
_OLD = "SELECT request_id FROM usage WHERE started_at < ?"
DELETES = (
    f"DELETE FROM counterfactual_cost WHERE request_id IN ({_OLD})",
    f"DELETE FROM cost_share WHERE request_id IN ({_OLD})",
    "DELETE FROM usage WHERE started_at < ?",
)


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class Dialect(Protocol):
    _HOUR: ClassVar[str]
    _DAY: ClassVar[str]

    def _sql(self, text: str) -> str: ...

    def _to_db(self, moment: datetime) -> object: ...

    def _from_db(self, value: Any) -> datetime: ...

    def _relation_stats(self, conn: Any, table: str) -> tuple[int, int | None, bool]: ...

    def _database_bytes(self, conn: Any, tables: Sequence[TableStats]) -> int | None: ...


@dataclass(frozen=True)
class Pruned:
    """What a prune did: raw rows deleted that started before `before`, and how many
    roll-up rows keep the totals of the hours before it."""

    before: datetime
    rows: int
    hours: int


@dataclass(frozen=True)
class TableStats:
    name: str
    rows: int
    bytes: int | None
    exact: bool  # False: the database's estimate (PostgreSQL's planner statistics)


@dataclass(frozen=True)
class LedgerStats:
    tables: tuple[TableStats, ...]
    raw_first: datetime | None
    raw_last: datetime | None
    rolled_first: datetime | None
    rolled_last: datetime | None  # the start of the last rolled-up hour
    database_bytes: int | None


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_steps(first: datetime, cutoff: datetime) -> list[datetime]:
    """The cutoffs of a prune done a UTC day at a time: each midnight after `first` before
    `cutoff`, then `cutoff` itself."""
    day = first.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    steps = []
    while (day := day + timedelta(days=1)) < cutoff:
        steps.append(day)
    return [*steps, cutoff]


def _sum(column: str) -> str:
    return f"CAST(COALESCE(SUM({column}), 0) AS BIGINT)"


def backfill(hour: str, where: str = "1 = 1") -> tuple[str, str]:
    """The statements adding the raw rows in `where` to the roll-ups (`hour`: the dialect's
    hour of `u.started_at`); `?` marks."""
    return (
        _ROLL_USAGE.format(
            hour=hour,
            no_key=NO_KEY_GROUP,
            sum_prompt=_sum("u.prompt_tokens"),
            sum_completion=_sum("u.completion_tokens"),
            sum_cost=_sum("u.self_hosted_nusd"),
            where=where,
        ),
        _ROLL_COUNTERFACTUAL.format(
            hour=hour, no_key=NO_KEY_GROUP, sum_nusd=_sum("c.nusd"), where=where
        ),
    )


def daily_backfill(day: str) -> tuple[str, str]:
    """The statements summing the hourly roll-ups into the daily ones (`day`: the dialect's
    first hour of the day of `h.hour`)."""
    return (
        "INSERT INTO usage_daily (hour, key_id, model, upstream, requests, prompt_tokens,"
        f" completion_tokens, self_hosted_nusd, unallocated) SELECT {day.format('h.hour')},"
        " h.key_id, h.model, h.upstream, SUM(h.requests), SUM(h.prompt_tokens),"
        " SUM(h.completion_tokens), SUM(h.self_hosted_nusd), SUM(h.unallocated)"
        " FROM usage_hourly AS h GROUP BY 1, 2, 3, 4",
        "INSERT INTO counterfactual_daily (hour, key_id, model, upstream, api, nusd, unpriced)"
        f" SELECT {day.format('h.hour')}, h.key_id, h.model, h.upstream, h.api, SUM(h.nusd),"
        " SUM(h.unpriced) FROM counterfactual_hourly AS h GROUP BY 1, 2, 3, 4, 5",
    )


def delete_raw(
    dialect: Dialect, conn: Conn, before: datetime, deletes: Sequence[str] = DELETES
) -> int:
    """Delete the raw rows (their prices and cost shares too) that started before `before`,
    by `deletes` (the last one deletes the usage rows); how many usage rows. Their totals
    stay in the roll-ups."""
    at = (dialect._to_db(before),)
    rows = 0
    for statement in deletes:
        rows = conn.execute(dialect._sql(statement), at).rowcount
    return max(rows, 0)


def rolled_hours(dialect: Dialect, conn: Conn, before: datetime) -> int:
    """Roll-up rows of the hours before `before`."""
    (count,) = conn.execute(
        dialect._sql("SELECT COUNT(*) FROM usage_hourly WHERE hour < ?"), (dialect._to_db(before),)
    ).fetchone()
    return int(count)


def hourly_groups(by: UsageBy, day: str) -> str:
    """usage(by): the group of a roll-up row `h`."""
    return {
        "key": "h.key_id",
        "model": "h.model",
        "day": day.format("h.hour"),
        "upstream": "h.upstream",
    }[by]


def hourly_usage(
    dialect: Dialect,
    conn: Conn,
    by: UsageBy,
    where: str,
    params: Sequence[object],
    *,
    tier: str = "hourly",
) -> tuple[list[Any], list[Any]]:
    """The roll-ups' (base, counterfactual) aggregates in `usage`'s shapes; `tier`: hourly or
    daily (whose `hour` is the day's first)."""
    group = hourly_groups(by, dialect._DAY)
    sums = ", ".join(
        _sum(f"h.{c}")
        for c in ("requests", "prompt_tokens", "completion_tokens", "self_hosted_nusd")
    )
    base = conn.execute(
        dialect._sql(
            f"SELECT {group}, {sums}, {_sum('h.unallocated')} FROM usage_{tier} AS h"
            f" WHERE {where} GROUP BY 1"
        ),
        params,
    ).fetchall()
    counterfactual = conn.execute(
        dialect._sql(
            f"SELECT {group}, h.api, {_sum('h.nusd')}, {_sum('h.unpriced')}"
            f" FROM counterfactual_{tier} AS h WHERE {where} GROUP BY 1, 2"
        ),
        params,
    ).fetchall()
    return list(base), list(counterfactual)


def merge(rows: Iterable[Sequence[Any]], width: int) -> list[tuple[Any, ...]]:
    """Sum rows sharing their first `width` values (raw and rolled-up aggregates of a group)."""
    found: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        head, tail = tuple(row[:width]), [int(v or 0) for v in row[width:]]
        if head in found:
            found[head] = [a + b for a, b in zip(found[head], tail, strict=True)]
        else:
            found[head] = tail
    return [(*head, *tail) for head, tail in found.items()]


def rolled_span(dialect: Dialect, conn: Conn, where: str, params: Sequence[object]) -> Any:
    """(first hour, last hour) of the roll-ups in `where`, or (None, None)."""
    return conn.execute(
        dialect._sql(f"SELECT MIN(h.hour), MAX(h.hour) FROM usage_hourly AS h WHERE {where}"),
        params,
    ).fetchone()


def stats(dialect: Dialect, conn: Conn) -> LedgerStats:
    tables = tuple(TableStats(t, *dialect._relation_stats(conn, t)) for t in TABLES)
    first, last = conn.execute("SELECT MIN(started_at), MAX(started_at) FROM usage").fetchone()
    r_first, r_last = rolled_span(dialect, conn, "1 = 1", ())
    return LedgerStats(
        tables,
        None if first is None else dialect._from_db(first),
        None if last is None else dialect._from_db(last),
        None if r_first is None else dialect._from_db(r_first),
        None if r_last is None else dialect._from_db(r_last),
        dialect._database_bytes(conn, tables),
    )
