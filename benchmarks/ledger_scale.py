"""Ledger at fleet volume on PostgreSQL: write rate, `usage --by model` over N rows, prune.

One run, in a fresh schema `scale_<hex>` (dropped at the end unless --keep):

1. write rate: `--write-rows` generated requests (20 keys, 5 models, 2 upstreams, 2 compared
   APIs) through `Ledger.record` in batches of `--batch` (the gateway's writer path: multi-row
   INSERTs), rows/s;
2. bulk load: the ledger grows to `--rows` rows over `--days` days with server-side
   `INSERT ... SELECT generate_series` (how to get 100 million rows in minutes; not the write
   path), then ANALYZE;
3. `Ledger.usage("model")` over everything and over the last day, timed (best of 3);
4. `Ledger.prune` of all but the last `--keep-days` days into hourly roll-ups, timed, and the
   same `usage` queries again (now mostly answered from roll-ups).

Run:  .venv/bin/python benchmarks/ledger_scale.py --postgres postgresql://postgres@127.0.0.1/test
      [--rows 1000000] [--write-rows 100000] [--json out/ledger_scale.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from llmecon.ledger import UsageRow, open_ledger

MODELS = ("llama-3.1-8b", "qwen-2.5-7b", "mistral-7b", "gemma-2-9b", "phi-3-mini")
APIS = ("gpt-4o-mini", "claude-haiku-4-5")
END = datetime(2026, 11, 30, tzinfo=UTC)

BULK_USAGE = """
INSERT INTO usage (request_id, started_at, finished_at, key_id, model, upstream, endpoint,
    stream, status, outcome, prompt_tokens, completion_tokens, token_source, ttft_ms,
    latency_ms, self_hosted_nusd, price_book)
SELECT 'b' || n, ts, ts + interval '1 second', 'key' || (n %% 20),
    (ARRAY['llama-3.1-8b','qwen-2.5-7b','mistral-7b','gemma-2-9b','phi-3-mini'])[1 + n %% 5],
    CASE WHEN n %% 2 = 0 THEN 'gpu-a' ELSE 'gpu-b' END, 'chat', n %% 3 = 0, 200, 'ok',
    100 + n %% 900, 10 + n %% 200, 'upstream', 50.0, 900.0, 1000 + n %% 5000, 'bench'
FROM (SELECT n, %(end)s::timestamptz - (n * %(step_us)s) * interval '1 microsecond' AS ts
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n) AS g
"""
BULK_COST = """
INSERT INTO counterfactual_cost (request_id, api, nusd)
SELECT 'b' || n, api, 3000 + n %% 9000
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n,
     unnest(ARRAY['gpt-4o-mini','claude-haiku-4-5']) AS api
"""


@contextlib.contextmanager
def schema(admin_url: str, keep: bool) -> Iterator[str]:
    name = f"scale_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
        try:
            sep = "&" if "?" in admin_url else "?"
            yield f"{admin_url}{sep}options=-csearch_path%3D{name}"
        finally:
            if keep:
                print(f"kept schema {name}")
            else:
                admin.execute(f"DROP SCHEMA {name} CASCADE")


def generated(n: int, start: datetime) -> UsageRow:
    at = start + timedelta(milliseconds=n)
    return UsageRow(
        request_id=uuid.uuid4().hex, started_at=at, finished_at=at + timedelta(seconds=1),
        key_id=f"key{n % 20}", model=MODELS[n % 5], upstream=("gpu-a", "gpu-b")[n % 2],
        endpoint="chat", stream=n % 3 == 0, status=200, outcome="ok",
        prompt_tokens=100 + n % 900, completion_tokens=10 + n % 200, token_source="upstream",
        ttft_ms=50.0, latency_ms=900.0, self_hosted_nusd=1000 + n % 5000,
        counterfactual_nusd=dict.fromkeys(APIS, 3000 + n % 9000), price_book="bench",
    )  # fmt: skip


def write_rate(url: str, rows: int, batch: int) -> dict[str, float]:
    start = END - timedelta(days=1)
    made = [generated(n, start) for n in range(rows)]
    with open_ledger(url) as ledger:
        began = time.perf_counter()
        for lo in range(0, rows, batch):
            ledger.record(made[lo : lo + batch])
        seconds = time.perf_counter() - began
    return {"rows": rows, "batch": batch, "seconds": seconds, "rows_per_s": rows / seconds}


def bulk_load(url: str, rows: int, days: float, chunk: int = 5_000_000) -> float:
    step_us = int(days * 86_400e6 / rows)
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        for lo in range(1, rows + 1, chunk):
            hi = min(rows, lo + chunk - 1)
            params = {"lo": lo, "hi": hi, "end": END, "step_us": step_us}
            conn.execute(BULK_USAGE, params)
            conn.execute(BULK_COST, params)
            print(f"  loaded {hi:,} rows", flush=True)
        conn.execute("ANALYZE")
    return time.perf_counter() - began


def best_of(call: Callable[[], Any], times: int = 3) -> float:
    found = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        found.append(time.perf_counter() - began)
    return min(found)


def queries(url: str) -> dict[str, float]:
    with open_ledger(url, create=False) as ledger:
        day = END - timedelta(days=1)
        return {
            "usage_by_model_all_s": best_of(lambda: ledger.usage("model")),
            "usage_by_model_last_day_s": best_of(lambda: ledger.usage("model", day, END)),
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--postgres", required=True, metavar="URL")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--days", type=float, default=120.0)
    p.add_argument("--keep-days", type=float, default=7.0)
    p.add_argument("--write-rows", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--keep", action="store_true", help="keep the schema")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    facts: dict[str, Any] = {"rows": args.rows, "days": args.days}
    with schema(args.postgres, args.keep) as url:
        open_ledger(url).close()  # the tables
        facts["write"] = write_rate(url, args.write_rows, args.batch)
        print(f"write: {facts['write']['rows_per_s']:,.0f} rows/s "
              f"(batches of {args.batch})", flush=True)  # fmt: skip
        facts["bulk_load_s"] = bulk_load(url, args.rows, args.days)
        facts["raw"] = queries(url)
        print(f"raw rows: {facts['raw']}", flush=True)
        with open_ledger(url, create=False) as ledger:
            began = time.perf_counter()
            pruned = ledger.prune(END - timedelta(days=args.keep_days))
            facts["prune_s"] = time.perf_counter() - began
            facts["pruned_rows"] = pruned.rows
        facts["after_prune"] = queries(url)
        print(f"prune: {pruned.rows:,} rows in {facts['prune_s']:.1f} s; "
              f"after: {facts['after_prune']}", flush=True)  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(facts, indent=2))
    print(json.dumps(facts, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
