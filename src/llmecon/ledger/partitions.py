"""PostgreSQL: the usage and counterfactual_cost tables partitioned by UTC day of started_at.

Migration m007 turns the two tables of an existing ledger into partitioned ones (usage's
primary key widened to (request_id, started_at), as PostgreSQL requires the partition key in
it; counterfactual_cost gains the request's started_at and loses its primary key and its
foreign key to usage: the ledger writes a request's prices once, in the transaction that
inserts its row (`llmecon.ledger.pg_ingest`), and prune removes both together; a key on it
cost a third of the write rate). Partitions are one per UTC day, named `usage_pYYYYMMDD`
and `counterfactual_pYYYYMMDD`: the migration creates those holding rows plus `AHEAD_DAYS`
ahead, and every write calls `llmecon_day_partitions(days)` for the days of its batch, which
creates any missing one (under an advisory lock, so two replicas never race) and locks the
batch's partitions against a concurrent prune dropping them, so no insert ever fails for want
of a partition. `ledger prune` drops whole days before its cutoff (`drop_days`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

AHEAD_DAYS = 7  # days of partitions created ahead of today

ENSURE_FUNCTION = """
CREATE OR REPLACE FUNCTION llmecon_day_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    made integer := 0;
    suffix text;
BEGIN
    FOREACH d IN ARRAY days LOOP
        suffix := to_char(d, 'YYYYMMDD');
        IF to_regclass('usage_p' || suffix) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('llmecon.partition:' || current_schema()));
            BEGIN  -- another writer may have made it since: its name is then taken
                EXECUTE format('CREATE TABLE %I PARTITION OF usage FOR VALUES FROM (%L) TO (%L)',
                    'usage_p' || suffix, d::text || ' 00:00+00', (d + 1)::text || ' 00:00+00');
                EXECUTE format('CREATE TABLE %I PARTITION OF counterfactual_cost'
                    ' FOR VALUES FROM (%L) TO (%L)',
                    'counterfactual_p' || suffix, d::text || ' 00:00+00',
                    (d + 1)::text || ' 00:00+00');
                made := made + 1;
            EXCEPTION WHEN duplicate_table THEN
                NULL;
            END;
        END IF;
        -- a concurrent prune waits for this transaction before it drops the day
        EXECUTE format('LOCK TABLE %I, %I IN ROW EXCLUSIVE MODE',
            'usage_p' || suffix, 'counterfactual_p' || suffix);
    END LOOP;
    RETURN made;
END $$"""

_DAYS_WITH_ROWS = (
    "SELECT llmecon_day_partitions(ARRAY(SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date"
    " FROM usage_m006 UNION SELECT (now() AT TIME ZONE 'UTC')::date + g"
    f" FROM generate_series(0, {AHEAD_DAYS}) AS g ORDER BY 1))"
)

M007_POSTGRES = (
    "SET LOCAL statement_timeout = 0",
    "ALTER TABLE counterfactual_cost DROP CONSTRAINT IF EXISTS counterfactual_cost_request_id_fkey",
    "ALTER TABLE usage RENAME TO usage_m006",
    "ALTER TABLE counterfactual_cost RENAME TO counterfactual_m006",
    "CREATE TABLE usage (LIKE usage_m006 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,"
    " CONSTRAINT usage_partitioned_pkey PRIMARY KEY (request_id, started_at))"
    " PARTITION BY RANGE (started_at)",
    "CREATE TABLE counterfactual_cost (request_id TEXT NOT NULL, api TEXT NOT NULL,"
    " nusd BIGINT CHECK (nusd >= 0), started_at TIMESTAMPTZ NOT NULL)"
    " PARTITION BY RANGE (started_at)",
    ENSURE_FUNCTION,
    _DAYS_WITH_ROWS,
    "INSERT INTO usage SELECT * FROM usage_m006",
    "INSERT INTO counterfactual_cost (request_id, api, nusd, started_at)"
    " SELECT c.request_id, c.api, c.nusd, u.started_at FROM counterfactual_m006 AS c"
    " JOIN usage_m006 AS u ON u.request_id = c.request_id",
    "DROP TABLE counterfactual_m006",
    "DROP TABLE usage_m006",
    "CREATE INDEX usage_started_at ON usage (started_at)",
    # the traffic's last finish (`usage` without a priced upstream) without reading every row
    "CREATE INDEX usage_finished_at ON usage (finished_at)",
    "CREATE INDEX usage_unallocated ON usage (upstream, finished_at)"
    " WHERE self_hosted_nusd IS NULL",
)


# prune's deletes of a partial day: a request's prices carry its started_at
DELETES = (
    "DELETE FROM cost_share AS s USING usage AS u"
    " WHERE u.request_id = s.request_id AND u.started_at < %s",
    "DELETE FROM counterfactual_cost WHERE started_at < %s",
    "DELETE FROM usage WHERE started_at < %s",
)


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def ensure_days(conn: Conn, days: Iterable[date], known: set[date], timeout_ms: int) -> int:
    """Lock the partitions of `days` for this transaction, creating those missing (and, when
    one is, `AHEAD_DAYS` after the last of `days`); how many were created. `known`: days seen
    to exist, kept up to date; creating tables is done without the statement timeout
    `timeout_ms` of the request path."""
    wanted = sorted(set(days))
    if not wanted:
        return 0
    if known.issuperset(wanted):
        conn.execute("SELECT llmecon_day_partitions(%s::date[])", (wanted,))
        return 0
    ahead = [wanted[-1] + timedelta(days=n) for n in range(1, AHEAD_DAYS + 1)]
    conn.execute("SET LOCAL statement_timeout = 0")
    (made,) = conn.execute(
        "SELECT llmecon_day_partitions(%s::date[])", (sorted({*wanted, *ahead}),)
    ).fetchone()
    conn.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
    known.update(wanted, ahead)
    return int(made)


def day_partitions(conn: Conn) -> list[date]:
    """The days that have a usage partition, oldest first."""
    found = conn.execute(
        "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = to_regclass('usage')"
    ).fetchall()
    days = []
    for (name,) in found:
        suffix = str(name).removeprefix("usage_p")
        if len(suffix) == 8 and suffix.isdigit():
            days.append(date(int(suffix[:4]), int(suffix[4:6]), int(suffix[6:])))
    return sorted(days)


def drop_days(conn: Conn, cutoff: datetime) -> int:
    """Drop every day partition that ends at or before `cutoff` (their cost shares deleted
    first); the raw rows dropped."""
    rows = 0
    for day in day_partitions(conn):
        end = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86_400
        if end > cutoff.timestamp():
            break
        suffix = f"{day:%Y%m%d}"
        (count,) = conn.execute(f"SELECT COUNT(*) FROM usage_p{suffix}").fetchone()
        conn.execute(
            f"DELETE FROM cost_share AS s USING usage_p{suffix} AS u"
            " WHERE u.request_id = s.request_id"
        )
        conn.execute(f"DROP TABLE usage_p{suffix}, counterfactual_p{suffix}")
        rows += int(count)
    return rows
