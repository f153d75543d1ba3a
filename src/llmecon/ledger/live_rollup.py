"""Hourly roll-ups kept exact as rows land and as their cost is allocated (both backends).

`usage_hourly` holds, per UTC hour of started_at, key ("(no key)" for none), model and
upstream: requests, tokens, the self-hosted cost allocated so far and how many rows still wait
for theirs; `counterfactual_hourly` the same per compared API (sum of known prices, count of
unknown ones); `usage_daily` and `counterfactual_daily` the same per UTC day (their `hour` is
the day's first), for whole-day windows. Since migration m007 they cover every row ever
recorded, raw or pruned:

- `add_rows`: the batch writer adds the rows it inserted, in the transaction that inserts them;
- `cost_snapshot` / `apply_cost_changes`: closing a slot sets `usage.self_hosted_nusd` of the
  requests in it (ledger.metering); the rows' cost before and after is compared and the
  difference added to their hours, in the same transaction, so a later allocation (or a late
  report that changes one) is reflected exactly.

Upserts are applied in sorted key order, so two writers never deadlock on the same hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from llmecon.ledger.model import NO_KEY_GROUP, UsageRow

UPSERT_USAGE = (
    "INSERT INTO usage_{tier} (hour, key_id, model, upstream, requests, prompt_tokens,"
    " completion_tokens, self_hosted_nusd, unallocated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (hour, key_id, model, upstream) DO UPDATE SET"
    " requests = usage_{tier}.requests + excluded.requests,"
    " prompt_tokens = usage_{tier}.prompt_tokens + excluded.prompt_tokens,"
    " completion_tokens = usage_{tier}.completion_tokens + excluded.completion_tokens,"
    " self_hosted_nusd = usage_{tier}.self_hosted_nusd + excluded.self_hosted_nusd,"
    " unallocated = usage_{tier}.unallocated + excluded.unallocated"
)
UPSERT_COUNTERFACTUAL = (
    "INSERT INTO counterfactual_{tier} (hour, key_id, model, upstream, api, nusd, unpriced)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (hour, key_id, model, upstream, api) DO UPDATE SET"
    " nusd = counterfactual_{tier}.nusd + excluded.nusd,"
    " unpriced = counterfactual_{tier}.unpriced + excluded.unpriced"
)
# the requests whose cost closing the slot (upstream, slot_start) may set; started_at bounds
# the search to recent partitions (no request lasts LONGEST_REQUEST)
LONGEST_REQUEST = timedelta(days=7)
SNAPSHOT = (
    f"SELECT u.request_id, u.started_at, COALESCE(u.key_id, '{NO_KEY_GROUP}'), u.model,"
    " u.upstream, u.self_hosted_nusd FROM usage AS u WHERE u.request_id IN"
    " (SELECT request_id FROM cost_share WHERE upstream = ? AND slot_start = ?)"
    " AND u.started_at >= ?"
)

Group = tuple[datetime, str, str, str]  # (UTC hour, key group, model, upstream)


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class Dialect(Protocol):
    """What the roll-up and metering SQL need of a backend (SqlLedger provides it)."""

    def _sql(self, text: str) -> str: ...

    def _to_db(self, moment: datetime) -> object: ...

    def _from_db(self, value: Any) -> datetime: ...

    def _execute_many(self, conn: Any, sql: str, params: Sequence[Sequence[object]]) -> None: ...


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _group(row: UsageRow) -> Group:
    return (hour_of(row.started_at), row.key_id or NO_KEY_GROUP, row.model, row.upstream)


def _daily(sums: dict[Any, list[int]]) -> dict[Any, list[int]]:
    """`sums` keyed by hourly group (or (group, api)), summed per day instead."""
    found: dict[Any, list[int]] = {}
    for key, values in sums.items():
        group, api = (key, None) if isinstance(key[0], datetime) else key
        day = (group[0].replace(hour=0), *group[1:])
        total = found.setdefault(day if api is None else (day, api), [0] * len(values))
        for i, value in enumerate(values):
            total[i] += value
    return found


def _apply(
    dialect: Dialect,
    conn: Conn,
    usage: dict[Group, list[int]],
    counterfactual: dict[tuple[Group, str], list[int]],
) -> None:
    """Add the sums to the hourly and the daily roll-ups, in key order (no deadlock)."""
    for tier, base, cf in (
        ("hourly", usage, counterfactual),
        ("daily", _daily(usage), _daily(counterfactual)),
    ):
        dialect._execute_many(
            conn,
            dialect._sql(UPSERT_USAGE.format(tier=tier)),
            [(dialect._to_db(g[0]), *g[1:], *sums) for g, sums in sorted(base.items())],
        )
        dialect._execute_many(
            conn,
            dialect._sql(UPSERT_COUNTERFACTUAL.format(tier=tier)),
            [(dialect._to_db(g[0]), *g[1:], api, *sums) for (g, api), sums in sorted(cf.items())],
        )


def add_rows(dialect: Dialect, conn: Conn, rows: Iterable[UsageRow]) -> None:
    """Add newly inserted `rows` (each once) to their hours."""
    usage: dict[Group, list[int]] = {}
    counterfactual: dict[tuple[Group, str], list[int]] = {}
    for row in rows:
        group = _group(row)
        sums = usage.setdefault(group, [0, 0, 0, 0, 0])
        sums[0] += 1
        sums[1] += row.prompt_tokens or 0
        sums[2] += row.completion_tokens or 0
        sums[3] += row.self_hosted_nusd or 0
        sums[4] += row.self_hosted_nusd is None
        for api, nusd in row.counterfactual_nusd.items():
            cf = counterfactual.setdefault((group, api), [0, 0])
            cf[0] += nusd or 0
            cf[1] += nusd is None
    if usage:
        _apply(dialect, conn, usage, counterfactual)


Snapshot = dict[str, tuple[Group, int | None]]


def cost_snapshot(dialect: Dialect, conn: Conn, upstream: str, start: Any) -> Snapshot:
    """The group and current cost of each request that closing slot `start` may set."""
    since = dialect._to_db(dialect._from_db(start) - LONGEST_REQUEST)
    found = conn.execute(dialect._sql(SNAPSHOT), (upstream, start, since)).fetchall()
    return {
        rid: ((hour_of(dialect._from_db(at)), key, model, up), nusd)
        for rid, at, key, model, up, nusd in found
    }


def apply_cost_changes(dialect: Dialect, conn: Conn, before: Snapshot, after: Snapshot) -> None:
    """Add the change of each request's cost (and allocated-or-not) to its hour."""
    usage: dict[Group, list[int]] = {}
    for rid, (group, new) in after.items():
        old = before.get(rid, (group, None))[1]
        cost, unallocated = (new or 0) - (old or 0), int(new is None) - int(old is None)
        if cost or unallocated:
            sums = usage.setdefault(group, [0, 0, 0, 0, 0])
            sums[3] += cost
            sums[4] += unallocated
    if usage:
        _apply(dialect, conn, usage, {})
