"""Prometheus metrics kept per gateway instance (no globals), in the text exposition format.

Counters: requests and tokens by model, what the traffic cost self-hosted (as slots close) and
on each compared API. Histograms: request latency, time to first token, tokens per request.
Gauges: upstream health, the ledger's queue, and per key what is left of its budgets and rate
limits (`llmecon.gateway.allowance`). Labels are bounded: model names that are not configured
are counted as "(other)" by the caller; the first `KEY_SERIES` keys (oldest first) have series
of their own, the others are summed under key="(other)".
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from llmecon.core.allocation import NANO
from llmecon.gateway.allowance import Allowance

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
TOKENS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536)
KEY_SERIES = 100  # keys with series of their own; the rest are summed as "(other)"
OTHER = "(other)"
WINDOWS = {"budget_day_nusd": "day", "budget_month_nusd": "month"}
RATES = ("requests_per_minute", "tokens_per_minute")


@dataclass
class Histogram:
    bounds: Sequence[float]
    counts: dict[str, list[int]] = field(default_factory=dict)  # label -> bucket counts
    sums: dict[str, float] = field(default_factory=dict)

    def observe(self, label: str, value: float) -> None:
        counts = self.counts.setdefault(label, [0] * (len(self.bounds) + 1))
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                counts[index] += 1
                break
        else:
            counts[-1] += 1
        self.sums[label] = self.sums.get(label, 0.0) + value

    def lines(self, name: str, key: str) -> Iterable[str]:
        for label in sorted(self.counts):
            counts, running = self.counts[label], 0
            for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                yield f'{name}_bucket{{{key}="{_q(label)}",le="{le}"}} {running}'
            yield f'{name}_sum{{{key}="{_q(label)}"}} {self.sums[label]:.6f}'
            yield f'{name}_count{{{key}="{_q(label)}"}} {running}'


@dataclass
class Metrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    tokens: Counter[tuple[str, str]] = field(default_factory=Counter)
    latency: Histogram = field(default_factory=lambda: Histogram(SECONDS))
    ttft: Histogram = field(default_factory=lambda: Histogram(SECONDS))
    prompt_sizes: Histogram = field(default_factory=lambda: Histogram(TOKENS))
    completion_sizes: Histogram = field(default_factory=lambda: Histogram(TOKENS))
    self_hosted_usd: dict[str, float] = field(default_factory=dict)
    counterfactual_usd: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(
        self,
        model: str,
        endpoint: str,
        status: int,
        seconds: float,
        tokens: tuple[int | None, int | None],
        *,
        ttft_s: float | None = None,
    ) -> None:
        prompt, completion = tokens
        with self.lock:
            self.requests[(model, endpoint, status)] += 1
            self.tokens[(model, "prompt")] += prompt or 0
            self.tokens[(model, "completion")] += completion or 0
            self.latency.observe(model, seconds)
            if ttft_s is not None:
                self.ttft.observe(model, ttft_s)
            if prompt is not None:
                self.prompt_sizes.observe(model, prompt)
            if completion is not None:
                self.completion_sizes.observe(model, completion)

    def cost(
        self, counterfactual_usd: Mapping[str, float], self_hosted: Mapping[str, float]
    ) -> None:
        """Add what requests would have cost per API, and what slots cost per upstream."""
        with self.lock:
            for totals, amounts in (
                (self.counterfactual_usd, counterfactual_usd),
                (self.self_hosted_usd, self_hosted),
            ):
                for name, usd in amounts.items():
                    totals[name] = totals.get(name, 0.0) + usd

    def render(
        self,
        queue_depth: int,
        ledger_failures: int,
        upstreams: Mapping[str, bool] | None = None,
        allowances: Sequence[Allowance] = (),
        *,
        key_gauges: bool = True,
    ) -> bytes:
        with self.lock:
            lines = [*self._counters(), *self._histograms()]
        lines += allowance_lines(allowances)
        lines += [
            "# HELP llmecon_key_gauges_available Whether the per-key gauges could be read (1) "
            "or a store did not answer (0).",
            "# TYPE llmecon_key_gauges_available gauge",
            f"llmecon_key_gauges_available {int(key_gauges)}",
        ]
        lines += _gauge("llmecon_upstream_healthy", "Whether an upstream answers (1) or not.",
                        "upstream", {k: int(v) for k, v in (upstreams or {}).items()})  # fmt: skip
        lines += [
            "# HELP llmecon_ledger_queue Rows waiting for the ledger writer.",
            "# TYPE llmecon_ledger_queue gauge",
            f"llmecon_ledger_queue {queue_depth}",
            "# HELP llmecon_ledger_failures_total Ledger writes that failed.",
            "# TYPE llmecon_ledger_failures_total counter",
            f"llmecon_ledger_failures_total {ledger_failures}",
        ]
        return ("\n".join(lines) + "\n").encode()

    def _counters(self) -> list[str]:
        lines = [
            "# HELP llmecon_requests_total Completion requests by model, endpoint and status.",
            "# TYPE llmecon_requests_total counter",
            *(
                f'llmecon_requests_total{{model="{_q(m)}",endpoint="{e}",status="{s}"}} {n}'
                for (m, e, s), n in sorted(self.requests.items())
            ),
            "# HELP llmecon_tokens_total Tokens by model and kind.",
            "# TYPE llmecon_tokens_total counter",
            *(
                f'llmecon_tokens_total{{model="{_q(m)}",kind="{k}"}} {n}'
                for (m, k), n in sorted(self.tokens.items())
            ),
        ]
        lines += _counter("llmecon_self_hosted_cost_usd_total",
                          "Self-hosted cost of closed slots (idle included), USD.", "upstream",
                          self.self_hosted_usd)  # fmt: skip
        lines += _counter("llmecon_counterfactual_cost_usd_total",
                          "What the traffic would have cost on each compared API, USD.", "api",
                          self.counterfactual_usd)  # fmt: skip
        return lines

    def _histograms(self) -> list[str]:
        lines: list[str] = []
        for name, text, histogram in (
            ("llmecon_request_seconds", "Request latency, seconds.", self.latency),
            ("llmecon_ttft_seconds", "Time to the first token, seconds.", self.ttft),
        ):
            lines += [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
            lines += histogram.lines(name, "model")
        name = "llmecon_tokens_per_request"
        lines += [f"# HELP {name} Tokens per request by kind.", f"# TYPE {name} histogram"]
        for kind, histogram in (
            ("prompt", self.prompt_sizes),
            ("completion", self.completion_sizes),
        ):
            lines += (
                line.replace('{model="', f'{{kind="{kind}",model="')
                for line in histogram.lines(name, "model")
            )
        return lines


def allowance_lines(allowances: Sequence[Allowance], cap: int = KEY_SERIES) -> list[str]:
    """Gauges of what each key has left: budgets in USD (and the budgets themselves, for
    ratios), rate limits in requests or tokens. Keys past the first `cap` are summed."""
    budget: dict[tuple[str, str, str], int] = {}
    left: dict[tuple[str, str, str], int] = {}
    rates: dict[tuple[str, str, str], int] = {}
    for index, allowance in enumerate(allowances):
        key = (allowance.name, allowance.key_id) if index < cap else (OTHER, OTHER)
        remaining = allowance.left()
        for name, limit in allowance.limits().items():
            if limit is None:
                continue
            series = (*key, WINDOWS.get(name, name))
            target = rates if name in RATES else left
            target[series] = target.get(series, 0) + (remaining[name] or 0)
            if name in WINDOWS:
                budget[series] = budget.get(series, 0) + limit
    lines = []
    for name, text, values, money in (
        ("llmecon_budget_usd", "A key's budget per UTC day or month, USD.", budget, True),
        ("llmecon_budget_remaining_usd", "What is left of a key's budget (spend and "
         "reservations of requests in flight taken off), USD.", left, True),
        ("llmecon_rate_limit_remaining", "What is left of a key's rate limit in the sliding "
         "minute (requests or tokens).", rates, False),
    ):  # fmt: skip
        last = "window" if money else "limit"
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
        lines += (
            f'{name}{{key="{_q(k)}",key_id="{_q(i)}",{last}="{w}"}} '
            + (_usd(value) if money else str(value))
            for (k, i, w), value in values.items()
        )
    return lines


def _usd(nusd: int) -> str:
    """Nano-dollars as an exact decimal number of dollars."""
    return f"{nusd // NANO}.{nusd % NANO:09d}"


def _counter(name: str, text: str, key: str, values: Mapping[str, float]) -> list[str]:
    return [f"# HELP {name} {text}", f"# TYPE {name} counter"] + [
        f'{name}{{{key}="{_q(label)}"}} {value:.9f}' for label, value in sorted(values.items())
    ]


def _gauge(name: str, text: str, key: str, values: Mapping[str, float]) -> list[str]:
    return [f"# HELP {name} {text}", f"# TYPE {name} gauge"] + [
        f'{name}{{{key}="{_q(label)}"}} {value}' for label, value in sorted(values.items())
    ]


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
