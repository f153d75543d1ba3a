"""Instructions the gateway executes per request, counted by valgrind's callgrind.

Wall-clock latency on a shared machine measures the neighbours as much as the gateway; an
instruction count does not move with the load. This script starts one zero-latency `llmecon
mock-server`, then `llmecon serve` (one process, a key checked on every request, limits on but
never reached, a journaled SQLite ledger row per request, gpt-4o-mini as the compared API)
under `valgrind --tool=callgrind --instr-atstart=no`, sends warm-up requests, switches
collection on, sends `--requests` requests at concurrency 1 (streamed, then not), and dumps the
counters after each: instructions per request = the dumps' totals / requests. Everything the
gateway process runs counts, its ledger thread included (each thread is also shown apart: the
event loop first, then the ledger writer); the client and the mock do not. Under valgrind a
request takes ~50x longer, so work the gateway batches by time (the ledger writer gathers rows
for `LINGER_S`) is batched less than at full speed: the writer's figure is an upper bound.

`--src DIR` (repeatable) measures several source trees in the same run, one after the other
(e.g. `git archive <commit> src | tar -x -C /tmp/before` for a before/after pair), and
`--annotate N` prints the N functions with the most inclusive instructions per request from
each dump (callgrind_annotate).

Run: .venv/bin/python benchmarks/gateway_instructions.py [--requests 300] [--src DIR ...]
     [--no-limits] (about 2-4 minutes per tree: valgrind runs Python ~50x slower)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_overhead import BIN, LIMITS, Process, free_port, stop, wait_ready

MODES = (False, True)


def launch(name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> Process:
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env={**os.environ, **env},
                                 start_new_session=True)  # fmt: skip
    return Process(name, popen, log)


def bench(url: str, key: str, env: dict[str, str], *, stream: bool, requests: int) -> None:
    command = [str(BIN / "llmecon"), "bench", url, "--model", "mock", "--format", "json",
               "--concurrency", "1", "--stream" if stream else "--no-stream",
               "--input-tokens", "32", "--output-tokens", "16", "--ignore-eos", "off",
               "--timeout", "120", "--requests", str(requests)]  # fmt: skip
    out = subprocess.run(command, env={**os.environ, **env, "LLMECON_API_KEY": key},
                         capture_output=True, text=True, check=False)  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"llmecon bench {url} failed:\n{out.stderr[-2000:]}")


def total_instructions(dump: Path) -> int:
    """The dump's `totals:` line (its `summary:` reads 0 after `callgrind_control --zero`)."""
    for line in reversed(dump.read_text(errors="replace").splitlines()):
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


def measure(args: argparse.Namespace, src: Path | None, mock_url: str, workdir: Path
            ) -> dict[bool, tuple[list[int], Path]]:  # fmt: skip
    env = {"PYTHONPATH": str(src.resolve())} if src else {}
    tag = src.resolve().parent.name if src else "installed"
    ledger = f"sqlite:///{workdir / f'{tag}-ledger.db'}"
    limits = [] if args.no_limits else LIMITS
    made = subprocess.run([str(BIN / "llmecon"), "keys", "create", "bench", "--ledger", ledger,
                           *limits], capture_output=True, text=True, check=True,
                          env={**os.environ, **env})  # fmt: skip
    key = made.stdout.split()[0]
    port = free_port()
    out = workdir / f"{tag}.callgrind"
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            sys.executable, "-m", "llmecon", "serve", "--no-embedded", "--upstream",
            f"mock={mock_url}", "--port", str(port), "--ledger", ledger, "--journal",
            str(workdir / f"{tag}-journal.jsonl"), "--compare-with", "gpt-4o-mini"]  # fmt: skip
    gateway = launch(f"gateway-{tag}", argv, workdir, env)
    results: dict[bool, tuple[list[int], Path]] = {}
    try:
        wait_ready(gateway, f"http://127.0.0.1:{port}/healthz", timeout=600)
        url = f"http://127.0.0.1:{port}/v1"
        for stream in MODES:
            bench(url, key, env, stream=stream, requests=args.warmup)
        pid = str(gateway.popen.pid)
        for stream in MODES:
            subprocess.run(["callgrind_control", "--zero", pid], check=True, capture_output=True)
            subprocess.run(["callgrind_control", "--instr=on", pid], check=True,
                           capture_output=True)  # fmt: skip
            bench(url, key, env, stream=stream, requests=args.requests)
            time.sleep(0.5)  # the ledger thread writes the last rows
            subprocess.run(["callgrind_control", "--instr=off", pid], check=True,
                           capture_output=True)  # fmt: skip
            before = set(workdir.glob(f"{tag}.callgrind*"))
            subprocess.run(["callgrind_control", "--dump", pid], check=True, capture_output=True)
            dumps = sorted(set(workdir.glob(f"{tag}.callgrind*")) - before)  # one per thread
            counts = [total_instructions(dump) // args.requests for dump in dumps]
            busiest = dumps[counts.index(max(counts))]
            results[stream] = (counts, busiest)
    finally:
        stop(gateway, grace=60)
    return results


def annotate(dump: Path, requests: int, top: int) -> None:
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(dump)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    shown = 0
    for line in out.stdout.splitlines():
        match = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(\S.*)$", line)
        if not match or "PROGRAM TOTALS" in line:
            continue
        count = int(match.group(1).replace(",", ""))
        print(f"  {count / requests:>12,.0f}  {match.group(2)[:110]}")
        shown += 1
        if shown >= top:
            break


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=300, help="counted requests per mode")
    p.add_argument("--warmup", type=int, default=100, help="requests per mode before counting")
    p.add_argument("--src", type=Path, action="append", default=[], help="source tree(s)")
    p.add_argument("--no-limits", action="store_true", help="a key without limits")
    p.add_argument("--annotate", type=int, default=0, help="show the top N functions")
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="llmecon-instr-"))
    port = free_port()
    argv = [str(BIN / "llmecon"), "mock-server", "--ttft-ms", "0", "--itl-ms", "0",
            "--output-tokens", "16", "--model", "mock", "--port", str(port)]  # fmt: skip
    mock = launch("mock", argv, workdir, {})
    table = []
    try:
        wait_ready(mock, f"http://127.0.0.1:{port}/healthz")
        for src in args.src or [None]:
            name = str(src) if src else "installed"
            print(f"measuring {name}", file=sys.stderr, flush=True)
            results = measure(args, src, f"http://127.0.0.1:{port}/v1", workdir)
            for stream, (counts, dump) in results.items():
                table.append((name, stream, counts))
                if args.annotate:
                    print(f"\n{name}, {'streamed' if stream else 'not streamed'}: "
                          "inclusive instructions per request")  # fmt: skip
                    annotate(dump, args.requests, args.annotate)
    finally:
        with contextlib.suppress(Exception):
            stop(mock, grace=5)
    limits = "off" if args.no_limits else "on (never reached)"
    print(f"\nInstructions per request (callgrind; {args.requests} requests per mode at "
          f"concurrency 1 after {args.warmup} warm-up; limits {limits})\n")  # fmt: skip
    print(
        "| source | streamed | instructions per request | of which, per thread |\n|---|---|--:|---|"
    )
    for name, stream, counts in table:
        threads = ", ".join(f"{c:,}" for c in sorted(counts, reverse=True) if c)
        print(f"| {name} | {'yes' if stream else 'no'} | {sum(counts):,} | {threads} |")
    print(f"\n(dumps and logs in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
