"""A minimal finished request for ledger-writer tests: row `n` (`r000042`), one compared API."""

from __future__ import annotations

from datetime import UTC, datetime

from llmecon.ledger.model import UsageRow


def usage_row(n: int) -> UsageRow:
    now = datetime.now(UTC)
    fields = ("chat", False, 200, "ok", 1, 2, "upstream", 1.0, 1.0, None, {"api": 7}, "t")
    return UsageRow(f"r{n:06d}", now, now, None, "m", "u", *fields)  # type: ignore[arg-type]
