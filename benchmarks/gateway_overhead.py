"""Gateway overhead: llmecon's gateway side by side with LiteLLM's proxy, same mock, same cores.

Both gateways relay to one `llmecon mock-server --ttft-ms 0 --itl-ms 0` (a zero-latency
upstream: a whole answer leaves in one write). One run of this script:

1. starts the mock pinned to the client core (default 1) and measures it directly with
   `llmecon bench` (the baseline; also the client core's own ceiling in requests/s);
2. starts each gateway pinned to the gateway core (default 0) as one process, one uvicorn
   worker, in ABBA order (llmecon, LiteLLM, LiteLLM, llmecon; `--rounds` repeats it), one at a
   time, and for each: a warm-up, a concurrency-1 closed loop (`--low-requests` requests,
   streamed and not) right after a fresh direct baseline, and a concurrency-64 closed loop
   (`--high-seconds` each, streamed and not) for the maximum requests/s;
3. prints Markdown tables: added latency = gateway e2e - direct e2e at the same percentile
   (p50, p99; concurrency 1), requests/s at concurrency 64, each gateway's CPU share there
   (from /proc: utime + stime of its whole process group over the measured window; 1.0 = one
   core busy) and requests/s per gateway core, errors (anything but a 200 with a full answer)
   and, for llmecon, ledger rows written against requests sent.

The load generator runs on the client core beside the mock, never on the gateway core: the
gateway keeps a whole core, and both gateways see the same client and mock. The cost of that
is a ceiling: a gateway cannot go faster than the client core can generate load and answer it,
which the direct concurrency-64 run shows. When a gateway's CPU share at concurrency 64 is
well under 1.0, the client core, not the gateway, was the limit, and the per-core rate
(requests/s / CPU share) is the fairer throughput figure; the table says so.

What each gateway does per request here:
- llmecon: `llmecon serve` with a key created by `llmecon keys create` (checked against the
  ledger database on every request) with limits that are checked but never hit (unless
  `--no-limits`): requests/min, tokens/min and a daily and monthly budget, reserved before
  forwarding and settled after (serve's in-memory limiter), a ledger row per request (SQLite
  by default, written by its background thread, journaled first), counterfactual cost against
  gpt-4o-mini, metrics. More `llmecon serve` and `llmecon keys create` arguments come from
  `--serve-arg` and `--key-arg` (repeatable), e.g. `--serve-arg=--redis
  --serve-arg=redis://127.0.0.1:6379` for limits kept in Redis; pin such a store to the gateway
  core yourself if it should count as part of "one core".
- LiteLLM: `litellm --config config.yaml --num_workers 1` (uvicorn + uvloop), config: the model
  `mock` as `openai/mock` with api_base at the mock, and a `master_key` that every request
  carries. No database, so no virtual keys, no per-key rate limits and no spend logs (all
  three need LiteLLM's Postgres). Per request it still runs its key auth (against the master
  key, no lookup), its parallel-request limiter hook (nothing to enforce for the master key),
  routing with deployment usage counts, its logging callbacks with a response-cost calculation,
  and the relay (the openai SDK). That is less durable work than llmecon does: no database
  read or write per request. `--litellm-config FILE` (with `--litellm-key`)
  replaces the generated config; its api_base may read `os.environ/BENCH_MOCK_API_BASE`.

Both gateways get the same request: chat completions, `--input-tokens` prompt tokens,
`--output-tokens` max_tokens, ignore_eos off (a plain OpenAI request LiteLLM passes through),
`stream_options.include_usage` when streamed.

Needs the LiteLLM venv: bash benchmarks/setup_litellm.sh
Run: .venv/bin/python benchmarks/gateway_overhead.py [--rounds 1] [--profile]
     [--json out/gateway_overhead.json]   (about 2.5 minutes with the defaults, 5 with
     --rounds 2 --profile; --profile adds one more llmecon gateway run under py-spy and prints
     where its Python time goes)
To measure one commit while the tree changes: git archive HEAD src | tar -x -C /tmp/head
     and add --src /tmp/head/src.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LITELLM_VENV = HERE / ".litellm-venv"
TICKS = os.sysconf("SC_CLK_TCK")
MODEL = "mock"
GATEWAYS = ("llmecon", "litellm")
LABEL = {"llmecon": "llmecon", "litellm": "LiteLLM", "direct": "direct (mock)"}
MODES = (True, False)  # streamed, then not
SPY_HZ = 200
# the bench key's limits: checked on every request, never reached in a run
LIMITS = ["--rpm", "1000000000", "--tpm", "1000000000", "--budget-day", "1000",
          "--budget-month", "10000"]  # fmt: skip
LITELLM_CONFIG = """\
model_list:
  - model_name: mock
    litellm_params:
      model: openai/mock
      api_base: os.environ/BENCH_MOCK_API_BASE
      api_key: sk-mock-upstream
