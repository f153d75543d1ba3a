"""Writing rows as a ledger of an older schema held them (for migration tests): plain INSERTs
of the row and its prices, as the writer did before m007, through the driver itself."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from llmecon.ledger import UsageRow, open_ledger
from llmecon.ledger.model import usage_values
from llmecon.ledger.sql import INSERT_COST, INSERT_USAGE


def legacy_insert(url: str, rows: Sequence[UsageRow], *statements: str) -> None:
    """Insert `rows` (and run `statements`, `?` marks, no parameters) without the ledger's
    writer: no roll-up, no partition."""
    with open_ledger(url) as ledger:
        to_db = ledger._to_db  # type: ignore[attr-defined]
    values = [
        tuple(to_db(v) if hasattr(v, "tzinfo") else v for v in usage_values(row)) for row in rows
    ]
    costs = [(r.request_id, api, n) for r in rows for api, n in r.counterfactual_nusd.items()]
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=False) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            with conn.cursor() as cursor:
                cursor.executemany(INSERT_USAGE.replace("?", "%s"), values)
                cursor.executemany(INSERT_COST.replace("?", "%s"), costs)
                for statement in statements:
                    cursor.execute(statement)
        return
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    with conn:
        conn.executemany(INSERT_USAGE, values)
        conn.executemany(INSERT_COST, costs)
        for statement in statements:
            conn.execute(statement)
    conn.close()
