"""`llmecon bench` results: the JSON profile (read back by `capacity: {profile: FILE}`), tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, TextIO

from rich.table import Table

from llmecon.bench.cost import CostPoint, CostReport
from llmecon.bench.metrics import Distribution
from llmecon.bench.session import BenchResult, RunResult
from llmecon.report.contract import breakeven_to_dict
from llmecon.report.numbers import clean, money
from llmecon.report.table import wide_console
from llmecon.report.words import breakeven_sentences

CostReports = list[CostReport | None]


def _dist(value: Distribution | None) -> dict[str, float] | None:
    if value is None:
        return None
    return {k: clean(v) if isinstance(v, float) else v for k, v in asdict(value).items()}


def _point(point: CostPoint | None) -> dict[str, Any] | None:
    if point is None:
        return None
    return {k: None if v is None else clean(v) for k, v in asdict(point).items()}


def cost_to_dict(report: CostReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "hourly_price": report.hourly.amount,
        "source": report.hourly.cited(),
        "max_throughput": _point(report.max_throughput),
        "slo_goodput": _point(report.slo_goodput),
        "breakeven": [{"api": name, **breakeven_to_dict(b)} for name, b in report.breakevens],
    }


def run_to_dict(run: RunResult, cost: CostReport | None) -> dict[str, Any]:
    s, h, load = run.summary, run.health, run.load
    return {
        "load": {"mode": load.mode, **asdict(load)},
        "summary": {
            "requests": s.requests,
            "completed": s.completed,
            "errors": dict(s.errors),
            "duration_s": clean(s.duration_s),
            "requests_per_second": clean(s.requests_per_second),
            "input_tokens_per_second": clean(s.input_tokens_per_second),
            "output_tokens_per_second": clean(s.output_tokens_per_second),
            "ttft_ms": _dist(s.ttft_ms),
            "itl_ms": _dist(s.itl_ms),
            "e2e_ms": _dist(s.e2e_ms),
            "ttft_queued_ms": _dist(s.ttft_queued_ms),
            "e2e_queued_ms": _dist(s.e2e_queued_ms),
            "output_tokens": _dist(s.output_tokens),
            "token_source": s.token_source,
            "client_count_mismatch_rate": s.count_mismatch_rate,
            "slos": dict(s.slos),
            "goodput_requests_per_second": (
                None if s.goodput_requests_per_second is None
                else clean(s.goodput_requests_per_second)
            ),
            "slo_attainment": s.slo_attainment,
            "client_retries": s.retries,
        },
        "health": {
            "valid": h.valid,
            "reasons": list(h.reasons),
            "failure": h.failure,
            "client_cpu": clean(h.client_cpu),
            "send_lateness_ms": _dist(h.lateness_ms),
            "requested_rate": h.requested_rate,
            "scheduled_rate": None if h.scheduled_rate is None else clean(h.scheduled_rate),
            "achieved_send_rate": (
                None if h.achieved_send_rate is None else clean(h.achieved_send_rate)
            ),
        },
        "cost": cost_to_dict(cost),
    }  # fmt: skip


def bench_to_dict(result: BenchResult, costs: CostReports) -> dict[str, Any]:
    spec = result.spec
    return {
        "endpoint": spec.base_url,
        "model": spec.model,
        "request": {
            "endpoint": spec.endpoint,
            "stream": spec.stream,
            "input_tokens": spec.input_tokens if spec.prompts_file is None else None,
            "prompts_file": str(spec.prompts_file) if spec.prompts_file else None,
            "output_tokens": spec.output_tokens,
            "ignore_eos": result.ignore_eos,
            "tokenizer": result.tokenizer,
            "seed": spec.seed,
        },
        "runs": [run_to_dict(run, cost) for run, cost in zip(result.runs, costs, strict=True)],
    }


def request_rows(result: BenchResult) -> Iterator[dict[str, Any]]:
    """One row per request (--requests-output): times in seconds from the run's first send."""
    for index, run in enumerate(result.runs, start=1):
        records = run.records
        origin = min((r.t_sched for r in records), default=0.0)

        def at(value: float | None, origin: float = origin) -> float | None:
            return None if value is None or value == 0.0 else round(value - origin, 6)

        for number, r in enumerate(records):
            yield {
                "run": index, "request": number, "t_sched": at(r.t_sched), "t_send": at(r.t_send),
                "t_first": at(r.t_first), "t_last": at(r.t_last), "t_done": at(r.t_done),
                "ttft_ms": round(r.ttft_ms, 3) if r.ok else None,
                "e2e_ms": round(r.e2e_ms, 3) if r.ok else None,
                "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                "token_source": r.token_source, "status": r.status or None, "ok": r.ok,
                "error": None if r.ok else (r.error or "no_content"),
                "detail": None if r.ok else (r.detail or None), "retries": r.retries,
            }  # fmt: skip


