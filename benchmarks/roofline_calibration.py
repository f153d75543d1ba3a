"""Roofline estimates against published throughput measurements (pricing facts, section 7).

Each measurement (benchmarks/roofline_measurements.py) names its source, its setting, how
that setting is mapped onto `estimate()` (engine profile from `llmecon.core.roofline.ENGINES`
plus only the engine settings the benchmark states) and the published number. Two figures:

- in-sample: the shipped profiles, which were set while looking at every row;
- leave-one-source-out (LOSO): for each source, the global physics factors (achieved
  bandwidth, matmul efficiency, host overhead: one multiplier each over every profile) are
  refitted on the other sources by grid search, and the left-out source is predicted.

The table it prints is the one in docs/roofline.md; tests/test_roofline.py checks the error
goals and that the doc still matches. Run from the repository root:

    python benchmarks/roofline_calibration.py              # plain table and both summaries
    python benchmarks/roofline_calibration.py --markdown   # the tables for docs/roofline.md
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from llmecon.core.roofline import (
    ENGINES,
    Efficiency,
    Estimate,
    GpuSpec,
    ModelSpec,
    configure,
    estimate,
)
from llmecon.pricebook.hardware import load_gpus, load_models

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the measurements module beside it
from roofline_measurements import (
    SOURCES,
    Measurement,
    Metric,
    measurements,
    moe_checks,
)


@dataclass(frozen=True)
class Factors:
    """Global multipliers over every profile: what leave-one-source-out refits."""

    bandwidth: float = 1.0
    compute: float = 1.0
    host: float = 1.0

    def apply(self, eff: Efficiency) -> Efficiency:
        return replace(
            eff,
            memory_bandwidth=min(1.0, eff.memory_bandwidth * self.bandwidth),
            compute=min(1.0, eff.compute * self.compute),
            step_overhead_ms=eff.step_overhead_ms * self.host,
            sequence_overhead_ms=eff.sequence_overhead_ms * self.host,
        )


SHIPPED = Factors()

GRID = tuple(
    Factors(b, c, h)
    for b, c, h in itertools.product(
        (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15),
        (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5),
        (0.5, 0.75, 1.0, 1.5, 2.0),
    )
)


@dataclass(frozen=True)
class Comparison:
    measurement: Measurement
    estimate: Estimate
    estimated: float

    @property
    def ratio(self) -> float:
        """Estimate / published: above 1 the estimate is optimistic."""
        return self.estimated / self.measurement.published

    @property
    def factor(self) -> float:
        """The error as a factor >= 1, whichever side it falls."""
        return math.exp(abs(math.log(self.ratio)))


def _value(result: Estimate, metric: Metric) -> float:
    if metric == "output tok/s":
        return result.output_tokens_per_second
    if metric == "ms/token":
        return 1000 * result.concurrency / result.output_tokens_per_second
    if metric == "ttft ms":
        return result.ttft_ms
    return 1000 * result.concurrency / result.requests_per_second


@cache
def _specs() -> tuple[dict[str, ModelSpec], dict[str, GpuSpec]]:
    return load_models(), load_gpus()


def compare(m: Measurement, factors: Factors = SHIPPED) -> Comparison:
    """Run the estimate a measurement maps to and read off the metric it published."""
    result = estimate(
        _specs()[0][m.model],
        _specs()[1][m.gpu],
        gpus=m.gpus,
        precision=m.precision,
        concurrency=m.concurrency,
        input_tokens=m.input_tokens,
        output_tokens=m.output_tokens,
        efficiency=factors.apply(configure(ENGINES[m.engine], m.settings)),
    )
    if not result.fits:
        raise ValueError(f"row {m.row}: the estimate says it does not fit: {result.reason}")
    return Comparison(m, result, _value(result, m.metric))


def calibrate(factors: Factors = SHIPPED) -> list[Comparison]:
    return [compare(m, factors) for m in measurements()]


def fit(rows: Iterable[Measurement]) -> Factors:
    """The grid point with the least error over `rows`: each source's mean squared log
    error, summed, so every source weighs the same however many rows it published."""
    by_source: dict[str, list[Measurement]] = {}
    for m in rows:
        by_source.setdefault(m.source, []).append(m)

    def loss(factors: Factors) -> float:
        return sum(
            sum(math.log(compare(m, factors).ratio) ** 2 for m in group) / len(group)
            for group in by_source.values()
        )

    return min(GRID, key=loss)


def leave_one_source_out() -> list[Comparison]:
    """Each source predicted by factors fitted on all the other sources."""
    rows = measurements()
    predicted: list[Comparison] = []
    for source in SOURCES:
        factors = fit(m for m in rows if m.source != source)
        predicted += [compare(m, factors) for m in rows if m.source == source]
    order = {m.row: i for i, m in enumerate(rows)}
    return sorted(predicted, key=lambda c: order[c.measurement.row])


@dataclass(frozen=True)
class Errors:
    """Geometric-mean error factor, worst factor and its row, and bias (geometric mean of
    estimate / published, minus 1: negative means the estimates are pessimistic)."""

    count: int
    geo_mean: float
    worst: float
    worst_row: str
    bias: float


def errors(comparisons: Sequence[Comparison]) -> Errors:
    logs = [math.log(c.ratio) for c in comparisons]
    worst = max(comparisons, key=lambda c: c.factor)
    return Errors(
        count=len(comparisons),
        geo_mean=math.exp(sum(abs(x) for x in logs) / len(logs)),
        worst=worst.factor,
        worst_row=worst.measurement.row,
        bias=math.exp(sum(logs) / len(logs)) - 1,
    )


def ratio_quantiles(comparisons: Sequence[Comparison]) -> dict[str, float]:
    """p50/p80/p90/p95 of estimate / published (inclusive quantiles), to 2 decimals."""
    ratios = sorted(c.ratio for c in comparisons)
    twentieths = statistics.quantiles(ratios, n=20, method="inclusive")
    picks = {"p50": statistics.median(ratios), "p80": twentieths[15], "p90": twentieths[17],
             "p95": twentieths[18]}  # fmt: skip
    return {key: round(value, 2) for key, value in picks.items()}


def summary(label: str, comparisons: Sequence[Comparison]) -> str:
    e = errors(comparisons)
    return (
        f"{label}: {e.count} measurements; geometric-mean error x{e.geo_mean:.2f}, worst "
        f"x{e.worst:.2f} (row {e.worst_row}), bias {e.bias:+.0%}"
    )


def markdown(comparisons: Sequence[Comparison], held_out: Sequence[Comparison]) -> str:
    lines = [
        "| Row | Source | Setting | Engine profile | Metric | Published | Estimate | Est./pub. "
        "| LOSO est./pub. |",
        "|---|---|---|---|---|---:|---:|---:|---:|",
    ]
    for c, h in zip(comparisons, held_out, strict=True):
        m = c.measurement
        lines.append(
            f"| {m.row} | {m.source} | {m.setting} | {m.engine} | {m.metric} | "
            f"{m.published:,.1f} | {c.estimated:,.1f} | {c.ratio:.2f} | {h.ratio:.2f} |"
        )
    moe = [compare(m) for m in moe_checks()]
    lines += [
        "",
        "Mixture of experts, beside the calibration (not fitted, not in the figures):",
        "",
        "| Row | Setting | Published | Estimate | Est./pub. |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {c.measurement.row} | {c.measurement.setting} | {c.measurement.published:,.1f} "
        f"| {c.estimated:,.1f} | {c.ratio:.2f} |"
        for c in moe
    ]
    lines += ["", summary("In-sample", comparisons) + ".",
              "", summary("Leave-one-source-out", held_out) + ".",
              "", f"Leave-one-source-out estimate / published quantiles (the safety factors of "
              f"`plan --confidence`): {ratio_quantiles(held_out)}."]  # fmt: skip
    return "\n".join(lines)


def mappings(comparisons: Sequence[Comparison]) -> str:
    sources = [f"- `{key}`: {text}" for key, text in SOURCES.items()]
    rows = [f"- {c.measurement.row}: {c.measurement.mapping}" for c in comparisons]
    return "\n".join(["Sources:", "", *sources, "", "Mappings:", "", *rows])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--markdown", action="store_true", help="print the docs table")
    args = parser.parse_args(argv)
    comparisons, held_out = calibrate(), leave_one_source_out()
    if args.markdown:
        print(markdown(comparisons, held_out))
        print()
        print(mappings(comparisons))
        return
    for c, h in zip(comparisons, held_out, strict=True):
        m = c.measurement
        print(
            f"{m.row:>4} {m.engine:<9} {m.metric:<13} published {m.published:>9,.1f} "
            f"estimate {c.estimated:>9,.1f}  x{c.ratio:.2f}  LOSO x{h.ratio:.2f}  {m.setting}"
        )
    print(summary("Mixture of experts (not calibrated)", [compare(m) for m in moe_checks()]))
    print(summary("In-sample", comparisons))
    print(summary("Leave-one-source-out", held_out))
    print(f"Leave-one-source-out estimate / published quantiles: {ratio_quantiles(held_out)}")


if __name__ == "__main__":
    main()
