"""Ledger write rate on PostgreSQL: the writer's path before issue 18's volume work and now,
interleaved in one run (the machine is shared: compare the ratio).

- old: the m006 schema (one unpartitioned usage table, roll-ups written only by prune) and the
  writer as it was: per batch, `INSERT INTO usage ... SELECT FROM unnest(column arrays)
  ON CONFLICT (request_id) DO NOTHING RETURNING request_id`, then the prices the same way;
- new: `Ledger.record` today: day partitions ensured, the batch COPYed into a staging table,
  inserted from there (`ON CONFLICT DO NOTHING`), prices COPYed, hourly roll-ups upserted, all
  in one transaction.

Each round writes `--batch`-row batches (the gateway's writer takes up to 5,000 queued rows a
batch) of generated requests (20 keys, 5 models, 2 upstreams, 2 compared APIs, spread over two
days) through each path in turn, old and new alternating; rows/s = rows / seconds spent in the
calls. Both schemas live in fresh schemas of the given database, dropped at the end.

Run:  .venv/bin/python benchmarks/ledger_ingest.py --postgres postgresql://postgres@127.0.0.1/test
      [--rows 200000] [--batch 5000] [--rounds 4] [--json out/ledger_ingest.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from llmecon.ledger import UsageRow, open_ledger
from llmecon.ledger.migrations import MIGRATIONS, POSTGRES_BOOKKEEPING
from llmecon.ledger.model import USAGE_COLUMNS, usage_values

MODELS = ("llama-3.1-8b", "qwen-2.5-7b", "mistral-7b", "gemma-2-9b", "phi-3-mini")
APIS = ("gpt-4o-mini", "claude-haiku-4-5")
START = datetime(2026, 11, 29, 12, tzinfo=UTC)
COLUMNS = ", ".join(USAGE_COLUMNS)


@contextlib.contextmanager
def schemas(admin_url: str, count: int) -> Iterator[list[str]]:
    names = [f"ingest_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    sep = "&" if "?" in admin_url else "?"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names:
            admin.execute(f"CREATE SCHEMA {name}")
        try:
            yield [f"{admin_url}{sep}options=-csearch_path%3D{name}" for name in names]
        finally:
            for name in names:
                admin.execute(f"DROP SCHEMA {name} CASCADE")


def generated(n: int) -> UsageRow:
    at = START + timedelta(seconds=n * 172_800 / 1_000_000)
    return UsageRow(
        request_id=uuid.uuid4().hex, started_at=at, finished_at=at + timedelta(seconds=1),
        key_id=f"key{n % 20}", model=MODELS[n % 5], upstream=("gpu-a", "gpu-b")[n % 2],
        endpoint="chat", stream=n % 3 == 0, status=200, outcome="ok",
        prompt_tokens=100 + n % 900, completion_tokens=10 + n % 200, token_source="upstream",
        ttft_ms=50.0, latency_ms=900.0, self_hosted_nusd=None if n % 4 else 1000 + n % 5000,
        counterfactual_nusd=dict.fromkeys(APIS, 3000 + n % 9000), price_book="bench",
    )  # fmt: skip


class OldWriter:
    """The m006 schema and the batch insert the ledger used before (multi-row INSERT from
    arrays, one transaction per batch)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("SET TIME ZONE 'UTC'")
        with self.conn.transaction():
            self.conn.execute(POSTGRES_BOOKKEEPING)
            for migration in MIGRATIONS[:6]:
                for statement in migration.postgres:
                    self.conn.execute(statement)
        found = self.conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = to_regclass('usage') AND attnum > 0 AND NOT attisdropped"
        ).fetchall()
        types = {str(name): str(kind) for name, kind in found}
        arrays = ", ".join(f"%s::{types[name]}[]" for name in USAGE_COLUMNS)
        self.sql = (
            f"INSERT INTO usage ({COLUMNS}) SELECT * FROM unnest({arrays})"
            " ON CONFLICT (request_id) DO NOTHING RETURNING request_id"
        )

    def record(self, rows: Sequence[UsageRow]) -> None:
        with self.conn.transaction():
            values = [usage_values(row) for row in rows]
            columns = [list(column) for column in zip(*values, strict=True)]
            inserted = {rid for (rid,) in self.conn.execute(self.sql, columns).fetchall()}
            costs = [
                (row.request_id, api, nusd)
                for row in rows
                if row.request_id in inserted
                for api, nusd in row.counterfactual_nusd.items()
            ]
            self.conn.execute(
                "INSERT INTO counterfactual_cost (request_id, api, nusd)"
                " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])",
                [list(column) for column in zip(*costs, strict=True)],
            )

    def close(self) -> None:
        self.conn.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--postgres", required=True, metavar="URL")
    p.add_argument("--rows", type=int, default=200_000, help="rows per path, all rounds")
    p.add_argument("--batch", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    per_round = args.rows // args.rounds
    seconds = {"old": 0.0, "new": 0.0}
    rounds: list[dict[str, float]] = []
    with schemas(args.postgres, 2) as (old_url, new_url):
        old, new = OldWriter(old_url), open_ledger(new_url)
        paths: dict[str, Any] = {"old": old, "new": new}
        n = 0
        for index in range(args.rounds):
            made = {name: [generated(n + i) for i in range(per_round)] for name in seconds}
            n += per_round
            rates: dict[str, float] = {}
            for name in ("old", "new") if index % 2 == 0 else ("new", "old"):
                began = time.perf_counter()
                for lo in range(0, per_round, args.batch):
                    paths[name].record(made[name][lo : lo + args.batch])
                took = time.perf_counter() - began
                seconds[name] += took
                rates[name] = per_round / took
            rounds.append(rates)
            print(f"round {index + 1}: old {rates['old']:,.0f} rows/s, "
                  f"new {rates['new']:,.0f} rows/s", flush=True)  # fmt: skip
        written = new.usage("model")
        assert sum(t.requests for t in written) == per_round * args.rounds  # exactly once
        old.close()
        new.close()
    facts = {
        "rows_per_path": per_round * args.rounds,
        "batch": args.batch,
        "rounds": rounds,
        "old_rows_per_s": per_round * args.rounds / seconds["old"],
        "new_rows_per_s": per_round * args.rounds / seconds["new"],
    }
    facts["ratio_new_to_old"] = facts["new_rows_per_s"] / facts["old_rows_per_s"]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(facts, indent=2))
    print(json.dumps(facts, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