general_settings:
  master_key: {master_key}
litellm_settings:
  drop_params: true
"""


# --- processes ----------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    stopped: str = ""

    @property
    def pgid(self) -> int:
        return self.popen.pid  # started with start_new_session=True: its own group


def start(name: str, core: int, argv: list[str], workdir: Path, env: dict[str, str]) -> Process:
    """A command pinned to `core` (with everything it starts), in its own process group."""
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(["taskset", "--cpu-list", str(core), *argv], stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env={**os.environ, **env}, start_new_session=True)  # fmt: skip
    return Process(name, popen, log)


def stop(process: Process, grace: float = 20.0) -> str:
    """SIGTERM to the group, then SIGKILL after `grace` s; how it ended, for the report."""
    if process.stopped:
        return process.stopped
    if process.popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pgid, signal.SIGTERM)
        try:
            process.popen.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pgid, signal.SIGKILL)
            process.popen.wait()
            process.stopped = f"killed after {grace:g} s"
            return process.stopped
        process.stopped = "stopped on SIGTERM"
    else:
        process.stopped = f"had exited ({process.popen.returncode})"
    return process.stopped


def wait_ready(process: Process, url: str, timeout: float = 90.0) -> float:
    """Seconds until GET `url` answers 200; raises if the process dies or time runs out."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if process.popen.poll() is not None:
            tail = process.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{process.name} exited ({process.popen.returncode}):\n{tail}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(url, timeout=2) as response,
        ):
            if response.status == 200:
                return time.monotonic() - began
        time.sleep(0.1)
    raise TimeoutError(f"{process.name}: no 200 from {url} within {timeout:g} s")


