"""`llmecon serve --workers N` on the whole machine, and the gateway's added latency.

Two measurements, each interleaved (ABBA...) so that a noisy neighbour hits every target alike:

- throughput (default): one zero-latency `llmecon mock-server`, the load generator
  (`llmecon bench`, concurrency `--concurrency`, `--seconds` per run, streamed and not) and the
  gateway all unpinned on every core, as a user would run them. Targets: `llmecon serve
  --workers 1`, `--workers 2` (`--workers` changes the list) and, when benchmarks/.litellm-venv
  exists (bash benchmarks/setup_litellm.sh) and not `--no-litellm`, LiteLLM's proxy with as many
  workers as the most llmecon gets. llmecon runs with a key checked on every request and a
  SQLite ledger row per request (no limits, which with several workers need Redis; `--redis
  URL` adds --redis and never-reached limits to every llmecon target; `--postgres URL` puts
  every llmecon target's ledger and key in PostgreSQL: the fleet set-up, workers standing in
  for replicas that share one port, one PostgreSQL and one Redis). Each llmecon slot also
  checks that the ledger holds one row per answered request, and with --redis that a key
  limited to 50 requests/minute gets exactly 50 answers out of 200 concurrent requests.
- latency (`--latency`): the gateway pinned to core 0, the mock and the client to core 1; per
  slot a fresh direct baseline at concurrency 1 (`--requests` requests), then the gateway
  (`--workers` 1) the same way. Added latency = gateway - direct at p50 and p99, per slot;
  the table gives the median over slots and the range.

Run: .venv/bin/python benchmarks/gateway_workers.py [--rounds 3] [--json out/workers.json]
     .venv/bin/python benchmarks/gateway_workers.py --latency --slots 6
     (--src DIR measures that source tree; see gateway_overhead.py; with --latency,
     --baseline-src DIR measures a second tree in the same slots, order alternating, and
     --postgres URL the same gateway with its ledger (and key) in PostgreSQL, in a fresh
     schema dropped at the end: issue 18's "within 0.2 ms of SQLite")
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_overhead import (
    BIN,
    LIMITS,
    LITELLM_CONFIG,
    LITELLM_VENV,
    Process,
    free_port,
    ledger_rows,
    stop,
    wait_ready,
)
from soak import postgres_schema

MODES = (False, True)


@dataclass
class Result:
    target: str
    slot: int
    stream: bool
    concurrency: int
    rps: float
    completed: int
    errors: int
    p50_ms: float
    p99_ms: float
    ledger_ok: bool | None = None
    limit_exact: bool | None = None


def launch(
    name: str, argv: list[str], workdir: Path, cores: str | None, env: dict[str, str]
) -> Process:
    log = workdir / f"{name}.log"
    pin = ["taskset", "--cpu-list", cores] if cores else []
    with log.open("ab") as out:
        popen = subprocess.Popen([*pin, *argv], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env={**os.environ, **env},
                                 start_new_session=True)  # fmt: skip
    return Process(name, popen, log)


def src_env(args: argparse.Namespace) -> dict[str, str]:
    return {"PYTHONPATH": str(args.src.resolve())} if args.src else {}


def bench(args: argparse.Namespace, url: str, key: str | None, *, stream: bool,
          concurrency: int, amount: list[str], cores: str | None) -> dict[str, Any]:  # fmt: skip
    command = [str(BIN / "llmecon"), "bench", url, "--model", "mock", "--format", "json",
               "--concurrency", str(concurrency), "--stream" if stream else "--no-stream",
               "--input-tokens", "32", "--output-tokens", "16", "--ignore-eos", "off",
               "--timeout", "60", *amount]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "LLMECON_API_KEY"} | src_env(args)
    if key:
        env["LLMECON_API_KEY"] = key
    pin = ["taskset", "--cpu-list", cores] if cores else []
    out = subprocess.run([*pin, *command], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"llmecon bench {url} failed:\n{out.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(out.stdout)["runs"][0]["summary"]
    return summary


def result(target: str, slot: int, stream: bool, concurrency: int, s: dict[str, Any]) -> Result:
    e2e = s.get("e2e_ms") or {}
    return Result(target, slot, stream, concurrency, s["requests_per_second"], s["completed"],
                  sum(s["errors"].values()), float(e2e.get("p50", "nan")),
                  float(e2e.get("p99", "nan")))  # fmt: skip


def create_key(args: argparse.Namespace, ledger: str) -> str:
    limits = LIMITS if args.redis else []
    out = subprocess.run([str(BIN / "llmecon"), "keys", "create", "bench", "--ledger", ledger,
                          *limits], capture_output=True, text=True, check=True,
                         env={**os.environ, **src_env(args)})  # fmt: skip
    return out.stdout.split()[0]


def start_gateway(args: argparse.Namespace, target: str, mock_url: str, workdir: Path, *,
                  cores: str | None, src: Path | None = None, ledger_url: str | None = None
                  ) -> tuple[Process, str, Path | None]:  # fmt: skip
    kind, _, workers = target.partition("-w")
    workers = workers.split("-")[0]
    port = free_port()
    if kind == "litellm":
        config = workdir / "litellm.yaml"
        config.write_text(LITELLM_CONFIG.format(master_key=args.litellm_key))
        env = {"BENCH_MOCK_API_BASE": mock_url, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
               "LITELLM_LOG": "ERROR", "LITELLM_MODE": "PRODUCTION", "DISABLE_ADMIN_UI": "True",
               "NO_DOCS": "True"}  # fmt: skip
        argv = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host",
                "127.0.0.1", "--port", str(port), "--num_workers", workers]  # fmt: skip
        if workers != "1":
            # uvicorn's supervisor restarts a worker that misses a 5 s health check; on a busy
            # machine LiteLLM's workers (slow to start, their loops saturated under load) kept
            # being restarted mid-run, which measured the restarts, not LiteLLM
            argv += ["--timeout_worker_healthcheck", "120"]
        process = launch(target, argv, workdir, cores, env)
        try:
            wait_ready(process, f"http://127.0.0.1:{port}/health/liveliness", 300)
        except (RuntimeError, TimeoutError):
            stop(process)
            raise
        return process, f"http://127.0.0.1:{port}/v1", None
    ledger = workdir / "ledger.db"
    stores = ["--redis", args.redis, *LIMITS] if args.redis else []
    argv = [str(BIN / "llmecon"), "serve", "--no-embedded", "--upstream", f"mock={mock_url}",
            "--port", str(port), "--ledger", ledger_url or f"sqlite:///{ledger}", "--journal",
            str(workdir / "journal.jsonl"), "--compare-with", "gpt-4o-mini", *stores]  # fmt: skip
    if workers != "1":  # (a tree from before --workers has no such option)
        argv += ["--workers", workers]
    env = {"PYTHONPATH": str(src.resolve())} if src else src_env(args)
    process = launch(target, argv, workdir, cores, env)
    wait_ready(process, f"http://127.0.0.1:{port}/healthz")
    return process, f"http://127.0.0.1:{port}/v1", None if ledger_url else ledger


def throughput(args: argparse.Namespace, workdir: Path, mock_url: str, key: str) -> list[Result]:
    targets = [f"llmecon-w{n}" for n in args.workers]
    if not args.no_litellm and (LITELLM_VENV / "bin" / "litellm").exists():
        targets.append(f"litellm-w{max(args.workers)}")
    results = []
    for round_ in range(args.rounds):
        for target in targets if round_ % 2 == 0 else list(reversed(targets)):
            slot = round_ + 1
            print(f"round {slot}: {target}", file=sys.stderr, flush=True)
            try:
                process, url, ledger = start_gateway(args, target, mock_url, workdir, cores=None,
                                                     ledger_url=args.postgres)  # fmt: skip
            except (RuntimeError, TimeoutError) as error:  # e.g. LiteLLM's workers never ready
                print(f"{target} did not start: {error}", file=sys.stderr, flush=True)
                continue
            token = args.litellm_key if target.startswith("litellm") else key
            llmecon = not target.startswith("litellm")
            try:
                before = rows_in(args, ledger, llmecon)
                for stream in MODES:
                    bench(args, url, token, stream=stream, concurrency=8,
                          amount=["--requests", "300"], cores=None)  # fmt: skip
                warm = rows_in(args, ledger, llmecon)
                done = 0
                for stream in MODES:
                    s = bench(args, url, token, stream=stream, concurrency=args.concurrency,
                              amount=["--duration", str(args.seconds)], cores=None)  # fmt: skip
                    results.append(result(target, slot, stream, args.concurrency, s))
                    done += s["completed"]
                exact = exact_limit(args, url) if llmecon and args.redis else None
            finally:
                stop(process)
            if llmecon:
                results[-1].ledger_ok = results[-2].ledger_ok = (
                    rows_in(args, ledger, llmecon) - warm == done + (50 if exact else 0)
                    and warm >= before
                )
                results[-1].limit_exact = results[-2].limit_exact = exact
    return results


def rows_in(args: argparse.Namespace, ledger: Path | None, llmecon: bool) -> int:
    """Rows in the llmecon targets' ledger (PostgreSQL with --postgres, else the SQLite file)."""
    if not llmecon:
        return 0
    if not args.postgres:
        return ledger_rows(ledger)
    import psycopg

    with psycopg.connect(args.postgres) as conn:
        found = conn.execute("SELECT count(*) FROM usage").fetchone()
    return int(found[0]) if found else 0


