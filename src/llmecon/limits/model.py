"""The vocabulary of rate limits and budgets: a key's policy, an admission, a rejection.

Pure frozen dataclasses and calendar arithmetic; no clock, no store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Literal

# Amounts (tokens, nano-dollars) must stay below this: the Redis store does its sums in Lua,
# whose numbers are doubles, exact only up to 2**53 (about $9 million in nano-dollars).
MAX_AMOUNT = 2**53 - 1

RejectionKind = Literal["requests_per_minute", "tokens_per_minute", "budget_day", "budget_month"]


def check_amount(name: str, value: int) -> int:
    """`value` if it is an int in [0, MAX_AMOUNT]; ValueError naming `name` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= MAX_AMOUNT:
        raise ValueError(f"{name} must be between 0 and {MAX_AMOUNT:,}, not {value:,}")
    return value


@dataclass(frozen=True)
class KeyPolicy:
    """The limits of one API key; None means unlimited.

    Rates count over a sliding 60-second window; budgets are in nano-dollars (1 USD = 10**9)
    per UTC calendar day and per UTC calendar month.
    """

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    budget_per_day_nusd: int | None = None
    budget_per_month_nusd: int | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                check_amount(field.name, value)


@dataclass(frozen=True)
class Admission:
    """An admitted request and what it holds until `settle` or `release`.

    `admitted_at` is the store's clock (Unix seconds); `day` ("2026-01-31") and `month`
    ("2026-01") are the UTC budget windows the request's cost is charged to.
    """

    id: str
    key_id: str
    tokens: int
    nusd: int
    admitted_at: float
    day: str
    month: str


@dataclass(frozen=True)
class Rejection:
    """A request refused by `kind`: `used` of `limit` was taken and it asked for `requested`.

    `retry_after_s` is when enough of the window frees up (rates) or the window resets (budgets).
    When `never_fits`, the request alone is over the limit and waiting does not help.
    """

    kind: RejectionKind
    limit: int
    used: int
    requested: int
    retry_after_s: float

    @property
    def never_fits(self) -> bool:
        return self.requested > self.limit


@dataclass(frozen=True)
class KeyUsage:
    """What one key has taken now: requests and tokens in the rate window, and the nano-dollars
    of its current UTC day and month, settled (`spent`) and reserved by requests in flight
    (`held`). A budget's `used` (what `admit` compares against) is spent + held."""

    requests: int
    tokens: int
    day_spent_nusd: int
    day_held_nusd: int
    month_spent_nusd: int
    month_held_nusd: int
    day: str
    month: str

    @property
    def day_nusd(self) -> int:
        return self.day_spent_nusd + self.day_held_nusd

    @property
    def month_nusd(self) -> int:
        return self.month_spent_nusd + self.month_held_nusd


def binding(rejections: Iterable[Rejection]) -> Rejection:
    """The rejection to report when several limits refuse: the one that frees up last."""
    return max(rejections, key=lambda r: r.retry_after_s)


@dataclass(frozen=True)
class Windows:
    """The UTC budget windows at an instant, and the seconds until each ends."""

    day: str
    month: str
    day_ends_in: float
    month_ends_in: float


def utc_windows(now: float) -> Windows:
    """The UTC day and calendar month containing the Unix time `now`."""
    at = datetime.fromtimestamp(now, UTC)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return Windows(
        day=at.strftime("%Y-%m-%d"),
        month=at.strftime("%Y-%m"),
        day_ends_in=(midnight + timedelta(days=1) - at).total_seconds(),
        month_ends_in=(next_month - at).total_seconds(),
    )
