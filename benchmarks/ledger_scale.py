"""The ledger at fleet volume on PostgreSQL: N generated rows, then `usage`, `stats`, `prune`.

One run, in a fresh schema `scale_<hex>` of the given database (dropped at the end unless
--keep):

1. the ledger's tables (all migrations: usage and counterfactual_cost partitioned by day),
   then `--rows` requests over `--days` days ending 2026-11-30 generated server-side
   (`INSERT ... SELECT generate_series`, a day at a time, straight into the day partitions;
   20 keys, 5 models, 2 upstreams, 2 compared APIs, 1 row in 50 still unallocated), and the
   hourly roll-ups computed once from them (what the writer keeps up as rows land), ANALYZE;
2. `llmecon usage --by model --format json` (the command line, `python -m llmecon`, in a
   new process: start-up included; also timed on the empty ledger before step 1, which is
   that start-up, and 7 times each against this ledger and an empty one, alternating, at the
   end: medians that a busy machine slows alike) and `Ledger.usage("model")` in process
   (best of 3), answered from the roll-ups; with --raw also the same total summed over the
   raw rows (`source="raw"`: what `usage` did before), and the two answers compared;
3. `llmecon ledger stats`, then `llmecon ledger prune --older-than AGE` (whole days dropped as
   partitions), then `usage` again (it must answer the same).

The write rate is `benchmarks/ledger_ingest.py`.

Run:  .venv/bin/python benchmarks/ledger_scale.py --postgres postgresql://postgres@127.0.0.1/db
      [--rows 1000000] [--days 120] [--older-than 30d] [--raw] [--json out/ledger_scale.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from llmecon.ledger import open_ledger
from llmecon.ledger.rollup import backfill, daily_backfill

END = datetime(2026, 11, 30, tzinfo=UTC)
LLMECON = [sys.executable, "-m", "llmecon"]

BULK_USAGE = """
INSERT INTO usage (request_id, started_at, finished_at, key_id, model, upstream, endpoint,
    stream, status, outcome, prompt_tokens, completion_tokens, token_source, ttft_ms,
    latency_ms, self_hosted_nusd, price_book)
SELECT 'b' || n, ts, ts + interval '1 second', 'key' || (n %% %(keys)s),
    (ARRAY['llama-3.1-8b','qwen-2.5-7b','mistral-7b','gemma-2-9b','phi-3-mini'])
        [1 + (n / %(keys)s) %% 5],
    CASE WHEN (n / (5 * %(keys)s)) %% 2 = 0 THEN 'gpu-a' ELSE 'gpu-b' END, 'chat',
    n %% 3 = 0, 200, 'ok',
    100 + n %% 900, 10 + n %% 200, 'upstream', 50.0, 900.0,
    CASE WHEN n %% 50 = 0 THEN NULL ELSE 1000 + n %% 5000 END, 'bench'
FROM (SELECT n, %(end)s::timestamptz - (n * %(step_us)s) * interval '1 microsecond' AS ts
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n) AS g
"""
BULK_COST = """
INSERT INTO counterfactual_cost (request_id, api, nusd, started_at)
SELECT 'b' || n, api, CASE WHEN n %% 97 = 0 AND api = 'claude-haiku-4-5' THEN NULL
    ELSE 3000 + n %% 9000 END,
    %(end)s::timestamptz - (n * %(step_us)s) * interval '1 microsecond'
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