def exact_limit(args: argparse.Namespace, url: str, limit: int = 50, burst: int = 200) -> bool:
    """A fresh key limited to `limit` requests/minute, `burst` concurrent requests over every
    worker: exactly `limit` answers and `burst - limit` 429s."""
    import asyncio

    import httpx

    ledger = args.postgres or f"sqlite:///{args.workdir / 'ledger.db'}"
    name = f"exact-{uuid.uuid4().hex[:8]}"
    out = subprocess.run([str(BIN / "llmecon"), "keys", "create", name, "--ledger", ledger,
                          "--rpm", str(limit)], capture_output=True, text=True, check=False,
                         env={**os.environ, **src_env(args)})  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"keys create failed: {out.stderr.strip()}")
    headers = {"Authorization": f"Bearer {out.stdout.split()[0]}"}
    body = {"model": "mock", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}

    async def all_at_once() -> list[int]:
        pool = httpx.Limits(max_connections=burst)
        async with httpx.AsyncClient(timeout=60, limits=pool) as client:
            calls = [client.post(f"{url}/chat/completions", json=body, headers=headers)
                     for _ in range(burst)]  # fmt: skip
            replies = await asyncio.gather(*calls)
        return [reply.status_code for reply in replies]

    statuses = asyncio.run(all_at_once())
    exact = statuses.count(200) == limit and statuses.count(429) == burst - limit
    print(f"  limit {limit}/min, {burst} at once: {statuses.count(200)} answered, "
          f"{statuses.count(429)} refused", file=sys.stderr, flush=True)  # fmt: skip
    return exact


