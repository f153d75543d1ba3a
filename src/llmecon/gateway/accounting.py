"""The background writer that keeps the ledger, and reports what the meters saw.

Rows are written from one background thread, in order, so the event loop never waits on a
database. At every slot boundary each priced upstream's meter reports the slot (metered time,
busy spans, each request's time in flight; gateway.metering) and the writer closes the slots
that every replica has had time to report (ledger.close_slots, core.allocation). `close()`
drains the queue and reports the last partial slot: no row is lost on a clean shutdown.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from llmecon.gateway.journal import Journal, row_to_json
from llmecon.gateway.metering import Meter, now_us
from llmecon.ledger.model import IdleRow, MeterReport, UsageRow
from llmecon.ledger.protocol import Ledger, LedgerUnavailableError

log = logging.getLogger("llmecon.gateway")
BATCH = 5000  # rows per ledger write: a writer that falls behind catches up in big batches
WRITER_NICE = 19  # the writer thread's nice value (the event loop keeps 0)
CATCH_UP_ROWS = 2000  # rows queued beyond which a second thread at normal priority helps
CATCH_UP_CHECK_S = 0.5  # how often that thread looks at the queue
LINGER_S = 0.05  # after a row arrives, how long the writer waits for more before writing
GRACE_S = 5.0  # how long after a slot ends the other replicas have to report it
FAR = datetime(9999, 1, 1, tzinfo=UTC)


class LedgerWriter:
    """A queue of rows and allocations, consumed by one thread."""

    def __init__(
        self,
        ledger: Ledger,
        meters: dict[str, Meter],
        interval_s: float = 60.0,
        journal: Journal | None = None,
        replica: str = "",
    ):
        self.ledger, self.meters, self.interval_s = ledger, meters, interval_s
        self.journal, self.replica = journal, replica
        self.dead_letters = journal.path.with_suffix(".dead.jsonl") if journal else None
        self.dead = 0
        self.busy_since: float | None = None
        self.last_ok = time.monotonic()
        self.retrying = False
        self.on_slots: Callable[[list[IdleRow]], None] = lambda closed: None
        self.grace = timedelta(seconds=min(interval_s, GRACE_S))
        self.unreported: list[MeterReport] = []
        self.jobs: queue.Queue[UsageRow | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="llmecon-ledger", daemon=True)
        self.catch_up = threading.Thread(
            target=self._catch_up, name="llmecon-ledger-catch-up", daemon=True
        )
        # one batch at a time (the writer's first row is taken before it, so a catch-up batch
        # may be written before that row)
        self.writing = threading.Lock()
        self.caught_up = 0  # batches the catch-up thread wrote
        self.failures = 0
        self._unwritten = False  # a batch gave up: keep the journal for the next start
        self.closing = threading.Event()

    def start(self) -> None:
        """Queue the rows a previous run left in the journal, then start writing."""
        if self.journal is not None:
            for row in self.journal.replay():
                self.jobs.put(row)
        self.thread.start()
        self.catch_up.start()

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
        self.catch_up.join(1.0)

    def _run(self) -> None:
        _lower_priority()
        next_tick = self._next_tick()
        while True:
            try:
                job = self.jobs.get(timeout=max(0.0, next_tick - time.time()))
            except queue.Empty:
                job = "tick"  # type: ignore[assignment]
            if job is None:
                self._drain_and_allocate()
                return
            if isinstance(job, UsageRow):
                # rows are journaled already: gathering them for a moment costs one wake-up
                # and one transaction per batch instead of per row (the thread wakes, takes
                # the GIL and commits while the event loop serves the next request)
                self.closing.wait(LINGER_S)
                with self.writing:
                    self._write([job, *self._batch()])
                    self._trim_journal()
            if time.time() >= next_tick:
                self._meter(final=False)
                next_tick = self._next_tick()

    def _catch_up(self) -> None:
        """At normal priority, write while more than CATCH_UP_ROWS rows wait: the niced
        writer gets little of a core the event loop keeps busy, and must not fall behind for
        long. Idle otherwise (it only looks at the queue's length)."""
        while not self.closing.wait(CATCH_UP_CHECK_S):
            while self.jobs.qsize() > CATCH_UP_ROWS and not self.closing.is_set():
                with self.writing:
                    rows = self._batch()
                    if rows:
                        self._write(rows)
                        self.caught_up += 1
                # no `_trim_journal` here: the writer may hold a row it took off the queue
                # before this batch (waiting for the lock), in no ledger yet; it trims itself

    def _next_tick(self) -> float:
        """Just after the next slot boundary (slots are aligned to the epoch)."""
        now = time.time()
        return now - now % self.interval_s + self.interval_s + 0.01

    def _batch(self) -> list[UsageRow]:
        rows: list[UsageRow] = []
        while len(rows) < BATCH:
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
        """Record rows, retrying with backoff while the store is unavailable (they are
        journaled); rows the store refuses are set aside (`_split`), never retried forever."""
        attempt = 0
        while True:
            self.busy_since = time.monotonic()
            try:
                self.ledger.record(rows)
                self.last_ok, self.retrying = time.monotonic(), False
                return
            except LedgerUnavailableError as error:
                self.failures += 1
                attempt += 1
                self.retrying = True
                log.warning("ledger write failed (attempt %d): %s; retrying", attempt, error)
            except Exception as error:  # the store refused something in the batch
                self.failures += 1
                self._split(rows, error)
                return
            finally:
                self.busy_since = None
            if self.closing.is_set() and attempt >= 3:
                self._unwritten = True
                log.error("ledger unavailable at shutdown: %d rows stay in the journal", len(rows))
                return
            time.sleep(min(5.0, 0.1 * 2**attempt))

    def _split(self, rows: list[UsageRow], error: Exception) -> None:
        """Find the rows the store refuses by halving the batch; dead-letter them, write the
        rest."""
        if len(rows) == 1:
            self.dead_letter(rows[0], error)
            return
        half = len(rows) // 2
        for part in (rows[:half], rows[half:]):
            self._write(part)

    def dead_letter(self, row: UsageRow, error: Exception) -> None:
        """Set a row the ledger refuses aside (logged with the reason), so the rest flows."""
        self.dead += 1
        log.error(
            "ledger refused row %s (%s: %s); set aside in %s",
            row.request_id,
            type(error).__name__,
            str(error).splitlines()[0][:300] if str(error) else "",
            self.dead_letters or "(no dead-letter file)",
        )
        if self.dead_letters is not None:
            with self.dead_letters.open("a", encoding="utf-8") as out:
                out.write(row_to_json(row) + "\n")

    def stuck(self, after_s: float = 10.0) -> bool:
        """A write has hung for `after_s`, or the store has been failing for that long."""
        now = time.monotonic()
        hung = self.busy_since is not None and now - self.busy_since > after_s
        failing = self.retrying and now - self.last_ok > after_s
        return hung or failing

    def _trim_journal(self) -> None:
        """Empty the journal once every journaled row is in the ledger."""
        if self.journal is None:
            return
        with self.journal.lock:
            if self.jobs.empty() and not self._unwritten:
                self.journal.truncate()

    def _drain_and_allocate(self) -> None:
        with self.writing:
            rows = self._batch()
            while rows:
                self._write(rows)
                rows = self._batch()
            self._trim_journal()
        self._meter(final=True)

    def _meter(self, *, final: bool) -> None:
        """Report what the meters saw, then close the slots every replica had time to report
        (at shutdown, alone: every slot, the partial one included)."""
        at = now_us()
        for meter in self.meters.values():
            self.unreported += meter.final(at) if final else meter.due(at)
        if not self.meters:
            return
        try:
            self.ledger.report_meters(self.unreported)
            self.unreported = []
            ended_by = datetime.now(UTC) - self.grace
            if final and self._alone():
                ended_by = FAR
            self.on_slots(self.ledger.close_slots(ended_by))
        except Exception:
            self.failures += 1
            log.exception("cost allocation failed; retried at the next slot")

    def _alone(self) -> bool:
        """No other replica reported a recent slot (so none will close the current one)."""
        since = datetime.now(UTC) - timedelta(seconds=2 * self.interval_s) - self.grace
        return not (self.ledger.active_replicas(since) - {self.replica})


def _lower_priority() -> None:
    """The writer thread yields the core to the event loop: its batch (about 0.6 ms of CPU for
    30 rows on SQLite) otherwise lands in a request's time now and then, and was the gateway's
    p99 (measured on a gateway pinned to one core: added p99 3.1-3.4 ms with it at the default
    priority, 2.2-2.9 ms at nice 10, 1.2-1.6 ms at nice 19). Nice 19 gives it about 1.5 % of a
    core the event loop saturates, so `_catch_up` writes at normal priority when rows pile up
    (rows are journaled first either way). Linux only; elsewhere a no-op."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
    except (AttributeError, OSError):  # no per-thread priority here, or not allowed
        return
