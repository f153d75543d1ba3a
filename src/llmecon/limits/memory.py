"""`MemoryLimiter`: the limits of one gateway process, held in its memory.

Exact within the process (each call runs to completion under a lock, without awaiting), but
several replicas would each allow the full limit: run one replica, or use `RedisLimiter`.
It keeps the same state as the Redis store (see `llmecon.limits.redis_store`), in dicts whose
insertion order stands in for the sorted sets' scores.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from llmecon.limits.model import (
    Admission,
    KeyPolicy,
    KeyUsage,
    Rejection,
    RejectionKind,
    Windows,
    binding,
    check_amount,
    utc_windows,
)
from llmecon.limits.protocol import LimiterBase
from llmecon.limits.window import RateLog


@dataclass(frozen=True, slots=True)
class _Hold:
    """An outstanding budget reservation."""

    nusd: int
    day: str
    month: str
    admitted_at: float
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


@dataclass(slots=True)
class _KeyState:
    """One key's rate log, budget spend and reservations (the Redis store's keys).

    Per request it keeps only what still matters: a log entry while the request is in the rate
    window, a hold while its reservation is unsettled, and a `lapsed` mark (for one more
    reservation lifetime) when the hold expired before a settle. A settled request leaves
    nothing behind but its log entry, so state is bounded by the window and the reservation
    lifetime, never by the number of requests served. Admissions are numbered by a counter;
    the log keeps 24 bytes per request in the window (limits.window).
    """

    log: RateLog = field(default_factory=RateLog)  # (seq, admitted at, tokens) in the window
    spent: dict[str, int] = field(default_factory=dict)  # "d:<day>" / "m:<month>" -> nusd
    held: dict[str, int] = field(default_factory=dict)  # the same, reserved
    holds: OrderedDict[int, _Hold] = field(default_factory=OrderedDict)  # soonest expiry first
    lapsed: OrderedDict[int, float] = field(default_factory=OrderedDict)  # seq -> forget at

    def prune(self, now: float, window: float) -> None:
        self.log.prune(now - window)
        while self.holds and next(iter(self.holds.values())).expires <= now:
            seq, hold = self.holds.popitem(last=False)
            self._unhold(hold)
            # still unsettled: a late settle charges its cost, for one more lifetime
            self.lapsed[seq] = 2 * hold.expires - hold.admitted_at
        while self.lapsed and next(iter(self.lapsed.values())) <= now:
            self.lapsed.popitem(last=False)

    def forget_old_windows(self, w: Windows) -> None:
        current = {f"d:{w.day}", f"m:{w.month}"}
        for name in [n for n in self.spent if n not in current]:
            del self.spent[name]

    @property
    def idle(self) -> bool:
        """Nothing in any window or reservation: the state can be dropped."""
        return not (self.log or self.holds or self.lapsed or self.spent or self.held)

    def entries(self) -> int:
        return len(self.log) + len(self.holds) + len(self.lapsed)

    def _unhold(self, hold: _Hold) -> None:
        for name in (f"d:{hold.day}", f"m:{hold.month}"):
            left = self.held.get(name, 0) - hold.nusd  # holds of 0 share one emptied entry
            if left:
                self.held[name] = left
            else:
                self.held.pop(name, None)

    def used(self, name: str) -> int:
        return self.spent.get(name, 0) + self.held.get(name, 0)

    def rejections(
        self, policy: KeyPolicy, tokens: int, nusd: int, wait: tuple[float, float], w: Windows
    ) -> list[Rejection]:
        day, month = self.used(f"d:{w.day}"), self.used(f"m:{w.month}")
        found = (
            _rate_rejection(
                "requests_per_minute",
                policy.requests_per_minute,
                len(self.log),
                1,
                log=self.log.requests(),
                wait=wait,
            ),
            _rate_rejection(
                "tokens_per_minute",
                policy.tokens_per_minute,
                self.log.token_sum,
                tokens,
                log=self.log.spends(),
                wait=wait,
            ),
            _budget_rejection("budget_day", policy.budget_per_day_nusd, day, nusd, w.day_ends_in),
            _budget_rejection(
                "budget_month", policy.budget_per_month_nusd, month, nusd, w.month_ends_in
            ),
        )
        return [r for r in found if r is not None]

    def take(self, seq: int, tokens: int, hold: _Hold, w: Windows) -> None:
        self.log.add(seq, hold.admitted_at, tokens)
        self.holds[seq] = hold
        for name in (f"d:{hold.day}", f"m:{hold.month}"):
            self.held[name] = self.held.get(name, 0) + hold.nusd
        self.forget_old_windows(w)

    def finish(self, seq: int, admission: Admission, tokens: int, nusd: int) -> None:
        hold = self.holds.pop(seq, None)
        if hold is None and self.lapsed.pop(seq, None) is None:
            return  # settled or released already (or lapsed and forgotten)
        self.log.settle(seq, tokens)
        if hold is not None:
            self._unhold(hold)
        if nusd:
            for name in (f"d:{admission.day}", f"m:{admission.month}"):
                self.spent[name] = self.spent.get(name, 0) + nusd


class MemoryLimiter(LimiterBase):
    """The `Limiter` of one process. `window_s` is the rate window (60 s; tests shorten it),
    `reservation_ttl_s` how long an unsettled reservation holds budget, `clock` Unix time.

    Once per window every key is pruned and keys with nothing left are dropped, so keys that
    went quiet do not keep their windows; `entries()` counts the per-request entries held.
    """

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
        self._seq = itertools.count(1)
        self._swept = clock()

    def entries(self) -> int:
        """Per-request entries held now (rate logs, reservations, lapsed marks), all keys."""
        with self._lock:
            return sum(state.entries() for state in self._keys.values())

    def keys_held(self) -> int:
        """How many keys have state now."""
        with self._lock:
            return len(self._keys)

    def _sweep(self, now: float) -> None:
        """Prune every key and drop the idle ones (at most once per window)."""
        if now - self._swept < self._window:
            return
        self._swept = now
        w = utc_windows(now)
        for key_id in list(self._keys):
            state = self._keys[key_id]
            state.prune(now, self._window)
            state.forget_old_windows(w)
            if state.idle:
                del self._keys[key_id]

    async def admit(
        self, key_id: str, policy: KeyPolicy, reserve_tokens: int, reserve_nusd: int
    ) -> Admission | Rejection:
        check_amount("reserve_tokens", reserve_tokens)
        check_amount("reserve_nusd", reserve_nusd)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            state = self._keys.setdefault(key_id, _KeyState())
            state.prune(now, self._window)
            w = utc_windows(now)
            found = state.rejections(policy, reserve_tokens, reserve_nusd, (now, self._window), w)
            if found:
                return binding(found)
            seq = next(self._seq)
            hold = _Hold(reserve_nusd, w.day, w.month, now, now + self._ttl)
            state.take(seq, reserve_tokens, hold, w)
        return Admission(str(seq), key_id, reserve_tokens, reserve_nusd, now, w.day, w.month)

    async def settle(self, admission: Admission, actual_tokens: int, actual_nusd: int) -> None:
        check_amount("actual_tokens", actual_tokens)
        check_amount("actual_nusd", actual_nusd)
        try:
            seq = int(admission.id)
        except ValueError:
            return  # not one of this limiter's admissions: nothing it holds
        with self._lock:
            now = self._clock()
            state = self._keys.get(admission.key_id)
            if state is None:
                return  # nothing held for the key any more: settled, or long forgotten
            state.prune(now, self._window)
            state.finish(seq, admission, actual_tokens, actual_nusd)

    async def usage(self, key_id: str) -> KeyUsage:
        with self._lock:
            now = self._clock()
            w = utc_windows(now)
            state = self._keys.get(key_id)
            if state is None:
                return KeyUsage(0, 0, 0, 0, 0, 0, w.day, w.month)
            state.prune(now, self._window)  # what admit would drop first
            day, month = f"d:{w.day}", f"m:{w.month}"
            return KeyUsage(
                len(state.log),
                state.log.token_sum,
                state.spent.get(day, 0),
                state.held.get(day, 0),
                state.spent.get(month, 0),
                state.held.get(month, 0),
                w.day,
                w.month,
            )

    async def aclose(self) -> None:
        """Nothing to close; present for the `Limiter` contract."""
