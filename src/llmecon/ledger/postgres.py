"""The PostgreSQL ledger: psycopg 3, one connection per ledger object, every call under a lock.

Money is BIGINT nano-dollars and times TIMESTAMPTZ (the session runs in UTC). The tables live
in the connection's current schema: choose one with `?options=-csearch_path%3Dmyschema` in the
URL. A broken connection raises `LedgerUnavailableError` once; the next call reconnects.
What both backends share is in `llmecon.ledger.sql`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from llmecon.errors import LlmeconError
from llmecon.ledger.migrations import POSTGRES_BOOKKEEPING, Migration
from llmecon.ledger.model import IDLE_GROUP, USAGE_COLUMNS, UsageRow, utc
from llmecon.ledger.protocol import LedgerUnavailableError
from llmecon.ledger.rollup import TableStats
from llmecon.ledger.sql import COLUMNS, SqlLedger, utc_now

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 10_000  # no statement may hold the ledger longer
# one lock per schema, so two processes opening the same ledger migrate one after the other
_MIGRATION_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('llmecon.ledger:' || COALESCE(current_schema(), '')))"
)

PgConnection = psycopg.Connection[TupleRow]
BATCH_ROWS = 5000  # rows per INSERT ... SELECT FROM unnest(arrays)


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

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(clock)
        self._url = url
        self._conn: PgConnection | None = None
        self._types: dict[str, str] | None = None
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

    @staticmethod
    def _to_db(moment: datetime) -> datetime:
        return utc(moment)

    @staticmethod
    def _from_db(value: datetime) -> datetime:
        return value.astimezone(UTC)

    @staticmethod
    def _schema(migration: Migration) -> tuple[str, ...]:
        return migration.postgres

    def _insert_new(self, conn: PgConnection, rows: Sequence[UsageRow]) -> set[str]:
        """One INSERT ... SELECT FROM unnest(column arrays) per `BATCH_ROWS` rows: a round
        trip and one parameter per column, however many rows."""
        types = self._usage_types(conn)
        arrays = ", ".join(f"%s::{types[name]}[]" for name in USAGE_COLUMNS)
        sql = (
            f"INSERT INTO usage ({COLUMNS}) SELECT * FROM unnest({arrays})"
            " ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
        )
        inserted: set[str] = set()
        for start in range(0, len(rows), BATCH_ROWS):
            values = [self._usage_params(row) for row in rows[start : start + BATCH_ROWS]]
            columns = [list(column) for column in zip(*values, strict=True)]
            inserted.update(request_id for (request_id,) in conn.execute(sql, columns).fetchall())
        return inserted

    def _maintenance(self, conn: PgConnection) -> None:
        conn.execute("SET LOCAL statement_timeout = 0")

    def _usage_types(self, conn: PgConnection) -> dict[str, str]:
        """The usage table's column types (read once: migrations may add columns)."""
        if self._types is None:
            found = conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = to_regclass('usage') AND attnum > 0 AND NOT attisdropped"
            ).fetchall()
            self._types = {str(name): str(kind) for name, kind in found}
        return self._types

    def _insert_costs(self, conn: PgConnection, costs: Sequence[tuple[object, ...]]) -> None:
        sql = (
            "INSERT INTO counterfactual_cost (request_id, api, nusd)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])"
        )
        for start in range(0, len(costs), BATCH_ROWS):
            chunk = costs[start : start + BATCH_ROWS]
            conn.execute(sql, [list(column) for column in zip(*chunk, strict=True)])

    def _execute_many(
        self, conn: PgConnection, sql: str, params: Sequence[Sequence[object]]
    ) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(sql, params)

    def _relation_stats(self, conn: PgConnection, table: str) -> tuple[int, int | None, bool]:
        """Rows as the planner estimates them (a count of 100 million rows takes seconds;
        exact below 100,000), and the table's bytes with its indexes."""
        row = conn.execute(
            "SELECT c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class AS c"
            " WHERE c.oid = to_regclass(%s)",
            (table,),
        ).fetchone()
        estimate, size = (int(row[0]), int(row[1])) if row else (0, None)
        if estimate < 100_000:
            found = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            return int(found[0]) if found else 0, size, True
        return estimate, size, False

    def _database_bytes(self, conn: PgConnection, tables: Sequence[TableStats]) -> int | None:
        sizes = [t.bytes for t in tables]
        return None if None in sizes else sum(s or 0 for s in sizes)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
