"""What the SQLite and PostgreSQL ledgers share: every `Ledger` method, written once.

`SqlLedger` holds the SQL both databases speak, the mapping between rows and statement
parameters, the aggregation behind `usage`, allocation and key handling. A backend subclasses it
and supplies only what differs: how it connects and opens a transaction (`_transaction`), how
its driver marks a parameter (`_MARK`; the shared SQL is written with `?`), how a time travels
to and from the database (`_to_db`, `_from_db`), its dialect's UTC-day and idle-group
expressions, its migration statements, and the bulk writes each database does its own way
(`_store`, `_execute_many`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from llmecon.errors import LlmeconError
from llmecon.ledger import live_rollup, metering, rollup, usage_sql
from llmecon.ledger.keys import (
    NO_LIMITS,
    KeyInfo,
    KeyLimits,
    check_key_name,
    hash_secret,
    mint_key,
    same_hash,
)
from llmecon.ledger.migrations import Migration, pending
from llmecon.ledger.model import (
    USAGE_COLUMNS,
    IdleRow,
    Metered,
    MeterReport,
    UsageBy,
    UsageRow,
    UsageTotals,
    check_by,
    usage_values,
    utc,
)

COLUMNS = ", ".join(USAGE_COLUMNS)
assert USAGE_COLUMNS[:3] == ("request_id", "started_at", "finished_at")  # _usage_params
INSERT_USAGE = (
    f"INSERT INTO usage ({COLUMNS}) VALUES ({', '.join('?' for _ in USAGE_COLUMNS)})"
    " ON CONFLICT (request_id) DO NOTHING"
)
INSERT_COST = "INSERT INTO counterfactual_cost (request_id, api, nusd) VALUES (?, ?, ?)"
_KEY_COLUMNS = (
    "id, name, prefix, created_at, revoked_at, requests_per_minute, tokens_per_minute,"
    " budget_day_nusd, budget_month_nusd"
)


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def new_costs(rows: Sequence[UsageRow], inserted: set[str]) -> list[tuple[str, str, int | None]]:
    """The `counterfactual_cost` rows of those `rows` whose request id is in `inserted`, each
    once: a row already stored (a retry), or repeated in `rows`, adds none."""
    fresh, costs = set(inserted), []
    for row in rows:
        if row.request_id in fresh:
            fresh.discard(row.request_id)
            costs += [(row.request_id, api, nusd) for api, nusd in row.counterfactual_nusd.items()]
    return costs


def first_of(rows: Sequence[UsageRow], inserted: set[str]) -> list[UsageRow]:
    """The first row of each request id in `inserted`, in order."""
    fresh, found = set(inserted), []
    for row in rows:
        if row.request_id in fresh:
            fresh.discard(row.request_id)
            found.append(row)
    return found


class Cursor(Protocol):
    """What the ledger reads from a DB-API cursor (sqlite3's and psycopg's alike)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...


