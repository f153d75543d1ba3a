"""Soak: does the gateway's memory stay flat over a million requests? (issue 18)

One run starts `llmecon mock-server --ttft-ms 0 --itl-ms 0`, creates a key with limits and
budgets that are checked on every request but never reached, starts `llmecon serve` (its
in-memory limiter, a ledger on SQLite or PostgreSQL, a counterfactual price), and sends
`--requests` chat completions at `--concurrency`, alternately streamed and not. The gateway's
resident memory (VmRSS, summed over its process group) is sampled every `--sample-s` seconds
(30 by default), then again after `--idle-s` seconds without traffic.

Figures: the RSS once warm (after `--warmup` requests), the RSS at the end, its growth over the
measured requests (goal < 5 %), and the RSS after idle relative to the warm figure (goal:
within 5 %). Ledger rows written are checked against requests answered.

Run:   .venv/bin/python benchmarks/soak.py [--requests 1000000] [--concurrency 16]
       [--postgres postgresql://postgres@127.0.0.1:5432/test] [--json out/soak.json]
With --postgres the ledger lives in a fresh schema `soak_<hex>` (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
LIMITS = ["--rpm", "1000000000", "--tpm", "1000000000", "--budget-day", "100000",
          "--budget-month", "1000000"]  # fmt: skip


@dataclass
class Sample:
    at_s: float
    requests: int
    rss_mb: float
    queue: int | None = None  # rows waiting for the ledger writer (a backlog is memory too)


@dataclass
class Result:
    ledger: str
    requests: int
    concurrency: int
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)  # "HTTP 503", "ReadError", ...
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    warm_mb: float = 0.0
    end_mb: float = 0.0
    idle_mb: float = 0.0
    rows: int | None = None

    def note(self, failed: str | None) -> None:
        """Count a failed request by what went wrong (None: it was answered)."""
        if failed is not None:
            self.errors += 1
            self.error_kinds[failed] = self.error_kinds.get(failed, 0) + 1

    @property
    def growth(self) -> float:
        return self.end_mb / self.warm_mb - 1 if self.warm_mb else 0.0

    @property
    def after_idle(self) -> float:
        return self.idle_mb / self.warm_mb - 1 if self.warm_mb else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pgid: int) -> float:
    """VmRSS of every process in the group `pgid`, in MB."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout} s")


@contextlib.contextmanager
def postgres_schema(admin_url: str | None) -> Iterator[str | None]:
    """A fresh schema's URL (dropped afterwards), or None without --postgres."""
    if admin_url is None:
        yield None
        return
    import psycopg

    schema = f"soak_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            sep = "&" if "?" in admin_url else "?"
            yield f"{admin_url}{sep}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


async def drive(base: str, key: str, args: argparse.Namespace, pgid: int, result: Result) -> None:
    """Send the requests; sample RSS every --sample-s seconds and once warm."""
    sent = 0
    started = time.monotonic()
    next_sample = started
    body: dict[str, Any] = {
        "model": "mock",
        "messages": [{"role": "user", "content": "hello " * args.input_words}],
        "max_tokens": args.output_tokens,
    }
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )

    async def one(client: httpx.AsyncClient, stream: bool) -> str | None:
        """None if the request was answered, else what went wrong."""
        payload = {**body, "stream": stream}
        if stream:
            payload["stream_options"] = {"include_usage": True}
            async with client.stream("POST", f"{base}/chat/completions", json=payload) as r:
                async for _ in r.aiter_bytes():
                    pass
                return None if r.status_code == 200 else f"HTTP {r.status_code}"
        r = await client.post(f"{base}/chat/completions", json=payload)
        if r.status_code != 200:
            return f"HTTP {r.status_code}"
        return None if r.json().get("choices") else "no choices"

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent, next_sample
        while sent < args.requests:
            n = sent
            sent += 1
            try:
                failed = await one(client, n % 2 == 0)
            except httpx.HTTPError as error:
                failed = type(error).__name__
            result.note(failed)
            if n + 1 == args.warmup:
                result.warm_mb = rss_mb(pgid)
                result.samples.append(Sample(time.monotonic() - started, n + 1, result.warm_mb))
            now = time.monotonic()
            if now >= next_sample:
                next_sample = now + args.sample_s
                queue = await ledger_queue(client, base)
                result.samples.append(Sample(now - started, n + 1, rss_mb(pgid), queue))
                print(f"  {now - started:7.0f} s {n + 1:>9,} requests  RSS "
                      f"{result.samples[-1].rss_mb:6.1f} MB  ledger queue {queue}",
                      flush=True)  # fmt: skip

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(args.concurrency)))
    result.seconds = time.monotonic() - started
    result.end_mb = rss_mb(pgid)
    result.samples.append(Sample(result.seconds, sent, result.end_mb))


