"""llmecon's bench client side by side with a peer (guidellm), same server, same core.

For each workload of bench_client.py (tiny: not streamed, 1 output token, concurrency 64;
sse: 1,000 content events per request, concurrency 16) one server is started, pinned to the
server core, and both clients take turns against it (ABBA order over rounds), each pinned to
the client core. Both send the same 8-token prompts (made by llmecon's prompt generator; guidellm
reads them from a JSONL file with output_tokens_count, so it neither generates nor tokenizes
prompts while it runs) and the same max_tokens. Rates are each tool's own counts of successful
requests over its own measured window (guidellm: after a 1 s warm-up it runs itself; llmecon:
after warm-up requests); CPU shares come from /proc for each tool's whole process group in
that window. Ratios are llmecon / guidellm.

Like for like: guidellm JSON-decodes every streamed event; llmecon by default classifies events
without decoding most of them (exactly as a decode would, tests/test_sse.py). With `--parse
both` (the default) the SSE workload also runs llmecon with `--parse full`, which decodes every
event as guidellm does. Tables give observed rates; "per-core projection" rows divide a rate by
the client's measured CPU share and are projections, not observations.

Ceiling check: when `wrk` is installed (Debian package `wrk`), each round also runs it (one
thread, the same concurrency, the same request body, pinned to the client core) against the
same server. wrk reads whole responses without parsing SSE, so its rate is what this server
gives any client: a client close to it is limited by the server, not by itself.

Needs the peer venv: bash benchmarks/setup_peer.sh
Run: .venv/bin/python benchmarks/compare_clients.py [--duration 5] [--rounds 2]
     [--server mock|replay] [--peer-workers 4] [--parse fast|full|both]
     (about 3 minutes with the defaults)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_client as bc

PEER_VENV = Path(__file__).resolve().parent / ".peer-venv"
GUIDELLM = PEER_VENV / "bin" / "guidellm"
PEER_WARMUP_S = 1.0
PROMPT_ROWS = 5000  # guidellm stops when its file runs out; it sends ~250 req/s here at most
WRK = shutil.which("wrk")
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
"""