def latency(args: argparse.Namespace, workdir: Path, mock_url: str, key: str) -> list[Result]:
    targets: list[tuple[str, Path | None, str | None, str]] = [("llmecon-w1", args.src, None, key)]
    if args.baseline_src:
        targets.append(("llmecon-w1-baseline", args.baseline_src, None, key))
    if args.postgres:
        pg_key = create_key(args, args.postgres)
        targets.append(("llmecon-w1-postgresql", args.src, args.postgres, pg_key))
    results = []
    for slot in range(1, args.slots + 1):
        print(f"latency slot {slot}", file=sys.stderr, flush=True)
        amount = ["--requests", str(args.requests)]
        for stream in MODES:
            s = bench(args, mock_url, None, stream=stream, concurrency=1, amount=amount,
                      cores="1")  # fmt: skip
            results.append(result("direct", slot, stream, 1, s))
        for target, src, ledger_url, token in targets if slot % 2 else targets[::-1]:
            process, url, _ = start_gateway(args, target, mock_url, workdir, cores="0", src=src,
                                            ledger_url=ledger_url)  # fmt: skip
            try:
                for stream in MODES:
                    bench(args, url, token, stream=stream, concurrency=8,
                          amount=["--requests", "300"], cores="1")  # fmt: skip
                for stream in MODES:
                    s = bench(args, url, token, stream=stream, concurrency=1, amount=amount,
                              cores="1")  # fmt: skip
                    results.append(result(target, slot, stream, 1, s))
            finally:
                stop(process)
    return results