def generate(
    url: str, rows: int, days: float, *, keys: int = 20, analyze: bool = True
) -> dict[str, float]:
    """`rows` requests over `days` days ending at END, a day at a time (n = 1 is the newest),
    then the roll-ups from them, a day at a time; seconds per stage."""
    step_us = int(days * 86_400e6 / rows)
    per_day = int(86_400e6 // step_us)
    took: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("SET TIME ZONE 'UTC'")
        first = (END - timedelta(days=days)).date()
        every = [first + timedelta(days=d) for d in range(int(days) + 2)]
        conn.execute("SELECT llmecon_day_partitions(%s::date[])", (every,))
        began = time.perf_counter()
        for lo in range(1, rows + 1, per_day):
            params = {"lo": lo, "hi": min(rows, lo + per_day - 1), "end": END,
                      "step_us": step_us, "keys": keys}  # fmt: skip
            conn.execute(BULK_USAGE, params)
            conn.execute(BULK_COST, params)
            if (lo // per_day) % 10 == 0:
                print(f"  generated {params['hi']:,} rows", flush=True)
        took["generate_s"] = time.perf_counter() - began
        began = time.perf_counter()
        for day in every:
            lo_t, hi_t = f"'{day} 00:00+00'", f"'{day + timedelta(days=1)} 00:00+00'"
            window = f"u.started_at >= {lo_t} AND u.started_at < {hi_t}"
            cost_window = f"{window} AND c.started_at >= {lo_t} AND c.started_at < {hi_t}"
            hour = "date_trunc('hour', u.started_at)"
            conn.execute(backfill(hour, window)[0])
            conn.execute(backfill(hour, cost_window)[1])
        for statement in daily_backfill("date_trunc('day', {})"):
            conn.execute(statement)
        took["rollups_s"] = time.perf_counter() - began
        if analyze:
            began = time.perf_counter()
            conn.execute("VACUUM ANALYZE")
            took["vacuum_analyze_s"] = time.perf_counter() - began
    return took


def best_of(call: Callable[[], Any], times: int = 3) -> float:
    found = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        found.append(time.perf_counter() - began)
    return min(found)


def cli(*args: str) -> tuple[float, str]:
    """Run the installed `llmecon` with `args`; (seconds, stdout)."""
    began = time.perf_counter()
    done = subprocess.run([*LLMECON, *args], capture_output=True, text=True, check=True)
    return time.perf_counter() - began, done.stdout


def against_empty(admin_url: str, url: str, runs: int = 7) -> dict[str, Any]:
    """`llmecon usage --by model` on this ledger and on an empty one, alternating, so that a
    busy machine slows both alike: medians and ranges (the difference is what the rows cost)."""
    full: list[float] = []
    empty: list[float] = []
    with schema(admin_url, keep=False) as blank:
        open_ledger(blank).close()
        for n in range(runs):
            for target, found in ((url, full), (blank, empty))[:: 1 if n % 2 else -1]:
                took, _ = cli("usage", "--by", "model", "--format", "json", "--ledger", target)
                found.append(took)
    return {
        "usage_cli_interleaved_s": sorted(full),
        "usage_cli_empty_interleaved_s": sorted(empty),
        "usage_cli_median_s": statistics.median(full),
        "usage_cli_empty_median_s": statistics.median(empty),
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--postgres", required=True, metavar="URL")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--days", type=float, default=120.0)
    p.add_argument("--keys", type=int, default=20, help="API keys (x 5 models x 2 upstreams)")
    p.add_argument("--older-than", default="30d", help="the prune's age (from now)")
    p.add_argument("--raw", action="store_true", help="also time the raw-row aggregation")
    p.add_argument("--keep", action="store_true", help="keep the schema")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    facts: dict[str, Any] = {"rows": args.rows, "days": args.days, "keys": args.keys}
    with schema(args.postgres, args.keep) as url:
        open_ledger(url).close()  # the tables
        # the command's own start-up (interpreter, imports, connection), on the empty ledger
        facts["usage_cli_empty_s"] = min(
            cli("usage", "--by", "model", "--format", "json", "--ledger", url)[0] for _ in range(3)
        )
        facts |= generate(url, args.rows, args.days, keys=args.keys)
        print(f"generated: {facts}", flush=True)
        with open_ledger(url, create=False) as ledger:
            answer = ledger.usage("model")
            assert sum(t.requests for t in answer) == args.rows
            facts["usage_in_process_s"] = best_of(lambda: ledger.usage("model"))
            if args.raw:
                began = time.perf_counter()
                raw = ledger.usage("model", source="raw")
                facts["usage_raw_in_process_s"] = time.perf_counter() - began
                facts["rollups_equal_raw"] = raw == answer
        facts["usage_cli_s"], before = min(
            (cli("usage", "--by", "model", "--format", "json", "--ledger", url) for _ in range(3)),
            key=lambda found: found[0],
        )
        facts |= against_empty(args.postgres, url)
        facts["stats_cli_s"], stats = cli("ledger", "stats", "--json", "--ledger", url)
        facts["stats"] = json.loads(stats)
        facts["prune_cli_s"], said = cli("ledger", "prune", "--older-than", args.older_than,
                                         "--ledger", url)  # fmt: skip
        facts["prune_said"] = said.strip()
        facts["usage_after_prune_cli_s"], after = cli(
            "usage", "--by", "model", "--format", "json", "--ledger", url
        )
        facts["usage_unchanged_by_prune"] = json.loads(after)["rows"] == json.loads(before)["rows"]
        print(json.dumps({k: v for k, v in facts.items() if k != "stats"}, indent=2), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(facts, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
