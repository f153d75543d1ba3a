"""The PostgreSQL ledger: psycopg 3, one connection per ledger object, every call under a lock.

Money is BIGINT nano-dollars and times TIMESTAMPTZ (the session runs in UTC). The tables live
in the connection's current schema: choose one with `?options=-csearch_path%3Dmyschema` in the
URL. A broken connection raises `LedgerUnavailableError` once; the next call reconnects.
What both backends share is in `llmecon.ledger.sql`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from llmecon.errors import LlmeconError
from llmecon.ledger import partitions, pg_ingest, revocations
from llmecon.ledger.migrations import POSTGRES_BOOKKEEPING, Migration
from llmecon.ledger.model import IDLE_GROUP, UsageRow, utc
from llmecon.ledger.protocol import LedgerUnavailableError
from llmecon.ledger.rollup import TableStats
from llmecon.ledger.sql import SqlLedger, utc_now

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 10_000  # no statement may hold the ledger longer
# one lock per schema, so two processes opening the same ledger migrate one after the other
_MIGRATION_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('llmecon.ledger:' || COALESCE(current_schema(), '')))"
)

PgConnection = psycopg.Connection[TupleRow]


def display_url(url: str) -> str:
    """`url` without its password, for messages."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class PostgresLedger(SqlLedger[PgConnection]):
    """A `Ledger` in the PostgreSQL database at `url` (`postgresql://USER@HOST:PORT/DB`)."""

    _MARK = "%s"
    _DAY = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    _HOUR = "date_trunc('hour', {})"  # the session's time zone is UTC
    _IDLE_LABEL = f"'{IDLE_GROUP}'::text"
    _MIGRATION_SETUP = (_MIGRATION_LOCK, POSTGRES_BOOKKEEPING)
    _COST_TIME = "c.started_at"
    _PRUNE_DELETES = partitions.DELETES

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(clock)
        self._url = url
        self._conn: PgConnection | None = None
        self._days: set[date] = set()  # days whose partitions exist
        self._types: list[int] | None = None  # usage's column types, for binary COPY
        try:
            self._migrate()
        except psycopg.Error as error:  # unavailability is already a LedgerUnavailableError
            raise LlmeconError(
                f"cannot create the ledger tables in {display_url(url)}: {str(error).strip()};"
                " check that the schema named by search_path exists and that the user may"
                " create tables in it"
            ) from error

    def _connection(self) -> PgConnection:
        if self._closed:
            raise LedgerUnavailableError(
                f"the ledger {display_url(self._url)} is closed: open it again"
            )
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                # a server that stops answering is noticed: keepalives and unacknowledged data
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
                tcp_user_timeout=STATEMENT_TIMEOUT_MS,
            )
            self._conn.execute("SET TIME ZONE 'UTC'")
            self._conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        return self._conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[PgConnection]:
        # `write` is moot: PostgreSQL locks the rows a statement writes
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction():
                    yield conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                raise LedgerUnavailableError(
                    f"the PostgreSQL ledger {display_url(self._url)} is unavailable: "
                    f"{str(error).strip()}; check that the server is up, then retry"
                ) from error

    def _announce_revoked(self, conn: PgConnection, key_id: str) -> None:
        conn.execute(revocations.NOTIFY, (key_id,))

    def watch_revocations(
        self, on_revoked: Callable[[str | None], None], stop: threading.Event
    ) -> None:
        """Report keys revoked anywhere (None: forget them all) until `stop`; blocks."""
        revocations.listen(self._url, on_revoked, stop)

    @staticmethod
    def _to_db(moment: datetime) -> datetime:
        return utc(moment)

    @staticmethod
    def _from_db(value: datetime) -> datetime:
        return value.astimezone(UTC)

    @staticmethod
    def _schema(migration: Migration) -> tuple[str, ...]:
        return migration.postgres

    def _store(self, conn: PgConnection, rows: Sequence[UsageRow]) -> list[UsageRow]:
        try:
            if self._types is None:  # read once: migrations ran when the ledger opened
                self._types = pg_ingest.column_types(conn)
            return pg_ingest.store(conn, rows, self._types, self._days, STATEMENT_TIMEOUT_MS)
        except BaseException:
            self._days.clear()  # the transaction that created some may roll back
            raise

    def _drop_days(self, cutoff: datetime) -> int:
        with self._transaction(write=True) as conn:
            self._maintenance(conn)
            return partitions.drop_days(conn, cutoff)

    def _maintenance(self, conn: PgConnection) -> None:
        conn.execute("SET LOCAL statement_timeout = 0")

    def _execute_many(
        self, conn: PgConnection, sql: str, params: Sequence[Sequence[object]]
    ) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, params)

    def _relation_stats(self, conn: PgConnection, table: str) -> tuple[int, int | None, bool]:
        """Rows as the planner estimates them (a count of 100 million rows takes seconds;
        exact below 100,000), and the table's bytes with its indexes (a partitioned table's:
        its partitions')."""
        row = conn.execute(
            "SELECT CAST(SUM(GREATEST(c.reltuples, 0)) AS BIGINT),"
            " CAST(SUM(pg_total_relation_size(c.oid)) AS BIGINT) FROM pg_class AS c"
            " WHERE (c.oid = to_regclass(%s) AND c.relkind <> 'p') OR c.oid IN"
            " (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%s))",
            (table, table),
        ).fetchone()
        estimate, size = (0, None) if row is None or row[0] is None else (int(row[0]), int(row[1]))
        if estimate < 100_000:
            counted = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            return int(counted[0]) if counted else 0, size, True
        return estimate, size, False

    def _database_bytes(self, conn: PgConnection, tables: Sequence[TableStats]) -> int | None:
        sizes = [t.bytes for t in tables]
        return None if None in sizes else sum(s or 0 for s in sizes)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
