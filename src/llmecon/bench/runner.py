"""Drive load at an endpoint: closed loop (fixed concurrency) or open loop (arrivals at a rate).

Open-loop sends are due at absolute times from the start (constant or Poisson); a late send is
recorded as lateness, never absorbed into later ones. Warm-up requests run first and are not
measured. The run also measures the client itself: CPU time and send lateness.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmecon.bench.client import Endpoint, Exchange, Pool
from llmecon.bench.schedule import arrival_offsets

Progress = Callable[[int, int], None]  # requests finished, of which failed


@dataclass(frozen=True)
class Load:
    """One load point: closed loop at `concurrency`, or open loop at `rate` requests/s."""

    concurrency: int | None = None
    rate: float | None = None
    arrivals: str = "constant"
    requests: int | None = None
    duration_s: float | None = None
    warmup_requests: int = 0
    timeout_s: float = 120.0
    seed: int = 0

    @property
    def mode(self) -> str:
        return "open" if self.rate is not None else "closed"

    def describe(self) -> str:
        if self.rate is not None:
            return f"{self.arrivals} arrivals at {self.rate:g} req/s"
        return f"concurrency {self.concurrency}"


@dataclass(frozen=True)
class RawRun:
    """What a run produced, before metrics: the measured exchanges and the client's own cost."""

    load: Load
    exchanges: tuple[Exchange, ...]
    wall_s: float
    cpu_s: float


async def run_load(
    endpoint: Endpoint,
    path: str,
    bodies: Sequence[bytes],
    load: Load,
    progress: Progress | None = None,
    *,
    parse: str = "fast",
) -> RawRun:
    """Send the load; every request ends as an exchange with an outcome."""
    requests = [endpoint.request_head(path, len(body)) + body for body in bodies]
    pool = Pool(endpoint, parse=parse)
    try:
        if load.warmup_requests:
            warm = Load(concurrency=load.concurrency or 4, requests=load.warmup_requests,
                        timeout_s=load.timeout_s)  # fmt: skip
            await _closed(pool, requests, warm, None)
        cpu, wall = time.process_time(), time.perf_counter()
        if load.mode == "open":
            exchanges = await _open(pool, requests, load, progress)
        else:
            exchanges = await _closed(pool, requests, load, progress)
        return RawRun(load, tuple(exchanges), time.perf_counter() - wall, time.process_time() - cpu)
    finally:
        pool.close()


async def _closed(
    pool: Pool, requests: list[bytes], load: Load, progress: Progress | None
) -> list[Exchange]:
    results: list[Exchange] = []
    counter = itertools.count()
    failed = 0
    stop_at = time.perf_counter() + load.duration_s if load.duration_s else None
    stream = b'"stream":true' in requests[0]

    async def worker() -> None:
        nonlocal failed
        while True:
            index = next(counter)
            now = time.perf_counter()
            if (load.requests is not None and index >= load.requests) or (
                stop_at is not None and now >= stop_at
            ):
                return
            exchange = Exchange(t_sched=now, stream=stream, t_fire=now)
            await pool.send(exchange, requests[index % len(requests)], load.timeout_s)
            results.append(exchange)
            if progress is not None:
                failed += exchange.error is not None
                progress(len(results), failed)

    await asyncio.gather(*(worker() for _ in range(load.concurrency or 1)))
    return results


async def _open(
    pool: Pool, requests: list[bytes], load: Load, progress: Progress | None
) -> list[Exchange]:
    assert load.rate is not None
    results: list[Exchange] = []
    pending: set[asyncio.Task[None]] = set()
    stream = b'"stream":true' in requests[0]
    finished = failed = 0

    def done(task: asyncio.Task[None], exchange: Exchange) -> None:
        nonlocal finished, failed
        pending.discard(task)
        finished += 1
        failed += exchange.error is not None
        if progress is not None:
            progress(finished, failed)

    start = time.perf_counter() + 0.005
    offsets = arrival_offsets(load.rate, load.arrivals, load.seed)
    for index, offset in enumerate(offsets):
        if (load.requests is not None and index >= load.requests) or (
            load.duration_s is not None and offset >= load.duration_s
        ):
            break
        due = start + offset
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        exchange = Exchange(t_sched=due, stream=stream, t_fire=time.perf_counter())
        task = asyncio.create_task(pool.send(exchange, requests[index % len(requests)],
                                             load.timeout_s))  # fmt: skip
        pending.add(task)
        task.add_done_callback(functools.partial(done, exchange=exchange))
        results.append(exchange)
    if pending:
        await asyncio.gather(*pending)
    return results
