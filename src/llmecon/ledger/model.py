"""The ledger's vocabulary: usage rows, idle-cost rows, aggregated totals, and money.

Pure: frozen dataclasses and functions, no I/O, no clock. Money is always an integer count of
nano-dollars (1 USD = 1_000_000_000 nUSD); an unknown amount is `None`, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from operator import attrgetter
from typing import Literal, get_args

from llmecon.errors import LlmeconError

NANO_PER_USD = 1_000_000_000
ENDPOINTS = ("chat", "completions", "embeddings", "responses")
TOKEN_SOURCES = ("upstream", "gateway", "none")
IDLE_GROUP = "(idle)"
NO_KEY_GROUP = "(no key)"

Endpoint = Literal["chat", "completions", "embeddings", "responses"]
TokenSource = Literal["upstream", "gateway", "none"]
UsageBy = Literal["key", "model", "day", "upstream"]


def to_nano(usd: float | Decimal) -> int:
    """US dollars to integer nano-dollars, rounding half to even (0.5 nUSD -> 0, 1.5 -> 2)."""
    if isinstance(usd, float) and not math.isfinite(usd):
        raise ValueError(f"cannot convert {usd!r} USD to nano-dollars: give a finite amount")
    # str() of a float is its shortest round-trip decimal: 0.1 stays 0.1, not 0.1000000000000000055
    exact = Decimal(str(usd)) * NANO_PER_USD
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_usd(nusd: int) -> float:
    """Integer nano-dollars to US dollars (for display; keep sums in nano-dollars)."""
    return nusd / NANO_PER_USD


def utc(moment: datetime, name: str = "timestamp") -> datetime:
    """`moment` in UTC; a naive datetime is refused since its zone is unknowable."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} {moment.isoformat()} has no time zone: pass an aware datetime")
    return moment.astimezone(UTC)


def _check_money(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(
            f"{name} must be a non-negative int of nano-dollars or None, not {value!r}"
        )


MAX_TOKENS = 2**53  # counts at or above this are nonsense (and not exact as JSON numbers)
MAX_NAME = 256  # characters in a model or upstream name


def _check_tokens(name: str, value: int | None) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_TOKENS
    ):
        raise ValueError(f"{name} must be an int in [0, 2**53) or None, not {value!r}")


def check_name(kind: str, name: str) -> str:
    """`name` if it is a plausible model or upstream name: 1 to 256 characters, no control
    characters (a NUL cannot be stored by PostgreSQL); ValueError otherwise."""
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"{kind} must have 1 to {MAX_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError(f"{kind} must not contain control characters")
    return name


@dataclass(frozen=True)
class UsageRow:
    """One request as the gateway finished it. Times are converted to UTC on construction."""

    request_id: str
    started_at: datetime
    finished_at: datetime
    key_id: str | None
    model: str
    upstream: str
    endpoint: Endpoint
    stream: bool
    status: int
    outcome: str
    prompt_tokens: int | None
    completion_tokens: int | None
    token_source: TokenSource
    ttft_ms: float | None
    latency_ms: float | None
    self_hosted_nusd: int | None
    counterfactual_nusd: Mapping[str, int | None]
    price_book: str
    budget_price: str | None = None  # the price the key's budget was charged at

    def __post_init__(self) -> None:
        if not self.request_id:
            raise ValueError("request_id is empty: use uuid.uuid4().hex")
        started = utc(self.started_at, "started_at")
        finished = utc(self.finished_at, "finished_at")
        if finished < started:
            raise ValueError(f"request {self.request_id} finished before it started")
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint {self.endpoint!r} is not one of {ENDPOINTS}")
        if self.token_source not in TOKEN_SOURCES:
            raise ValueError(f"token_source {self.token_source!r} is not one of {TOKEN_SOURCES}")
        check_name("model", self.model)
        check_name("upstream", self.upstream)
        _check_tokens("prompt_tokens", self.prompt_tokens)
        _check_tokens("completion_tokens", self.completion_tokens)
        _check_money("self_hosted_nusd", self.self_hosted_nusd)
        for api, nusd in self.counterfactual_nusd.items():
            if not api:
                raise ValueError(f"request {self.request_id}: a counterfactual API name is empty")
            _check_money(f"counterfactual_nusd[{api!r}]", nusd)
        object.__setattr__(self, "started_at", started)
        object.__setattr__(self, "finished_at", finished)
        object.__setattr__(self, "counterfactual_nusd", dict(self.counterfactual_nusd))

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens, unknown counts taken as 0."""
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)


# the `usage` table's columns, in order: every field but the counterfactual map (its own table)
USAGE_COLUMNS = tuple(f.name for f in fields(UsageRow) if f.name != "counterfactual_nusd")


_USAGE_VALUES = attrgetter(*USAGE_COLUMNS)


def usage_values(row: UsageRow) -> tuple[object, ...]:
    """`row`'s values in `USAGE_COLUMNS` order."""
    values: tuple[object, ...] = _USAGE_VALUES(row)
    return values


