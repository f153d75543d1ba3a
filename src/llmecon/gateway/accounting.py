"""Busy time per upstream, and the background writer that keeps the ledger.

Rows are written from one background thread, in order, so the event loop never waits on a
database. At the end of every interval (and on shutdown) each priced upstream's cost for the
interval is split over the requests it finished by tokens, with the idle share as its own row
(core.allocation). `close()` drains the queue: no row is lost on a clean shutdown.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from llmecon.core.allocation import allocate, interval_cost
from llmecon.gateway.journal import Journal
from llmecon.ledger.model import IdleRow, UsageRow
from llmecon.ledger.protocol import AllocationConflictError, Ledger

log = logging.getLogger("llmecon.gateway")


@dataclass
class BusyClock:
    """How long an upstream had at least one request in flight (monotonic seconds)."""

    in_flight: int = 0
    busy: float = 0.0
    since: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self) -> None:
        with self.lock:
            if self.in_flight == 0:
                self.since = time.monotonic()
            self.in_flight += 1

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.busy += time.monotonic() - self.since

    def take(self) -> float:
        """Busy seconds since the last take (counting an ongoing busy stretch up to now)."""
        with self.lock:
            now = time.monotonic()
            busy = self.busy + (now - self.since if self.in_flight else 0.0)
            self.busy, self.since = 0.0, now
            return busy


@dataclass
class Meter:
    """One priced upstream's clock and interval start."""

    upstream: str
    hourly_usd: float
    clock: BusyClock = field(default_factory=BusyClock)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


class LedgerWriter:
    """A queue of rows and allocations, consumed by one thread."""

    def __init__(
        self,
        ledger: Ledger,
        meters: dict[str, Meter],
        interval_s: float = 60.0,
        journal: Journal | None = None,
    ):
        self.ledger, self.meters, self.interval_s = ledger, meters, interval_s
        self.journal = journal
        self.jobs: queue.Queue[UsageRow | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="llmecon-ledger", daemon=True)
        self.failures = 0
        self._unwritten = False  # a batch gave up: keep the journal for the next start
        self.closing = threading.Event()

    def start(self) -> None:
        """Queue the rows a previous run left in the journal, then start writing."""
        if self.journal is not None:
            for row in self.journal.replay():
                self.jobs.put(row)
        self.thread.start()

    def submit(self, row: UsageRow) -> None:
        """Journal the row (durable once this returns), then queue it for the ledger."""
        if self.journal is None:
            self.jobs.put(row)
            return
        with self.journal.lock:
            self.journal.append(row)
            self.jobs.put(row)

    @property
    def pending(self) -> int:
        return self.jobs.qsize()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, allocate the last partial interval, stop the thread."""
        self.closing.set()
        self.jobs.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        next_close = time.monotonic() + self.interval_s
        while True:
            try:
                job = self.jobs.get(timeout=max(0.0, next_close - time.monotonic()))
            except queue.Empty:
                job = "tick"  # type: ignore[assignment]
            if job is None:
                self._drain_and_allocate()
                return
            if isinstance(job, UsageRow):
                self._write([job, *self._batch()])
                self._trim_journal()
            if time.monotonic() >= next_close:
                self._allocate_all()
                next_close = time.monotonic() + self.interval_s

    def _batch(self) -> list[UsageRow]:
        rows: list[UsageRow] = []
        while len(rows) < 500:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self.jobs.put(None)  # keep the stop signal for the loop
                break
            rows.append(job)
        return rows

    def _write(self, rows: list[UsageRow]) -> None:
        """Record rows, retrying with backoff while the store is down; they are journaled."""
        attempt = 0
        while True:
            try:
                self.ledger.record(rows)
                return
            except Exception:  # an outage must not kill the writer thread
                self.failures += 1
                attempt += 1
                log.warning("ledger write failed (attempt %d); retrying", attempt)
            if self.closing.is_set() and attempt >= 3:
                self._unwritten = True
                log.error("ledger unavailable at shutdown: %d rows stay in the journal", len(rows))
                return
            time.sleep(min(5.0, 0.1 * 2**attempt))

    def _trim_journal(self) -> None:
        """Empty the journal once every journaled row is in the ledger."""
        if self.journal is None:
            return
        with self.journal.lock:
            if self.jobs.empty() and not self._unwritten:
                self.journal.truncate()

    def _drain_and_allocate(self) -> None:
        rows = self._batch()
        while rows:
            self._write(rows)
            rows = self._batch()
        self._trim_journal()
        self._allocate_all()

    def _allocate_all(self) -> None:
        for meter in self.meters.values():
            try:
                self._allocate(meter)
            except Exception:
                self.failures += 1
                log.exception(
                    "cost allocation for %s failed; retried next interval", meter.upstream
                )

    def _allocate(self, meter: Meter) -> None:
        end = datetime.now(UTC)
        seconds = (end - meter.started).total_seconds()
        if seconds <= 0:
            return
        busy = min(meter.clock.take(), seconds)
        total = interval_cost(meter.hourly_usd, seconds)
        work = self.ledger.unallocated(meter.upstream, end + timedelta(microseconds=1))
        split = allocate(total, busy / seconds if seconds else 0.0, work)
        idle = IdleRow(meter.upstream, meter.started, end, split.idle, busy, total - split.idle)
        try:
            self.ledger.allocate(meter.upstream, meter.started, end, split.shares, idle)
        except AllocationConflictError:
            log.warning(
                "interval from %s for %s was already allocated", meter.started, meter.upstream
            )
        meter.started = end
