"""Rate limits and budgets per API key, for the gateway.

    async with open_limiter("redis://127.0.0.1:6379/0") as limiter:
        decision = await limiter.admit(key_id, policy, reserve_tokens, reserve_nusd)
        if isinstance(decision, Rejection):
            ...  # 429 with Retry-After: decision.retry_after_s
        try:
            ...  # relay the request
        except BaseException:
            await limiter.release(decision)
            raise
        await limiter.settle(decision, actual_tokens, actual_nusd)

`admit` counts the request and reserves its most tokens and most cost; `settle` replaces the
reservation with the true usage, `release` gives it back. Unsettled reservations expire (ten
minutes by default). `LimitsUnavailableError` when the store is down: answer 503.

Rates count over a sliding 60-second window log: a request is counted for exactly the 60 s
after its admission, and its tokens with it (the reservation, then the settled count). Budgets
are exact integer sums of nano-dollars per UTC day and UTC calendar month, charged to the
windows the request was admitted in.

URLs: `memory://` (one process) or `redis://HOST:PORT/DB` (also `rediss://`, `unix://`), which
several gateway replicas share.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from llmecon.errors import LlmeconError
from llmecon.limits.memory import MemoryLimiter
from llmecon.limits.model import (
    MAX_AMOUNT,
    Admission,
    KeyPolicy,
    KeyUsage,
    Rejection,
    RejectionKind,
    Windows,
    utc_windows,
)
from llmecon.limits.protocol import Limiter, LimitsUnavailableError

if TYPE_CHECKING:  # for mypy to check that it meets `Limiter`
    from llmecon.limits.redis_store import RedisLimiter

__all__ = [
    "MAX_AMOUNT",
    "Admission",
    "KeyPolicy",
    "KeyUsage",
    "Limiter",
    "LimitsUnavailableError",
    "MemoryLimiter",
    "Rejection",
    "RejectionKind",
    "Windows",
    "open_limiter",
    "utc_windows",
]

URL_HELP = "use memory:// (one gateway process) or redis://HOST:PORT/DB (shared by replicas)"


def _open_memory(url: str, reservation_ttl_s: float) -> Limiter:
    if url.split("://", 1)[1].strip("/"):
        raise LlmeconError(f"the limits URL {url!r} takes nothing after memory://")
    return MemoryLimiter(reservation_ttl_s=reservation_ttl_s)


def _open_redis(url: str, reservation_ttl_s: float) -> Limiter:
    # imported on use, so a single-process gateway needs no Redis client
    store = importlib.import_module("llmecon.limits.redis_store")
    limiter: RedisLimiter = store.RedisLimiter(url, reservation_ttl_s=reservation_ttl_s)
    return limiter


# URL scheme -> how to open it
_STORES: Mapping[str, Callable[[str, float], Limiter]] = MappingProxyType(
    {"memory": _open_memory, "redis": _open_redis, "rediss": _open_redis, "unix": _open_redis}
)


def open_limiter(url: str, *, reservation_ttl_s: float = 600.0) -> Limiter:
    """The limiter at `url`; see the module's doc. Connects on first use."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    opener = _STORES.get(scheme)
    if opener is None:
        shown = url.rsplit("@", maxsplit=1)[-1]  # never echo a password
        raise LlmeconError(f"unknown limits store URL {shown!r}: {URL_HELP}")
    return opener(url, reservation_ttl_s)
