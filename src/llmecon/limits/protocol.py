"""The `Limiter` contract every store meets, and the error it raises when the store is down.

One contract, two stores: `MemoryLimiter` (one process) and `RedisLimiter` (any number of
gateway replicas sharing exact limits). A limiter is an async context manager; leaving it
closes its connections.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Protocol, Self

from llmecon.errors import LlmeconError
from llmecon.limits.model import Admission, KeyPolicy, KeyUsage, Rejection


class LimitsUnavailableError(LlmeconError):
    """The limits store could not be reached or did not answer in time: answer 503 and retry
    later (never 401 or 429: the key and its limits are not at fault)."""


class Limiter(Protocol):
    """Admits, settles and releases requests against each key's rates and budgets."""

    async def admit(
        self, key_id: str, policy: KeyPolicy, reserve_tokens: int, reserve_nusd: int
    ) -> Admission | Rejection:
        """Atomically count one request against `requests_per_minute`, reserve
        `reserve_tokens` (prompt estimate + max_tokens) against `tokens_per_minute` and
        `reserve_nusd` (the most the request can cost) against each budget. Either all of it
        is taken and an `Admission` returned, or nothing is and a `Rejection` names the limit
        that frees up last. ValueError for a negative or oversized amount."""
        ...

    async def settle(self, admission: Admission, actual_tokens: int, actual_nusd: int) -> None:
        """Replace the reservation with the true usage: the request's tokens in the rate window
        become `actual_tokens` (while it is still in the window), `actual_nusd` is added to the
        spend of the admission's day and month, and the rest of the reservation is released.
        A second settle or release of the same admission does nothing. After the reservation
        expired, settle still adds `actual_nusd` to the spend."""
        ...

    async def release(self, admission: Admission) -> None:
        """Give back everything reserved except the request count (errors, client cancels,
        timeouts): settle at zero tokens and zero cost. Idempotent like `settle`."""
        ...

    async def usage(self, key_id: str) -> KeyUsage:
        """What `key_id` has taken now, read without changing anything a later `admit` sees:
        requests and tokens in the rate window (reservations until settled, then the true
        count) and the current UTC day's and month's spend, settled and still reserved. What a
        policy leaves is its limit minus these."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers now (within its timeout)."""
        ...

    async def aclose(self) -> None:
        """Close the store's connections; the limiter cannot be used afterwards."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class LimiterBase(ABC):
    """What every store does the same way: `release` is a settle at zero, and leaving the
    context closes the store."""

    @abstractmethod
    async def settle(self, admission: Admission, actual_tokens: int, actual_nusd: int) -> None:
        """See `Limiter.settle`."""

    @abstractmethod
    async def aclose(self) -> None:
        """See `Limiter.aclose`."""

    async def release(self, admission: Admission) -> None:
        await self.settle(admission, 0, 0)

    async def ping(self) -> bool:
        """Whether the store answers (an in-process store always does)."""
        return True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