def spread(values: list[float], digits: int = 2) -> str:
    if not values:
        return "-"
    return (f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}-"
            f"{max(values):,.{digits}f})")  # fmt: skip


def report_throughput(results: list[Result]) -> None:
    print("| target | streamed | req/s, median (range) | errors | ledger rows = answers "
          "| 50 of 200 exact |\n|---|---|--:|--:|---|---|")  # fmt: skip
    targets = sorted({r.target for r in results})
    for target in targets:
        for stream in MODES:
            runs = [r for r in results if r.target == target and r.stream == stream]
            checks = {r.ledger_ok for r in runs} - {None}
            ok = "-" if not checks else ("yes" if checks == {True} else "NO")
            limits = {r.limit_exact for r in runs} - {None}
            exact = "-" if not limits else ("yes" if limits == {True} else "NO")
            print(f"| {target} | {'yes' if stream else 'no'} | {spread([r.rps for r in runs], 0)} "
                  f"| {sum(r.errors for r in runs)} | {ok} | {exact} |")  # fmt: skip
    base = [t for t in targets if t.startswith("llmecon-w1")]
    for target in targets:
        if not base or target == base[0]:
            continue
        for stream in MODES:
            ratios = [r.rps / b.rps for r in results for b in results
                      if (r.target, r.stream) == (target, stream)
                      and (b.target, b.stream, b.slot) == (base[0], stream, r.slot)]  # fmt: skip
            print(f"- {target} / {base[0]} ({'streamed' if stream else 'not streamed'}), "
                  f"per round: {spread(ratios)}")  # fmt: skip


def report_latency(results: list[Result]) -> None:
    print("| gateway | streamed | added p50 ms, median (range) | added p99 ms, median (range) "
          "| slots |\n|---|---|--:|--:|--:|")  # fmt: skip
    for target, stream in sorted({(r.target, r.stream) for r in results if r.target != "direct"}):
        p50, p99 = [], []
        for r in results:
            if r.target != target or r.stream != stream:
                continue
            (d,) = [
                x for x in results if (x.target, x.stream, x.slot) == ("direct", stream, r.slot)
            ]
            p50.append(r.p50_ms - d.p50_ms)
            p99.append(r.p99_ms - d.p99_ms)
        print(f"| {target} | {'yes' if stream else 'no'} | {spread(p50)} | {spread(p99)} "
              f"| {len(p50)} |")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--latency", action="store_true", help="measure added latency instead")
    p.add_argument("--slots", type=int, default=6)
    p.add_argument("--requests", type=int, default=1000, help="per concurrency-1 run")
    p.add_argument("--redis", help="llmecon with --redis URL and never-reached limits")
    p.add_argument("--no-litellm", action="store_true")
    p.add_argument("--src", type=Path)
    p.add_argument("--baseline-src", type=Path, help="with --latency: also this tree, interleaved")
    p.add_argument("--postgres", metavar="URL", help="with --latency: also a PostgreSQL ledger")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    args.litellm_key = "sk-bench-workers"
    workdir = args.workdir = Path(tempfile.mkdtemp(prefix="llmecon-workers-"))
    port = free_port()
    argv = [str(BIN / "llmecon"), "mock-server", "--ttft-ms", "0", "--itl-ms", "0",
            "--output-tokens", "16", "--model", "mock", "--port", str(port)]  # fmt: skip
    mock = launch("mock", argv, workdir, "1" if args.latency else None, src_env(args))
    try:
        wait_ready(mock, f"http://127.0.0.1:{port}/healthz")
        mock_url = f"http://127.0.0.1:{port}/v1"
        run = latency if args.latency else throughput
        with postgres_schema(args.postgres) as schema_url:  # --postgres: a fresh schema
            args.postgres = schema_url
            fleet = args.postgres and not args.latency
            key = create_key(args, args.postgres if fleet else f"sqlite:///{workdir / 'ledger.db'}")
            results = run(args, workdir, mock_url, key)
    finally:
        stop(mock, grace=5)
    print(f"\n{os.cpu_count()} cores; load average before the end: {os.getloadavg()[0]:.1f}\n")
    (report_latency if args.latency else report_throughput)(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(f"(logs in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
