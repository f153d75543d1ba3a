"""`Ledger.usage` and `traffic_span` in SQL, from roll-ups where they can answer.

The roll-ups (`usage_hourly`, `counterfactual_hourly`, and the same per day; ledger.live_rollup)
hold every request ever recorded, to the hour. A window whose ends fall on whole hours (or are
open) is answered from them alone: its whole UTC days (every `llmecon usage` window is made of
them) from the daily roll-ups, the hours around them from the hourly ones; the rows read grow
with days x active (key, model, upstream), not with requests. A window with a ragged end takes
its whole hours from the roll-ups and the partial hours at its ends from the raw rows (a
partial hour already pruned counts nothing). `source="raw"` aggregates only the raw rows
still stored (for checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from llmecon.ledger import rollup
from llmecon.ledger.model import NO_KEY_GROUP, UsageBy, UsageTotals, assemble_totals, check_by

Source = Literal["auto", "raw"]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
Window = tuple[datetime | None, datetime | None]


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class Dialect(rollup.Dialect, Protocol):
    _IDLE_LABEL: ClassVar[str]

    def _window(
        self, column: str, since: datetime | None, until: datetime | None
    ) -> tuple[str, list[object]]: ...

    def _cost_window(
        self, since: datetime | None, until: datetime | None
    ) -> tuple[str, list[object]]: ...


def _sum(column: str) -> str:
    return f"CAST(COALESCE(SUM({column}), 0) AS BIGINT)"


def _count_null(column: str) -> str:
    return f"SUM(CASE WHEN {column} IS NULL THEN 1 ELSE 0 END)"


def on_hour(moment: datetime | None) -> bool:
    return moment is None or moment == rollup.hour_floor(moment)


def split(since: datetime | None, until: datetime | None) -> tuple[Window | None, list[Window]]:
    """The window's whole hours (for the roll-ups, None if none) and its partial ends (for
    the raw rows)."""
    if on_hour(since) and on_hour(until):
        return (since, until), []
    lo = since if on_hour(since) else rollup.hour_floor(since) + HOUR  # type: ignore[arg-type]
    hi = until if on_hour(until) else rollup.hour_floor(until)  # type: ignore[arg-type]
    if lo is not None and hi is not None and lo >= hi:
        return None, [(since, until)]
    edges: list[Window] = []
    if lo != since:
        edges.append((since, lo))
    if hi != until:
        edges.append((hi, until))
    return (lo, hi), edges


def _day_floor(moment: datetime) -> datetime:
    return rollup.hour_floor(moment).replace(hour=0)


def tiers(whole: Window | None) -> list[tuple[str, Window]]:
    """Whole hours `whole` as (roll-up tier, window): its whole UTC days from the daily
    roll-ups, the hours around them from the hourly ones."""
    if whole is None:
        return []
    since, until = whole
    lo = since if since is None or since == _day_floor(since) else _day_floor(since) + DAY
    hi = until if until is None or until == _day_floor(until) else _day_floor(until)
    if lo is not None and hi is not None and lo >= hi:
        return [("hourly", whole)]
    found: list[tuple[str, Window]] = [("daily", (lo, hi))]
    if lo != since:
        found.append(("hourly", (since, lo)))
    if hi != until:
        found.append(("hourly", (hi, until)))
    return found


def _group(dialect: Dialect, by: UsageBy) -> str:
    return {
        "key": f"COALESCE(u.key_id, '{NO_KEY_GROUP}')",
        "model": "u.model",
        "day": dialect._DAY.format("u.started_at"),
        "upstream": "u.upstream",
    }[by]


def raw(dialect: Dialect, conn: Conn, by: UsageBy, window: Window) -> tuple[list[Any], list[Any]]:
    """(base, counterfactual) aggregates of the raw rows started in `window`."""
    group = _group(dialect, by)
    where, params = dialect._window("u.started_at", *window)
    cost_where, cost_params = dialect._cost_window(*window)
    totals = ", ".join(
        _sum(f"u.{c}") for c in ("prompt_tokens", "completion_tokens", "self_hosted_nusd")
    )
    base = conn.execute(
        dialect._sql(
            f"SELECT {group}, COUNT(*), {totals}, {_count_null('u.self_hosted_nusd')}"
            f" FROM usage AS u WHERE {where} GROUP BY 1"
        ),
        params,
    ).fetchall()
    counterfactual = conn.execute(
        dialect._sql(
            f"SELECT {group}, c.api, {_sum('c.nusd')}, {_count_null('c.nusd')}"
            " FROM usage AS u JOIN counterfactual_cost AS c ON c.request_id = u.request_id"
            f" WHERE {where} AND {cost_where} GROUP BY 1, 2"
        ),
        [*params, *cost_params],
    ).fetchall()
    return list(base), list(counterfactual)


def usage(
    dialect: Dialect,
    conn: Conn,
    by: UsageBy,
    since: datetime | None,
    until: datetime | None,
    *,
    source: Source = "auto",
) -> list[UsageTotals]:
    """Totals per group, idle cost included; see the module's doc."""
    by = check_by(by)
    base: list[Any] = []
    counterfactual: list[Any] = []
    whole, edges = (None, [(since, until)]) if source == "raw" else split(since, until)
    for tier, window in tiers(whole):
        where, params = dialect._window("h.hour", *window)
        h_base, h_cf = rollup.hourly_usage(dialect, conn, by, where, params, tier=tier)
        base, counterfactual = base + h_base, counterfactual + h_cf
    for edge in edges:
        e_base, e_cf = raw(dialect, conn, by, edge)
        base, counterfactual = base + e_base, counterfactual + e_cf
    idle_group = {"day": dialect._DAY.format("i.interval_start"), "upstream": "i.upstream"}
    idle_where, idle_params = dialect._window("i.interval_start", since, until)
    idle = conn.execute(
        dialect._sql(
            f"SELECT {idle_group.get(by, dialect._IDLE_LABEL)}, {_sum('i.idle_nusd')}"
            f" FROM idle_cost AS i WHERE {idle_where} GROUP BY 1"
        ),
        idle_params,
    ).fetchall()
    return assemble_totals(
        rollup.merge(base, 1),
        rollup.merge(counterfactual, 2),
        idle,
    )


def traffic_span(
    dialect: Dialect, conn: Conn, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime] | None:
    """First start and last finish of the rows started in [since, until); an hour known only
    from the roll-ups (its raw rows pruned) spans the whole hour."""
    where, params = dialect._window("started_at", since, until)
    first, last = conn.execute(
        dialect._sql(f"SELECT MIN(started_at), MAX(finished_at) FROM usage WHERE {where}"),
        params,
    ).fetchone()
    hour_where, hour_params = dialect._window("h.hour", since, until)
    h_first, h_last = rollup.rolled_span(dialect, conn, hour_where, hour_params)
    if h_first is None:
        return None if first is None else (dialect._from_db(first), dialect._from_db(last))
    rolled = (dialect._from_db(h_first), dialect._from_db(h_last) + HOUR)
    if first is None:
        return rolled
    start, end = dialect._from_db(first), dialect._from_db(last)
    # raw rows remain from their hour on; earlier rolled-up hours were pruned
    return (rolled[0] if rolled[0] < rollup.hour_floor(start) else start), end
