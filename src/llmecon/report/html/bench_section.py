"""A `llmecon bench` result (its JSON file) summarised for the report: one row per run."""

from __future__ import annotations

from typing import Any

from llmecon.errors import LlmeconError


def _pick(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _load(run: dict[str, Any]) -> str:
    load = run.get("load") or {}
    for key, unit in (("concurrency", "in flight"), ("rate", "requests/s")):
        if load.get(key) is not None:
            return f"{load.get('mode', '')} {load[key]:g} {unit}".strip()
    return str(load.get("mode", "-"))


def bench_summary(bench: Any) -> dict[str, Any]:
    """Endpoint, model and each run's throughput, latency and validity (plain data)."""
    if not isinstance(bench, dict) or not isinstance(bench.get("runs"), list):
        raise LlmeconError(
            "--bench: not a `llmecon bench` result (no 'runs' list); write one with "
            "`llmecon bench ... --output result.json`"
        )
    rows = []
    for run in bench["runs"]:
        summary = _pick(run, "summary") or {}
        rows.append(
            {
                "load": _load(run),
                "completed": summary.get("completed"),
                "requests": summary.get("requests"),
                "requests_per_second": summary.get("requests_per_second"),
                "output_tokens_per_second": summary.get("output_tokens_per_second"),
                "ttft_p50_ms": _pick(summary, "ttft_ms", "p50"),
                "ttft_p95_ms": _pick(summary, "ttft_ms", "p95"),
                "e2e_p50_ms": _pick(summary, "e2e_ms", "p50"),
                "e2e_p95_ms": _pick(summary, "e2e_ms", "p95"),
                "valid": _pick(run, "health", "valid"),
                "reasons": _pick(run, "health", "reasons") or [],
                "cost_per_1m_output_tokens": _pick(
                    run, "cost", "max_throughput", "per_1m_output_tokens"
                ),
            }
        )
    return {"endpoint": bench.get("endpoint"), "model": bench.get("model"), "runs": rows}
