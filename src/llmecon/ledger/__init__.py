"""The gateway's cost ledger and API-key store, in SQLite or PostgreSQL.

    with open_ledger("sqlite:///ledger.db") as ledger:
        ledger.record([row])
        totals = ledger.usage("model")

URLs: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` (SQLAlchemy's convention),
`sqlite:///:memory:`, a plain file path, or `postgresql://USER@HOST:PORT/DB` (any libpq URL;
add `?options=-csearch_path%3DSCHEMA` to use a schema other than the default). Opening applies
the missing schema migrations.

Default location: `default_ledger_url()`, the file `$LLMECON_HOME/ledger.db`, or
`~/.local/share/llmecon/ledger.db` when LLMECON_HOME is unset.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from llmecon.errors import LlmeconError
from llmecon.ledger.keys import KeyInfo, KeyStore
from llmecon.ledger.model import (
    IDLE_GROUP,
    NO_KEY_GROUP,
    IdleRow,
    Metered,
    MeterReport,
    UsageBy,
    UsageRow,
    UsageTotals,
    to_nano,
    to_usd,
)
from llmecon.ledger.protocol import Ledger, LedgerUnavailableError
from llmecon.ledger.sqlite import SqliteLedger

if TYPE_CHECKING:  # for mypy to check that it meets `Ledger`
    from llmecon.ledger.postgres import PostgresLedger

__all__ = [
    "IDLE_GROUP",
    "NO_KEY_GROUP",
    "IdleRow",
    "KeyInfo",
    "KeyStore",
    "Ledger",
    "LedgerUnavailableError",
    "MeterReport",
    "Metered",
    "UsageBy",
    "UsageRow",
    "UsageTotals",
    "default_ledger_url",
    "open_ledger",
    "redact",
    "to_nano",
    "to_usd",
]

SQLITE_PREFIX = "sqlite:///"
URL_HELP = "use sqlite:///PATH.db or postgresql://USER@HOST:PORT/DATABASE"


def _sqlite_file(path: str, *, create: bool) -> Ledger:
    if not create and path != ":memory:" and not Path(path).expanduser().is_file():
        raise LlmeconError(
            f"no ledger at {path}: give the --ledger that `llmecon serve` writes to "
            "(default $LLMECON_HOME/ledger.db or ~/.local/share/llmecon/ledger.db)"
        )
    return SqliteLedger(path)


def _open_sqlite(url: str, *, create: bool = True) -> Ledger:
    path = url.removeprefix(SQLITE_PREFIX) if url.startswith(SQLITE_PREFIX) else ""
    if not path:
        raise LlmeconError(f"ledger URL {url!r} names no file: {URL_HELP}")
    return _sqlite_file(path, create=create)


def _open_postgres(url: str, *, create: bool = True) -> Ledger:
    # imported on use, so SQLite users need no PostgreSQL driver
    backend = importlib.import_module("llmecon.ledger.postgres")
    ledger: PostgresLedger = backend.PostgresLedger(url)
    return ledger


# URL scheme -> how to open it
_BACKENDS: Mapping[str, Callable[..., Ledger]] = MappingProxyType(
    {"sqlite": _open_sqlite, "postgresql": _open_postgres, "postgres": _open_postgres}
)


def redact(url: str) -> str:
    """`url` without its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def open_ledger(url: str, *, create: bool = True) -> Ledger:
    """Open (creating and migrating if needed) the ledger at `url`; see the module's doc.

    With `create=False` a SQLite file that does not exist is an error, not a new empty ledger
    (for commands that read one: a mistyped path must not report zero)."""
    if "://" not in url:
        if not url.strip():
            raise LlmeconError(f"the ledger URL is empty: {URL_HELP}")
        return _sqlite_file(url, create=create)
    scheme = url.split("://", 1)[0].lower()
    opener = _BACKENDS.get(scheme)
    if opener is None:
        raise LlmeconError(f"unknown ledger URL scheme in {redact(url)!r}: {URL_HELP}")
    return opener(url, create=create)


def default_ledger_url(env: Mapping[str, str] | None = None) -> str:
    """`sqlite:///` + `$LLMECON_HOME/ledger.db` (default `~/.local/share/llmecon/ledger.db`);
    creates the folder."""
    env = os.environ if env is None else env
    home = env.get("LLMECON_HOME")
    folder = Path(home) if home else Path.home() / ".local" / "share" / "llmecon"
    folder = folder.expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return SQLITE_PREFIX + str(folder / "ledger.db")
