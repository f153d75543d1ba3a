"""The `Ledger` contract every backend meets, and the errors it raises.

Every method blocks and is thread-safe: an asyncio caller runs it in a worker thread
(`await asyncio.to_thread(ledger.record, rows)`). A store that cannot be reached or stays locked
raises `LedgerUnavailableError` (answer 503, never 401).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from llmecon.errors import LlmeconError
from llmecon.ledger.keys import KeyStore
from llmecon.ledger.model import IdleRow, UsageBy, UsageRow, UsageTotals


class LedgerUnavailableError(LlmeconError):
    """The database could not be reached, or stayed locked: retry later."""


class AllocationConflictError(LlmeconError):
    """An allocation touched a request that is unknown, on another upstream, or already
    allocated, or it reused an interval with different figures. Nothing was written."""


class Ledger(KeyStore, Protocol):
    """Usage rows, their self-hosted and counterfactual costs, idle cost, and API keys."""

    def record(self, rows: Sequence[UsageRow]) -> None:
        """Store `rows` in one transaction. A request id already stored is left untouched
        (no error): the gateway may retry a batch."""
        ...

    def allocate(
        self,
        upstream: str,
        interval_start: datetime,
        interval_end: datetime,
        shares: Mapping[str, int],
        idle: IdleRow,
    ) -> None:
        """In one transaction, set each request's `self_hosted_nusd` share and store `idle`.

        The shares must add up to `idle.allocated_nusd` (ValueError otherwise). Each request
        must be on `upstream` with no share yet (AllocationConflictError otherwise). Repeating an
        allocation already stored for (upstream, interval_start) with the same idle row is a
        no-op, so a retry is safe.
        """
        ...

    def unallocated(self, upstream: str, before: datetime) -> list[tuple[str, int]]:
        """(request_id, prompt + completion tokens) of the requests on `upstream` that finished
        before `before` and have no share yet, oldest first; unknown token counts are 0."""
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
