"""Honest self-hosted cost: an interval's machine cost split over the work done in it.

A self-hosted upstream costs its hourly price whether busy or not. For each interval, the
busy share of the cost is split across the requests that finished in it in proportion to their
tokens processed (prompt + completion); the idle share is its own line. Money is integer
nano-dollars, and the parts always add up exactly to the interval's cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NANO = 1_000_000_000
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class Allocation:
    shares: Mapping[str, int]  # request id -> nano-dollars
    idle: int  # nano-dollars of the interval nobody used
    total: int  # the interval's cost: sum(shares) + idle


def interval_cost(hourly_usd: float, seconds: float) -> int:
    """What `seconds` of an upstream at `hourly_usd` costs, in nano-dollars."""
    return round(hourly_usd * NANO * seconds / SECONDS_PER_HOUR)


def allocate(total: int, busy_fraction: float, work: Sequence[tuple[str, int]]) -> Allocation:
    """Split `total` nano-dollars: idle = total x (1 - busy_fraction), the rest by tokens.

    Requests with no counted tokens share equally. With no requests, everything is idle.
    Largest-remainder rounding keeps the sum exact.
    """
    if total < 0 or not 0 <= busy_fraction <= 1:
        raise ValueError("total must be >= 0 and busy_fraction in [0, 1]")
    if not work:
        return Allocation({}, total, total)
    busy = round(total * busy_fraction)
    weights = [max(tokens, 0) for _, tokens in work]
    if sum(weights) == 0:
        weights = [1] * len(work)
    return Allocation(_split(busy, [rid for rid, _ in work], weights), total - busy, total)


def _split(amount: int, ids: Sequence[str], weights: Sequence[int]) -> dict[str, int]:
    whole = sum(weights)
    exact = [amount * w / whole for w in weights]
    floors = [int(x) for x in exact]
    left = amount - sum(floors)
    order = sorted(range(len(ids)), key=lambda i: exact[i] - floors[i], reverse=True)
    for index in order[:left]:
        floors[index] += 1
    return dict(zip(ids, floors, strict=True))