async def ledger_queue(client: httpx.AsyncClient, base: str) -> int | None:
    """The gateway's llmecon_ledger_queue gauge (None if /metrics does not answer)."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        for line in (await client.get(f"{base.removesuffix('/v1')}/metrics")).text.splitlines():
            if line.startswith("llmecon_ledger_queue "):
                return int(line.split()[1])
    return None


def count_rows(ledger: str) -> int | None:
    if ledger.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(ledger.removeprefix("sqlite:///"))) as db:
            return int(db.execute("SELECT count(*) FROM usage").fetchone()[0])
    import psycopg

    with psycopg.connect(ledger) as db:
        row = db.execute("SELECT count(*) FROM usage").fetchone()
        return int(row[0]) if row else None


def soak(args: argparse.Namespace, workdir: Path, ledger: str) -> Result:
    llmecon = str(BIN / "llmecon")
    mock_port, port = free_port(), free_port()
    mock = start([llmecon, "mock-server", "--ttft-ms", "0", "--itl-ms", "0", "--model", "mock",
                  "--output-tokens", str(args.output_tokens), "--port", str(mock_port)],
                 workdir / "mock.log")  # fmt: skip
    gateway = None
    try:
        wait_ready(f"http://127.0.0.1:{mock_port}/healthz", mock)
        create = [llmecon, "keys", "create", "soak", "--ledger", ledger, *LIMITS]
        key = subprocess.run(create, capture_output=True, text=True, check=True).stdout.split()[0]
        gateway = start([llmecon, "serve", "--no-embedded", "--port", str(port),
                         "--upstream", f"mock=http://127.0.0.1:{mock_port}/v1",
                         "--ledger", ledger, "--journal", str(workdir / "journal.jsonl"),
                         "--compare-with", "gpt-4o-mini", "--log-level", "warning",
                         "--interval", str(args.interval)],
                        workdir / "gateway.log")  # fmt: skip
        wait_ready(f"http://127.0.0.1:{port}/healthz", gateway)
        kind = "postgresql" if ledger.startswith("postgresql") else "sqlite"
        result = Result(kind, args.requests, args.concurrency)
        base = f"http://127.0.0.1:{port}/v1"
        asyncio.run(drive(base, key, args, gateway.pid, result))
        print(f"  idle {args.idle_s:.0f} s ...", flush=True)
        time.sleep(args.idle_s)
        result.idle_mb = rss_mb(gateway.pid)
        result.samples.append(Sample(result.seconds + args.idle_s, args.requests, result.idle_mb))
        stop(gateway)
        gateway = None
        result.rows = count_rows(ledger)
        return result
    finally:
        for process in (gateway, mock):
            if process is not None:
                stop(process)


def report(result: Result) -> str:
    rate = result.requests / result.seconds if result.seconds else 0
    return "\n".join([
        "| ledger | requests | req/s | errors | RSS warm | RSS end | growth | after idle | rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result.ledger} | {result.requests:,} | {rate:,.0f} | {result.errors} "
        f"| {result.warm_mb:.1f} MB | {result.end_mb:.1f} MB | {result.growth:+.1%} "
        f"| {result.after_idle:+.1%} | {result.rows} |",
        *([f"errors: {result.error_kinds}"] if result.error_kinds else []),
    ])  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--interval", type=float, default=5.0,
                   help="serve's cost slot, s: the meter holds the current slot's requests, "
                   "so the warm-up must span slots for growth to mean a leak")  # fmt: skip
    p.add_argument("--warmup", type=int, default=0, help="requests before the warm RSS "
                   "(default: 10%% of --requests, at most 50,000)")  # fmt: skip
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--sample-s", type=float, default=30.0)
    p.add_argument("--idle-s", type=float, default=60.0)
    p.add_argument("--input-words", type=int, default=20)
    p.add_argument("--output-tokens", type=int, default=16)
    p.add_argument("--postgres", metavar="URL", help="ledger on PostgreSQL (a fresh schema)")
    p.add_argument("--json", type=Path, help="write the samples and figures here")
    args = p.parse_args(argv)
    args.warmup = args.warmup or min(50_000, max(1, args.requests // 10))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="llmecon-soak-") as tmp:
        workdir = Path(tmp)
        with postgres_schema(args.postgres) as pg_url:
            ledger = pg_url or f"sqlite:///{workdir / 'ledger.db'}"
            result = soak(args, workdir, ledger)
    print(report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        facts = {**asdict(result), "growth": result.growth, "after_idle": result.after_idle}
        args.json.write_text(json.dumps(facts, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
