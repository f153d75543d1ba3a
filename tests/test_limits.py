"""One contract suite for rate limits and budgets, run in process and against a real Redis.

Redis: LLMECON_TEST_REDIS_URL (default redis://127.0.0.1:6379/0). Each test gets its own random
key prefix, whose keys are deleted afterwards. When that variable is unset and no server
answers, the Redis half is skipped (and `-ra` says so); when it is set, an unreachable server
fails.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import redis

import llmecon.limits
from llmecon.errors import LlmeconError
from llmecon.limits import (
    MAX_AMOUNT,
    Admission,
    KeyPolicy,
    Limiter,
    LimitsUnavailableError,
    MemoryLimiter,
    Rejection,
    open_limiter,
    utc_windows,
)
from llmecon.limits.model import binding
from llmecon.limits.redis_store import CALENDAR, RedisLimiter

REDIS_URL = os.environ.get("LLMECON_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
USD = 10**9
CENT = USD // 100
T = TypeVar("T")


@dataclass(frozen=True)
class Store:
    """Makes limiters over one fresh, empty store; `make(**options)` may be called again for
    a second limiter over the same store (Redis only: a second gateway replica)."""

    kind: str
    make: Callable[..., Limiter]


def _redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        client.close()
        if "LLMECON_TEST_REDIS_URL" in os.environ:
            raise
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    return client


def _redis() -> Iterator[Store]:
    client = _redis_client()
    prefix = f"test-limits-{uuid.uuid4().hex[:12]}"

    def make(**options: Any) -> Limiter:
        return RedisLimiter(REDIS_URL, prefix=prefix, **options)

    try:
        yield Store("redis", make)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def _memory() -> Iterator[Store]:
    yield Store("memory", MemoryLimiter)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from _memory() if request.param == "memory" else _redis()


@pytest.fixture
def redis_store() -> Iterator[Store]:
    yield from _redis()


def run(store: Store, body: Callable[[Limiter], Awaitable[T]], **options: Any) -> T:
    """Run `body` with a fresh limiter over `store`, closing it afterwards."""

    async def main() -> T:
        async with store.make(**options) as limiter:
            return await body(limiter)

    return asyncio.run(main())


async def admit_many(
    limiter: Limiter, n: int, policy: KeyPolicy, tokens: int = 0, nusd: int = 0, key: str = "k1"
) -> tuple[list[Admission], list[Rejection]]:
    """`n` concurrent admits; the admissions and the rejections."""
    results = await asyncio.gather(*(limiter.admit(key, policy, tokens, nusd) for _ in range(n)))
    admitted = [r for r in results if isinstance(r, Admission)]
    return admitted, [r for r in results if isinstance(r, Rejection)]


def kinds(rejections: Sequence[Rejection]) -> set[str]:
    return {r.kind for r in rejections}


# -- the contract, for both stores ---------------------------------------------------------------


def test_requests_per_minute_are_exact_under_concurrency(store: Store) -> None:
    async def body(limiter: Limiter) -> None:
        admitted, rejected = await admit_many(limiter, 200, KeyPolicy(requests_per_minute=50))
        assert len(admitted) == 50
        assert len({a.id for a in admitted}) == 50
        assert len(rejected) == 150
        assert kinds(rejected) == {"requests_per_minute"}
        assert {(r.limit, r.used, r.requested) for r in rejected} == {(50, 50, 1)}
        assert all(0 < r.retry_after_s <= 60 for r in rejected)

    run(store, body)


def test_tokens_are_reserved_and_settling_releases_the_difference(store: Store) -> None:
    policy = KeyPolicy(tokens_per_minute=1000)

    async def body(limiter: Limiter) -> None:
        admitted, rejected = await admit_many(limiter, 10, policy, tokens=300)
        assert len(admitted) == 3
        assert {(r.kind, r.used, r.requested) for r in rejected} == {
            ("tokens_per_minute", 900, 300)
        }
        await limiter.settle(admitted[0], 100, 0)  # 200 tokens freed: 700 in the window
        fourth = await limiter.admit("k1", policy, 300, 0)
        assert isinstance(fourth, Admission)
        full = await limiter.admit("k1", policy, 1, 0)
        assert isinstance(full, Rejection)
        assert (full.used, full.limit, full.never_fits) == (1000, 1000, False)
        assert 0 < full.retry_after_s <= 60
        await limiter.release(admitted[1])  # its 300 tokens come back
        assert isinstance(await limiter.admit("k1", policy, 300, 0), Admission)
        too_big = await limiter.admit("k1", policy, 1001, 0)
        assert isinstance(too_big, Rejection)
        assert too_big.never_fits

    run(store, body)


def test_daily_budget_is_never_overspent(store: Store) -> None:
    policy = KeyPolicy(budget_per_day_nusd=USD)

    async def body(limiter: Limiter) -> None:
        admitted, rejected = await admit_many(limiter, 200, policy, nusd=CENT)
        assert len(admitted) == 100
        assert kinds(rejected) == {"budget_day"}
        assert {(r.limit, r.used, r.requested) for r in rejected} == {(USD, USD, CENT)}
        # the true cost is lower: $0.004 each, $0.40 in all, frees $0.60
        await asyncio.gather(*(limiter.settle(a, 10, 4 * CENT // 10) for a in admitted))
        again, _ = await admit_many(limiter, 200, policy, nusd=CENT)
        assert len(again) == 60
        # settled at their full reservation, the budget is spent to the nano-dollar
        await asyncio.gather(*(limiter.settle(a, 10, CENT) for a in again))
        over = await limiter.admit("k1", policy, 0, 1)
        assert isinstance(over, Rejection)
        assert (over.kind, over.used) == ("budget_day", USD)
        assert isinstance(await limiter.admit("k1", policy, 0, 0), Admission)

    run(store, body)


def test_monthly_budget(store: Store) -> None:
    policy = KeyPolicy(budget_per_month_nusd=USD)

    async def body(limiter: Limiter) -> None:
        first = await limiter.admit("k1", policy, 0, 6 * USD // 10)
        assert isinstance(first, Admission)
        second = await limiter.admit("k1", policy, 0, 6 * USD // 10)
        assert isinstance(second, Rejection)
        assert (second.kind, second.used, second.limit) == ("budget_month", 6 * USD // 10, USD)
        await limiter.settle(first, 0, USD // 10)
        assert isinstance(await limiter.admit("k1", policy, 0, 6 * USD // 10), Admission)

    run(store, body)


def test_release_gives_the_budget_back_but_not_the_request(store: Store) -> None:
    budget = KeyPolicy(budget_per_day_nusd=3 * CENT)
    both = KeyPolicy(requests_per_minute=3, budget_per_day_nusd=3 * CENT)

    async def body(limiter: Limiter) -> None:
        admitted, rejected = await admit_many(limiter, 4, budget, nusd=CENT)
        assert (len(admitted), kinds(rejected)) == (3, {"budget_day"})
        await limiter.release(admitted[0])
        assert isinstance(await limiter.admit("k1", budget, 0, CENT), Admission)

        admitted, _ = await admit_many(limiter, 3, both, nusd=CENT, key="k2")
        await limiter.release(admitted[0])
        counted = await limiter.admit("k2", both, 0, CENT)
        assert isinstance(counted, Rejection)
        assert counted.kind == "requests_per_minute"

    run(store, body)


def test_settle_and_release_are_idempotent(store: Store) -> None:
    policy = KeyPolicy(budget_per_day_nusd=USD, tokens_per_minute=1000)

    async def body(limiter: Limiter) -> None:
        first = await limiter.admit("k1", policy, 1000, USD)
        assert isinstance(first, Admission)
        await limiter.settle(first, 100, 3 * USD // 10)
        await limiter.settle(first, 100, 3 * USD // 10)
        await limiter.release(first)  # after settle: nothing to give back
        rest = await limiter.admit("k1", policy, 900, 7 * USD // 10)
        assert isinstance(rest, Admission)
        await limiter.release(rest)
        await limiter.release(rest)
        await limiter.settle(rest, 900, 7 * USD // 10)  # after release: nothing to charge
        again = await limiter.admit("k1", policy, 900, 7 * USD // 10)
        assert isinstance(again, Admission)
        full = await limiter.admit("k1", policy, 0, 1)
        assert isinstance(full, Rejection)
        assert (full.kind, full.used) == ("budget_day", USD)

    run(store, body)


def test_retry_after_names_the_limit_that_frees_up_last(store: Store) -> None:
    async def body(limiter: Limiter) -> None:
        rate = KeyPolicy(requests_per_minute=2)
        await admit_many(limiter, 2, rate)
        late = await limiter.admit("k1", rate, 0, 0)
        assert isinstance(late, Rejection)
        assert 55 < late.retry_after_s <= 60

        both = KeyPolicy(requests_per_minute=1, budget_per_day_nusd=CENT)
        await limiter.admit("k2", both, 0, CENT)
        day = await limiter.admit("k2", both, 0, CENT)
        windows = utc_windows(time.time())
        assert isinstance(day, Rejection)
        assert day.kind == "budget_day"  # the minute frees sooner than the day
        assert abs(day.retry_after_s - windows.day_ends_in) < 5

        month = KeyPolicy(budget_per_month_nusd=CENT)
        await limiter.admit("k3", month, 0, CENT)
        later = await limiter.admit("k3", month, 0, 1)
        assert isinstance(later, Rejection)
        assert abs(later.retry_after_s - utc_windows(time.time()).month_ends_in) < 5

    run(store, body)


def test_the_window_slides(store: Store) -> None:
    policy = KeyPolicy(requests_per_minute=3, tokens_per_minute=100)

    async def body(limiter: Limiter) -> None:
        first = await limiter.admit("k1", policy, 60, 0)
        await asyncio.sleep(0.3)
        admitted, rejected = await admit_many(limiter, 3, policy, tokens=20)
        assert (len(admitted), kinds(rejected)) == (2, {"requests_per_minute"})
        assert 0.5 < rejected[0].retry_after_s <= 0.7  # when `first` leaves the window
        await asyncio.sleep(rejected[0].retry_after_s + 0.05)
        assert isinstance(first, Admission)
        later, _ = await admit_many(limiter, 1, policy, tokens=60)  # `first`'s tokens left too
        assert len(later) == 1

    run(store, body, window_s=1.0)


def test_expired_reservations_free_the_budget(store: Store) -> None:
    policy = KeyPolicy(budget_per_day_nusd=USD)

    async def body(limiter: Limiter) -> None:
        crashed = await limiter.admit("k1", policy, 0, USD)  # its gateway never settles
        assert isinstance(crashed, Admission)
        assert isinstance(await limiter.admit("k1", policy, 0, 1), Rejection)
        await asyncio.sleep(0.7)
        held = await limiter.admit("k1", policy, 0, 4 * USD // 10)
        assert isinstance(held, Admission)
        # a settle arriving after the expiry still charges the true cost
        await limiter.settle(crashed, 0, USD // 2)
        await limiter.settle(crashed, 0, USD // 2)
        over = await limiter.admit("k1", policy, 0, 2 * USD // 10)
        assert isinstance(over, Rejection)
        assert over.used == 9 * USD // 10
        assert isinstance(await limiter.admit("k1", policy, 0, USD // 10), Admission)

    run(store, body, reservation_ttl_s=0.5)


def test_keys_are_independent(store: Store) -> None:
    policy = KeyPolicy(requests_per_minute=1, budget_per_day_nusd=CENT)

    async def body(limiter: Limiter) -> None:
        assert isinstance(await limiter.admit("alice", policy, 0, CENT), Admission)
        assert isinstance(await limiter.admit("alice", policy, 0, CENT), Rejection)
        assert isinstance(await limiter.admit("bob", policy, 0, CENT), Admission)

    run(store, body)


def test_admissions_name_their_utc_windows(store: Store) -> None:
    async def body(limiter: Limiter) -> Admission | Rejection:
        return await limiter.admit("k1", KeyPolicy(), 5, 7)

    admission = run(store, body)
    assert isinstance(admission, Admission)
    assert abs(admission.admitted_at - time.time()) < 5
    windows = utc_windows(admission.admitted_at)
    assert (admission.day, admission.month) == (windows.day, windows.month)
    assert (admission.key_id, admission.tokens, admission.nusd) == ("k1", 5, 7)


def test_amounts_are_checked(store: Store) -> None:
    async def body(limiter: Limiter) -> None:
        with pytest.raises(ValueError, match="reserve_tokens"):
            await limiter.admit("k1", KeyPolicy(), -1, 0)
        with pytest.raises(ValueError, match="reserve_nusd"):
            await limiter.admit("k1", KeyPolicy(), 0, MAX_AMOUNT + 1)
        admission = await limiter.admit("k1", KeyPolicy(), 0, 0)
        assert isinstance(admission, Admission)
        with pytest.raises(ValueError, match="actual_nusd"):
            await limiter.settle(admission, 0, -5)

    run(store, body)


# -- Redis: replicas, outages, the Lua calendar --------------------------------------------------


def test_two_replicas_share_one_limit_exactly(redis_store: Store) -> None:
    policy = KeyPolicy(requests_per_minute=50, budget_per_day_nusd=40 * CENT)

    async def main() -> None:
        async with redis_store.make() as one, redis_store.make() as two:
            results = await asyncio.gather(
                admit_many(one, 100, policy, nusd=CENT), admit_many(two, 100, policy, nusd=CENT)
            )
            admitted = [a for mine, _ in results for a in mine]
            assert len(admitted) == 40
            # a request admitted by one replica can be settled by the other
            await two.settle(admitted[0], 0, 0)
            await asyncio.gather(*(one.release(a) for a in admitted[1:]))
            more, rejected = await admit_many(two, 20, policy, nusd=CENT)
            assert (len(more), kinds(rejected)) == (10, {"requests_per_minute"})

    asyncio.run(main())


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_redis_down_raises_unavailable_quickly() -> None:
    admission = Admission("0" * 32, "k1", 1, 1, time.time(), "2026-01-31", "2026-01")

    async def main() -> None:
        url = f"redis://127.0.0.1:{_closed_port()}/0"
        async with RedisLimiter(url) as limiter:
            started = time.perf_counter()
            with pytest.raises(LimitsUnavailableError, match="unavailable"):
                await limiter.admit("k1", KeyPolicy(requests_per_minute=1), 1, 1)
            with pytest.raises(LimitsUnavailableError):
                await limiter.settle(admission, 1, 1)
            with pytest.raises(LimitsUnavailableError):
                await limiter.release(admission)
            assert time.perf_counter() - started < 2

    asyncio.run(main())


def test_every_redis_key_expires(redis_store: Store) -> None:
    async def body(limiter: Limiter) -> list[str]:
        admission = await limiter.admit("k1", KeyPolicy(requests_per_minute=5), 5, 5)
        assert isinstance(admission, Admission)
        await limiter.settle(admission, 3, 3)
        assert isinstance(limiter, RedisLimiter)
        return limiter.keys("k1")

    keys = run(redis_store, body)
    client = _redis_client()
    try:
        ttls = {key: client.pttl(key) for key in keys}
    finally:
        client.close()
    assert ttls[keys[0]] > 0  # the rate log exists...
    assert all(ttl != -1 for ttl in ttls.values()), ttls  # ...and no key lives forever


def test_lua_calendar_matches_python() -> None:
    client = _redis_client()
    first = datetime(1970, 1, 1, tzinfo=UTC)
    # every day from 1999 to 2101 (leap years, century rules), at noon
    days = list(range((datetime(1999, 1, 1, tzinfo=UTC) - first).days, 48_000))
    script = (
        CALENDAR
        + """
