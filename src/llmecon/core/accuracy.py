"""How far roofline estimates fall from published measurements, out of sample.

The figures are those `benchmarks/roofline_calibration.py` prints for leave-one-source-out
prediction (each source predicted with the global factors refitted on the others);
tests/test_roofline.py fails when they no longer match the script. `safety_factor` turns the
distribution of estimate / published ratios into a throughput derating for `plan --confidence`.
Pure: constants and arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Accuracy:
    """Error of estimates against published numbers: geometric-mean and worst factor, bias
    (geometric mean of estimate / published, minus 1) and quantiles of estimate / published."""

    rows: int
    sources: int
    geo_mean: float
    worst: float
    bias: float
    ratio_quantiles: Mapping[str, float]

    def band(self) -> str:
        """One line for reports."""
        return (
            f"out of sample (leave-one-source-out, {self.rows} published measurements from "
            f"{self.sources} sources): typical error x{self.geo_mean:.2f}, worst "
            f"x{self.worst:.2f}, bias {self.bias:+.0%}"
        )


OUT_OF_SAMPLE = Accuracy(
    rows=50,
    sources=7,
    geo_mean=1.19,
    worst=1.57,
    bias=-0.09,
    ratio_quantiles=MappingProxyType({"p50": 0.92, "p80": 1.06, "p90": 1.1, "p95": 1.13}),
)

CONFIDENCES: tuple[str, ...] = tuple(OUT_OF_SAMPLE.ratio_quantiles)


def safety_factor(confidence: str | None, accuracy: Accuracy = OUT_OF_SAMPLE) -> float:
    """Divide estimated throughput by this to be `confidence` sure the real engine reaches it:
    the quantile of estimate / published at that level (never below 1)."""
    if confidence is None:
        return 1.0
    try:
        return max(1.0, accuracy.ratio_quantiles[confidence])
    except KeyError:
        known = ", ".join(accuracy.ratio_quantiles)
        raise ValueError(f"unknown confidence {confidence!r}: use one of {known}") from None
