"""Break-even volumes: every requests/day where the cheaper of two options changes.

Costs only grow with volume, so on an interval [a, b] the difference A - B lies between
A(a) - B(b) and A(b) - B(a). When that range excludes zero the cheaper option cannot change
there; otherwise the interval is split. Where both bills keep one regime (no replica step, no
price tier inside), both costs are affine and the crossing is solved exactly. Step crossings
(a replica added) are narrowed to the step itself. This finds every crossing of staircases too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from llmecon.core.bill import Bill

CostCurve = Callable[[float], Bill]

VOLUME_RANGE = (1.0, 1e9)
MAX_CROSSINGS = 1_000
MAX_EVALUATIONS = 400_000
_STEP_RESOLUTION = 1e-9  # relative width at which a step crossing is pinned


@dataclass(frozen=True)
class Crossing:
    """Below `requests_per_day` `cheaper_below` costs less; above it, `cheaper_above` does.

    `daily_cost` is what the options cost there (at a replica step: the dearer one's cost).
    """

    requests_per_day: float
    cheaper_below: str
    cheaper_above: str
    daily_cost: float


@dataclass(frozen=True)
class Breakeven:
    """All crossings between two options in a volume range; empty means none in range."""

    between: tuple[str, str]
    crossings: tuple[Crossing, ...]
    volume_range: tuple[float, float] = VOLUME_RANGE
    truncated: bool = False
    cheaper_throughout: str | None = field(default=None)  # never dearer, with no crossing
    tied_somewhere: bool = False  # equal cost at an end of the range (e.g. one replica each)


@dataclass
class _Search:
    """One solve's working state (local to the call, never shared)."""

    curve_a: CostCurve
    curve_b: CostCurve
    cache: dict[float, tuple[Bill, Bill]] = field(default_factory=dict)
    roots: list[float] = field(default_factory=list)

    def at(self, volume: float) -> tuple[Bill, Bill]:
        if volume not in self.cache:
            self.cache[volume] = (self.curve_a(volume), self.curve_b(volume))
        return self.cache[volume]

    def diff(self, volume: float) -> float:
        a, b = self.at(volume)
        return a.daily_cost - b.daily_cost


def solve_breakeven(
    curve_a: CostCurve,
    curve_b: CostCurve,
    volume_range: tuple[float, float] = VOLUME_RANGE,
) -> Breakeven:
    """Every volume in `volume_range` where the cheaper of the two options changes."""
    lo, hi = volume_range
    search = _Search(curve_a, curve_b)
    names = (curve_a(lo).option, curve_b(lo).option)
    stack = [(lo, hi)]
    truncated = False
    while stack:
        if len(search.roots) >= MAX_CROSSINGS or len(search.cache) >= MAX_EVALUATIONS:
            truncated = True
            break
        a, b = stack.pop()
        for piece in _examine(search, a, b):
            stack.append(piece)
    crossings = _crossings(search, sorted(set(search.roots)), names)
    return Breakeven(
        between=names,
        crossings=crossings,
        volume_range=volume_range,
        truncated=truncated,
        cheaper_throughout=_cheaper_throughout(search, lo, hi, names) if not crossings else None,
        tied_somewhere=0 in (search.diff(lo), search.diff(hi)),
    )


def _examine(search: _Search, a: float, b: float) -> list[tuple[float, float]]:
    """Record a crossing found in [a, b] or return the halves still to search."""
    (a_lo, b_lo), (a_hi, b_hi) = search.at(a), search.at(b)
    if a_lo.daily_cost - b_hi.daily_cost > 0 or a_hi.daily_cost - b_lo.daily_cost < 0:
        return []  # one option is dearer over the whole interval
    d_lo, d_hi = search.diff(a), search.diff(b)
    if a_lo.regime == a_hi.regime and b_lo.regime == b_hi.regime:
        if d_lo * d_hi < 0:
            search.roots.append(a + d_lo * (b - a) / (d_lo - d_hi))
        return []  # both affine here: at most one crossing, now solved
    if b - a <= _STEP_RESOLUTION * b:
        if d_lo * d_hi < 0:
            search.roots.append(b)
        return []
    mid = math.sqrt(a * b) if b > 4 * a else (a + b) / 2
    return [(mid, b), (a, mid)]


def _crossings(search: _Search, roots: list[float], names: tuple[str, str]) -> tuple[Crossing, ...]:
    found = []
    for root in roots:
        below, above = search.diff(root * (1 - 1e-7)), search.diff(root * (1 + 1e-7))
        if below == 0 or above == 0 or (below > 0) == (above > 0):
            continue  # a touch, not a change of order
        cheaper_below, cheaper_above = (names[1], names[0]) if below > 0 else names
        cost = max(bill.daily_cost for bill in search.at(root))
        found.append(Crossing(root, cheaper_below, cheaper_above, cost))
    return tuple(found)


def _cheaper_throughout(
    search: _Search, lo: float, hi: float, names: tuple[str, str]
) -> str | None:
    """With no crossing, the option that is never dearer (None: equal throughout)."""
    d_lo, d_hi = search.diff(lo), search.diff(hi)
    if d_lo <= 0 and d_hi <= 0 and (d_lo, d_hi) != (0, 0):
        return names[0]
    if d_lo >= 0 and d_hi >= 0 and (d_lo, d_hi) != (0, 0):
        return names[1]
    return None
