"""What the gateway's hardening costs: llmecon before and after, side by side, same method.

The method of `gateway_overhead.py` (its functions are reused): one zero-latency mock pinned
to the client core, each gateway one process pinned to the gateway core, in ABBA order
(before, after, after, before; `--rounds` repeats it), a fresh direct baseline per slot,
added latency at concurrency 1 (p50, p99) and requests/s at concurrency 64, streamed and not.
"Before" runs the source tree given with `--before` (an exported older commit), "after" the
working tree's `src/`; the load generator is always the working tree's `llmecon bench`.

Run:
    git archive 134e758 src | tar -x -C /tmp/before
    .venv/bin/python benchmarks/hardening_overhead.py --before /tmp/before/src [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gateway_overhead as gw

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("before", "after")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", type=Path, required=True, help="the older tree's src/")
    p.add_argument(
        "--before-path",
        default="",
        help="more import paths for the older tree "
        "(e.g. a folder with its litellm wheel, installed with pip --target)",
    )
    p.add_argument("--after", type=Path, default=ROOT / "src")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--low-requests", type=int, default=500)
    p.add_argument("--high-concurrency", type=int, default=64)
    p.add_argument("--high-seconds", type=float, default=6.0)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--input-tokens", type=int, default=32)
    p.add_argument("--output-tokens", type=int, default=16)
    p.add_argument("--gateway-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--quiet-wait", type=float, default=10.0)
    args = p.parse_args()
    for name in ("ledger", "src"):
        setattr(args, name, None)
    args.serve_arg, args.key_arg, args.no_limits = [], [], False
    return args


def main() -> int:
    args = parse_args()
    os.sched_setaffinity(0, {args.client_core})
    before = str(args.before.resolve()) + (f":{args.before_path}" if args.before_path else "")
    trees = {"before": Path(before), "after": args.after.resolve()}
    work = {name: Path(tempfile.mkdtemp(prefix=f"llmecon-hardening-{name}-")) for name in NAMES}
    keys = {name: gw.create_key(replace_src(args, trees[name]), work[name]) for name in NAMES}
    began = time.monotonic()
    with gw.running_mock(args, work["after"]) as (mock, mock_url):
        bench = gw.Bench(args, mock, mock_url, work["after"], keys)
        order = [n for _ in range(args.rounds) for n in ("before", "after", "after", "before")]
        for index, name in enumerate(order, start=1):
            gw.wait_quiet(args.gateway_core, args.quiet_wait)
            print(f"slot {index}: {name}", file=sys.stderr, flush=True)
            measure(bench, index, name, replace_src(args, trees[name]), work[name])
    print(table(bench.runs, args.high_concurrency))
    print(f"\n({time.monotonic() - began:.0f} s in all)")
    return 0


def replace_src(args: argparse.Namespace, src: Path) -> argparse.Namespace:
    copy = argparse.Namespace(**vars(args))
    copy.src = src
    return copy


def measure(bench: gw.Bench, slot: int, name: str, args: argparse.Namespace, work: Path) -> None:
    for stream in gw.MODES:
        bench.run("direct", slot, bench.mock_url, None, stream=stream, concurrency=1,
                  requests=args.low_requests)  # fmt: skip
    gateway = gw.start_llmecon(args, bench.mock_url, work, bench.keys[name])
    gateway = replace(gateway, name=name)
    try:
        for stream in gw.MODES:
            bench.run(name, slot, gateway.base_url, gateway.key, stream=stream, concurrency=8,
                      requests=args.warmup, gateway=gateway.process, keep=False)  # fmt: skip
        for stream in gw.MODES:
            bench.run(name, slot, gateway.base_url, gateway.key, stream=stream, concurrency=1,
                      requests=args.low_requests, gateway=gateway.process)  # fmt: skip
        for stream in gw.MODES:
            bench.run(name, slot, gateway.base_url, gateway.key, stream=stream,
                      concurrency=args.high_concurrency, seconds=args.high_seconds,
                      gateway=gateway.process)  # fmt: skip
    finally:
        gw.stop(gateway.process)


def table(runs: list[Any], high: int) -> str:
    lines = ["| metric | before | after | change |", "|---|--:|--:|--:|"]
    for stream in gw.MODES:
        mode = "streamed" if stream else "not streamed"
        for pct in ("p50", "p99"):
            before, after = (gw.added(runs, n, stream, f"e2e_{pct}") for n in NAMES)
            change = "-" if before is None or after is None else f"{after - before:+.2f} ms"
            lines.append(f"| added latency {pct}, {mode}, concurrency 1 (ms) | "
                         f"{gw.fmt(before)} | {gw.fmt(after)} | {change} |")  # fmt: skip
    for stream in gw.MODES:
        mode = "streamed" if stream else "not streamed"
        before, after = (
            gw.median_of([r.rps for r in gw.pick(runs, n, stream, high)]) for n in NAMES
        )
        change = "-" if not before or after is None else f"{(after / before - 1) * 100:+.1f}%"
        lines.append(f"| requests/s, {mode}, concurrency {high} | {gw.fmt(before, 0)} | "
                     f"{gw.fmt(after, 0)} | {change} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