@dataclass(frozen=True)
class IdleRow:
    """One accounting interval of a self-hosted upstream.

    `interval_start` is the slot's start (aligned to the epoch: the same slot for every
    replica), `interval_end` the end of its metered time and `metered_seconds` how long it was
    metered. The cost `allocated_nusd + idle_nusd` is hourly price x metered time:
    `allocated_nusd` was split over the requests in flight in it (core.allocation); `idle_nusd`
    is what no request carried.
    """

    upstream: str
    interval_start: datetime
    interval_end: datetime
    idle_nusd: int
    busy_seconds: float
    allocated_nusd: int
    metered_seconds: float | None = None  # None: the whole interval (rows before m004)

    def __post_init__(self) -> None:
        start = utc(self.interval_start, "interval_start")
        end = utc(self.interval_end, "interval_end")
        if end <= start:
            raise ValueError(f"idle interval of {self.upstream} ends before it starts")
        _check_money("idle_nusd", self.idle_nusd)
        _check_money("allocated_nusd", self.allocated_nusd)
        object.__setattr__(self, "interval_start", start)
        object.__setattr__(self, "interval_end", end)

    @property
    def total_nusd(self) -> int:
        return self.idle_nusd + self.allocated_nusd


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_micros(micros: int) -> datetime:
    """Microseconds since the epoch as an aware UTC datetime (exact)."""
    return EPOCH + timedelta(microseconds=micros)


def to_micros(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    delta = utc(moment) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class MeterReport:
    """What one gateway replica saw of one upstream in one slot (or part of it).

    Spans are [start, end) microseconds from `slot_start`: `metered` is when this replica was
    metering, `busy` when at least one of its requests was in flight; `weights` gives each of
    those requests' microseconds in flight inside the slot.
    """

    upstream: str
    replica: str
    slot_start: datetime
    slot_end: datetime
    metered: tuple[int, int]
    hourly_nusd: int
    busy: tuple[tuple[int, int], ...]
    weights: Mapping[str, int]
    final: bool = False  # the replica's last report: it stopped

    def __post_init__(self) -> None:
        span = to_micros(self.slot_end) - to_micros(self.slot_start)
        low, high = self.metered
        if not 0 <= low <= high <= span:
            raise ValueError(f"metered span {self.metered} is outside the slot of {span} us")
        _check_money("hourly_nusd", self.hourly_nusd)
        for start, end in self.busy:
            if not low <= start <= end <= high:
                raise ValueError(f"busy span {(start, end)} is outside the metered {self.metered}")
        if any(weight < 0 for weight in self.weights.values()):
            raise ValueError("request weights must be >= 0 microseconds")


@dataclass(frozen=True)
class Metered:
    """How long one upstream was metered in a window, and what it cost (idle included)."""

    upstream: str
    seconds: float
    total_nusd: int


@dataclass(frozen=True)
class UsageTotals:
    """Aggregated usage of one group (a key, a model, a UTC day or an upstream).

    `self_hosted_nusd` sums the shares already allocated; `unallocated_requests` counts the rows
    still waiting for theirs. `counterfactual_nusd` sums, per API, the known prices;
    `unpriced_counterfactual` counts per API the rows whose price was unknown.
    """

    group: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    self_hosted_nusd: int
    idle_nusd: int
    counterfactual_nusd: dict[str, int] = field(default_factory=dict)
    unallocated_requests: int = 0
    unpriced_counterfactual: dict[str, int] = field(default_factory=dict)

    @property
    def total_self_hosted_nusd(self) -> int:
        return self.self_hosted_nusd + self.idle_nusd


def check_by(by: str) -> UsageBy:
    """`by` when it names a grouping; a one-line error listing the choices otherwise."""
    choices: tuple[UsageBy, ...] = get_args(UsageBy)
    for choice in choices:
        if by == choice:
            return choice
    raise LlmeconError(f"cannot group usage by {by!r}: use one of {', '.join(choices)}")


def assemble_totals(
    base: Iterable[tuple[str, int, int, int, int, int]],
    counterfactual: Iterable[tuple[str, str, int, int]],
    idle: Iterable[tuple[str, int]],
) -> list[UsageTotals]:
    """Join the three SQL aggregates into one `UsageTotals` per group, sorted by group.

    `base`: (group, requests, prompt, completion, self_hosted_nusd, unallocated);
    `counterfactual`: (group, api, nusd, unpriced); `idle`: (group, idle_nusd).
    The idle group sorts last.
    """
    found: dict[str, UsageTotals] = {}
    for group, requests, prompt, completion, nusd, unallocated in base:
        found[group] = UsageTotals(
            group, requests, prompt, completion, nusd, 0, {}, unallocated, {}
        )
    for group, api, nusd, unpriced in counterfactual:
        found[group].counterfactual_nusd[api] = nusd
        found[group].unpriced_counterfactual[api] = unpriced
    for group, nusd in idle:
        base_row = found.get(group) or UsageTotals(group, 0, 0, 0, 0, 0)
        found[group] = replace(base_row, idle_nusd=base_row.idle_nusd + nusd)
    return sorted(found.values(), key=lambda row: (row.group == IDLE_GROUP, row.group))
