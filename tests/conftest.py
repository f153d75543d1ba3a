"""Shared fixtures: the real price book, a CLI runner that captures output and exit status, and
a fresh ledger database on each real backend (SQLite file, PostgreSQL schema).

PostgreSQL: LLMECON_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Each
test gets its own schema, dropped afterwards. When that variable is unset and no server answers,
the PostgreSQL half is skipped (and `-ra` says so); when it is set, an unreachable server fails.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from llmecon.cli import main
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.loader import load_pricebook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PG_URL = os.environ.get("LLMECON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="session")
def book() -> PriceBook:
    return load_pricebook()


@pytest.fixture
def llmecon() -> Callable[..., Run]:
    """Run `llmecon ARGS...` in-process; returns exit status, stdout and stderr."""

    def run(*args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            else:
                code = 0
        return Run(code, out.getvalue(), err.getvalue())

    return run


@dataclass(frozen=True)
class Backend:
    """A fresh, empty database: its URL and every byte or value stored in it."""

    kind: str
    url: str
    dump: Callable[[], bytes]


def _sqlite(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "ledger.db"

    def dump() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("ledger.db*")))

    yield Backend("sqlite", f"sqlite:///{path}", dump)


def postgres_schema() -> Iterator[Backend]:
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if "LLMECON_TEST_POSTGRES_URL" in os.environ:
            raise
        pytest.skip(f"no PostgreSQL at {PG_URL}: {error}")
    schema = f"test_ledger_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in PG_URL else "?"
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")

        def dump() -> bytes:
            tables = admin.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            text = [
                str(row[0])
                for (table,) in tables
                for row in admin.execute(f"SELECT t::text FROM {schema}.{table} AS t").fetchall()
            ]
            return "\n".join(text).encode()

        try:
            yield Backend("postgres", f"{PG_URL}{sep}options=-csearch_path%3D{schema}", dump)
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from _sqlite(tmp_path) if request.param == "sqlite" else postgres_schema()