class Connection(Protocol):
    """What the ledger calls on a connection: `execute`, as sqlite3 and psycopg both offer it."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...


C = TypeVar("C", bound=Connection)


class SqlLedger(ABC, Generic[C]):
    """A `Ledger` over a backend whose connections are of type `C`; see the module's doc."""

    _MARK: ClassVar[str] = "?"  # how the driver marks a parameter
    _DAY: ClassVar[str]  # the UTC day (YYYY-MM-DD) of the time column `{}`
    _HOUR: ClassVar[str]  # the time column `{}` truncated to its UTC hour, as stored
    _IDLE_LABEL: ClassVar[str]  # the "(idle)" group as an SQL text literal
    _MIGRATION_SETUP: ClassVar[tuple[str, ...]]  # run before reading schema_migrations
    _COST_TIME: ClassVar[str | None] = None  # counterfactual_cost's started_at, if it has one
    _PRUNE_DELETES: ClassVar[tuple[str, ...]] = rollup.DELETES  # prune's, before a time

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False

    # what each backend supplies

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[C]:
        """One transaction under `self._lock`, rolled back on any error; `write` says whether
        it will write."""

    @staticmethod
    @abstractmethod
    def _to_db(moment: datetime) -> object:
        """`moment` as the database stores it."""

    @staticmethod
    @abstractmethod
    def _from_db(value: Any) -> datetime:
        """A stored time, read back as an aware UTC datetime."""

    @staticmethod
    @abstractmethod
    def _schema(migration: Migration) -> tuple[str, ...]:
        """`migration`'s statements in this dialect."""

    @abstractmethod
    def _relation_stats(self, conn: C, table: str) -> tuple[int, int | None, bool]:
        """(rows, bytes or None, whether the row count is exact) of `table`."""

    @abstractmethod
    def _database_bytes(self, conn: C, tables: Sequence[rollup.TableStats]) -> int | None:
        """The ledger's size on disk, if known."""

    @abstractmethod
    def _store(self, conn: C, rows: Sequence[UsageRow]) -> list[UsageRow]:
        """Insert `rows` and their counterfactual prices, skipping a request already stored;
        the rows inserted (each once)."""

    @abstractmethod
    def _execute_many(self, conn: C, sql: str, params: Sequence[Sequence[object]]) -> None:
        """Run `sql` (in this driver's marks) once per parameter tuple."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the ledger cannot be used afterwards."""

    # rows <-> statement parameters

    def _sql(self, text: str) -> str:
        """Shared SQL, written with `?` marks, in this driver's marks."""
        return text.replace("?", self._MARK)

    def _usage_params(self, row: UsageRow) -> tuple[object, ...]:
        """`row`'s values in `USAGE_COLUMNS` order, times as the database stores them."""
        values = usage_values(row)  # started_at and finished_at are its 2nd and 3rd
        return (values[0], self._to_db(row.started_at), self._to_db(row.finished_at), *values[3:])

    def _usage_row(
        self, values: Sequence[Any], counterfactual: Mapping[str, int | None]
    ) -> UsageRow:
        fields = dict(zip(USAGE_COLUMNS, values, strict=True))
        fields["started_at"] = self._from_db(fields["started_at"])
        fields["finished_at"] = self._from_db(fields["finished_at"])
        fields["stream"] = bool(fields["stream"])  # SQLite stores it as 0 or 1
        return UsageRow(**fields, counterfactual_nusd=counterfactual)

    def _key_info(self, values: Sequence[Any]) -> KeyInfo:
        key_id, name, prefix, created_at, revoked_at, *limits = values
        revoked = None if revoked_at is None else self._from_db(revoked_at)
        return KeyInfo(key_id, name, prefix, self._from_db(created_at), revoked, KeyLimits(*limits))

    def _window(
        self, column: str, since: datetime | None, until: datetime | None
    ) -> tuple[str, list[object]]:
        """A WHERE clause keeping since <= column < until, and its parameters."""
        clauses, params = ["1 = 1"], []
        if since is not None:
            clauses.append(f"{column} >= ?")
            params.append(self._to_db(since))
        if until is not None:
            clauses.append(f"{column} < ?")
            params.append(self._to_db(until))
        return " AND ".join(clauses), params

    def _cost_window(
        self, since: datetime | None, until: datetime | None
    ) -> tuple[str, list[object]]:
        """The window on counterfactual_cost's own copy of started_at, where it has one
        (PostgreSQL: it is the partition key), so a join reads only the window's days."""
        if self._COST_TIME is None:
            return "1 = 1", []
        return self._window(self._COST_TIME, since, until)

    # the `Ledger` methods

    def _migrate(self) -> None:
        with self._transaction(write=True) as conn:
            for statement in self._MIGRATION_SETUP:
                conn.execute(statement)
            found = conn.execute("SELECT name FROM schema_migrations").fetchall()
            for migration in pending({name for (name,) in found}):
                for statement in self._schema(migration):
                    conn.execute(statement)
                conn.execute(
                    self._sql("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)"),
                    (migration.name, self._to_db(self._clock())),
                )

    def record(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        with self._transaction(write=True) as conn:
            live_rollup.add_rows(self, conn, self._store(conn, rows))

    def report_meters(self, reports: Sequence[MeterReport]) -> None:
        if not reports:
            return
        with self._transaction(write=True) as conn:
            metering.write_reports(self, conn, reports)

    def close_slots(self, ended_by: datetime) -> list[IdleRow]:
        closed = []
        with self._transaction(write=True) as conn:
            for upstream, start in metering.pending_slots(self, conn, ended_by):
                idle = metering.close_slot(self, conn, upstream, start)
                if idle is not None:
                    closed.append(idle)
        return closed

    def active_replicas(self, since: datetime) -> set[str]:
        with self._transaction(write=False) as conn:
            return metering.active_replicas(self, conn, since)

    def metered(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[Metered]:
        where, params = self._window("interval_start", since, until)
        with self._transaction(write=False) as conn:
            return metering.metered(self, conn, where, params)

    def traffic_span(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[datetime, datetime] | None:
        with self._transaction(write=False) as conn:
            return usage_sql.traffic_span(self, conn, since, until)

    def rows(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRow]:
        where, params = self._window("u.started_at", since, until)
        cost_where, cost_params = self._cost_window(since, until)
        with self._transaction(write=False) as conn:
            found = conn.execute(
                self._sql(
                    f"SELECT {COLUMNS} FROM usage AS u WHERE {where}"
                    " ORDER BY u.started_at, u.request_id"
                ),
                params,
            ).fetchall()
            costs = conn.execute(
                self._sql(
                    "SELECT c.request_id, c.api, c.nusd FROM counterfactual_cost AS c"
                    f" JOIN usage AS u ON u.request_id = c.request_id WHERE {where}"
                    f" AND {cost_where}"
                ),
                [*params, *cost_params],
            ).fetchall()
        counterfactual: dict[str, dict[str, int | None]] = {}
        for request_id, api, nusd in costs:
            counterfactual.setdefault(request_id, {})[api] = nusd
        return [self._usage_row(values, counterfactual.get(values[0], {})) for values in found]

    def usage(
        self,
        by: UsageBy,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        source: usage_sql.Source = "auto",
    ) -> list[UsageTotals]:
        """See `Ledger.usage`; `source="raw"` sums only the raw rows still stored (checks)."""
        with self._transaction(write=False) as conn:
            if source == "raw":  # a check, not the request path: it reads every raw row
                self._maintenance(conn)
            return usage_sql.usage(self, conn, check_by(by), since, until, source=source)

    def prune(self, before: datetime) -> rollup.Pruned:
        """Delete raw rows that started before `before` (to the hour), a UTC day per
        transaction, oldest first; their totals stay in the roll-ups (`llmecon.ledger.rollup`)."""
        cutoff = rollup.hour_floor(before)
        rows = self._drop_days(cutoff)
        with self._transaction(write=False) as conn:
            (first,) = conn.execute("SELECT MIN(started_at) FROM usage").fetchone()
        if first is not None and self._from_db(first) < cutoff:
            for step in rollup.day_steps(self._from_db(first), cutoff):
                with self._transaction(write=True) as conn:
                    self._maintenance(conn)
                    rows += rollup.delete_raw(self, conn, step, self._PRUNE_DELETES)
        with self._transaction(write=False) as conn:
            hours = rollup.rolled_hours(self, conn, cutoff)
        return rollup.Pruned(cutoff, rows, hours)

    def _drop_days(self, cutoff: datetime) -> int:
        """Drop whole days of raw rows before `cutoff` at once where the backend can
        (PostgreSQL's day partitions); the rows dropped."""
        return 0

    def _maintenance(self, conn: C) -> None:
        """Lift limits meant for the request path (PostgreSQL's statement timeout)."""

    def stats(self) -> rollup.LedgerStats:
        with self._transaction(write=False) as conn:
            return rollup.stats(self, conn)

    def migrations_applied(self) -> list[str]:
        with self._transaction(write=False) as conn:
            found = conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
        return [name for (name,) in found]

    def create_key(self, name: str, limits: KeyLimits = NO_LIMITS) -> tuple[KeyInfo, str]:
        name = check_key_name(name)
        if any(key.name == name for key in self.list_keys()):
            raise LlmeconError(
                f"a key named {name!r} exists already: choose another name, or revoke it first"
            )
        new = mint_key()
        info = KeyInfo(new.id, name, new.prefix, utc(self._clock()), None, limits)
        with self._transaction(write=True) as conn:
            conn.execute(
                self._sql(
                    "INSERT INTO api_keys (id, name, prefix, secret_sha256, created_at,"
                    " requests_per_minute, tokens_per_minute, budget_day_nusd, budget_month_nusd)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    info.id,
                    info.name,
                    info.prefix,
                    new.secret_sha256,
                    self._to_db(info.created_at),
                    *limits.values(),
                ),
            )
        return info, new.secret

    def list_keys(self) -> list[KeyInfo]:
        with self._transaction(write=False) as conn:
            found = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
            ).fetchall()
        return [self._key_info(values) for values in found]

    def revoke_key(self, key_id: str) -> bool:
        with self._transaction(write=True) as conn:
            revoked = conn.execute(
                self._sql("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
                (self._to_db(self._clock()), key_id),
            ).rowcount
            if revoked == 1:
                self._announce_revoked(conn, key_id)
        return revoked == 1

    def _announce_revoked(self, conn: C, key_id: str) -> None:
        """Tell running gateways, where the database can (PostgreSQL: NOTIFY)."""

    def verify_key(self, secret: str) -> KeyInfo | None:
        presented = hash_secret(secret)
        with self._transaction(write=False) as conn:
            found = conn.execute(
                self._sql(
                    f"SELECT {_KEY_COLUMNS}, secret_sha256 FROM api_keys"
                    " WHERE secret_sha256 = ? AND revoked_at IS NULL"
                ),
                (presented,),
            ).fetchone()
        if found is None or not same_hash(found[-1], presented):
            return None
        return self._key_info(found[:-1])

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
