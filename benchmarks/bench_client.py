"""How fast is llmecon's bench client? Requests/s (tiny, not streamed) and SSE events/s per core.

Two workloads against `llmecon mock-server --ttft-ms 0 --itl-ms 0` (zero timings: the server
answers as fast as it can and a whole stream leaves in one write):

- tiny: not streamed, 1 output token, 8-token prompts, closed loop at concurrency 64;
- sse: streamed, 1,000 output tokens in 1,000 content events (tokens_per_chunk 1), concurrency 16.

The client runs in its own process pinned to one core (default 0), the server in another pinned
to the other core (default 1); this script itself stays on the server's core and only samples
/proc. CPU shares are measured from /proc for each process group over the measured window
(a share of 1.0 is one core fully busy). Rates are observed; the "per-core projection" columns
divide a rate by the client's CPU share (what a fully busy core would do if nothing else
limited it) and are labelled as projections. `--parse full` makes llmecon JSON-decode every
event, as other load tools do (`--parse both` runs each streamed workload both ways).

With `--server replay` a minimal canned-response server (uvloop + httptools) replaces
the mock: it sends the mock's own bytes for the workload at a fraction of the mock's cost, so that
the client saturates its core on tiny responses too (against the mock, the mock's core is full
first).

Run: .venv/bin/python benchmarks/bench_client.py [--duration 5] [--rounds 2] [--server replay]
     [--parse fast|full|both] [--profile DIR]   (--profile: a cProfile of one more llmecon
     run per workload, top functions printed)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import pstats
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from llmecon.mock.run import settings_args
from llmecon.mock.settings import MockSettings
from llmecon.processes import free_port

HERE = Path(__file__).resolve()
TICKS = os.sysconf("SC_CLK_TCK")
MODEL = "mock"


@dataclass(frozen=True)
class Workload:
    name: str
    stream: bool
    output_tokens: int
    concurrency: int
    input_tokens: int = 8
    tokens_per_chunk: int = 1

    @property
    def content_events(self) -> int:
        """Events that carry generated text, per request (the mock's first chunk has one token)."""
        if not self.stream:
            return 1
        return 1 + math.ceil((self.output_tokens - 1) / self.tokens_per_chunk)

    def mock_settings(self) -> MockSettings:
        return MockSettings(model=MODEL, ttft_ms=0, itl_ms=0, output_tokens=self.output_tokens,
                            tokens_per_chunk=self.tokens_per_chunk)  # fmt: skip

    def describe(self) -> str:
        kind = "not streamed"
        if self.stream:
            kind = f"streamed, {self.content_events:,} content events"
        return (f"{self.name}: {kind}, {self.output_tokens} output tokens, "
                f"{self.input_tokens}-token prompts, concurrency {self.concurrency}")  # fmt: skip


WORKLOADS = {
    "tiny": Workload("tiny", stream=False, output_tokens=1, concurrency=64),
    "sse": Workload("sse", stream=True, output_tokens=1000, concurrency=16),
}


@dataclass(frozen=True)
class Server:
    base_url: str  # http://127.0.0.1:PORT/v1
    pgid: int
    core: int
    kind: str


@dataclass
class Result:
    """One measured run of one client on one workload."""

    client: str
    workload: str
    completed: int
    duration_s: float
    requests_per_s: float
    events_per_s: float | None  # content events/s (streamed workloads)
    cores: dict[str, int]  # "client" and "server": the core each ran on
    client_cpu: float | None = None  # share of one core: the client's processes, measured window
    server_cpu: float | None = None
    others: dict[str, float] = field(default_factory=dict)  # other processes' load on each core
    errors: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def per_core(self, value: float | None) -> float | None:
        """A rate scaled to a fully busy client core (rate / CPU share)."""
        if value is None or not self.client_cpu:
            return None
        return value / self.client_cpu


def pinned(core: int, command: list[str]) -> list[str]:
    """The command under `taskset`: pinned to one core, with everything it starts."""
    return ["taskset", "--cpu-list", str(core), *command]


def pin_self(core: int) -> None:
    os.sched_setaffinity(0, {core})


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a child started with start_new_session=True, and everything in its group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(process: subprocess.Popen[bytes], port: int, timeout: float = 15.0) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise TimeoutError(f"no answer from {url} within {timeout:g} s")


@contextlib.contextmanager
def serve(workload: Workload, core: int, kind: str = "mock") -> Iterator[Server]:
    """The llmecon mock (or the replay server) for this workload, pinned to `core`."""
    port = free_port()
    if kind == "mock":
        args = ["-m", "llmecon.mock", "--port", str(port), *settings_args(workload.mock_settings())]
    else:
        args = [str(HERE), "replay-server", "--port", str(port), "--workload", workload.name]
    process = subprocess.Popen(pinned(core, [sys.executable, *args]), stdin=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    try:
        wait_ready(process, port)
        yield Server(f"http://127.0.0.1:{port}/v1", process.pid, core, kind)
    finally:
        stop_group(process)


class CpuSampler:
    """Every `interval` s: CPU ticks of each process group and busy ticks of each core (/proc)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _ticks_by_group() | _busy_by_core()))
            self._stop.wait(self.interval)

    def share(self, key: str | int, start: float, end: float) -> float | None:
        """CPU seconds per second over [start, end] of a process group (pgid) or "core N"."""
        name = f"group {key}" if isinstance(key, int) else key
        known = [(t, ticks[name]) for t, ticks in self.samples if name in ticks]
        if end <= start or len(known) < 2 or known[0][0] > start or known[-1][0] < end:
            return None
        return (_at(known, end) - _at(known, start)) / TICKS / (end - start)

    def window(self, result: Result, client: int, server: int, start: float, end: float) -> None:
        """Fill in the CPU shares of `result` for its measured window."""
        result.client_cpu = self.share(client, start, end)
        result.server_cpu = self.share(server, start, end)
        for core, share in (("client", result.client_cpu), ("server", result.server_cpu)):
            busy = self.share(f"core {result.cores[core]}", start, end)
            if busy is not None and share is not None:
                result.others[core] = max(busy - share, 0.0)


def _at(points: list[tuple[float, int]], when: float) -> float:
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= when <= t1:
            return v0 + (v1 - v0) * ((when - t0) / (t1 - t0) if t1 > t0 else 0.0)
    return float(points[-1][1])


def _ticks_by_group() -> dict[str, int]:
    """utime + stime of every live process, summed by process group."""
    totals: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        group = f"group {int(fields[2])}"
        totals[group] = totals.get(group, 0) + int(fields[11]) + int(fields[12])
    return totals


def _busy_by_core() -> dict[str, int]:
    """Busy ticks of each core (all but idle and iowait), from /proc/stat."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3].isdigit():
            name, *values = line.split()
            ticks = [int(v) for v in values]
            busy[f"core {name[3:]}"] = sum(ticks) - ticks[3] - ticks[4]
    return busy


# --- llmecon's client -------------------------------------------------------------------------


def run_llmecon(
    server: Server, workload: Workload, core: int, duration: float, *, sampler: CpuSampler,
    profile: Path | None = None, parse: str = "fast",
) -> Result:  # fmt: skip
    """One llmecon run in its own process pinned to `core` (run_bench in-process there)."""
    command = [sys.executable, str(HERE), "llmecon-worker", "--url", server.base_url,
               "--workload", workload.name, "--duration", str(duration),
               "--parse", parse]  # fmt: skip
    if profile is not None:
        command += ["--profile", str(profile)]
    process = subprocess.Popen(pinned(core, command), stdout=subprocess.PIPE,
                               start_new_session=True)  # fmt: skip
    try:
        out, _ = process.communicate(timeout=duration + 120)
    finally:
        stop_group(process)
    if process.returncode != 0:
        raise RuntimeError(f"llmecon worker failed with status {process.returncode}")
    data = json.loads(out)
    start, end = data["window"]
    completed, span = data["completed"], data["duration_s"]
    rps = completed / span if span else 0.0
    result = Result(
        client=client_name(parse), workload=workload.name, completed=completed, duration_s=span,
        requests_per_s=rps, events_per_s=rps * workload.content_events if workload.stream else None,
        cores={"client": core, "server": server.core}, errors=data["errors"],
    )  # fmt: skip
    sampler.window(result, process.pid, server.pgid, start, end)
    result.notes.append(f"own CPU reading {data['client_cpu']:.0%}")
    if data["token_source"] != "server" or data["output_tokens_mean"] != workload.output_tokens:
        result.notes.append(f"output tokens {data['output_tokens_mean']} ({data['token_source']})")
    return result


def client_name(parse: str) -> str:
    return "llmecon" if parse == "fast" else f"llmecon --parse {parse}"


def parse_modes(choice: str, workload: Workload) -> list[str]:
    """The parse modes to run: both only matter for streamed workloads."""
    if not workload.stream:
        return ["fast"]
    return ["fast", "full"] if choice == "both" else [choice]


def llmecon_worker(
    url: str, workload: Workload, duration: float, profile: Path | None, parse: str = "fast"
) -> None:
    """In the pinned child: run_bench, then print what the parent needs as JSON."""
    from llmecon.bench.runner import Load
    from llmecon.bench.session import BenchSpec, run_bench

    load = Load(concurrency=workload.concurrency, duration_s=duration,
                warmup_requests=workload.concurrency * 4)  # fmt: skip
    spec = BenchSpec(base_url=url, model=MODEL, loads=(load,), stream=workload.stream,
                     input_tokens=workload.input_tokens, output_tokens=workload.output_tokens,
                     ignore_eos="off", parse=parse)  # fmt: skip
    offset = time.time() - time.perf_counter()
    if profile is None:
        result = run_bench(spec)
    else:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(run_bench, spec)
        profiler.dump_stats(profile)
    run = result.runs[0]
    records, summary = run.records, run.summary
    sends = [r.t_send for r in records if r.t_send]
    ends = [r.t_done or r.t_last or r.t_send for r in records]
    out = summary.output_tokens
    json.dump({
        "completed": summary.completed, "duration_s": summary.duration_s,
        "errors": dict(summary.errors), "client_cpu": run.health.client_cpu,
        "window": [min(sends) + offset, max(ends) + offset],
        "token_source": summary.token_source,
        "output_tokens_mean": None if out is None else out.mean,
    }, sys.stdout)  # fmt: skip


# --- the replay server ------------------------------------------------------------------------


def canned_response(workload: Workload) -> bytes:
    """The bytes the mock would send for one request of this workload (zero timings)."""
    from llmecon.mock.payload import CHAT, parse_request, plan_body, plan_stream

    body = {"model": MODEL, "max_tokens": workload.output_tokens,
            "messages": [{"role": "user", "content": "word " * workload.input_tokens}]}  # fmt: skip
    if workload.stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    request = parse_request(json.dumps(body).encode(), CHAT, workload.output_tokens)
    planner = plan_stream if workload.stream else plan_body
    plan = planner(CHAT, workload.mock_settings(), request, "chatcmpl-mock-1")
    data = b"".join(event[1] for event in plan.events)
    if not workload.stream:
        head = b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(data)
        return b"HTTP/1.1 200 OK\r\n" + head + data
    head = b"content-type: text/event-stream\r\ncache-control: no-cache\r\n"
    head += b"transfer-encoding: chunked\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\n" + head + b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n"


HEALTHY = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n"
HEALTHY += b'{"status":"ok"}'


class _Replay(asyncio.Protocol):
    """Answers every request on the connection with the same canned bytes (keep-alive)."""

    def __init__(self, response: bytes) -> None:
        import httptools

        self.response = response
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.transport.write(HEALTHY if self.url.startswith(b"/health") else self.response)


def replay_server(port: int, workload: Workload) -> None:
    import uvloop

    response = canned_response(workload)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Replay(response), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    uvloop.run(main())


# --- reporting --------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def markdown_rows(results: list[Result]) -> list[str]:
    lines = [
        "| client | workload | completed | window s | requests/s | content events/s "
        "| client CPU | server CPU | others on client / server core "
        "| requests/s per client core (projection) | events/s per client core (projection) "
        "| notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        notes = "; ".join([*r.notes, *(f"{k} x{n}" for k, n in r.errors.items())])
        others = f"{pct(r.others.get('client'))} / {pct(r.others.get('server'))}"
        lines.append(
            f"| {r.client} | {r.workload} | {r.completed:,} | {r.duration_s:.2f} "
            f"| {fmt(r.requests_per_s)} | {fmt(r.events_per_s)} "
            f"| {pct(r.client_cpu)} (core {r.cores['client']}) "
            f"| {pct(r.server_cpu)} (core {r.cores['server']}) | {others} "
            f"| {fmt(r.per_core(r.requests_per_s))} | {fmt(r.per_core(r.events_per_s))} "
            f"| {notes} |"
        )
    return lines


def summary_rows(results: list[Result]) -> list[str]:
    """Medians over rounds, one row per client and workload."""
    lines = [
        "| client | workload | runs | requests/s | content events/s | client CPU "
        "| server CPU | requests/s per client core (projection) "
        "| events/s per client core (projection) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for client, workload in dict.fromkeys((r.client, r.workload) for r in results):
        group = [r for r in results if (r.client, r.workload) == (client, workload)]
        lines.append(
            f"| {client} | {workload} | {len(group)} "
            f"| {fmt(median([r.requests_per_s for r in group]))} "
            f"| {fmt(median([r.events_per_s for r in group]))} "
            f"| {pct(median([r.client_cpu for r in group]))} "
            f"| {pct(median([r.server_cpu for r in group]))} "
            f"| {fmt(median([r.per_core(r.requests_per_s) for r in group]))} "
            f"| {fmt(median([r.per_core(r.events_per_s) for r in group]))} |"
        )
    return lines


def print_profile(path: Path, limit: int = 15) -> None:
    print(f"\ncProfile of the llmecon client ({path.name}), top {limit} by own time:\n")
    print("```")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(limit)
    print("```")


def machine_line(client_core: int, server_core: int, server: str) -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({cpu}); client pinned to core {client_core}, "
            f"{server} to core {server_core}, this script on core {server_core}; "
            f"Python {sys.version.split()[0]}")  # fmt: skip


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds per run.")
    parser.add_argument("--rounds", type=int, default=2, help="Runs per workload.")
    parser.add_argument("--workloads", default="tiny,sse", help="Comma-separated: tiny, sse.")
    parser.add_argument("--server", choices=["mock", "replay"], default="mock")
    parser.add_argument("--client-core", type=int, default=0)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="Directory for cProfile dumps.")
    parser.add_argument("--parse", choices=["fast", "full", "both"], default="both",
                        help="SSE parsing (both: streamed workloads both ways).")  # fmt: skip
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("llmecon-worker", help="(internal) one pinned llmecon run")
    worker.add_argument("--url", required=True)
    worker.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    worker.add_argument("--duration", type=float, required=True)
    worker.add_argument("--profile", type=Path)
    worker.add_argument("--parse", choices=["fast", "full"], default="fast")
    replay = sub.add_parser("replay-server", help="(internal) the canned-response server")
    replay.add_argument("--port", type=int, required=True)
    replay.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    return parser.parse_args(argv)


def chosen_workloads(text: str) -> list[Workload]:
    return [WORKLOADS[name.strip()] for name in text.split(",") if name.strip()]


def main() -> None:
    args = parse_args()
    if args.command == "llmecon-worker":
        llmecon_worker(args.url, WORKLOADS[args.workload], args.duration, args.profile, args.parse)
        return
    if args.command == "replay-server":
        replay_server(args.port, WORKLOADS[args.workload])
        return
    pin_self(args.server_core)
    results: list[Result] = []
    profiles: list[Path] = []
    print(machine_line(args.client_core, args.server_core, f"the {args.server} server"))
    with CpuSampler() as sampler:
        for workload in chosen_workloads(args.workloads):
            print(f"- {workload.describe()}", file=sys.stderr)
            with serve(workload, args.server_core, args.server) as server:
                for _ in range(args.rounds):  # parse modes alternate within each round
                    for parse in parse_modes(args.parse, workload):
                        results.append(run_llmecon(server, workload, args.client_core,
                                                   args.duration, sampler=sampler,
                                                   parse=parse))  # fmt: skip
                if args.profile is not None:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    path = args.profile / f"llmecon-{workload.name}.pstats"
                    run_llmecon(server, workload, args.client_core, args.duration,
                                sampler=sampler, profile=path)  # fmt: skip
                    profiles.append(path)
    print(f"\nllmecon bench client against the {args.server} server, {args.duration:g} s runs:\n")
    for workload in chosen_workloads(args.workloads):
        print(f"- {workload.describe()}")
    print("\n" + "\n".join(markdown_rows(results)))
    print("\nMedians:\n\n" + "\n".join(summary_rows(results)))
    for path in profiles:
        print_profile(path)


if __name__ == "__main__":
    main()