def guidellm_version() -> str:
    out = subprocess.run([str(PEER_VENV / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('guidellm'))"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    return out.stdout.strip() or "unknown version"


def write_prompts(workload: bc.Workload, path: Path) -> None:
    """The prompts llmecon sends (same generator, same seed) as guidellm JSONL rows."""
    from llmecon.bench.prompts import bundled_tiktoken, synthetic_prompt

    tokenizer, rng = bundled_tiktoken(), random.Random(0)
    prompts = [synthetic_prompt(tokenizer, workload.input_tokens, rng) for _ in range(256)]
    with path.open("w") as out:
        for index in range(PROMPT_ROWS):
            row = {"prompt": prompts[index % len(prompts)],
                   "output_tokens_count": workload.output_tokens}  # fmt: skip
            out.write(json.dumps(row) + "\n")


def guidellm_scenario(server: bc.Server, workload: bc.Workload, duration: float,
                      prompts: Path, output: Path) -> dict[str, object]:  # fmt: skip
    target = server.base_url.removesuffix("/v1")
    return {"spec": {
        "backend": {"kind": "openai_http", "target": target, "model": bc.MODEL,
                    "request_format": "/v1/chat/completions", "stream": workload.stream,
                    "http2": False, "validate_backend": False},
        "profile": {"kind": "concurrent", "streams": [workload.concurrency],
                    "warmup": {"value": PEER_WARMUP_S}},
        "constraints": [{"kind": "max_duration", "seconds": duration + PEER_WARMUP_S}],
        "data": [{"kind": "json_file", "path": str(prompts)}],
        "outputs": [{"kind": "json", "path": str(output)}],
    }}  # fmt: skip


def run_guidellm(
    server: bc.Server, workload: bc.Workload, core: int, duration: float, *,
    sampler: bc.CpuSampler, prompts: Path, workers: int, scratch: Path,
) -> bc.Result:  # fmt: skip
    """One `guidellm run` pinned to `core` (with its worker processes)."""
    output = scratch / f"guidellm-{workload.name}.json"
    output.unlink(missing_ok=True)
    config = scratch / f"scenario-{workload.name}.json"
    config.write_text(json.dumps(guidellm_scenario(server, workload, duration, prompts, output)))
    env = os.environ | {"GUIDELLM__MAX_WORKER_PROCESSES": str(workers)}
    command = [str(GUIDELLM), "run", "--config", str(config), "--disable-progress"]
    log = scratch / f"guidellm-{workload.name}.log"
    with log.open("w") as handle:
        process = subprocess.Popen(bc.pinned(core, command), stdout=handle, stderr=handle,
                                   env=env, cwd=scratch, start_new_session=True)  # fmt: skip
        try:
            process.wait(timeout=duration + 120)
        finally:
            bc.stop_group(process)
    if process.returncode != 0 or not output.exists():
        raise RuntimeError(f"guidellm failed ({process.returncode}); see {log}")
    bench = json.loads(output.read_text())["benchmarks"][0]
    metrics = bench["metrics"]
    totals = metrics["request_totals"]
    completed, span = totals["successful"], bench["duration"]
    rps = completed / span if span else 0.0
    out_tokens = metrics["output_token_count"]["successful"]["mean"]
    result = bc.Result(
        client="guidellm", workload=workload.name, completed=completed, duration_s=span,
        requests_per_s=rps, events_per_s=rps * workload.content_events if workload.stream else None,
        cores={"client": core, "server": server.core},
        errors={k: v for k, v in totals.items() if k in {"errored", "incomplete"} and v},
    )  # fmt: skip
    sampler.window(result, process.pid, server.pgid, bench["start_time"], bench["end_time"])
    result.notes.append(f"{bench['scheduler_state']['num_processes']} worker processes")
    if out_tokens != workload.output_tokens:
        result.notes.append(f"output tokens {out_tokens}")
    if completed + sum(result.errors.values()) >= PROMPT_ROWS:
        result.notes.append("ran out of prompts")
    result.notes += [warning["code"] for warning in bench.get("warnings", [])]
    return result


METRICS: tuple[tuple[str, Callable[[bc.Result], float | None]], ...] = (
    ("requests/s (observed)", lambda r: r.requests_per_s),
    ("content events/s (observed)", lambda r: r.events_per_s),
    ("client CPU (share of a core)", lambda r: r.client_cpu),
    ("requests/s per client core (projection)", lambda r: r.per_core(r.requests_per_s)),
    ("content events/s per client core (projection)", lambda r: r.per_core(r.events_per_s)),
)


def run_wrk(
    server: bc.Server, workload: bc.Workload, core: int, duration: float, *,
    sampler: bc.CpuSampler, prompts: Path, scratch: Path,
) -> bc.Result:  # fmt: skip
    """One wrk run (1 thread, the workload's concurrency) with llmecon's request body."""
    from llmecon.bench.prompts import RequestShape, request_body

    prompt = json.loads(prompts.read_text().splitlines()[0])["prompt"]
    shape = RequestShape(bc.MODEL, "chat", workload.output_tokens, workload.stream)
    script = scratch / f"wrk-{workload.name}.lua"
    script.write_text(WRK_SCRIPT.format(body=json.dumps(request_body(shape, prompt).decode())))
    assert WRK is not None
    command = [WRK, "-t1", f"-c{workload.concurrency}", f"-d{duration:g}s", "-s", str(script),
               f"{server.base_url}/chat/completions"]  # fmt: skip
    start = time.time()
    process = subprocess.Popen(bc.pinned(core, command), stdout=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    try:
        out, _ = process.communicate(timeout=duration + 60)
    finally:
        bc.stop_group(process)
    end = time.time()
    completed = int(_number(r"(\d+) requests in", out))
    span = _number(r"requests in ([\d.]+)s", out)
    rps = completed / span if span else 0.0
    errors = {"non_2xx": int(_number(r"Non-2xx or 3xx responses: (\d+)", out, 0))}
    result = bc.Result(
        client="wrk", workload=workload.name, completed=completed, duration_s=span,
        requests_per_s=rps, events_per_s=rps * workload.content_events if workload.stream else None,
        cores={"client": core, "server": server.core},
        errors={k: v for k, v in errors.items() if v},
    )  # fmt: skip
    sampler.window(result, process.pid, server.pgid, start + 0.2, end - 0.2)
    result.notes.append("ceiling check: reads responses whole, parses no SSE")
    return result


def _number(pattern: str, text: str, default: float | None = None) -> float:
    match = re.search(pattern, text)
    if match is None:
        if default is None:
            raise RuntimeError(f"unexpected wrk output: {text[-300:]}")
        return default
    return float(match.group(1))


def ratio_rows(results: list[bc.Result]) -> list[str]:
    """Medians of each llmecon mode against guidellm, with min-max ranges over the runs."""
    lines = [
        "| workload | llmecon mode | metric | llmecon (range) | guidellm (range) "
        "| llmecon / guidellm |",
        "|---|---|---|---:|---:|---:|",
    ]
    for workload in dict.fromkeys(r.workload for r in results):
        peer_runs = [r for r in results if (r.client, r.workload) == ("guidellm", workload)]
        mine = [r.client for r in results if r.workload == workload and r.client.startswith("llm")]
        ours_clients = dict.fromkeys(mine)
        for client in ours_clients:
            our_runs = [r for r in results if (r.client, r.workload) == (client, workload)]
            for label, value in METRICS:
                ours, peer = _spread(our_runs, value), _spread(peer_runs, value)
                if ours is None or peer is None:
                    continue
                if label.startswith("client CPU"):
                    cells = f"{_pct_range(ours)} | {_pct_range(peer)} | -"
                else:
                    ratio = f"{ours[0] / peer[0]:.1f}x" if peer[0] else "-"
                    cells = f"{_range(ours)} | {_range(peer)} | {ratio}"
                mode = client.removeprefix("llmecon").strip() or "default (fast)"
                lines.append(f"| {workload} | {mode} | {label} | {cells} |")
    return lines


def _spread(
    runs: list[bc.Result], value: Callable[[bc.Result], float | None]
) -> tuple[float, float, float] | None:
    known = [v for v in (value(r) for r in runs) if v is not None]
    if not known:
        return None
    return bc.median(list(known)) or 0.0, min(known), max(known)


def _range(spread: tuple[float, float, float]) -> str:
    middle, low, high = spread
    return f"{bc.fmt(middle)} ({bc.fmt(low)}-{bc.fmt(high)})"


def _pct_range(spread: tuple[float, float, float]) -> str:
    middle, low, high = spread
    return f"{bc.pct(middle)} ({bc.pct(low)}-{bc.pct(high)})"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="Measured seconds per run.")
    parser.add_argument("--rounds", type=int, default=2, help="Runs of each client per workload.")
    parser.add_argument("--workloads", default="tiny,sse", help="Comma-separated: tiny, sse.")
    parser.add_argument("--server", choices=["mock", "replay"], default="mock")
    parser.add_argument("--client-core", type=int, default=0)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--peer-workers", type=int, default=4,
                        help="GUIDELLM__MAX_WORKER_PROCESSES (its default is 10).")  # fmt: skip
    parser.add_argument("--parse", choices=["fast", "full", "both"], default="both",
                        help="SSE parsing (both: the SSE workload each way).")  # fmt: skip
    parser.add_argument("--no-wrk", action="store_true", help="Skip the wrk ceiling check.")
    return parser.parse_args()


def round_order(args: argparse.Namespace, workload: bc.Workload, round_: int) -> list[str]:
    """ABBA: llmecon's modes then guidellm, reversed every other round; wrk last."""
    ours = [f"llmecon:{mode}" for mode in bc.parse_modes(args.parse, workload)]
    order = [*ours, "guidellm"] if round_ % 2 == 0 else ["guidellm", *ours[::-1]]
    if WRK is not None and not args.no_wrk:
        order.append("wrk")
    return order


def run_client(
    client: str, args: argparse.Namespace, server: bc.Server, workload: bc.Workload, *,
    sampler: bc.CpuSampler, prompts: Path, scratch: Path,
) -> bc.Result:  # fmt: skip
    core, duration = args.client_core, args.duration
    if client == "wrk":
        return run_wrk(server, workload, core, duration, sampler=sampler, prompts=prompts,
                       scratch=scratch)  # fmt: skip
    if client.startswith("llmecon"):
        return bc.run_llmecon(server, workload, core, duration, sampler=sampler,
                              parse=client.split(":")[1])  # fmt: skip
    return run_guidellm(server, workload, core, duration, sampler=sampler, prompts=prompts,
                        workers=args.peer_workers, scratch=scratch)  # fmt: skip


def main() -> None:
    args = parse_args()
    if not GUIDELLM.exists():
        sys.exit(f"no guidellm at {GUIDELLM}: run bash benchmarks/setup_peer.sh first")
    bc.pin_self(args.server_core)
    results: list[bc.Result] = []
    print(bc.machine_line(args.client_core, args.server_core, f"the {args.server} server"))
    print(f"peer: guidellm {guidellm_version()} (openai_http backend, concurrent profile, "
          f"{args.peer_workers} worker processes)")  # fmt: skip
    workloads = bc.chosen_workloads(args.workloads)
    with (
        tempfile.TemporaryDirectory(prefix="llmecon-compare-") as temporary,
        bc.CpuSampler() as sampler,
    ):
        scratch = Path(temporary)
        for workload in workloads:
            print(f"- {workload.describe()}", file=sys.stderr)
            prompts = scratch / f"prompts-{workload.name}.jsonl"
            write_prompts(workload, prompts)
            with bc.serve(workload, args.server_core, args.server) as server:
                for round_ in range(args.rounds):
                    for client in round_order(args, workload, round_):
                        result = run_client(client, args, server, workload, sampler=sampler,
                                            prompts=prompts, scratch=scratch)  # fmt: skip
                        print(f"  {result.client} {workload.name}: "
                              f"{result.requests_per_s:,.0f} req/s", file=sys.stderr)  # fmt: skip
                        results.append(result)
    print(f"\nllmecon vs guidellm against the {args.server} server, "
          f"{args.duration:g} s measured per run, {args.rounds} runs each:\n")  # fmt: skip
    for workload in workloads:
        print(f"- {workload.describe()}")
    print("\n" + "\n".join(bc.markdown_rows(results)))
    print("\nMedians:\n\n" + "\n".join(bc.summary_rows(results)))
    print("\nRatios of medians (min-max over the runs in brackets):\n\n"
          + "\n".join(ratio_rows(results)))  # fmt: skip


if __name__ == "__main__":
    main()
