"""The PostgreSQL ledger: psycopg 3, one connection per ledger object, every call under a lock.

Money is BIGINT nano-dollars and times TIMESTAMPTZ (the session runs in UTC). The tables live
in the connection's current schema: choose one with `?options=-csearch_path%3Dmyschema` in the
URL. A broken connection raises `LedgerUnavailableError` once; the next call reconnects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from llmecon.errors import LlmeconError
from llmecon.ledger.keys import KeyInfo, check_key_name, hash_secret, mint_key, same_hash
from llmecon.ledger.migrations import POSTGRES_BOOKKEEPING, pending
from llmecon.ledger.model import (
    IDLE_GROUP,
    NO_KEY_GROUP,
    USAGE_COLUMNS,
    IdleRow,
    UsageBy,
    UsageRow,
    UsageTotals,
    assemble_totals,
    check_allocation,
    check_by,
    usage_values,
    utc,
)
from llmecon.ledger.protocol import AllocationConflictError, LedgerUnavailableError

CONNECT_TIMEOUT_S = 5
_COLUMNS = ", ".join(USAGE_COLUMNS)
_INSERT_USAGE = (
    f"INSERT INTO usage ({_COLUMNS}) VALUES ({', '.join('%s' for _ in USAGE_COLUMNS)})"
    " ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
)
_IDLE_COLUMNS = "upstream, interval_start, interval_end, idle_nusd, busy_seconds, allocated_nusd"
_KEY_COLUMNS = "id, name, prefix, created_at, revoked_at"
# one lock per schema, so two processes opening the same ledger migrate one after the other
_MIGRATION_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('llmecon.ledger:' || COALESCE(current_schema(), '')))"
)
_DAY = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
# usage(by): the group of a usage row `u`, and of an idle row `i`
_GROUPS: Mapping[UsageBy, tuple[str, str]] = MappingProxyType(
    {
        "key": (f"COALESCE(u.key_id, '{NO_KEY_GROUP}')", f"'{IDLE_GROUP}'::text"),
        "model": ("u.model", f"'{IDLE_GROUP}'::text"),
        "day": (_DAY.format("u.started_at"), _DAY.format("i.interval_start")),
        "upstream": ("u.upstream", "i.upstream"),
    }
)


def _now() -> datetime:
    return datetime.now(UTC)


def display_url(url: str) -> str:
    """`url` without its password, for messages."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def _window(column: str, since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    """A WHERE clause keeping since <= column < until, and its parameters."""
    clauses, params = ["TRUE"], []
    if since is not None:
        clauses.append(f"{column} >= %s")
        params.append(utc(since))
    if until is not None:
        clauses.append(f"{column} < %s")
        params.append(utc(until))
    return " AND ".join(clauses), params


def _usage_row(values: Sequence[Any], counterfactual: Mapping[str, int | None]) -> UsageRow:
    return UsageRow(
        **dict(zip(USAGE_COLUMNS, values, strict=True)), counterfactual_nusd=counterfactual
    )


def _key_info(values: Sequence[Any]) -> KeyInfo:
    key_id, name, prefix, created_at, revoked_at = values
    return KeyInfo(
        key_id, name, prefix, created_at.astimezone(UTC), revoked_at and revoked_at.astimezone(UTC)
    )


class PostgresLedger:
    """A `Ledger` in the PostgreSQL database at `url` (`postgresql://USER@HOST:PORT/DB`)."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] = _now) -> None:
        self._url = url
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._closed = False
        try:
            self._migrate()
        except psycopg.Error as error:  # unavailability is already a LedgerUnavailableError
            raise LlmeconError(
                f"cannot create the ledger tables in {display_url(url)}: {str(error).strip()};"
                " check that the schema named by search_path exists and that the user may"
                " create tables in it"
            ) from error

    def _connection(self) -> psycopg.Connection[TupleRow]:
        if self._closed:
            raise LlmeconError(f"the ledger {display_url(self._url)} is closed: open it again")
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
            self._conn.execute("SET TIME ZONE 'UTC'")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[TupleRow]]:
        """One transaction under the lock; rolled back on any error."""
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

    def _migrate(self) -> None:
        with self._transaction() as conn:
            conn.execute(_MIGRATION_LOCK)
            conn.execute(POSTGRES_BOOKKEEPING)
            applied = {name for (name,) in conn.execute("SELECT name FROM schema_migrations")}
            for migration in pending(applied):
                for statement in migration.postgres:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                    (migration.name, utc(self._clock())),
                )

    def record(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        with self._transaction() as conn, conn.cursor() as cursor:
            cursor.executemany(_INSERT_USAGE, [usage_values(row) for row in rows], returning=True)
            inserted: set[str] = set()
            while True:
                inserted.update(request_id for (request_id,) in cursor.fetchall())
                if not cursor.nextset():
                    break
            costs = []
            for row in rows:
                if row.request_id in inserted:  # not a retry of a stored row
                    inserted.discard(row.request_id)
                    costs += [(row.request_id, a, n) for a, n in row.counterfactual_nusd.items()]
            cursor.executemany(
                "INSERT INTO counterfactual_cost (request_id, api, nusd) VALUES (%s, %s, %s)", costs
            )

    def allocate(
        self,
        upstream: str,
        interval_start: datetime,
        interval_end: datetime,
        shares: Mapping[str, int],
        idle: IdleRow,
    ) -> None:
        check_allocation(upstream, interval_start, interval_end, shares, idle)
        with self._transaction() as conn:
            inserted = conn.execute(
                f"INSERT INTO idle_cost ({_IDLE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (upstream, interval_start) DO NOTHING",
                (
                    upstream,
                    idle.interval_start,
                    idle.interval_end,
                    idle.idle_nusd,
                    idle.busy_seconds,
                    idle.allocated_nusd,
                ),
            ).rowcount
            if not inserted:
                self._check_repeat(conn, idle)
                return
            updated = conn.execute(
                "UPDATE usage AS u SET self_hosted_nusd = s.nusd"
                " FROM unnest(%s::text[], %s::bigint[]) AS s (request_id, nusd)"
                " WHERE u.request_id = s.request_id AND u.upstream = %s"
                " AND u.self_hosted_nusd IS NULL",
                (list(shares), list(shares.values()), upstream),
            ).rowcount
            if updated != len(shares):
                raise AllocationConflictError(
                    f"{len(shares) - updated} of {len(shares)} requests are unknown, not on "
                    f"{upstream} or already allocated: take the ids from unallocated()"
                )

    @staticmethod
    def _check_repeat(conn: psycopg.Connection[TupleRow], idle: IdleRow) -> None:
        values = conn.execute(
            f"SELECT {_IDLE_COLUMNS} FROM idle_cost WHERE upstream = %s AND interval_start = %s",
            (idle.upstream, idle.interval_start),
        ).fetchone()
        if values is None or IdleRow(*values) != idle:
            raise AllocationConflictError(
                f"{idle.upstream} already has an interval starting {idle.interval_start}"
                " with other figures: allocate each interval once"
            )

    def unallocated(self, upstream: str, before: datetime) -> list[tuple[str, int]]:
        with self._transaction() as conn:
            found = conn.execute(
                "SELECT request_id, COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)"
                " FROM usage WHERE upstream = %s AND self_hosted_nusd IS NULL AND finished_at < %s"
                " ORDER BY finished_at, request_id",
                (upstream, utc(before)),
            ).fetchall()
        return [(request_id, tokens) for request_id, tokens in found]

    def rows(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRow]:
        where, params = _window("u.started_at", since, until)
        with self._transaction() as conn:
            found = conn.execute(
                f"SELECT {_COLUMNS} FROM usage AS u WHERE {where}"
                " ORDER BY u.started_at, u.request_id",
                params,
            ).fetchall()
            costs = conn.execute(
                "SELECT c.request_id, c.api, c.nusd FROM counterfactual_cost AS c"
                f" JOIN usage AS u ON u.request_id = c.request_id WHERE {where}",
                params,
            ).fetchall()
        counterfactual: dict[str, dict[str, int | None]] = {}
        for request_id, api, nusd in costs:
            counterfactual.setdefault(request_id, {})[api] = nusd
        return [_usage_row(values, counterfactual.get(values[0], {})) for values in found]

    def usage(
        self, by: UsageBy, since: datetime | None = None, until: datetime | None = None
    ) -> list[UsageTotals]:
        usage_group, idle_group = _GROUPS[check_by(by)]
        where, params = _window("u.started_at", since, until)
        idle_where, idle_params = _window("i.interval_start", since, until)
        with self._transaction() as conn:
            base = conn.execute(
                f"SELECT {usage_group}, COUNT(*), COALESCE(SUM(u.prompt_tokens), 0)::bigint,"
                " COALESCE(SUM(u.completion_tokens), 0)::bigint,"
                " COALESCE(SUM(u.self_hosted_nusd), 0)::bigint,"
                " COUNT(*) FILTER (WHERE u.self_hosted_nusd IS NULL)"
                f" FROM usage AS u WHERE {where} GROUP BY 1",
                params,
            ).fetchall()
            counterfactual = conn.execute(
                f"SELECT {usage_group}, c.api, COALESCE(SUM(c.nusd), 0)::bigint,"
                " COUNT(*) FILTER (WHERE c.nusd IS NULL)"
                " FROM usage AS u JOIN counterfactual_cost AS c ON c.request_id = u.request_id"
                f" WHERE {where} GROUP BY 1, 2",
                params,
            ).fetchall()
            idle = conn.execute(
                f"SELECT {idle_group}, SUM(i.idle_nusd)::bigint FROM idle_cost AS i"
                f" WHERE {idle_where} GROUP BY 1",
                idle_params,
            ).fetchall()
        return assemble_totals(base, counterfactual, idle)

    def migrations_applied(self) -> list[str]:
        with self._transaction() as conn:
            found = conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
        return [name for (name,) in found]

    def create_key(self, name: str) -> tuple[KeyInfo, str]:
        name = check_key_name(name)
        new = mint_key()
        info = KeyInfo(new.id, name, new.prefix, utc(self._clock()))
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, name, prefix, secret_sha256, created_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (info.id, info.name, info.prefix, new.secret_sha256, info.created_at),
            )
        return info, new.secret

    def list_keys(self) -> list[KeyInfo]:
        with self._transaction() as conn:
            found = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
            ).fetchall()
        return [_key_info(values) for values in found]

    def revoke_key(self, key_id: str) -> bool:
        with self._transaction() as conn:
            revoked = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                (utc(self._clock()), key_id),
            ).rowcount
        return revoked == 1

    def verify_key(self, secret: str) -> KeyInfo | None:
        presented = hash_secret(secret)
        with self._transaction() as conn:
            found = conn.execute(
                f"SELECT {_KEY_COLUMNS}, secret_sha256 FROM api_keys"
                " WHERE secret_sha256 = %s AND revoked_at IS NULL",
                (presented,),
            ).fetchone()
        if found is None or not same_hash(found[-1], presented):
            return None
        return _key_info(found[:-1])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