local out = {}
for i = 1, #ARGV do
  local sec = tonumber(ARGV[i])
  local day, month, day_left, month_left = windows(sec, sec * 1000000)
  out[i] = day .. ' ' .. month .. ' ' .. string.format('%d %d', day_left, month_left)
end
return out
"""
    )
    try:
        got = []
        for start in range(0, len(days), 5000):
            chunk = [str(d * 86400 + 43200) for d in days[start : start + 5000]]
            got += client.eval(script, 0, *chunk)
    finally:
        client.close()
    for day, line in zip(days, got, strict=True):
        w = utc_windows(day * 86400 + 43200)
        want = f"{w.day} {w.month} {round(w.day_ends_in * 1e6)} {round(w.month_ends_in * 1e6)}"
        assert line.decode() == want


# -- the in-process store with a fake clock: window boundaries ----------------------------------


def test_budgets_reset_at_utc_midnight_and_month_start() -> None:
    now = [datetime(2026, 1, 31, 23, 59, 59, 500000, tzinfo=UTC).timestamp()]
    limiter = MemoryLimiter(clock=lambda: now[0])
    policy = KeyPolicy(budget_per_day_nusd=CENT, budget_per_month_nusd=2 * CENT)

    async def main() -> None:
        late = await limiter.admit("k1", policy, 0, CENT)
        assert isinstance(late, Admission)
        assert (late.day, late.month) == ("2026-01-31", "2026-01")
        refused = await limiter.admit("k1", policy, 0, CENT)
        assert isinstance(refused, Rejection)
        assert refused.kind == "budget_day"
        assert refused.retry_after_s == pytest.approx(0.5)
        now[0] += 1  # February: a new day and a new month
        await limiter.settle(late, 0, CENT)  # charged to January, where it was admitted
        admitted, rejected = await admit_many(limiter, 3, policy, nusd=CENT)
        assert (len(admitted), kinds(rejected)) == (1, {"budget_day"})
        await limiter.settle(admitted[0], 0, CENT)
        now[0] += 86_400
        admitted, rejected = await admit_many(limiter, 2, policy, nusd=CENT)
        assert (len(admitted), kinds(rejected)) == (1, {"budget_month"})
        month_end = datetime(2026, 3, 1, tzinfo=UTC) - datetime.fromtimestamp(now[0], UTC)
        assert rejected[0].retry_after_s == pytest.approx(month_end / timedelta(seconds=1))

    asyncio.run(main())


# -- the model and the facade --------------------------------------------------------------------


def test_policies_refuse_bad_limits() -> None:
    with pytest.raises(ValueError, match="requests_per_minute"):
        KeyPolicy(requests_per_minute=-1)
    with pytest.raises(ValueError, match="budget_per_month_nusd"):
        KeyPolicy(budget_per_month_nusd=2**53)
    with pytest.raises(TypeError, match="float"):
        KeyPolicy(budget_per_day_nusd=1.5)  # type: ignore[arg-type]


def test_binding_rejection_is_the_longest_wait() -> None:
    minute = Rejection("requests_per_minute", 1, 1, 1, 30.0)
    day = Rejection("budget_day", 5, 5, 1, 3600.0)
    assert binding([minute, day]) is day


def test_open_limiter_picks_the_store_by_scheme() -> None:
    assert isinstance(open_limiter("memory://"), MemoryLimiter)
    limiter = open_limiter(REDIS_URL)
    assert isinstance(limiter, RedisLimiter)
    asyncio.run(limiter.aclose())
    with pytest.raises(LlmeconError, match=r"memory://") as error:
        open_limiter("postgresql://user:secret@db/x")
    assert "secret" not in str(error.value)


def test_the_facade_exports_what_it_lists() -> None:
    for name in llmecon.limits.__all__:
        assert hasattr(llmecon.limits, name), name


# -- what is left: usage() reads the same state admit() compares against -------------------------


def test_usage_counts_reservations_until_they_are_settled(store: Store) -> None:
    policy = KeyPolicy(requests_per_minute=10, tokens_per_minute=1000, budget_per_day_nusd=USD)

    async def body(limiter: Limiter) -> None:
        empty = await limiter.usage("k1")
        assert (empty.requests, empty.tokens, empty.day_nusd, empty.month_nusd) == (0, 0, 0, 0)
        windows = utc_windows(time.time())
        assert (empty.day, empty.month) == (windows.day, windows.month)
        first = await limiter.admit("k1", policy, 300, 30 * CENT)
        second = await limiter.admit("k1", policy, 200, 20 * CENT)
        assert isinstance(first, Admission) and isinstance(second, Admission)
        held = await limiter.usage("k1")
        assert (held.requests, held.tokens) == (2, 500)
        assert (held.day_spent_nusd, held.day_held_nusd) == (0, 50 * CENT)
        assert (held.month_spent_nusd, held.month_held_nusd) == (0, 50 * CENT)
        await limiter.settle(first, 100, 4 * CENT)  # true usage replaces the reservation
        await limiter.release(second)  # tokens and cost given back, the request still counts
        settled = await limiter.usage("k1")
        assert (settled.requests, settled.tokens) == (2, 100)
        assert (settled.day_spent_nusd, settled.day_held_nusd) == (4 * CENT, 0)
        assert settled.day_nusd == settled.month_nusd == 4 * CENT
        # what is left is what admit() allows: exactly $0.96 more today, not a nano-dollar over
        assert isinstance(await limiter.admit("k1", policy, 0, USD - 4 * CENT + 1), Rejection)
        assert isinstance(await limiter.admit("k1", policy, 0, USD - 4 * CENT), Admission)
        assert (await limiter.usage("other-key")).requests == 0

    run(store, body)


def test_usage_forgets_expired_reservations_and_slid_windows(store: Store) -> None:
    policy = KeyPolicy(requests_per_minute=10, budget_per_day_nusd=USD)

    async def body(limiter: Limiter) -> None:
        crashed = await limiter.admit("k1", policy, 40, 30 * CENT)  # never settled
        assert isinstance(crashed, Admission)
        assert (await limiter.usage("k1")).day_held_nusd == 30 * CENT
        await asyncio.sleep(1.2)  # past the window and the reservation's lifetime
        after = await limiter.usage("k1")
        assert (after.requests, after.tokens, after.day_nusd, after.month_nusd) == (0, 0, 0, 0)
        await limiter.settle(crashed, 40, 7 * CENT)  # a late settle still charges its cost
        late = await limiter.usage("k1")
        assert (late.day_spent_nusd, late.day_held_nusd, late.tokens) == (7 * CENT, 0, 0)

    run(store, body, window_s=1.0, reservation_ttl_s=1.0)