def render_bench_json(result: BenchResult, costs: CostReports, out: TextIO) -> None:
    json.dump(bench_to_dict(result, costs), out, indent=2)
    out.write("\n")


def render_bench_table(result: BenchResult, costs: CostReports, out: TextIO) -> None:
    console = wide_console(out)
    spec = result.spec
    console.print(
        f"[bold]{spec.model}[/bold] at {spec.base_url}  ({spec.endpoint}, "
        f"{'streaming' if spec.stream else 'not streaming'}, {spec.output_tokens} output tokens, "
        f"ignore_eos {'on' if result.ignore_eos else 'off'})"
    )
    console.print(_runs_table(result))
    for index, run in enumerate(result.runs, start=1):
        for reason in run.health.reasons:
            console.print(f"  [yellow]run {index} invalid:[/yellow] {reason}")
        if run.summary.errors:
            errors = ", ".join(f"{kind} x{n}" for kind, n in sorted(run.summary.errors.items()))
            console.print(f"  run {index} errors: {errors}", markup=False)
            if run.summary.completed and run.health.failure:
                console.print(f"  run {index} most common: {run.health.failure}", markup=False)
        if run.summary.retries:
            console.print(
                f"  run {index}: {run.summary.retries} requests resent on a new connection "
                "(a kept-alive one had closed before they were written; not server errors)",
                markup=False,
            )
        if run.summary.token_source in {"client", "mixed"}:
            console.print(
                f"  run {index}: output tokens counted by the client ({result.tokenizer}); "
                "the server sent no usage", markup=False,
            )  # fmt: skip
    _print_costs(console, result, costs)


def _ms(value: Distribution | None, attribute: str) -> str:
    return "-" if value is None else f"{getattr(value, attribute):,.1f}"


def _runs_table(result: BenchResult) -> Table:
    table = Table(title="runs", title_justify="left")
    headers = (
        "#",
        "load",
        "done/sent",
        "req/s",
        "out tok/s",
        "TTFT p50",
        "TTFT p95",
        "ITL p50",
        "ITL p95",
        "E2E p50",
        "E2E p99",
        "goodput",
        "client CPU",
        "valid",
    )
    for header in headers:
        table.add_column(header, justify="left" if header in {"#", "load", "valid"} else "right")
    for index, run in enumerate(result.runs, start=1):
        s = run.summary
        goodput = (
            "-"
            if s.goodput_requests_per_second is None
            else f"{s.goodput_requests_per_second:,.2f}"
        )
        table.add_row(
            str(index), run.load.describe(), f"{s.completed}/{s.requests}",
            f"{s.requests_per_second:,.2f}", f"{s.output_tokens_per_second:,.1f}",
            _ms(s.ttft_ms, "p50"), _ms(s.ttft_ms, "p95"), _ms(s.itl_ms, "p50"),
            _ms(s.itl_ms, "p95"), _ms(s.e2e_ms, "p50"), _ms(s.e2e_ms, "p99"), goodput,
            f"{run.health.client_cpu:.0%}", "yes" if run.health.valid else "NO",
        )  # fmt: skip
    table.caption = "latencies in ms; goodput = requests/s meeting every --slo"
    return table


def _print_costs(console: Any, result: BenchResult, costs: CostReports) -> None:
    for index, cost in enumerate(costs, start=1):
        if cost is None:
            continue
        peak, slo = cost.max_throughput, cost.slo_goodput
        line = (
            f"  run {index} cost at ${cost.hourly.amount:g}/h: {money(peak.per_1m_output_tokens)} "
            f"per 1M output tokens, {money(peak.per_1m_tokens_blended)} per 1M tokens blended "
            f"at this run's throughput ({peak.requests_per_second:,.2f} req/s; the endpoint's "
            "best only if this load saturated it)"
        )
        if slo is not None:
            line += f"; {money(slo.per_1m_output_tokens)} per 1M output tokens at the SLO point"
        console.print(line, markup=False)
        kinds = {name: "api" for name, _ in cost.breakevens} | {"measured endpoint": "self_hosted"}
        for _, breakeven in cost.breakevens:
            for sentence in breakeven_sentences(breakeven, kinds):
                console.print(f"    {sentence}", markup=False)
