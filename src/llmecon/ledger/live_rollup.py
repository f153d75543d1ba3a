"""Hourly roll-ups kept exact as rows land and as their cost is allocated (both backends).

`usage_hourly` holds, per UTC hour of started_at, key ("(no key)" for none), model and
upstream: requests, tokens, the self-hosted cost allocated so far and how many rows still wait
for theirs; `counterfactual_hourly` the same per compared API (sum of known prices, count of
unknown ones). Since migration m007 they cover every row ever recorded, raw or pruned:

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
    "INSERT INTO usage_hourly (hour, key_id, model, upstream, requests, prompt_tokens,"
    " completion_tokens, self_hosted_nusd, unallocated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (hour, key_id, model, upstream) DO UPDATE SET"
    " requests = usage_hourly.requests + excluded.requests,"
    " prompt_tokens = usage_hourly.prompt_tokens + excluded.prompt_tokens,"
    " completion_tokens = usage_hourly.completion_tokens + excluded.completion_tokens,"
    " self_hosted_nusd = usage_hourly.self_hosted_nusd + excluded.self_hosted_nusd,"
    " unallocated = usage_hourly.unallocated + excluded.unallocated"
)
UPSERT_COUNTERFACTUAL = (
    "INSERT INTO counterfactual_hourly (hour, key_id, model, upstream, api, nusd, unpriced)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (hour, key_id, model, upstream, api) DO UPDATE SET"
    " nusd = counterfactual_hourly.nusd + excluded.nusd,"
    " unpriced = counterfactual_hourly.unpriced + excluded.unpriced"
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

Group = tuple[Any, str, str, str]  # (hour as stored, key group, model, upstream)


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class Dialect(Protocol):
    def _sql(self, text: str) -> str: ...

    def _to_db(self, moment: datetime) -> object: ...

    def _from_db(self, value: Any) -> datetime: ...

    def _execute_many(self, conn: Any, sql: str, params: Sequence[Sequence[object]]) -> None: ...


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _group(dialect: Dialect, row: UsageRow) -> Group:
    hour = dialect._to_db(hour_of(row.started_at))
    return (hour, row.key_id or NO_KEY_GROUP, row.model, row.upstream)


def _apply(
    dialect: Dialect,
    conn: Conn,
    usage: dict[Group, list[int]],
    counterfactual: dict[tuple[Group, str], list[int]],
) -> None:
    ordered = sorted(usage.items(), key=lambda item: (str(item[0][0]), *item[0][1:]))
    dialect._execute_many(
        conn, dialect._sql(UPSERT_USAGE), [(*group, *sums) for group, sums in ordered]
    )
    ordered_cf = sorted(
        counterfactual.items(), key=lambda item: (str(item[0][0][0]), *item[0][0][1:], item[0][1])
    )
    dialect._execute_many(
        conn,
        dialect._sql(UPSERT_COUNTERFACTUAL),
        [(*group, api, *sums) for (group, api), sums in ordered_cf],
    )


def add_rows(dialect: Dialect, conn: Conn, rows: Iterable[UsageRow]) -> None:
    """Add newly inserted `rows` (each once) to their hours."""
    usage: dict[Group, list[int]] = {}
    counterfactual: dict[tuple[Group, str], list[int]] = {}
    for row in rows:
        group = _group(dialect, row)
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
        rid: ((dialect._to_db(hour_of(dialect._from_db(at))), key, model, up), nusd)
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
