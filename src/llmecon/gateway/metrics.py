"""Prometheus text metrics kept per gateway instance (no globals)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Metrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    tokens: Counter[tuple[str, str]] = field(default_factory=Counter)
    latency_sum: dict[str, float] = field(default_factory=dict)
    latency_count: Counter[str] = field(default_factory=Counter)

    def observe(
        self,
        model: str,
        endpoint: str,
        status: int,
        seconds: float,
        tokens: tuple[int | None, int | None],
    ) -> None:
        prompt, completion = tokens
        self.requests[(model, endpoint, status)] += 1
        self.tokens[(model, "prompt")] += prompt or 0
        self.tokens[(model, "completion")] += completion or 0
        self.latency_sum[model] = self.latency_sum.get(model, 0.0) + seconds
        self.latency_count[model] += 1

    def render(self, queue_depth: int, ledger_failures: int) -> bytes:
        lines = [
            "# HELP llmecon_requests_total Completion requests by model, endpoint and status.",
            "# TYPE llmecon_requests_total counter",
        ]
        for (model, endpoint, status), n in sorted(self.requests.items()):
            lines.append(
                f'llmecon_requests_total{{model="{_q(model)}",endpoint="{endpoint}",'
                f'status="{status}"}} {n}'
            )
        lines += [
            "# HELP llmecon_tokens_total Tokens by model and kind.",
            "# TYPE llmecon_tokens_total counter",
        ]
        for (model, kind), n in sorted(self.tokens.items()):
            lines.append(f'llmecon_tokens_total{{model="{_q(model)}",kind="{kind}"}} {n}')
        lines += [
            "# HELP llmecon_request_seconds Request latency.",
            "# TYPE llmecon_request_seconds summary",
        ]
        for model in sorted(self.latency_count):
            lines.append(
                f'llmecon_request_seconds_sum{{model="{_q(model)}"}} {self.latency_sum[model]:.6f}'
            )
            lines.append(
                f'llmecon_request_seconds_count{{model="{_q(model)}"}} {self.latency_count[model]}'
            )
        lines += [
            "# TYPE llmecon_ledger_queue gauge",
            f"llmecon_ledger_queue {queue_depth}",
            "# TYPE llmecon_ledger_failures_total counter",
            f"llmecon_ledger_failures_total {ledger_failures}",
        ]
        return ("\n".join(lines) + "\n").encode()


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
