"""From raw exchanges to records (tokens counted, sources marked) and the run's own health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmecon.bench.client import Exchange
from llmecon.bench.metrics import Distribution, Record, distribution
from llmecon.bench.prompts import Tokenizer
from llmecon.bench.runner import RawRun
from llmecon.sse import text_of

CPU_LIMIT = 0.9  # a client busier than this was probably the bottleneck
LATENESS_LIMIT_MS = 10.0
RATE_SHORTFALL = 0.95
MIN_JUDGED_S = 1.0  # shorter runs are all start-up: their CPU share says nothing
MISMATCH_SAMPLE = 200  # requests whose client count is checked against the server's


def to_records(raw: RawRun, prompt_tokens: Sequence[int], tokenizer: Tokenizer) -> list[Record]:
    """Records with output tokens from the server's usage, else counted here (marked)."""
    records = []
    for index, exchange in enumerate(raw.exchanges):
        known_input = prompt_tokens[index % len(prompt_tokens)] if prompt_tokens else None
        records.append(_record(exchange, known_input, tokenizer, check=index < MISMATCH_SAMPLE))
    return records


def _record(
    exchange: Exchange, known_input: int | None, tokenizer: Tokenizer, check: bool
) -> Record:
    usage = exchange.usage or {}
    server_out, server_in = usage.get("completion_tokens"), usage.get("prompt_tokens")
    from_server = isinstance(server_out, int)
    counted = None
    if exchange.texts and (not from_server or check):
        counted = len(tokenizer.encode("".join(text_of(p) for p in exchange.texts)))
    error = exchange.error
    if error is None and exchange.t_first is None:
        error = "no_content"
    return Record(
        t_sched=exchange.t_sched,
        t_send=exchange.t_send,
        t_first=exchange.t_first,
        t_last=exchange.t_last,
        t_done=exchange.t_done,
        input_tokens=server_in if isinstance(server_in, int) else known_input,
        output_tokens=server_out if from_server else counted,
        token_source="server" if from_server else "client",
        error=error,
        count_mismatch=(
            isinstance(server_out, int) and counted is not None and _differs(server_out, counted)
        ),
        status=exchange.status,
        detail=exchange.detail,
        retries=exchange.retries,
    )


def _differs(server: int, client: int) -> bool:
    return abs(server - client) > max(1, 0.05 * server)


@dataclass(frozen=True)
class Health:
    """Can this run's numbers be trusted? The client measures itself."""

    client_cpu: float  # fraction of one core used by the client during the run
    lateness_ms: Distribution | None  # open loop: when sends left vs when they were due
    requested_rate: float | None  # the nominal rate
    scheduled_rate: float | None  # the rate of this run's schedule (Poisson varies around it)
    achieved_send_rate: float | None
    valid: bool
    reasons: tuple[str, ...]
    failure: str | None = None  # the most common failure, in words


def health_of(raw: RawRun, completed: int | None = None, failure: str | None = None) -> Health:
    """Whether any request succeeded, CPU (judged on runs of at least a second), send
    lateness and rate shortfall; `failure` says what went wrong most often, in words."""
    exchanges = raw.exchanges
    cpu = raw.cpu_s / raw.wall_s if raw.wall_s > 0 else 0.0
    reasons = []
    if completed == 0:
        reasons.append(f"no request succeeded: {failure or 'no request was sent'}")
    if cpu >= CPU_LIMIT and raw.wall_s >= MIN_JUDGED_S:
        reasons.append(f"client CPU at {cpu:.0%} of a core: the client may be the bottleneck")
    lateness = scheduled = achieved = None
    if raw.load.rate is not None and len(exchanges) > 1:
        lateness = distribution((e.t_fire - e.t_sched) * 1000 for e in exchanges)
        scheduled = _rate(len(exchanges), exchanges[-1].t_sched - exchanges[0].t_sched)
        achieved = _rate(len(exchanges), exchanges[-1].t_fire - exchanges[0].t_fire)
        if lateness is not None and lateness.p99 > LATENESS_LIMIT_MS:
            reasons.append(f"sends were late (p99 {lateness.p99:.1f} ms behind schedule)")
        if scheduled and achieved is not None and achieved < RATE_SHORTFALL * scheduled:
            reasons.append(f"sent {achieved:.1f} req/s of the {scheduled:.1f} scheduled")
    return Health(cpu, lateness, raw.load.rate, scheduled, achieved, not reasons, tuple(reasons),
                  failure)  # fmt: skip


def _rate(count: int, span: float) -> float | None:
    return (count - 1) / span if span > 0 else None
