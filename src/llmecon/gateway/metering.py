"""One meter per priced upstream: which requests were in flight when, cut into wall-clock slots.

The meter only records; the ledger splits each slot's cost once every replica has reported
(core.allocation says how). Slots are aligned to the epoch so that every replica of a gateway
cuts the same slots, and a slot is keyed by (upstream, slot start) in the ledger. Times are
integer microseconds since the epoch.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

from llmecon.core.allocation import union
from llmecon.ledger.model import MeterReport, from_micros


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass
class Meter:
    """Requests in flight on one upstream, and what is not yet reported."""

    upstream: str
    hourly_nusd: int
    slot_us: int
    replica: str
    started_us: int = field(default_factory=now_us)
    active: dict[str, int] = field(default_factory=dict)  # request id -> start
    finished: list[tuple[str, int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.reported_us = self.started_us  # everything before this is reported

    def begin(self, request_id: str, at_us: int | None = None) -> None:
        with self.lock:
            self.active[request_id] = now_us() if at_us is None else at_us

    def end(self, request_id: str, at_us: int | None = None) -> None:
        with self.lock:
            start = self.active.pop(request_id, None)
            if start is not None:
                self.finished.append((request_id, start, now_us() if at_us is None else at_us))

    @property
    def in_flight(self) -> int:
        return len(self.active)

    def due(self, at_us: int) -> list[MeterReport]:
        """Reports for every whole slot that ended by `at_us` and is not reported yet."""
        reports: list[MeterReport] = []
        with self.lock:
            while True:
                slot_end = self._slot_start(self.reported_us) + self.slot_us
                if slot_end > at_us:
                    return reports
                reports.append(self._cut(slot_end))

    def final(self, at_us: int) -> list[MeterReport]:
        """`due(at_us)` plus the current slot up to `at_us` (at shutdown)."""
        reports = self.due(at_us)
        with self.lock:
            if at_us > self.reported_us or not reports:
                reports.append(self._cut(at_us))
        return [*reports[:-1], replace(reports[-1], final=True)]

    def _slot_start(self, moment: int) -> int:
        return moment - moment % self.slot_us

    def _cut(self, until: int) -> MeterReport:
        """The report from `reported_us` to `until` (within one slot); forgets what it covers."""
        low = self.reported_us
        slot = self._slot_start(low)
        weights: dict[str, int] = {}
        busy: list[tuple[int, int]] = []
        pieces = [*self.finished, *((rid, start, until) for rid, start in self.active.items())]
        for rid, start, end in pieces:
            begin, stop = max(start, low), min(end, until)
            if stop > begin or (start >= low and end <= until):
                weights[rid] = max(0, stop - begin)
                if stop > begin:
                    busy.append((begin - slot, stop - slot))
        self.finished = [f for f in self.finished if f[2] > until]
        self.reported_us = until
        return MeterReport(
            upstream=self.upstream,
            replica=self.replica,
            slot_start=from_micros(slot),
            slot_end=from_micros(slot + self.slot_us),
            metered=(low - slot, until - slot),
            hourly_nusd=self.hourly_nusd,
            busy=tuple(union(busy)),
            weights=weights,
        )
