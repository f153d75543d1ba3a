"""The `Ledger` contract every backend meets, and the errors it raises.

Every method blocks and is thread-safe: an asyncio caller runs it in a worker thread
(`await asyncio.to_thread(ledger.record, rows)`). A store that cannot be reached or stays locked
raises `LedgerUnavailableError` (answer 503, never 401).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from llmecon.errors import LlmeconError
from llmecon.ledger.keys import KeyStore
from llmecon.ledger.model import IdleRow, Metered, MeterReport, UsageBy, UsageRow, UsageTotals
from llmecon.ledger.rollup import LedgerStats, Pruned


class LedgerUnavailableError(LlmeconError):
    """The database could not be reached, or stayed locked: retry later."""


class Ledger(KeyStore, Protocol):
    """Usage rows, their self-hosted and counterfactual costs, idle cost, and API keys."""

    def record(self, rows: Sequence[UsageRow]) -> None:
        """Store `rows` in one transaction. A request id already stored is left untouched
        (no error): the gateway may retry a batch."""
        ...

    def report_meters(self, reports: Sequence[MeterReport]) -> None:
        """Store what a replica metered (slots, busy spans, each request's time in flight).
        A report already stored (same upstream, slot and replica) is left untouched."""
        ...

    def close_slots(self, ended_by: datetime) -> list[IdleRow]:
        """Close every reported slot that ended by `ended_by` and is not closed yet: split its
        cost (hourly x metered time) over the requests in flight in it by their time in flight,
        the rest idle (core.allocation), set each finished request's `self_hosted_nusd`. Each
        slot closes once, whichever replica gets there first; returns the slots this call
        closed."""
        ...

    def active_replicas(self, since: datetime) -> set[str]:
        """The gateway replicas that reported a slot ending at or after `since` and have not
        sent their final report."""
        ...

    def metered(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[Metered]:
        """Per upstream: metered seconds and cost (idle included) of the closed slots starting
        in [since, until)."""
        ...

    def traffic_span(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[datetime, datetime] | None:
        """First start and last finish of the rows started in [since, until); None if none."""
        ...

    def rows(self, since: datetime | None = None, until: datetime | None = None) -> list[UsageRow]:
        """The rows with since <= started_at < until, ordered by started_at."""
        ...

    def usage(
        self, by: UsageBy, since: datetime | None = None, until: datetime | None = None
    ) -> list[UsageTotals]:
        """Totals per key, model, UTC day (of started_at) or upstream, summed in SQL.

        Idle cost (from intervals with since <= interval_start < until) is attributed by
        upstream and by UTC day of interval_start; grouped by key or model it appears as one
        extra group named "(idle)", sorted last. Rows without a key group as "(no key)".
        """
        ...

    def prune(self, before: datetime) -> Pruned:
        """Fold raw rows that started before `before` (rounded down to the hour) into hourly
        roll-ups and delete them; `usage` totals stay the same. See `llmecon.ledger.rollup`."""
        ...

    def stats(self) -> LedgerStats:
        """Rows and bytes per table, the span of raw rows and of roll-ups."""
        ...

    def migrations_applied(self) -> list[str]:
        """Names of the schema migrations applied to this database, in order."""
        ...

    def close(self) -> None:
        """Release the connection; the ledger cannot be used afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