def cpu_seconds(pgid: int) -> float:
    """utime + stime of every live process in a group (threads included), in seconds."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


# --- load ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """One `llmecon bench` run: its summary and the CPU the gateway and the mock spent."""

    target: str  # llmecon, litellm or direct
    slot: int
    stream: bool
    concurrency: int
    requests: int
    completed: int
    errors: dict[str, int]
    rps: float
    duration_s: float
    e2e_p50: float
    e2e_p99: float
    ttft_p50: float | None
    gateway_cpu: float | None  # CPU seconds per second of the measured window
    mock_cpu: float
    client_cpu: float | None
    others_on_gateway_core: float  # other processes' CPU share on the gateway core meanwhile
    output_tokens: float | None  # p50 of the answers' output tokens
    token_source: str  # "server": counted from the answers' usage


@dataclass
class Bench:
    args: argparse.Namespace
    mock: Process
    mock_url: str
    workdir: Path
    keys: dict[str, str]  # the bearer key each gateway checks
    runs: list[Run] = field(default_factory=list)

    def run(self, target: str, slot: int, url: str, key: str | None, *, stream: bool,
            concurrency: int, requests: int | None = None, seconds: float | None = None,
            gateway: Process | None = None, keep: bool = True) -> Run:  # fmt: skip
        a = self.args
        command = [str(BIN / "llmecon"), "bench", url, "--model", MODEL, "--format", "json",
                   "--concurrency", str(concurrency), "--stream" if stream else "--no-stream",
                   "--input-tokens", str(a.input_tokens), "--output-tokens",
                   str(a.output_tokens), "--ignore-eos", "off", "--timeout", "60"]  # fmt: skip
        amount = ["--requests", str(requests)] if seconds is None else ["--duration", f"{seconds}"]
        command += amount
        env = {k: v for k, v in os.environ.items() if k != "LLMECON_API_KEY"} | src_env(a)
        if key:
            env["LLMECON_API_KEY"] = key  # `llmecon bench --api-key` reads it from here
        before = self._cpu(gateway)
        out = subprocess.run(["taskset", "--cpu-list", str(a.client_core), *command], env=env,
                             capture_output=True, text=True, check=False)  # fmt: skip
        used = [end - start for start, end in zip(before, self._cpu(gateway), strict=True)]
        if out.returncode != 0:
            raise RuntimeError(f"llmecon bench against {target} failed:\n{out.stderr[-2000:]}")
        report = json.loads(out.stdout)["runs"][0]
        summary = report["summary"]
        window = summary["duration_s"] or float("nan")
        tokens = summary.get("output_tokens") or {}
        run = Run(target, slot, stream, concurrency, summary["requests"], summary["completed"],
                  summary["errors"], summary["requests_per_second"], window,
                  _ms(summary, "e2e_ms", "p50"), _ms(summary, "e2e_ms", "p99"),
                  _ms(summary, "ttft_ms", "p50"), used[1] / window if gateway else None,
                  used[2] / window, report["health"].get("client_cpu"),
                  max(used[3] - used[1], 0.0) / used[0], tokens.get("p50"),
                  summary.get("token_source", "?"))  # fmt: skip
        if keep:
            self.runs.append(run)
        return run

    def _cpu(self, gateway: Process | None) -> tuple[float, float, float, float]:
        """Now (s), CPU seconds of the gateway's group and the mock's, busy s of its core."""
        ours = cpu_seconds(gateway.pgid) if gateway else 0.0
        mock = cpu_seconds(self.mock.pgid)
        return time.monotonic(), ours, mock, core_busy_seconds(self.args.gateway_core)


def core_busy_seconds(core: int) -> float:
    """Busy time of one core (all but idle and iowait) from /proc/stat, in seconds."""
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name == f"cpu{core}":
            ticks = [int(v) for v in values]
            return (sum(ticks) - ticks[3] - ticks[4]) / TICKS
    return 0.0


def _ms(summary: dict[str, Any], metric: str, key: str) -> float:
    values = summary.get(metric)
    return float(values[key]) if values else float("nan")


# --- the gateways -------------------------------------------------------------------------------


@dataclass
class Gateway:
    name: str
    process: Process
    base_url: str
    key: str
    ready_s: float
    ledger: Path | None = None
    rows_before: int = 0


def start_llmecon(args: argparse.Namespace, mock_url: str, workdir: Path, key: str) -> Gateway:
    port = free_port()
    ledger = args.ledger or f"sqlite:///{workdir / 'ledger.db'}"
    argv = [str(BIN / "llmecon"), "serve", "--no-embedded", "--upstream", f"mock={mock_url}",
            "--port", str(port), "--ledger", ledger, "--journal", str(workdir / "journal.jsonl"),
            "--compare-with", "gpt-4o-mini", *args.serve_arg]  # fmt: skip
    process = start("llmecon-gateway", args.gateway_core, argv, workdir, src_env(args))
    base = f"http://127.0.0.1:{port}"
    ready = wait_ready(process, f"{base}/healthz")
    path = Path(ledger.removeprefix("sqlite:///")) if ledger.startswith("sqlite:///") else None
    return Gateway("llmecon", process, f"{base}/v1", key, ready, path, ledger_rows(path))


def start_litellm(args: argparse.Namespace, mock_url: str, workdir: Path, key: str) -> Gateway:
    port = free_port()
    config = args.litellm_config or workdir / "litellm_config.yaml"
    if args.litellm_config is None:
        config.write_text(LITELLM_CONFIG.format(master_key=key))
    env = {"BENCH_MOCK_API_BASE": mock_url, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_LOG": "ERROR", "LITELLM_MODE": "PRODUCTION", "DISABLE_ADMIN_UI": "True",
           "NO_DOCS": "True"}  # fmt: skip
    argv = [str(args.litellm_venv / "bin" / "litellm"), "--config", str(config), "--host",
            "127.0.0.1", "--port", str(port), "--num_workers", "1", *args.litellm_arg]  # fmt: skip
    process = start("litellm-proxy", args.gateway_core, argv, workdir, env)
    base = f"http://127.0.0.1:{port}"
    ready = wait_ready(process, f"{base}/health/liveliness")
    return Gateway("litellm", process, f"{base}/v1", key, ready)


def ledger_rows(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM usage").fetchone()[0])


def src_env(args: argparse.Namespace) -> dict[str, str]:
    """With --src, every llmecon command imports llmecon from that tree (PYTHONPATH comes
    before the venv's editable install)."""
    return {"PYTHONPATH": str(args.src.resolve())} if args.src else {}


def create_key(args: argparse.Namespace, workdir: Path) -> str:
    ledger = args.ledger or f"sqlite:///{workdir / 'ledger.db'}"
    limits = [] if args.no_limits else LIMITS
    out = subprocess.run([str(BIN / "llmecon"), "keys", "create", "bench", "--ledger", ledger,
                          *limits, *args.key_arg], capture_output=True, text=True, check=True,
                         env={**os.environ, **src_env(args)})  # fmt: skip
    return out.stdout.split()[0]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Slot:
    """One gateway's turn: what it was, how it started and stopped, what it sent and wrote."""

    index: int
    gateway: str
    ready_s: float
    stopped: str
    requests: int
    ledger_rows: int | None


def measure_slot(bench: Bench, slot: int, name: str) -> Slot:
    a, mock_url, workdir = bench.args, bench.mock_url, bench.workdir
    for stream in MODES:  # a fresh direct baseline for this slot's added latency
        bench.run("direct", slot, mock_url, None, stream=stream, concurrency=1,
                  requests=a.low_requests)  # fmt: skip
    starter = start_llmecon if name == "llmecon" else start_litellm
    gateway = starter(a, mock_url, workdir, bench.keys[name])
    sent = 0
    try:
        for stream in MODES:
            sent += bench.run(name, slot, gateway.base_url, gateway.key, stream=stream,
                              concurrency=8, requests=a.warmup, gateway=gateway.process,
                              keep=False).requests  # fmt: skip
        for stream in MODES:
            sent += bench.run(name, slot, gateway.base_url, gateway.key, stream=stream,
                              concurrency=1, requests=a.low_requests,
                              gateway=gateway.process).requests  # fmt: skip
        for stream in MODES:
            sent += bench.run(name, slot, gateway.base_url, gateway.key, stream=stream,
                              concurrency=a.high_concurrency, seconds=a.high_seconds,
                              gateway=gateway.process).requests  # fmt: skip
    finally:
        stopped = stop(gateway.process)
    rows = ledger_rows(gateway.ledger) - gateway.rows_before if gateway.ledger else None
    return Slot(slot, name, gateway.ready_s, stopped, sent, rows)


# --- the report ---------------------------------------------------------------------------------


def pick(runs: list[Run], target: str, stream: bool, concurrency: int) -> list[Run]:
    return [r for r in runs if (r.target, r.stream, r.concurrency) == (target, stream, concurrency)]


def median_of(values: list[float | None]) -> float | None:
    """The median over slots (the mean of two): one disturbed slot does not move it much."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def added(runs: list[Run], target: str, stream: bool, attribute: str) -> float | None:
    """Gateway e2e minus the same slot's direct e2e at one percentile, averaged over slots."""
    diffs = []
    for run in pick(runs, target, stream, 1):
        (direct,) = [r for r in pick(runs, "direct", stream, 1) if r.slot == run.slot]
        diffs.append(getattr(run, attribute) - getattr(direct, attribute))
    return median_of(diffs)


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{suffix}"


def ratio(better: float | None, worse: float | None) -> str:
    if better is None or worse is None or better <= 0:
        return "-"
    return f"{worse / better:,.1f}x"


def summary_rows(runs: list[Run], high: int) -> tuple[list[str], dict[str, Any]]:
    lines = ["| metric | llmecon | LiteLLM | llmecon's advantage |", "|---|--:|--:|--:|"]
    facts: dict[str, Any] = {}
    for stream in MODES:
        mode = "streamed" if stream else "not streamed"
        for pct in ("p50", "p99"):
            mine, theirs = (added(runs, g, stream, f"e2e_{pct}") for g in GATEWAYS)
            facts[f"added_{pct}_{'stream' if stream else 'once'}"] = mine
            lines.append(f"| added latency {pct}, {mode}, concurrency 1 (ms) | {fmt(mine)} | "
                         f"{fmt(theirs)} | {ratio(mine, theirs)} less |")  # fmt: skip
    for stream in MODES:
        mode = "streamed" if stream else "not streamed"
        rps = {g: median_of([r.rps for r in pick(runs, g, stream, high)]) for g in GATEWAYS}
        cpu = {g: median_of([r.gateway_cpu for r in pick(runs, g, stream, high)]) for g in GATEWAYS}
        per = {g: rps[g] / cpu[g] if rps[g] and cpu[g] else None for g in GATEWAYS}
        facts[f"rps_ratio_{'stream' if stream else 'once'}"] = _div(rps["llmecon"], rps["litellm"])
        facts[f"core_ratio_{'stream' if stream else 'once'}"] = _div(per["llmecon"], per["litellm"])
        facts[f"cpu_{'stream' if stream else 'once'}"] = cpu["llmecon"]
        lines += [
            f"| requests/s, {mode}, concurrency {high} | {fmt(rps['llmecon'], 0)} | "
            f"{fmt(rps['litellm'], 0)} | {ratio(rps['litellm'], rps['llmecon'])} |",
            f"| gateway CPU share there (cores) | {fmt(cpu['llmecon'])} | "
            f"{fmt(cpu['litellm'])} | |",
            f"| requests/s per gateway core, {mode} | {fmt(per['llmecon'], 0)} | "
            f"{fmt(per['litellm'], 0)} | {ratio(per['litellm'], per['llmecon'])} |",
        ]  # fmt: skip
    return lines, facts


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def direct_rows(runs: list[Run], high: int) -> list[str]:
    lines = ["| direct to the mock | e2e p50 (ms) | e2e p99 (ms) | requests/s | mock CPU | "
             "client CPU |", "|---|--:|--:|--:|--:|--:|"]  # fmt: skip
    for concurrency in (1, high):
        for stream in MODES:
            chosen = pick(runs, "direct", stream, concurrency)
            mode = "streamed" if stream else "not streamed"
            lines.append(
                f"| concurrency {concurrency}, {mode} (x{len(chosen)}) | "
                f"{fmt(median_of([r.e2e_p50 for r in chosen]), 3)} | "
                f"{fmt(median_of([r.e2e_p99 for r in chosen]), 3)} | "
                f"{fmt(median_of([r.rps for r in chosen]), 0)} | "
                f"{fmt(median_of([r.mock_cpu for r in chosen]))} | "
                f"{fmt(median_of([r.client_cpu for r in chosen]))} |"
            )
    return lines


def run_rows(runs: list[Run]) -> list[str]:
    lines = ["| slot | target | mode | conc. | requests | errors | req/s | e2e p50 | e2e p99 | "
             "gateway CPU | mock CPU | client CPU | others on gateway core |",
             "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    for r in runs:
        errors = r.requests - r.completed
        lines.append(
            f"| {r.slot} | {LABEL[r.target]} | {'stream' if r.stream else 'once'} | "
            f"{r.concurrency} | {r.requests:,} | {errors} | {r.rps:,.0f} | {r.e2e_p50:.3f} | "
            f"{r.e2e_p99:.3f} | {fmt(r.gateway_cpu)} | {r.mock_cpu:.2f} | "
            f"{fmt(r.client_cpu)} | {r.others_on_gateway_core:.2f} |"
        )
    return lines


def check_rows(runs: list[Run], slots: list[Slot]) -> tuple[list[str], int]:
    lines = ["| slot | gateway | ready after (s) | requests sent | not 200 | output tokens "
             "per answer | ledger rows | stop |", "|--:|---|--:|--:|--:|---|--:|---|"]  # fmt: skip
    bad = 0
    for slot in slots:
        mine = [r for r in runs if r.slot == slot.index and r.target == slot.gateway]
        failed = sum(r.requests - r.completed for r in mine)
        kinds = collections.Counter[str]()
        for r in mine:
            kinds.update(r.errors)
        detail = f" ({', '.join(f'{k} x{n}' for k, n in kinds.items())})" if kinds else ""
        rows = "-" if slot.ledger_rows is None else f"{slot.ledger_rows:,}"
        tokens = sorted({f"{r.output_tokens:g} ({r.token_source})" for r in mine
                         if r.output_tokens is not None})  # fmt: skip
        bad += failed + (0 if slot.ledger_rows in (None, slot.requests) else 1)
        lines.append(
            f"| {slot.index} | {LABEL[slot.gateway]} | {slot.ready_s:.1f} | "
            f"{slot.requests:,} | {failed}{detail} | {', '.join(tokens) or '-'} | {rows} | "
            f"{slot.stopped} |"
        )
    return lines, bad


def goal_lines(facts: dict[str, Any]) -> list[str]:
    p50s = {m: facts[f"added_p50_{m}"] for m in ("stream", "once")}
    worst = max((v for v in p50s.values() if v is not None), default=None)
    rps = [facts["rps_ratio_stream"], facts["rps_ratio_once"]]
    core = [facts["core_ratio_stream"], facts["core_ratio_once"]]
    low = min((v for v in rps if v is not None), default=None)
    low_core = min((v for v in core if v is not None), default=None)
    return [
        f"- median added latency under 1 ms: {_verdict(worst is not None and worst < 1.0)} "
        f"(streamed {fmt(p50s['stream'], 3)} ms, not streamed {fmt(p50s['once'], 3)} ms)",
        f"- at least 5x LiteLLM's requests/s on one core: "
        f"{_verdict(low is not None and low >= 5)} (raw {fmt(rps[0], 1)}x streamed, "
        f"{fmt(rps[1], 1)}x not; per gateway core {fmt(core[0], 1)}x / {fmt(core[1], 1)}x; "
        f"lowest per-core {fmt(low_core, 1)}x)",
    ]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def report(bench: Bench, slots: list[Slot], ceiling: list[Run]) -> int:
    a, runs = bench.args, bench.runs
    cores = f"gateway on core {a.gateway_core}; mock and load generator on core {a.client_core}"
    print(f"\n## Gateway overhead: llmecon vs LiteLLM {litellm_version(a.litellm_venv)}\n")
    print(f"{os.cpu_count()} cores here; {cores}. Chat completions, {a.input_tokens}-token "
          f"prompts, {a.output_tokens} output tokens; ABBA x{a.rounds}; concurrency 1: "
          f"{a.low_requests} requests per run; concurrency {a.high_concurrency}: "
          f"{a.high_seconds:g} s per run.")  # fmt: skip
    limits = "off" if a.no_limits else "on (never reached)"
    extra = " ".join([*a.serve_arg, *a.key_arg]) or "none"
    print(f"llmecon: key check, limits and budgets {limits}, ledger "
          f"{a.ledger or 'SQLite'}; extra arguments: {extra}. LiteLLM: master key, no "
          "database.\n")  # fmt: skip
    summary, facts = summary_rows(runs, a.high_concurrency)
    print("\n".join(summary))
    print("\nGoals:")
    print("\n".join(goal_lines(facts)))
    for stream in MODES:
        cpu = facts[f"cpu_{'stream' if stream else 'once'}"]
        high = pick(runs, "llmecon", stream, a.high_concurrency)
        others = median_of([r.others_on_gateway_core for r in high]) or 0.0
        why = (f"other processes took {others:.0%} of that core" if others > 0.05
               else "the client core, not the gateway, set that rate")  # fmt: skip
        if cpu is not None and cpu < 0.9:
            print(f"- note: llmecon used {cpu:.2f} of its core at concurrency "
                  f"{a.high_concurrency} ({'streamed' if stream else 'not streamed'}): {why}; "
                  "the per-core figure is the fairer one there")  # fmt: skip
    disturbed = [r for r in runs if r.target != "direct" and r.others_on_gateway_core > 0.05]
    if disturbed:
        worst = max(r.others_on_gateway_core for r in disturbed)
        print(f"- note: other processes used over 5% of the gateway core in {len(disturbed)} of "
              f"the gateway runs (up to {worst:.0%}; see the last column of every run): the "
              "machine was not quiet")  # fmt: skip
    print("\n### Direct to the mock (baseline and the client core's ceiling)\n")
    print("\n".join(direct_rows([*runs, *ceiling], a.high_concurrency)))
    checks, bad = check_rows(runs, slots)
    print("\n### Checks: every answer a 200, every request a ledger row (llmecon)\n")
    print("\n".join(checks))
    print("\n### Every run\n")
    print("\n".join(run_rows([*ceiling, *runs])))
    return bad


def litellm_version(venv: Path) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('litellm'))"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    return out.stdout.strip() or "(unknown version)"


# --- profile ------------------------------------------------------------------------------------


def profile(bench: Bench, mock_url: str, workdir: Path, key: str) -> None:
    """One more llmecon gateway under py-spy: where its Python time goes at concurrency 1, 64.

    py-spy samples only the thread holding the GIL (`--gil`), so the shares are of the CPU time
    the interpreter spent, not of idle waits (sqlite and socket calls that release the GIL are
    not in them). The run is slower than the measured ones: py-spy pauses the process to sample.
    """
    a = bench.args
    spy = a.py_spy or a.litellm_venv / "bin" / "py-spy"
    wait_quiet(a.gateway_core, a.quiet_wait)
    gateway = start_llmecon(a, mock_url, workdir, key)
    try:
        bench.run("llmecon", 0, gateway.base_url, key, stream=False, concurrency=8,
                  requests=a.warmup, keep=False)  # fmt: skip
        for concurrency, amount in ((1, {"requests": a.low_requests * 4}),
                                    (a.high_concurrency, {"seconds": a.high_seconds})):  # fmt: skip
            raw = workdir / f"pyspy-c{concurrency}.txt"
            spy_argv = [str(spy), "record", "--gil", "--format", "raw", "--rate", str(SPY_HZ),
                        "--output", str(raw), "--pid", str(gateway.process.popen.pid)]  # fmt: skip
            with (workdir / "py-spy.log").open("ab") as log:
                recorder = subprocess.Popen(["taskset", "--cpu-list", str(a.client_core),
                                             *spy_argv], stdout=log, stderr=log)  # fmt: skip
                time.sleep(1.0)
                began = time.monotonic()
                run = bench.run("llmecon", 0, gateway.base_url, key, stream=False,
                                concurrency=concurrency, gateway=gateway.process, keep=False,
                                **amount)  # fmt: skip
                recorder.send_signal(signal.SIGINT)
                recorder.wait(30)
                wall = time.monotonic() - began + 1.0
            print(
                "\n### Where llmecon's gateway spends its time: not streamed, concurrency "
                f"{concurrency} ({run.rps:,.0f} req/s under py-spy, which slows it)\n"
            )
            print_profile(raw, wall)
    finally:
        stop(gateway.process)


def print_profile(raw: Path, wall: float, top: int = 15) -> None:
    """Shares of GIL-held samples: by area, thread, library (self), function (self, inclusive)."""
    stacks = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    total = sum(n for _, n in stacks) or 1
    threads, libraries = collections.Counter[str](), collections.Counter[str]()
    own, inclusive = collections.Counter[str](), collections.Counter[str]()
    areas = collections.Counter[str]()
    for frames, n in stacks:
        names = [_function(f) for f in frames]
        areas[_area(frames)] += n
        threads[_thread(frames)] += n
        libraries[_library(frames[-1])] += n
        own[names[-1]] += n
        for name in set(names):
            inclusive[name] += n
    held = total / (SPY_HZ * wall)
    print(f"{total:,} samples; the GIL was held {held:.0%} of the recording.\n")
    print("By area: " + _shares(areas, total, top) + ".")
    print("By thread: " + _shares(threads, total, top) + ".")
    print("By library (self time): " + _shares(libraries, total, 12) + ".\n")
    print("| self | function |  | inclusive | function |\n|--:|---|---|--:|---|")
    busy = [(k, v) for k, v in inclusive.most_common() if v < 0.95 * total][:top]
    for (name, n), (wide, m) in zip(own.most_common(top), busy, strict=False):
        print(f"| {n / total:.1%} | `{name}` | | {m / total:.1%} | `{wide}` |")


AREAS = (  # (label, markers): a sample counts for the first area any of its frames matches
    ("upstream client (httpx, httpcore, h11, anyio)", ("httpx/", "httpcore/", "h11/", "anyio/")),
    ("ledger row (record, journal)", ("_Recorder.finish", "LedgerWriter", "gateway/journal.py")),
    ("key check", ("_authorize", "verify_key")),
    ("request parsing", ("parse_call", "gateway/requests.py")),
    # otherwise the innermost frame of uvicorn or llmecon decides
)


def _area(frames: list[str]) -> str:
    joined = ";".join(frames)
    for label, markers in AREAS:
        if any(marker in joined for marker in markers):
            return label
    for frame in reversed(frames):
        if "uvicorn/" in frame:
            return "HTTP server (uvicorn)"
        if "llmecon/" in frame:
            return "llmecon, other"
    return "other (event loop, stdlib)"


def _function(frame: str) -> str:
    """`func (path/file.py:123)` -> `func (path/file.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def _library(frame: str) -> str:
    where = frame.partition(" (")[2]
    path = where.rsplit(":", 1)[0]
    if not path:
        return "(native)"
    top = path.split("/")[0]
    return top.removesuffix(".py") if "/" in path or top.endswith(".py") else path


def _thread(frames: list[str]) -> str:
    joined = ";".join(frames)
    if "LedgerWriter._run" in joined:
        return "ledger writer"
    if "concurrent/futures/thread.py" in joined:
        return "to_thread workers"
    return "event loop" if "Runner.run" in joined or "<module>" in frames[0] else "other"


def _shares(counter: collections.Counter[str], total: int, top: int) -> str:
    return ", ".join(f"{name} {n / total:.0%}" for name, n in counter.most_common(top))


# --- main ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_mock(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[Process, str]]:
    port = free_port()
    argv = [str(BIN / "llmecon"), "mock-server", "--ttft-ms", "0", "--itl-ms", "0",
            "--output-tokens", str(args.output_tokens), "--model", MODEL,
            "--port", str(port)]  # fmt: skip
    mock = start("mock", args.client_core, argv, workdir, src_env(args))
    try:
        wait_ready(mock, f"http://127.0.0.1:{port}/healthz")
        yield mock, f"http://127.0.0.1:{port}/v1"
    finally:
        stop(mock, grace=5)


def wait_quiet(core: int, patience: float, limit: float = 0.1) -> float:
    """Wait (up to `patience` s) until other processes use under `limit` of the gateway core
    over half a second; returns the last share seen. Other tenants of the machine disturb the
    gateway runs (the last column of every run shows by how much)."""
    deadline = time.monotonic() + patience
    while True:
        start = core_busy_seconds(core)
        time.sleep(0.5)
        busy = (core_busy_seconds(core) - start) / 0.5
        if busy < limit or time.monotonic() >= deadline:
            return busy


def order(rounds: int) -> list[str]:
    """ABBA, repeated: llmecon, LiteLLM, LiteLLM, llmecon, ..."""
    return [name for _ in range(rounds) for name in (*GATEWAYS, *reversed(GATEWAYS))]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=1, help="ABBA rounds (default 1)")
    p.add_argument("--low-requests", type=int, default=500, help="per concurrency-1 run")
    p.add_argument("--high-concurrency", type=int, default=64)
    p.add_argument("--high-seconds", type=float, default=6.0, help="per high-concurrency run")
    p.add_argument("--warmup", type=int, default=200, help="requests per mode before measuring")
    p.add_argument("--input-tokens", type=int, default=32)
    p.add_argument("--output-tokens", type=int, default=16)
    p.add_argument("--gateway-core", type=int, default=0)
    p.add_argument("--quiet-wait", type=float, default=30.0,
                   help="seconds to wait for a quiet gateway core before each slot")  # fmt: skip
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--src", type=Path, help="llmecon source tree to run (e.g. an exported "
                   "commit's src/) instead of the venv's install")  # fmt: skip
    p.add_argument("--ledger", help="llmecon's ledger URL (default: SQLite in a temp folder)")
    p.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `llmecon serve` (repeatable; use --serve-arg=--x)",
    )
    p.add_argument("--no-limits", action="store_true", help="a bench key without limits")
    p.add_argument(
        "--key-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `llmecon keys create` (repeatable)",
    )
    p.add_argument("--litellm-venv", type=Path, default=LITELLM_VENV)
    p.add_argument("--litellm-config", type=Path, help="use this config instead")
    p.add_argument("--litellm-key", help="the master key that --litellm-config sets")
    p.add_argument(
        "--litellm-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `litellm` (repeatable)",
    )
    p.add_argument("--profile", action="store_true", help="py-spy llmecon's gateway afterwards")
    p.add_argument("--py-spy", type=Path, help="py-spy binary (default: the LiteLLM venv's)")
    p.add_argument("--json", type=Path, help="write every run and check here")
    p.add_argument("--keep", action="store_true", help="keep the temp folder (logs, ledger)")
    args = p.parse_args(argv)  # fmt: skip
    if args.litellm_config is not None and not args.litellm_key:
        p.error("--litellm-config needs --litellm-key (the master key it sets)")
    if not (args.litellm_venv / "bin" / "litellm").exists():
        p.error(f"no LiteLLM in {args.litellm_venv}: run bash benchmarks/setup_litellm.sh")
    return args


def main() -> int:
    args = parse_args()
    os.sched_setaffinity(0, {args.client_core})  # this script only waits; keep it off core 0
    workdir = Path(tempfile.mkdtemp(prefix="llmecon-gw-bench-"))
    began = time.monotonic()
    keys = {"llmecon": create_key(args, workdir),
            "litellm": args.litellm_key or f"sk-bench-{secrets.token_hex(12)}"}  # fmt: skip
    with running_mock(args, workdir) as (mock, mock_url):
        bench = Bench(args, mock, mock_url, workdir, keys)
        ceiling = [bench.run("direct", 0, mock_url, None, stream=stream,
                             concurrency=args.high_concurrency, seconds=args.high_seconds,
                             keep=False) for stream in MODES]  # fmt: skip
        slots = []
        for index, name in enumerate(order(args.rounds), start=1):
            busy = wait_quiet(args.gateway_core, args.quiet_wait)
            print(f"slot {index}: {LABEL[name]} (gateway core {busy:.0%} busy before)",
                  file=sys.stderr, flush=True)  # fmt: skip
            slots.append(measure_slot(bench, index, name))
        bad = report(bench, slots, ceiling)
        if args.profile:
            profile(bench, mock_url, workdir, keys["llmecon"])
    kept = args.keep or bad
    where = f"; logs in {workdir}" if kept else ""
    print(f"\n({time.monotonic() - began:.0f} s in all{where})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        data = {"runs": [asdict(r) for r in [*ceiling, *bench.runs]],
                "slots": [asdict(s) for s in slots], "settings": settings}  # fmt: skip
        args.json.write_text(json.dumps(data, indent=2))
    if not kept:
        for entry in sorted(workdir.rglob("*"), reverse=True):
            entry.rmdir() if entry.is_dir() else entry.unlink()
        workdir.rmdir()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
