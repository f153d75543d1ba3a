"""The SQLite ledger: one file, WAL journal, every call under an internal lock.

Money is INTEGER nano-dollars; times are ISO-8601 UTC text of fixed width
(`2026-01-31T12:00:00.000000+00:00`), so comparing the text compares the times. Writes take the
database's write lock up front (`BEGIN IMMEDIATE`) and wait up to 5 s for another writer.
What both backends share is in `llmecon.ledger.sql`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from llmecon.errors import LlmeconError
from llmecon.ledger.migrations import SQLITE_BOOKKEEPING, Migration
from llmecon.ledger.model import IDLE_GROUP, UsageRow, utc
from llmecon.ledger.protocol import LedgerUnavailableError
from llmecon.ledger.rollup import TableStats
from llmecon.ledger.sql import INSERT_COST, INSERT_USAGE, SqlLedger, first_of, new_costs, utc_now

BUSY_TIMEOUT_MS = 5000
ID_CHUNK = 500  # request ids per look-up (SQLite allows 32,766 parameters)


class SqliteLedger(SqlLedger[sqlite3.Connection]):
    """A `Ledger` in the SQLite file at `path` (":memory:" for a private in-memory one)."""

    _DAY = "substr({}, 1, 10)"
    _HOUR = "substr({}, 1, 13) || ':00:00.000000+00:00'"  # times are stored as UTC isoformat
    _IDLE_LABEL = f"'{IDLE_GROUP}'"
    _MIGRATION_SETUP = (SQLITE_BOOKKEEPING,)

    def __init__(self, path: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        if path != ":memory:":
            path = str(Path(path).expanduser())
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # keys and spend: owner-only
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        super().__init__(clock)
        self._path = path
        try:
            self._conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            for pragma in (
                f"busy_timeout = {BUSY_TIMEOUT_MS}",
                "journal_mode = WAL",
                "synchronous = NORMAL",
                "foreign_keys = ON",
            ):
                self._conn.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as error:
            raise LlmeconError(
                f"cannot open the SQLite ledger {path}: {error}; check the path and its permissions"
            ) from error
        self._migrate()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise LedgerUnavailableError(f"the ledger {self._path} is closed: open it again")
            try:
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.OperationalError):
                    raise LedgerUnavailableError(
                        f"the SQLite ledger {self._path} failed: {error}; retry later"
                    ) from error
                raise

    @staticmethod
    def _to_db(moment: datetime) -> str:
        return utc(moment).isoformat(timespec="microseconds")

    @staticmethod
    def _from_db(value: str) -> datetime:
        return datetime.fromisoformat(value).astimezone(UTC)

    @staticmethod
    def _schema(migration: Migration) -> tuple[str, ...]:
        return migration.sqlite

    def _store(self, conn: sqlite3.Connection, rows: Sequence[UsageRow]) -> list[UsageRow]:
        """One statement per table, not one per row: the request ids already stored (a
        retried batch) are looked up first, inside the write transaction, so nothing can land
        between the look-up and the insert."""
        ids = {row.request_id for row in rows}
        new = ids - self._stored_ids(conn, ids)
        fresh = first_of(rows, new)
        conn.executemany(INSERT_USAGE, [self._usage_params(row) for row in fresh])
        conn.executemany(INSERT_COST, new_costs(fresh, new))
        return fresh

    @staticmethod
    def _stored_ids(conn: sqlite3.Connection, ids: set[str]) -> set[str]:
        found: set[str] = set()
        wanted = sorted(ids)
        for at in range(0, len(wanted), ID_CHUNK):
            part = wanted[at : at + ID_CHUNK]
            marks = ", ".join("?" * len(part))
            query = f"SELECT request_id FROM usage WHERE request_id IN ({marks})"
            found.update(request_id for (request_id,) in conn.execute(query, part))
        return found

    def _execute_many(
        self, conn: sqlite3.Connection, sql: str, params: Sequence[Sequence[object]]
    ) -> None:
        conn.executemany(sql, params)

    def _relation_stats(self, conn: sqlite3.Connection, table: str) -> tuple[int, int | None, bool]:
        (count,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return int(count), None, True

    def _database_bytes(self, conn: sqlite3.Connection, tables: Sequence[TableStats]) -> int:
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
        return int(pages) * int(size)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()
