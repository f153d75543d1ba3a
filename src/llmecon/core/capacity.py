"""Replicas from throughput: how many copies of a model a volume needs, hour by hour.

replicas = max(min_replicas, ceil(peak_rps / (per_replica_rps x target_utilization))), with
peak_rps = requests_per_day / 86,400 x peak_factor, or the busiest hour of a daily profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmecon.core.workload import Tokens

SECONDS_PER_DAY = 86_400
HOURS_PER_DAY = 24
_CEILING_DIGITS = 9  # 57.0000000001 replicas is 57: float noise must not add a machine


def whole_replicas(needed: float) -> int:
    """The ceiling of `needed`, ignoring float noise below 1e-9."""
    return math.ceil(round(needed, _CEILING_DIGITS))


@dataclass(frozen=True)
class Throughput:
    """What one replica sustains: requests/s, or output tokens/s converted with the workload.

    `source` says where the figure came from (a measurement, an estimate, a given number).
    """

    source: str
    requests_per_second: float | None = None
    output_tokens_per_second: float | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.requests_per_second, self.output_tokens_per_second) if v]
        if len(given) != 1:
            raise ValueError("Throughput needs exactly one positive rate")

    def per_replica_rps(self, tokens: Tokens) -> float:
        if self.requests_per_second is not None:
            return self.requests_per_second
        assert self.output_tokens_per_second is not None
        if tokens.output is None or tokens.output <= 0:
            raise ValueError("output tokens/s capacity needs the workload's output_tokens")
        return self.output_tokens_per_second / tokens.output


@dataclass(frozen=True)
class FleetPlan:
    """A fleet at one volume: replicas in each hour of the day, and the figures behind them."""

    replicas_by_hour: tuple[int, ...]
    per_replica_rps: float
    peak_rps: float
    average_rps: float

    @property
    def peak_replicas(self) -> int:
        return max(self.replicas_by_hour)

    @property
    def instance_hours(self) -> int:
        return sum(self.replicas_by_hour)

    @property
    def utilization(self) -> float | None:
        """Average load over what the paid-for replica-hours could serve."""
        capacity = self.instance_hours / HOURS_PER_DAY * self.per_replica_rps
        return self.average_rps / capacity if capacity > 0 else None


@dataclass(frozen=True)
class CapacityFleet:
    """Replicas sized from a per-replica throughput, for the peak or hour by hour."""

    throughput: Throughput
    peak_factor: float = 1.0
    target_utilization: float = 1.0
    min_replicas: int = 1
    daily_profile: tuple[float, ...] | None = None
    autoscale: bool = False
    spare: int = 0  # replicas beyond need, so the fleet survives losing that many (1: N+1)

    def hourly_rates(self, requests_per_day: float) -> tuple[float, ...]:
        """Requests/s in each hour of the day (flat unless a profile is given)."""
        average = requests_per_day / SECONDS_PER_DAY
        if self.daily_profile is None:
            return (average,) * HOURS_PER_DAY
        total = sum(self.daily_profile)
        return tuple(average * HOURS_PER_DAY * w / total for w in self.daily_profile)

    def peak_rps(self, requests_per_day: float) -> float:
        if self.daily_profile is None:
            return requests_per_day / SECONDS_PER_DAY * self.peak_factor
        return max(self.hourly_rates(requests_per_day))

    def needed(self, rate: float, tokens: Tokens) -> int:
        """Replicas that serve `rate` requests/s within the target utilization."""
        usable = self.throughput.per_replica_rps(tokens) * self.target_utilization
        return max(self.min_replicas, whole_replicas(rate / usable) + self.spare)

    def plan(self, requests_per_day: float, tokens: Tokens) -> FleetPlan:
        if self.autoscale:
            hourly = tuple(self.needed(r, tokens) for r in self.hourly_rates(requests_per_day))
        else:
            hourly = (self.needed(self.peak_rps(requests_per_day), tokens),) * HOURS_PER_DAY
        return FleetPlan(
            replicas_by_hour=hourly,
            per_replica_rps=self.throughput.per_replica_rps(tokens),
            peak_rps=self.peak_rps(requests_per_day),
            average_rps=requests_per_day / SECONDS_PER_DAY,
        )

    def fixed(self) -> CapacityFleet:
        """The same fleet sized for the peak all day (to compare with autoscaling)."""
        return CapacityFleet(
            self.throughput, self.peak_factor, self.target_utilization, self.min_replicas,
            self.daily_profile, autoscale=False, spare=self.spare,
        )  # fmt: skip


@dataclass(frozen=True)
class FixedFleet:
    """A fixed number of always-on replicas, whatever the volume (the article's assumption)."""

    count: int

    def plan(self, requests_per_day: float, tokens: Tokens) -> FleetPlan:
        return FleetPlan(
            (self.count,) * HOURS_PER_DAY, 0.0, 0.0, requests_per_day / SECONDS_PER_DAY
        )
