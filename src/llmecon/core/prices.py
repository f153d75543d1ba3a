"""A price with its provenance: every number a bill uses can be traced to a source and a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Price:
    """`amount` US dollars per `per` `unit`s (e.g. $2 per 1M tokens), from `source` as of `as_of`.

    `as_of` is None for a price the user gave.
    """

    amount: float
    unit: str
    source: str
    as_of: date | None = None
    per: float = 1.0

    @property
    def unit_label(self) -> str:
        """'1M tokens', '1K tokens', 'GB-second'."""
        if self.per == 1.0:
            return self.unit
        names = {1e3: "1K", 1e6: "1M"}
        return f"{names.get(self.per, f'{self.per:g}')} {self.unit}"

    def cost_of(self, quantity: float) -> float:
        """What `quantity` units cost at this price."""
        return quantity / self.per * self.amount

    def cited(self) -> str:
        """The source with its date, as shown next to a line item."""
        if self.as_of is None:
            return self.source
        return f"{self.source}, as of {self.as_of.isoformat()}"


@dataclass(frozen=True)
class ContextTier:
    """Token prices for a request whose prompt is longer than `above` tokens.

    Providers with long-context pricing (Gemini 2.5 Pro above 200k, GPT-5.4 above 272k) bill the
    whole request, prompt and completion, at the tier's rates.
    """

    above: int
    input: Price
    output: Price
