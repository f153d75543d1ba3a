"""An eval's figures per endpoint, and its JSON document (what `quality: {from: ...}` reads).

Accuracy counts every item: a failed request is not a good answer (`errors` says how many
failed). The interval is Wilson's at 95%. Token figures are means per item over the answered
items; latency percentiles are over the answered items too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from llmecon.core.quality import wilson_interval
from llmecon.eval.runner import Call, Outcome, TargetRun

FORMAT = "llmecon-eval"
VERSION = 1
FAILURES_SHOWN = 20


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (share in [0, 1]) of `values`, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _tokens(calls: Sequence[Call]) -> dict[str, Any]:
    answered = [c for c in calls if c.error is None]
    count = len(answered)
    inputs = sum(c.prompt_tokens for c in answered)
    outputs = sum(c.completion_tokens for c in answered)
    counted = sum(c.counted for c in answered)
    source = "usage" if counted == 0 else "tokenizer" if counted == count else "mixed"
    return {
        "requests": len(calls),
        "answered": count,
        "input_total": inputs,
        "output_total": outputs,
        "input_per_request": _round(inputs / count if count else None, 3),
        "output_per_request": _round(outputs / count if count else None, 3),
        "source": source,
    }


def _latency(calls: Sequence[Call]) -> dict[str, Any]:
    values = [c.latency_s * 1e3 for c in calls if c.error is None]
    mean = sum(values) / len(values) if values else None
    return {
        "mean": _round(mean, 3),
        "p50": _round(percentile(values, 0.5), 3),
        "p90": _round(percentile(values, 0.9), 3),
        "p99": _round(percentile(values, 0.99), 3),
    }


def _accuracy(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    correct = sum(o.correct for o in outcomes)
    low, high = wilson_interval(correct, len(outcomes))
    return {
        "items": len(outcomes),
        "correct": correct,
        "accuracy": _round(correct / len(outcomes) if outcomes else None),
        "interval": [_round(low), _round(high)],
    }


def target_summary(run: TargetRun, judge_price: tuple[float, float] | None) -> dict[str, Any]:
    """The figures of one endpoint's run (the `endpoints[]` entry of the JSON document)."""
    outcomes = run.outcomes
    errors = Counter(o.call.error.split(":")[0] for o in outcomes if o.call.error is not None)
    by_grader = {
        kind: _accuracy([o for o in outcomes if o.grader == kind])
        for kind in sorted({o.grader for o in outcomes})
    }
    failures = [
        {"id": o.item_id, "grader": o.grader, "answer": o.call.text[:200], "reason": o.reason}
        for o in outcomes
        if not o.correct
    ][:FAILURES_SHOWN]
    summary: dict[str, Any] = {
        "name": run.target.name,
        "url": run.target.base_url,
        "model": run.target.model,
        **_accuracy(outcomes),
        "confidence": 0.95,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "retries": sum(o.call.retries for o in outcomes),
        "tokens": _tokens([o.call for o in outcomes]),
        "latency_ms": _latency([o.call for o in outcomes]),
        "wall_s": _round(run.wall_s, 4),
        "items_per_second": _round(len(outcomes) / run.wall_s if run.wall_s > 0 else None, 2),
        "by_grader": by_grader,
        "judge": _judge([o.judge for o in outcomes if o.judge is not None], judge_price),
        "failures": failures,
    }
    return summary


def _judge(calls: Sequence[Call], price: tuple[float, float] | None) -> dict[str, Any] | None:
    if not calls:
        return None
    tokens = _tokens(calls)
    cost = None
    if price is not None:
        cost = (tokens["input_total"] * price[0] + tokens["output_total"] * price[1]) / 1e6
    return {
        **tokens,
        "errors": sum(c.error is not None for c in calls),
        "price_per_1m": None if price is None else {"input": price[0], "output": price[1]},
        "cost": _round(cost, 9),
        "cost_per_item": _round(cost / len(calls) if cost is not None else None, 12),
    }


def eval_document(
    dataset: str,
    runs: Sequence[TargetRun],
    judge: dict[str, Any] | None = None,
    judge_price: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """The JSON document of an eval: one entry per endpoint."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "dataset": dataset,
        "items": len(runs[0].outcomes) if runs else 0,
        "judge": judge,
        "endpoints": [target_summary(run, judge_price) for run in runs],
    }


def answer_rows(runs: Sequence[TargetRun]) -> Iterator[dict[str, Any]]:
    """One row per item and endpoint: the answer, the verdict and what it cost."""
    for run in runs:
        for outcome in run.outcomes:
            call = outcome.call
            yield {
                "endpoint": run.target.name,
                "id": outcome.item_id,
                "grader": outcome.grader,
                "correct": outcome.correct,
                "reason": outcome.reason,
                "answer": call.text,
                "error": call.error,
                "input_tokens": call.prompt_tokens,
                "output_tokens": call.completion_tokens,
                "latency_ms": round(call.latency_s * 1e3, 3),
                "retries": call.retries,
                "judge": None if outcome.judge is None else outcome.judge.text,
            }
