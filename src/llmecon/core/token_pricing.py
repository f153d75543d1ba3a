"""A paid API's token prices and the rules that pick a rate for a request.

Rules modelled: one flat rate or separate input/output rates; long-context tiers chosen per
request by its prompt size (the whole request at the tier's rates); cached input tokens at the
cached-input rate; the context window (a prompt longer than the model accepts is an error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmecon.core.prices import ContextTier, Price
from llmecon.core.workload import Tokens


@dataclass(frozen=True)
class Rates:
    """The rates one request is billed at, and the tier that chose them (None: base rates)."""

    input: Price
    output: Price
    cached_input: Price | None
    tier: ContextTier | None


@dataclass(frozen=True)
class TokenPricing:
    """A paid API's token prices: one rate for all tokens, or separate input/output rates."""

    total: Price | None = None
    input: Price | None = None
    output: Price | None = None
    cached_input: Price | None = None
    tiers: tuple[ContextTier, ...] = ()
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None

    def __post_init__(self) -> None:
        split = self.input is not None and self.output is not None
        if (self.total is None) == (not split):
            raise ValueError("TokenPricing needs either `total` or both `input` and `output`")
        if self.total is not None and (self.tiers or self.cached_input):
            raise ValueError("tiers and cached-input prices need separate input/output prices")

    @property
    def is_split(self) -> bool:
        return self.total is None

    @property
    def is_flat(self) -> bool:
        """True when every token costs the same, so a token total alone can be priced."""
        if self.total is not None:
            return True
        assert self.input is not None and self.output is not None
        return self.input.cost_of(1e6) == self.output.cost_of(1e6) and not self.tiers

    def rates(self, prompt_tokens: float) -> Rates:
        """The rates for a request with this many prompt tokens (split pricing only)."""
        assert self.input is not None and self.output is not None
        tier = next(
            (t for t in sorted(self.tiers, key=lambda t: -t.above) if prompt_tokens > t.above),
            None,
        )
        if tier is None:
            return Rates(self.input, self.output, self.cached_input, None)
        cached = None
        if self.cached_input is not None:  # the tier raises cached tokens by the same ratio
            ratio = tier.input.amount / self.input.amount if self.input.amount else 1.0
            cached = Price(
                self.cached_input.amount * ratio, self.cached_input.unit,
                f"{self.cached_input.source} (x{ratio:g}, the long-context ratio)",
                self.cached_input.as_of, self.cached_input.per,
            )  # fmt: skip
        return Rates(tier.input, tier.output, cached, tier)

    def context_problem(self, tokens: Tokens) -> str | None:
        """Why one request does not fit the model's context window (None: it fits)."""
        prompt = tokens.input if tokens.input is not None else tokens.total
        if self.max_input_tokens is not None and prompt > self.max_input_tokens:
            return (
                f"a {prompt:,.0f}-token prompt exceeds the model's {self.max_input_tokens:,}-token "
                "input limit; shorten the prompt or pick a model with a longer context"
            )
        return None

    def output_requests(self, tokens: Tokens) -> int:
        """How many responses a request's completion needs, given the output limit (1: fits)."""
        if self.max_output_tokens is None or tokens.output is None:
            return 1
        return max(1, math.ceil(tokens.output / self.max_output_tokens))
