"""Quality in the economics: accuracy with a Wilson interval, cost per correct answer, a bar.

An option answers a share `accuracy` of requests correctly, so one correct answer costs
cost_per_request / accuracy (the wrong ones are paid for too). Options below a quality bar
(`min_accuracy`) stay in the comparison but are marked; the break-evens that matter are the
ones between options that meet the bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from llmecon.core.bill import Bill
from llmecon.core.breakeven import Breakeven
from llmecon.core.options import Option
from llmecon.core.workload import Tokens

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(correct: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for `correct` successes out of `total` trials.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or `total`.
    """
    if total <= 0:
        return (0.0, 1.0)
    if not 0 <= correct <= total:
        raise ValueError(f"correct ({correct}) must lie between 0 and total ({total})")
    p = correct / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Accuracy:
    """`correct` of `total` task items answered correctly, measured by `source`."""

    correct: int
    total: int
    source: str

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.total)


@dataclass(frozen=True)
class Quality:
    """Accuracy per option name (options without one are "not measured") and the bar."""

    accuracy: Mapping[str, Accuracy]
    min_accuracy: float | None = None


@dataclass(frozen=True)
class OptionQuality:
    """One option's quality figures at one volume."""

    option: str
    accuracy: Accuracy | None
    cost_per_correct: float | None  # None: not measured, or no correct answer at all
    cost_per_correct_range: tuple[float, float] | None  # at the interval's upper and lower ends
    meets_bar: bool | None  # None: no bar given
    uncertain: bool = False  # meets the bar, but the interval's lower end is below it


@dataclass(frozen=True)
class VolumeQuality:
    requests_per_day: float
    options: tuple[OptionQuality, ...]  # in the order of the volume's bills (cheapest first)
    cheapest_good: str | None  # lowest daily cost among options meeting the bar (or all)
    best_per_correct: str | None  # lowest cost per correct answer among those options


@dataclass(frozen=True)
class QualityView:
    min_accuracy: float | None
    volumes: tuple[VolumeQuality, ...]
    qualifying: tuple[str, ...]  # options meeting the bar (every measured one without a bar)
    breakevens: tuple[Breakeven, ...]  # between qualifying options only


@dataclass(frozen=True)
class MeasuredTokens:
    """An option billed at the tokens per request measured on the task (an eval), not at the
    workload's assumed average: a verbose model pays for its longer answers."""

    option: Option
    tokens: Tokens
    source: str

    @property
    def name(self) -> str:
        return self.option.name

    @property
    def kind(self) -> str:
        return self.option.kind

    def bill(self, requests_per_day: float, tokens: Tokens) -> Bill:
        return self.option.bill(requests_per_day, self.tokens)


def cost_per_correct(cost_per_request: float | None, accuracy: float) -> float | None:
    """What one correct answer costs: every request is paid, a share `accuracy` is right."""
    if cost_per_request is None or accuracy <= 0:
        return None
    return cost_per_request / accuracy


def meets(accuracy: Accuracy | None, bar: float | None) -> bool | None:
    if bar is None:
        return None
    return accuracy is not None and accuracy.value >= bar


def option_quality(bill: Bill, accuracy: Accuracy | None, bar: float | None) -> OptionQuality:
    return quality_of(bill.option, bill.cost_per_request, accuracy, bar)


def quality_of(
    name: str, cost_per_request: float | None, accuracy: Accuracy | None, bar: float | None
) -> OptionQuality:
    """One option's accuracy, cost per correct answer (and its range) and the bar."""
    if accuracy is None:
        return OptionQuality(name, None, None, None, meets(None, bar))
    low, high = accuracy.interval
    per_correct = cost_per_correct(cost_per_request, accuracy.value)
    dearest = cost_per_correct(cost_per_request, low)
    cheapest = cost_per_correct(cost_per_request, high)
    span = (cheapest, dearest) if cheapest is not None and dearest is not None else None
    good = meets(accuracy, bar)
    uncertain = bool(good) and bar is not None and low < bar
    return OptionQuality(name, accuracy, per_correct, span, good, uncertain)


def assess(
    volumes: tuple[tuple[float, tuple[Bill, ...]], ...],
    breakevens: tuple[Breakeven, ...],
    quality: Quality,
) -> QualityView:
    """Quality figures per volume, and the break-evens among options that meet the bar."""
    bar = quality.min_accuracy
    names = [bill.option for bill in volumes[0][1]] if volumes else []
    qualifying = tuple(
        name
        for name in names
        if name in quality.accuracy and (bar is None or quality.accuracy[name].value >= bar)
    )
    rows = []
    for requests_per_day, bills in volumes:
        options = tuple(option_quality(b, quality.accuracy.get(b.option), bar) for b in bills)
        good = [o for o in options if o.option in qualifying]
        priced = [o for o in good if o.cost_per_correct is not None]
        best = min(priced, key=lambda o: (o.cost_per_correct, o.option)) if priced else None
        rows.append(
            VolumeQuality(
                requests_per_day,
                options,
                good[0].option if good else None,
                best.option if best is not None else None,
            )
        )
    kept = tuple(b for b in breakevens if set(b.between) <= set(qualifying))
    return QualityView(bar, tuple(rows), qualifying, kept)
