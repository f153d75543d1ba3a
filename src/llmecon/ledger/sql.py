"""What the SQLite and PostgreSQL ledgers share: every `Ledger` method, written once.

`SqlLedger` holds the SQL both databases speak, the mapping between rows and statement
parameters, the aggregation behind `usage`, allocation and key handling. A backend subclasses it
and supplies only what differs: how it connects and opens a transaction (`_transaction`), how
its driver marks a parameter (`_MARK`; the shared SQL is written with `?`), how a time travels
to and from the database (`_to_db`, `_from_db`), its dialect's UTC-day and idle-group
expressions, its migration statements, and the bulk writes each database does its own way
(`_insert_new`, `_execute_many`, `_set_shares`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from llmecon.errors import LlmeconError
from llmecon.ledger import metering, rollup
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
    NO_KEY_GROUP,
    USAGE_COLUMNS,
    IdleRow,
    Metered,
    MeterReport,
    UsageBy,
    UsageRow,
    UsageTotals,
    assemble_totals,
    check_by,
    usage_values,
    utc,
)

COLUMNS = ", ".join(USAGE_COLUMNS)
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


def _sum(column: str) -> str:
    # PostgreSQL sums a BIGINT column as NUMERIC: the cast keeps it an int (a no-op in SQLite)
    return f"CAST(COALESCE(SUM({column}), 0) AS BIGINT)"


def _count_null(column: str) -> str:
    return f"SUM(CASE WHEN {column} IS NULL THEN 1 ELSE 0 END)"


def new_costs(rows: Sequence[UsageRow], inserted: set[str]) -> list[tuple[str, str, int | None]]:
    """The `counterfactual_cost` rows of those `rows` whose request id is in `inserted`, each
    once: a row already stored (a retry), or repeated in `rows`, adds none."""
    fresh, costs = set(inserted), []
    for row in rows:
        if row.request_id in fresh:
            fresh.discard(row.request_id)
            costs += [(row.request_id, api, nusd) for api, nusd in row.counterfactual_nusd.items()]
    return costs


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
    def _insert_new(self, conn: C, rows: Sequence[UsageRow]) -> set[str]:
        """Insert each of `rows` unless its request id is stored; the ids it did insert."""

    @abstractmethod
    def _execute_many(self, conn: C, sql: str, params: Sequence[Sequence[object]]) -> None:
        """Run `sql` (in this driver's marks) once per parameter tuple."""

    def _insert_costs(self, conn: C, costs: Sequence[tuple[object, ...]]) -> None:
        """Insert counterfactual prices (request_id, api, nusd); a backend may batch them."""
        self._execute_many(conn, self._sql(INSERT_COST), costs)

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the ledger cannot be used afterwards."""

    # rows <-> statement parameters

    def _sql(self, text: str) -> str:
        """Shared SQL, written with `?` marks, in this driver's marks."""
        return text.replace("?", self._MARK)

    def _usage_params(self, row: UsageRow) -> tuple[object, ...]:
        """`row`'s values in `USAGE_COLUMNS` order, times as the database stores them."""
        return tuple(self._to_db(v) if isinstance(v, datetime) else v for v in usage_values(row))

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

    def _groups(self, by: UsageBy) -> tuple[str, str]:
        """usage(by): the group of a usage row `u`, and of an idle row `i`."""
        return {
            "key": (f"COALESCE(u.key_id, '{NO_KEY_GROUP}')", self._IDLE_LABEL),
            "model": ("u.model", self._IDLE_LABEL),
            "day": (self._DAY.format("u.started_at"), self._DAY.format("i.interval_start")),
            "upstream": ("u.upstream", "i.upstream"),
        }[by]

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
            inserted = self._insert_new(conn, rows)
            self._insert_costs(conn, new_costs(rows, inserted))

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
        where, params = self._window("started_at", since, until)
        hour_where, hour_params = self._window("h.hour", since, until)
        with self._transaction(write=False) as conn:
            first, last = conn.execute(
                self._sql(f"SELECT MIN(started_at), MAX(finished_at) FROM usage WHERE {where}"),
                params,
            ).fetchone()
            h_first, h_last = rollup.rolled_span(self, conn, hour_where, hour_params)
        found = [self._from_db(v) for v in (first, h_first) if v is not None]
        ends = [self._from_db(last)] if last is not None else []
        if h_last is not None:  # a rolled-up hour spans to its end
            ends.append(self._from_db(h_last) + timedelta(hours=1))
        if not found:
            return None
        return min(found), max(ends)

    def rows(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRow]:
        where, params = self._window("u.started_at", since, until)
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
                ),
                params,
            ).fetchall()
        counterfactual: dict[str, dict[str, int | None]] = {}
        for request_id, api, nusd in costs:
            counterfactual.setdefault(request_id, {})[api] = nusd
        return [self._usage_row(values, counterfactual.get(values[0], {})) for values in found]

    def usage(
        self, by: UsageBy, since: datetime | None = None, until: datetime | None = None
    ) -> list[UsageTotals]:
        usage_group, idle_group = self._groups(check_by(by))
        where, params = self._window("u.started_at", since, until)
        idle_where, idle_params = self._window("i.interval_start", since, until)
        totals = ", ".join(
            _sum(f"u.{column}")
            for column in ("prompt_tokens", "completion_tokens", "self_hosted_nusd")
        )
        with self._transaction(write=False) as conn:
            base = conn.execute(
                self._sql(
                    f"SELECT {usage_group}, COUNT(*), {totals}, {_count_null('u.self_hosted_nusd')}"
                    f" FROM usage AS u WHERE {where} GROUP BY 1"
                ),
                params,
            ).fetchall()
            counterfactual = conn.execute(
                self._sql(
                    f"SELECT {usage_group}, c.api, {_sum('c.nusd')}, {_count_null('c.nusd')}"
                    " FROM usage AS u JOIN counterfactual_cost AS c ON c.request_id = u.request_id"
                    f" WHERE {where} GROUP BY 1, 2"
                ),
                params,
            ).fetchall()
            idle = conn.execute(
                self._sql(
                    f"SELECT {idle_group}, {_sum('i.idle_nusd')} FROM idle_cost AS i"
                    f" WHERE {idle_where} GROUP BY 1"
                ),
                idle_params,
            ).fetchall()
            hour_where, hour_params = self._window("h.hour", since, until)
            h_base, h_cf = rollup.hourly_usage(self, conn, by, hour_where, hour_params)
        return assemble_totals(
            rollup.merge([*base, *h_base], 1),
            rollup.merge([*counterfactual, *h_cf], 2),
            idle,
        )

    def prune(self, before: datetime) -> rollup.Pruned:
        """One transaction per UTC day of raw rows, oldest first (see `llmecon.ledger.rollup`)."""
        with self._transaction(write=False) as conn:
            (first,) = conn.execute("SELECT MIN(started_at) FROM usage").fetchone()
        cutoff = rollup.hour_floor(before)
        if first is None:
            return rollup.Pruned(cutoff, 0, 0)
        rows = hours = 0
        for step in rollup.day_steps(self._from_db(first), cutoff):
            with self._transaction(write=True) as conn:
                self._maintenance(conn)
                done = rollup.prune(self, conn, step)
            rows, hours = rows + done.rows, hours + done.hours
        return rollup.Pruned(cutoff, rows, hours)

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
        return revoked == 1

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
