"""llmecon's own ledger as a traffic source, read through the public `llmecon.ledger` API."""

from __future__ import annotations

from datetime import datetime

from llmecon.ledger import open_ledger
from llmecon.traffic.records import Traffic, TrafficBuilder


def read_ledger(url: str, since: datetime | None = None, until: datetime | None = None) -> Traffic:
    """Every request in the ledger with known token counts (failed requests without usage are
    left out: they cost nothing per token and are not load a replica served)."""
    builder = TrafficBuilder(url, "ledger")
    with open_ledger(url, create=False) as ledger:
        for row in ledger.rows(since, until):
            if row.prompt_tokens is None or row.completion_tokens is None:
                continue
            builder.add(
                f"{url}: request {row.request_id}",
                int(row.started_at.timestamp()),
                row.model,
                (1, row.prompt_tokens, row.completion_tokens, 0),
                key=row.key_id,
            )
    return builder.build()
