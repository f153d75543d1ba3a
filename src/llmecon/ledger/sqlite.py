"""The SQLite ledger: one file, WAL journal, every call under an internal lock.

Money is INTEGER nano-dollars; times are ISO-8601 UTC text of fixed width
(`2026-01-31T12:00:00.000000+00:00`), so comparing the text compares the times. Writes take the
database's write lock up front (`BEGIN IMMEDIATE`) and wait up to 5 s for another writer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Self

from llmecon.errors import LlmeconError
from llmecon.ledger.keys import KeyInfo, check_key_name, hash_secret, mint_key, same_hash
from llmecon.ledger.migrations import SQLITE_BOOKKEEPING, pending
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

BUSY_TIMEOUT_MS = 5000
_COLUMNS = ", ".join(USAGE_COLUMNS)
_INSERT_USAGE = (
    f"INSERT INTO usage ({_COLUMNS}) VALUES ({', '.join('?' for _ in USAGE_COLUMNS)})"
    " ON CONFLICT (request_id) DO NOTHING"
)
_IDLE_COLUMNS = "upstream, interval_start, interval_end, idle_nusd, busy_seconds, allocated_nusd"
_KEY_COLUMNS = "id, name, prefix, created_at, revoked_at"
# usage(by): the group of a usage row `u`, and of an idle row `i`
_GROUPS: Mapping[UsageBy, tuple[str, str]] = MappingProxyType(
    {
        "key": (f"COALESCE(u.key_id, '{NO_KEY_GROUP}')", f"'{IDLE_GROUP}'"),
        "model": ("u.model", f"'{IDLE_GROUP}'"),
        "day": ("substr(u.started_at, 1, 10)", "substr(i.interval_start, 1, 10)"),
        "upstream": ("u.upstream", "i.upstream"),
    }
)


def _now() -> datetime:
    return datetime.now(UTC)


def _text(moment: datetime) -> str:
    return utc(moment).isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _window(column: str, since: datetime | None, until: datetime | None) -> tuple[str, list[str]]:
    """A WHERE clause keeping since <= column < until, and its parameters."""
    clauses, params = ["1 = 1"], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(_text(since))
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(_text(until))
    return " AND ".join(clauses), params


def _usage_row(values: Sequence[Any], counterfactual: Mapping[str, int | None]) -> UsageRow:
    fields = dict(zip(USAGE_COLUMNS, values, strict=True))
    fields["started_at"] = _time(fields["started_at"])
    fields["finished_at"] = _time(fields["finished_at"])
    fields["stream"] = bool(fields["stream"])
    return UsageRow(**fields, counterfactual_nusd=counterfactual)


def _key_info(values: Sequence[Any]) -> KeyInfo:
    key_id, name, prefix, created_at, revoked_at = values
    revoked = None if revoked_at is None else _time(revoked_at)
    return KeyInfo(key_id, name, prefix, _time(created_at), revoked)


class SqliteLedger:
    """A `Ledger` in the SQLite file at `path` (":memory:" for a private in-memory one)."""

    def __init__(self, path: str, *, clock: Callable[[], datetime] = _now) -> None:
        if path != ":memory:":
            path = str(Path(path).expanduser())
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
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
        """One transaction under the lock; rolled back on any error."""
        with self._lock:
            if self._closed:
                raise LlmeconError(f"the ledger {self._path} is closed: open it again")
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

    def _migrate(self) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(SQLITE_BOOKKEEPING)
            applied = {name for (name,) in conn.execute("SELECT name FROM schema_migrations")}
            for migration in pending(applied):
                for statement in migration.sqlite:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (migration.name, _text(self._clock())),
                )

    def record(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        with self._transaction(write=True) as conn:
            for row in rows:
                values = tuple(
                    _text(v) if isinstance(v, datetime) else v for v in usage_values(row)
                )
                if conn.execute(_INSERT_USAGE, values).rowcount == 0:
                    continue  # already recorded: a retry changes nothing
                conn.executemany(
                    "INSERT INTO counterfactual_cost (request_id, api, nusd) VALUES (?, ?, ?)",
                    [(row.request_id, api, nusd) for api, nusd in row.counterfactual_nusd.items()],
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
        with self._transaction(write=True) as conn:
            inserted = conn.execute(
                f"INSERT INTO idle_cost ({_IDLE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (upstream, interval_start) DO NOTHING",
                (
                    upstream,
                    _text(idle.interval_start),
                    _text(idle.interval_end),
                    idle.idle_nusd,
                    idle.busy_seconds,
                    idle.allocated_nusd,
                ),
            ).rowcount
            if not inserted:
                self._check_repeat(conn, idle)
                return
            updated = sum(
                conn.execute(
                    "UPDATE usage SET self_hosted_nusd = ? WHERE request_id = ?"
                    " AND upstream = ? AND self_hosted_nusd IS NULL",
                    (nusd, request_id, upstream),
                ).rowcount
                for request_id, nusd in shares.items()
            )
            if updated != len(shares):
                raise AllocationConflictError(
                    f"{len(shares) - updated} of {len(shares)} requests are unknown, not on "
                    f"{upstream} or already allocated: take the ids from unallocated()"
                )

    @staticmethod
    def _check_repeat(conn: sqlite3.Connection, idle: IdleRow) -> None:
        values = conn.execute(
            f"SELECT {_IDLE_COLUMNS} FROM idle_cost WHERE upstream = ? AND interval_start = ?",
            (idle.upstream, _text(idle.interval_start)),
        ).fetchone()
        upstream, start, end, *figures = values
        if IdleRow(upstream, _time(start), _time(end), *figures) != idle:
            raise AllocationConflictError(
                f"{idle.upstream} already has an interval starting {idle.interval_start}"
                " with other figures: allocate each interval once"
            )

    def unallocated(self, upstream: str, before: datetime) -> list[tuple[str, int]]:
        with self._transaction(write=False) as conn:
            found = conn.execute(
                "SELECT request_id, COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)"
                " FROM usage WHERE upstream = ? AND self_hosted_nusd IS NULL AND finished_at < ?"
                " ORDER BY finished_at, request_id",
                (upstream, _text(before)),
            ).fetchall()
        return [(request_id, tokens) for request_id, tokens in found]

    def rows(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRow]:
        where, params = _window("u.started_at", since, until)
        with self._transaction(write=False) as conn:
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
        with self._transaction(write=False) as conn:
            base = conn.execute(
                f"SELECT {usage_group}, COUNT(*), COALESCE(SUM(u.prompt_tokens), 0),"
                " COALESCE(SUM(u.completion_tokens), 0), COALESCE(SUM(u.self_hosted_nusd), 0),"
                " SUM(CASE WHEN u.self_hosted_nusd IS NULL THEN 1 ELSE 0 END)"
                f" FROM usage AS u WHERE {where} GROUP BY 1",
                params,
            ).fetchall()
            counterfactual = conn.execute(
                f"SELECT {usage_group}, c.api, COALESCE(SUM(c.nusd), 0),"
                " SUM(CASE WHEN c.nusd IS NULL THEN 1 ELSE 0 END)"
                " FROM usage AS u JOIN counterfactual_cost AS c ON c.request_id = u.request_id"
                f" WHERE {where} GROUP BY 1, 2",
                params,
            ).fetchall()
            idle = conn.execute(
                f"SELECT {idle_group}, SUM(i.idle_nusd) FROM idle_cost AS i"
                f" WHERE {idle_where} GROUP BY 1",
                idle_params,
            ).fetchall()
        return assemble_totals(base, counterfactual, idle)

    def migrations_applied(self) -> list[str]:
        with self._transaction(write=False) as conn:
            found = conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
        return [name for (name,) in found]

    def create_key(self, name: str) -> tuple[KeyInfo, str]:
        name = check_key_name(name)
        new = mint_key()
        info = KeyInfo(new.id, name, new.prefix, self._clock().astimezone(UTC))
        with self._transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO api_keys (id, name, prefix, secret_sha256, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (info.id, info.name, info.prefix, new.secret_sha256, _text(info.created_at)),
            )
        return info, new.secret

    def list_keys(self) -> list[KeyInfo]:
        with self._transaction(write=False) as conn:
            found = conn.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
            ).fetchall()
        return [_key_info(values) for values in found]

    def revoke_key(self, key_id: str) -> bool:
        with self._transaction(write=True) as conn:
            revoked = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (_text(self._clock()), key_id),
            ).rowcount
        return revoked == 1

    def verify_key(self, secret: str) -> KeyInfo | None:
        presented = hash_secret(secret)
        with self._transaction(write=False) as conn:
            found = conn.execute(
                f"SELECT {_KEY_COLUMNS}, secret_sha256 FROM api_keys"
                " WHERE secret_sha256 = ? AND revoked_at IS NULL",
                (presented,),
            ).fetchone()
        if found is None or not same_hash(found[-1], presented):
            return None
        return _key_info(found[:-1])

    def close(self) -> None:
        with self._lock:
            self._closed = True
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
