"""A traffic profile: what the traffic was, summed and shaped (pure functions over columns).

Hours and days are UTC. Percentiles are nearest-rank over requests ("p90: 90% of requests had
at most this many tokens"); for bucketed sources (OpenAI's usage) they are over bucket means,
which the profile says (`per_request` False).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from llmecon.traffic.records import Traffic

SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 365.25 / 12
MIN_DAYS_FOR_TREND = 14
PERCENTILES = (50, 90, 99)
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ModelUsage:
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int


@dataclass(frozen=True)
class Distribution:
    """Tokens per request: mean and nearest-rank percentiles (p50, p90, p99)."""

    mean: float
    p50: float
    p90: float
    p99: float


@dataclass(frozen=True)
class TrafficProfile:
    source: str
    format: str
    start: datetime  # the first hour covered
    end: datetime  # the end of the last hour covered
    per_request: bool
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    models: tuple[ModelUsage, ...]  # most requests first
    daily: tuple[tuple[str, float, float], ...]  # (UTC date, requests, tokens)
    hourly: tuple[float, ...]  # requests in each clock hour of the period
    hour_of_day: tuple[float, ...]  # mean requests in each hour of the day (0-23)
    weekday: tuple[float, ...]  # mean requests per day, Monday first
    prompt: Distribution
    completion: Distribution
    peak_hour: datetime
    peak_hour_requests: float
    growth_per_month: float | None  # fitted daily trend, e.g. 0.08 for +8%/month

    @property
    def hours(self) -> int:
        return len(self.hourly)

    @property
    def days(self) -> float:
        return self.hours / 24

    @property
    def requests_per_day(self) -> float:
        return self.requests / self.days

    @property
    def peak_rps(self) -> float:
        return self.peak_hour_requests / SECONDS_PER_HOUR

    @property
    def average_rps(self) -> float:
        return self.requests / (self.hours * SECONDS_PER_HOUR)

    @property
    def peak_factor(self) -> float:
        """The busiest hour's rate over the period's average rate."""
        return self.peak_rps / self.average_rps if self.average_rps > 0 else 1.0


def hourly_requests(traffic: Traffic) -> tuple[int, Floats]:
    """(first hour in Unix hours, requests in each clock hour); buckets wider than an hour are
    spread evenly over their hours."""
    first = int(traffic.start.min()) // SECONDS_PER_HOUR
    ends = traffic.start + np.maximum(traffic.span, 1)
    last = math.ceil(int(ends.max()) / SECONDS_PER_HOUR)
    index = traffic.start // SECONDS_PER_HOUR - first
    widths = np.maximum(1, -(-traffic.span // SECONDS_PER_HOUR))
    weights = traffic.requests.astype(np.float64)
    if int(widths.max()) > 1:
        repeats = widths
        offsets = np.arange(int(repeats.sum())) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        index = np.repeat(index, repeats) + offsets
        weights = np.repeat(weights / repeats, repeats)
    hourly = np.bincount(index, weights=weights, minlength=last - first)
    return first, hourly.astype(np.float64)


def profile_traffic(traffic: Traffic) -> TrafficProfile:
    """Everything `llmecon traffic show` prints, computed from the columns."""
    first_hour, hourly = hourly_requests(traffic)
    peak = int(np.argmax(hourly))
    requests = int(traffic.requests.sum())
    return TrafficProfile(
        source=traffic.source,
        format=traffic.format,
        start=_moment(first_hour * SECONDS_PER_HOUR),
        end=_moment((first_hour + hourly.size) * SECONDS_PER_HOUR),
        per_request=traffic.per_request,
        requests=requests,
        prompt_tokens=int(traffic.prompt.sum()),
        completion_tokens=int(traffic.completion.sum()),
        cached_tokens=int(traffic.cached.sum()),
        models=_models(traffic),
        daily=_daily(traffic),
        hourly=tuple(float(v) for v in hourly),
        hour_of_day=_hour_of_day(first_hour, hourly),
        weekday=_weekday(first_hour, hourly),
        prompt=distribution(traffic.prompt, traffic.requests),
        completion=distribution(traffic.completion, traffic.requests),
        peak_hour=_moment((first_hour + peak) * SECONDS_PER_HOUR),
        peak_hour_requests=float(hourly[peak]),
        growth_per_month=_growth(first_hour, hourly),
    )


def distribution(tokens: npt.NDArray[np.int64], requests: npt.NDArray[np.int64]) -> Distribution:
    """Mean and nearest-rank percentiles of tokens per request, weighting buckets by requests."""
    total = int(requests.sum())
    if total == 0:
        return Distribution(0.0, 0.0, 0.0, 0.0)
    mean = float(tokens.sum()) / total
    if bool(np.all(requests == 1)):
        values = np.percentile(tokens, PERCENTILES, method="inverted_cdf")
        return Distribution(mean, *(float(v) for v in values))
    used = requests > 0
    per_request = tokens[used] / requests[used]
    order = np.argsort(per_request, kind="stable")
    cumulative = np.cumsum(requests[used][order])
    picks = [
        float(per_request[order][np.searchsorted(cumulative, q / 100 * total, side="left")])
        for q in PERCENTILES
    ]
    return Distribution(mean, *picks)


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _models(traffic: Traffic) -> tuple[ModelUsage, ...]:
    size = len(traffic.models)

    def total(column: npt.NDArray[np.int64]) -> list[int]:
        counts = np.bincount(traffic.model, weights=column.astype(np.float64), minlength=size)
        return [round(float(v)) for v in counts]

    sums = zip(
        traffic.models, *(total(c) for c in (traffic.requests, traffic.prompt,
        traffic.completion, traffic.cached)), strict=True,
    )  # fmt: skip
    usage = [ModelUsage(*row) for row in sums]
    return tuple(sorted(usage, key=lambda u: (-u.requests, u.model)))


def _daily(traffic: Traffic) -> tuple[tuple[str, float, float], ...]:
    day = traffic.start // SECONDS_PER_DAY
    first = int(day.min())
    index = day - first
    requests = np.bincount(index, weights=traffic.requests.astype(np.float64))
    tokens = np.bincount(index, weights=(traffic.prompt + traffic.completion).astype(np.float64))
    return tuple(
        (_moment((first + i) * SECONDS_PER_DAY).date().isoformat(), float(r), float(t))
        for i, (r, t) in enumerate(zip(requests, tokens, strict=True))
    )


def _hour_of_day(first_hour: int, hourly: Floats) -> tuple[float, ...]:
    hours = (first_hour + np.arange(hourly.size)) % 24
    sums = np.bincount(hours, weights=hourly, minlength=24)
    counts = np.bincount(hours, minlength=24)
    return tuple(float(s / c) if c else 0.0 for s, c in zip(sums, counts, strict=True))


def _weekday(first_hour: int, hourly: Floats) -> tuple[float, ...]:
    days = (first_hour + np.arange(hourly.size)) // 24
    weekdays = (days + _EPOCH_WEEKDAY) % 7
    sums = np.bincount(weekdays, weights=hourly, minlength=7)
    day_count = np.bincount((np.unique(days) + _EPOCH_WEEKDAY) % 7, minlength=7)
    return tuple(float(s / c) if c else 0.0 for s, c in zip(sums, day_count, strict=True))


def _growth(first_hour: int, hourly: Floats) -> float | None:
    """Monthly growth from a least-squares line through log(requests per whole UTC day)."""
    skip = (-first_hour) % 24
    whole = (hourly.size - skip) // 24
    if whole < MIN_DAYS_FOR_TREND:
        return None
    per_day = hourly[skip : skip + whole * 24].reshape(whole, 24).sum(axis=1)
    used = per_day > 0
    if int(used.sum()) < MIN_DAYS_FOR_TREND:
        return None
    slope = float(np.polyfit(np.arange(whole)[used], np.log(per_day[used]), 1)[0])
    return math.expm1(slope * DAYS_PER_MONTH)
