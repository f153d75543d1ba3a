"""`MemoryLimiter`: the limits of one gateway process, held in its memory.

Exact within the process (each call runs to completion under a lock, without awaiting), but
several replicas would each allow the full limit: run one replica, or use `RedisLimiter`.
It keeps the same state as the Redis store (see `llmecon.limits.redis_store`), in dicts whose
insertion order stands in for the sorted sets' scores.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from llmecon.limits.model import (
    Admission,
    KeyPolicy,
    Rejection,
    RejectionKind,
    Windows,
    binding,
    check_amount,
    utc_windows,
)
from llmecon.limits.protocol import LimiterBase


@dataclass(frozen=True)
class _Hold:
    """An outstanding budget reservation."""

    nusd: int
    day: str
    month: str
    expires: float


def _rate_rejection(
    kind: RejectionKind,
    limit: int | None,
    used: int,
    requested: int,
    *,
    log: Iterable[tuple[float, int]],
    wait: tuple[float, float],
) -> Rejection | None:
    """None if `requested` more fits under `limit`; else when enough of the `log`'s
    (admitted_at, amount) entries, oldest first, leave the window (`wait` = now, window)."""
    if limit is None or used + requested <= limit:
        return None
    now, window = wait
    retry, freed = window, 0
    if requested <= limit:
        for admitted_at, amount in log:
            freed += amount
            if used - freed + requested <= limit:
                retry = admitted_at + window - now
                break
    return Rejection(kind, limit, used, requested, retry)


def _budget_rejection(
    kind: RejectionKind, limit: int | None, used: int, requested: int, ends_in: float
) -> Rejection | None:
    if limit is None or used + requested <= limit:
        return None
    return Rejection(kind, limit, used, requested, ends_in)


@dataclass
class _KeyState:
    """One key's rate log, budget spend and reservations (the Redis store's seven keys)."""

    log: OrderedDict[str, float] = field(default_factory=OrderedDict)  # id -> admitted at
    tokens: dict[str, int] = field(default_factory=dict)  # id -> tokens in the window
    token_sum: int = 0
    spent: dict[str, int] = field(default_factory=dict)  # "d:<day>" / "m:<month>" -> nusd
    held: dict[str, int] = field(default_factory=dict)  # the same, reserved
    holds: OrderedDict[str, _Hold] = field(default_factory=OrderedDict)  # soonest expiry first
    done: OrderedDict[str, float] = field(default_factory=OrderedDict)  # id -> forget at

    def prune(self, now: float, window: float) -> None:
        while self.log and next(iter(self.log.values())) <= now - window:
            rid, _ = self.log.popitem(last=False)
            self.token_sum -= self.tokens.pop(rid)
        while self.holds and next(iter(self.holds.values())).expires <= now:
            _, hold = self.holds.popitem(last=False)
            self._unhold(hold)
        while self.done and next(iter(self.done.values())) <= now:
            self.done.popitem(last=False)

    def _unhold(self, hold: _Hold) -> None:
        for name in (f"d:{hold.day}", f"m:{hold.month}"):
            self.held[name] -= hold.nusd
            if not self.held[name]:
                del self.held[name]

    def used(self, name: str) -> int:
        return self.spent.get(name, 0) + self.held.get(name, 0)

    def rejections(
        self, policy: KeyPolicy, tokens: int, nusd: int, wait: tuple[float, float], w: Windows
    ) -> list[Rejection]:
        requests = ((at, 1) for at in self.log.values())
        spends = ((self.log[rid], n) for rid, n in self.tokens.items())
        day, month = self.used(f"d:{w.day}"), self.used(f"m:{w.month}")
        found = (
            _rate_rejection(
                "requests_per_minute",
                policy.requests_per_minute,
                len(self.log),
                1,
                log=requests,
                wait=wait,
            ),
            _rate_rejection(
                "tokens_per_minute",
                policy.tokens_per_minute,
                self.token_sum,
                tokens,
                log=spends,
                wait=wait,
            ),
            _budget_rejection("budget_day", policy.budget_per_day_nusd, day, nusd, w.day_ends_in),
            _budget_rejection(
                "budget_month", policy.budget_per_month_nusd, month, nusd, w.month_ends_in
            ),
        )
        return [r for r in found if r is not None]

    def take(self, rid: str, tokens: int, nusd: int, now: float, hold: _Hold) -> None:
        self.log[rid], self.tokens[rid] = now, tokens
        self.token_sum += tokens
        self.holds[rid] = hold
        for name in (f"d:{hold.day}", f"m:{hold.month}"):
            self.held[name] = self.held.get(name, 0) + nusd
        current = {f"d:{hold.day}", f"m:{hold.month}"}
        for name in [n for n in self.spent if n not in current]:
            del self.spent[name]

    def finish(self, admission: Admission, tokens: int, nusd: int, forget_at: float) -> None:
        rid = admission.id
        if rid in self.done:
            return
        self.done[rid] = forget_at
        if rid in self.tokens:
            self.token_sum += tokens - self.tokens[rid]
            self.tokens[rid] = tokens
        hold = self.holds.pop(rid, None)
        if hold is not None:
            self._unhold(hold)
        day, month = (hold.day, hold.month) if hold else (admission.day, admission.month)
        if nusd:
            for name in (f"d:{day}", f"m:{month}"):
                self.spent[name] = self.spent.get(name, 0) + nusd


class MemoryLimiter(LimiterBase):
    """The `Limiter` of one process. `window_s` is the rate window (60 s; tests shorten it),
    `reservation_ttl_s` how long an unsettled reservation holds budget, `clock` Unix time."""

    def __init__(
        self,
        *,
        reservation_ttl_s: float = 600.0,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl, self._window, self._clock = reservation_ttl_s, window_s, clock
        self._keys: dict[str, _KeyState] = {}
        self._lock = threading.Lock()

    async def admit(
        self, key_id: str, policy: KeyPolicy, reserve_tokens: int, reserve_nusd: int
    ) -> Admission | Rejection:
        check_amount("reserve_tokens", reserve_tokens)
        check_amount("reserve_nusd", reserve_nusd)
        with self._lock:
            now = self._clock()
            state = self._keys.setdefault(key_id, _KeyState())
            state.prune(now, self._window)
            w = utc_windows(now)
            found = state.rejections(policy, reserve_tokens, reserve_nusd, (now, self._window), w)
            if found:
                return binding(found)
            rid = uuid.uuid4().hex
            hold = _Hold(reserve_nusd, w.day, w.month, now + self._ttl)
            state.take(rid, reserve_tokens, reserve_nusd, now, hold)
        return Admission(rid, key_id, reserve_tokens, reserve_nusd, now, w.day, w.month)

    async def settle(self, admission: Admission, actual_tokens: int, actual_nusd: int) -> None:
        check_amount("actual_tokens", actual_tokens)
        check_amount("actual_nusd", actual_nusd)
        with self._lock:
            now = self._clock()
            state = self._keys.setdefault(admission.key_id, _KeyState())
            state.prune(now, self._window)
            state.finish(admission, actual_tokens, actual_nusd, now + self._ttl)

    async def aclose(self) -> None:
        """Nothing to close; present for the `Limiter` contract."""
