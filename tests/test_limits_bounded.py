"""The in-process limiter's state stays bounded however many requests it has served (issue 18).

Per request it may keep a rate-window entry (for the window) and a reservation (until
settled or expired); nothing else, and quiet keys are dropped.
"""

from __future__ import annotations

import asyncio
import tracemalloc

from llmecon.limits import Admission, KeyPolicy, MemoryLimiter, Rejection
from llmecon.limits.window import RateLog

USD = 10**9
POLICY = KeyPolicy(
    requests_per_minute=10**9,
    tokens_per_minute=10**12,
    budget_per_day_nusd=10**5 * USD,
    budget_per_month_nusd=10**6 * USD,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _serve(limiter: MemoryLimiter, clock: Clock, n: int, *, step: float, keys: int = 3) -> None:
    async def body() -> None:
        for i in range(n):
            clock.now += step
            got = await limiter.admit(f"k{i % keys}", POLICY, 100, 1000)
            assert isinstance(got, Admission)
            await limiter.settle(got, 50, 500)

    asyncio.run(body())


def test_settled_requests_leave_only_their_window_entry() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, window_s=60.0)
    _serve(limiter, clock, 30_000, step=0.01)  # 300 s at 100 req/s
    # only the last 60 s of requests (6,000) are in the window; no reservations, no "done" marks
    assert limiter.entries() <= 6_000 + 3


def test_a_request_in_the_window_costs_a_few_bytes() -> None:
    # at 800 req/s a 60 s window holds 48,000 requests: at ~215 bytes each (dict entries, an
    # int and a float per request) that was ~10 MB, which the soak benchmark read as growth
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, window_s=60.0)
    _serve(limiter, clock, 1_000, step=0.001, keys=1)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _serve(limiter, clock, 48_000, step=0.001, keys=1)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert limiter.entries() == 49_000
    assert held / 48_000 < 48, f"{held / 48_000:.0f} bytes per request in the window"


def test_state_does_not_grow_with_requests_served() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, window_s=1.0)
    _serve(limiter, clock, 5_000, step=0.01)
    after_5k = limiter.entries()
    _serve(limiter, clock, 50_000, step=0.01)
    assert limiter.entries() <= after_5k + 3


def test_quiet_keys_are_dropped() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, window_s=1.0, reservation_ttl_s=5.0)
    _serve(limiter, clock, 1_000, step=0.001, keys=100)
    assert limiter.keys_held() == 100
    clock.now += 40 * 86_400  # past the month: not even budget spend is left to keep
    _serve(limiter, clock, 1, step=0.0, keys=1)
    assert limiter.keys_held() == 1
    assert limiter.entries() == 1


async def _touch(limiter: MemoryLimiter, key: str) -> None:
    got = await limiter.admit(key, POLICY, 0, 0)
    assert isinstance(got, Admission)
    await limiter.settle(got, 0, 0)


def test_unsettled_reservations_expire_and_are_then_forgotten() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, window_s=1.0, reservation_ttl_s=10.0)

    async def body() -> None:
        for _ in range(1_000):
            clock.now += 0.001
            assert isinstance(await limiter.admit("k", POLICY, 1, USD), Admission)  # never settled
        clock.now += 11  # expired: a late settle still charges, for one more lifetime
        await _touch(limiter, "other")
        assert limiter.entries() == 1_000 + 1  # the lapsed marks, the other key's log entry
        clock.now += 11
        await _touch(limiter, "other")
        assert limiter.entries() == 1

    asyncio.run(body())


def test_admission_ids_are_counters_not_uuids() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)

    async def body() -> list[str]:
        ids = []
        for _ in range(3):
            got = await limiter.admit("k", POLICY, 1, 1)
            assert not isinstance(got, Rejection)
            ids.append(got.id)
        return ids

    ids = asyncio.run(body())
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert len(set(ids)) == 3
    assert all(len(i) < 12 for i in ids)


def test_a_second_settle_long_after_the_first_charges_nothing() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, window_s=1.0, reservation_ttl_s=1.0)
    policy = KeyPolicy(budget_per_day_nusd=USD)

    async def body() -> None:
        first = await limiter.admit("k", policy, 0, USD // 2)
        assert isinstance(first, Admission)
        await limiter.settle(first, 0, USD // 2)
        clock.now += 100  # the old store forgot the "done" mark after one lifetime
        await limiter.settle(first, 0, USD // 2)
        assert isinstance(await limiter.admit("k", policy, 0, USD // 2), Admission)

    asyncio.run(body())


def test_the_compact_log_settles_and_slides() -> None:
    log = RateLog()
    for seq in range(1, 5_001):
        log.add(seq, float(seq), 10)
    log.prune(3_000.0)  # 1..3,000 leave the window (and the arrays are shifted down)
    assert len(log) == 2_000
    assert log.token_sum == 20_000
    log.settle(4_000, 3)
    log.settle(10, 3)  # no longer in the window: nothing to change
    assert log.token_sum == 20_000 - 7
    assert list(log.spends())[999] == (4_000.0, 3)
    assert next(log.requests()) == (3_001.0, 1)
    log.prune(5_000.0)
    assert len(log) == 0
    assert log.token_sum == 0
