"""A price with its provenance: every number a bill uses can be traced to a source and a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Price:
    """`amount` US dollars per `unit`, from `source` as of `as_of` (None: given by the user)."""

    amount: float
    unit: str
    source: str
    as_of: date | None = None

    def cited(self) -> str:
        """The source with its date, as shown next to a line item."""
        if self.as_of is None:
            return self.source
        return f"{self.source} (as of {self.as_of.isoformat()})"
