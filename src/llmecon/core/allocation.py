"""Honest self-hosted cost: an interval's machine cost split over the time requests were in flight.

A self-hosted upstream costs its hourly price whether busy or not. Time is cut into wall-clock
slots (`--interval` seconds, aligned to the epoch, so every gateway replica cuts the same
slots). For each slot:

- metered time: the part of the slot during which at least one gateway was metering the
  upstream; the slot's cost is hourly price x metered time;
- busy time: the part of the metered time with at least one request in flight (the union over
  every replica's requests); the busy share of the cost is busy / metered;
- the busy share is split among the requests that were in flight in the slot in proportion to
  their overlap with it (seconds in flight inside the slot), whoever finishes when; what is left
  is the idle line.

Money is integer nano-dollars and the parts always add up exactly to the slot's cost
(largest-remainder rounding). Pure functions: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

NANO = 1_000_000_000
SECONDS_PER_HOUR = 3600
MICROS = 1_000_000
MICROS_PER_HOUR = SECONDS_PER_HOUR * MICROS

Span = tuple[int, int]  # [start, end) in integer microseconds


@dataclass(frozen=True)
class Allocation:
    shares: Mapping[str, int]  # request id -> nano-dollars
    idle: int  # nano-dollars of the slot nobody used
    total: int  # the slot's cost: sum(shares) + idle


def interval_cost(hourly_usd: float, seconds: float) -> int:
    """What `seconds` of an upstream at `hourly_usd` costs, in nano-dollars."""
    return round(hourly_usd * NANO * seconds / SECONDS_PER_HOUR)


def metered_cost(hourly_nusd: int, metered_us: int) -> int:
    """`metered_us` microseconds at `hourly_nusd` nano-dollars per hour, rounded half up,
    in exact integer arithmetic."""
    if hourly_nusd < 0 or metered_us < 0:
        raise ValueError("the hourly price and the metered time must be >= 0")
    return (hourly_nusd * metered_us * 2 + MICROS_PER_HOUR) // (2 * MICROS_PER_HOUR)


def union(spans: Iterable[Span]) -> list[Span]:
    """The spans merged into disjoint, sorted spans (empty ones dropped)."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def length(spans: Iterable[Span]) -> int:
    """Total length of the union of `spans`."""
    return sum(end - start for start, end in union(spans))


def intersect(spans: Sequence[Span], windows: Sequence[Span]) -> list[Span]:
    """The parts of `spans` inside `windows` (both are merged first)."""
    found: list[Span] = []
    for start, end in union(spans):
        for low, high in union(windows):
            if min(end, high) > max(start, low):
                found.append((max(start, low), min(end, high)))
    return found


def split_slot(
    hourly_nusd: int, metered: Sequence[Span], busy: Sequence[Span], weights: Mapping[str, int]
) -> Allocation:
    """One slot's cost split: `metered` and `busy` spans (any replicas', overlapping or not),
    `weights` the requests' microseconds in flight inside the slot.

    Busy time outside the metered time does not count. With no weighted request (busy time but
    every weight zero or no request) the whole cost is idle.
    """
    metered_us = length(metered)
    total = metered_cost(hourly_nusd, metered_us)
    busy_us = length(intersect(busy, metered))
    positive = {rid: w for rid, w in weights.items() if w > 0}
    if not positive or metered_us == 0:
        return Allocation(dict.fromkeys(weights, 0), total, total)
    busy_nusd = (total * busy_us * 2 + metered_us) // (2 * metered_us)
    shares = dict.fromkeys(weights, 0) | split(busy_nusd, positive)
    return Allocation(shares, total - busy_nusd, total)


def split(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """`amount` split in proportion to the positive integer `weights`, exactly (largest
    remainder, ties by id)."""
    whole = sum(weights.values())
    if amount < 0 or whole <= 0:
        raise ValueError("split needs amount >= 0 and positive weights")
    floors = {rid: amount * w // whole for rid, w in weights.items()}
    left = amount - sum(floors.values())
    order = sorted(weights, key=lambda rid: (-(amount * weights[rid] % whole), rid))
    for rid in order[:left]:
        floors[rid] += 1
    return floors
