"""Benchmark metrics, defined once (docs/bench.md): pure functions over request records.

TTFT = t_first - t_send (t_first: the first event carrying generated text; a role-only delta
is not content). E2E = t_last - t_send. ITL per request = (t_last - t_first) / (N_out - 1).
Queue-inclusive TTFT and E2E start at the scheduled send time instead (open loop). N_out is the
server's usage.completion_tokens; counting on the client is a marked fallback.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99))
SLO_KEYS = ("ttft_ms", "itl_ms", "e2e_ms")


@dataclass(frozen=True)
class Record:
    """One finished request, in seconds from a monotonic clock, tokens already counted."""

    t_sched: float
    t_send: float
    t_first: float | None
    t_last: float | None
    t_done: float | None
    input_tokens: int | None
    output_tokens: int | None
    token_source: str  # "server" or "client"
    error: str | None = None
    count_mismatch: bool = False  # client count differs from the server's usage
    status: int = 0  # HTTP status (0: no response)
    detail: str = ""  # what the error was, in words
    retries: int = 0  # resent on a new connection (a reused one failed before writing)

    @property
    def ok(self) -> bool:
        return self.error is None and self.t_first is not None and self.t_last is not None

    @property
    def ttft_ms(self) -> float:
        assert self.t_first is not None
        return (self.t_first - self.t_send) * 1000

    @property
    def e2e_ms(self) -> float:
        assert self.t_last is not None
        return (self.t_last - self.t_send) * 1000

    @property
    def itl_ms(self) -> float | None:
        if self.output_tokens is None or self.output_tokens < 2 or self.t_first is None:
            return None
        if self.t_last is None or self.t_last == self.t_first:
            return None  # one event (not streamed): no inter-token latency to see
        return (self.t_last - self.t_first) * 1000 / (self.output_tokens - 1)

    def meets(self, slos: Mapping[str, float]) -> bool:
        values = {"ttft_ms": self.ttft_ms, "itl_ms": self.itl_ms, "e2e_ms": self.e2e_ms}
        return all((values[key] or 0.0) <= limit for key, limit in slos.items())


@dataclass(frozen=True)
class Distribution:
    p50: float
    p90: float
    p95: float
    p99: float
    mean: float
    max: float
    count: int


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) of sorted values."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: Iterable[float | None]) -> Distribution | None:
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    quantiles = {name: percentile(ordered, q) for name, q in QUANTILES}
    return Distribution(
        mean=sum(ordered) / len(ordered), max=ordered[-1], count=len(ordered), **quantiles
    )


@dataclass(frozen=True)
class Summary:
    requests: int
    completed: int
    errors: Mapping[str, int]
    duration_s: float
    requests_per_second: float
    input_tokens_per_second: float
    output_tokens_per_second: float
    ttft_ms: Distribution | None
    itl_ms: Distribution | None
    e2e_ms: Distribution | None
    ttft_queued_ms: Distribution | None
    e2e_queued_ms: Distribution | None
    output_tokens: Distribution | None
    token_source: str
    count_mismatch_rate: float | None
    slos: Mapping[str, float]
    goodput_requests_per_second: float | None
    slo_attainment: float | None
    retries: int = 0  # client-side resends, not server errors (RFC 9112 9.3.1)


def summarize(records: Sequence[Record], slos: Mapping[str, float] | None = None) -> Summary:
    """Throughput over the measurement window (first send to last completion) and latencies."""
    slos = dict(slos or {})
    done = [r for r in records if r.ok]
    window = _window(records)
    sources = {r.token_source for r in done}
    compared = [r for r in done if r.token_source == "server"]
    good = [r for r in done if r.meets(slos)] if slos else []
    return Summary(
        requests=len(records),
        completed=len(done),
        errors=dict(Counter(r.error or "no_content" for r in records if not r.ok)),
        duration_s=window,
        requests_per_second=_rate(len(done), window),
        input_tokens_per_second=_rate(sum(r.input_tokens or 0 for r in done), window),
        output_tokens_per_second=_rate(sum(r.output_tokens or 0 for r in done), window),
        ttft_ms=distribution(r.ttft_ms for r in done),
        itl_ms=distribution(r.itl_ms for r in done),
        e2e_ms=distribution(r.e2e_ms for r in done),
        ttft_queued_ms=distribution((r.t_first - r.t_sched) * 1000 for r in done if r.t_first),
        e2e_queued_ms=distribution((r.t_last - r.t_sched) * 1000 for r in done if r.t_last),
        output_tokens=distribution(float(r.output_tokens or 0) for r in done),
        token_source=sources.pop() if len(sources) == 1 else ("mixed" if sources else "none"),
        count_mismatch_rate=(
            sum(r.count_mismatch for r in compared) / len(compared) if compared else None
        ),
        slos=slos,
        goodput_requests_per_second=_rate(len(good), window) if slos else None,
        slo_attainment=len(good) / len(done) if slos and done else None,
        retries=sum(r.retries for r in records),
    )


def _window(records: Sequence[Record]) -> float:
    sends = [r.t_send for r in records if r.t_send]
    ends = [r.t_done or r.t_last or r.t_send for r in records]
    if not sends:
        return 0.0
    return max(max(ends) - min(sends), 0.0)


def _rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0
