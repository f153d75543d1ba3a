"""Rate limits and budgets at the gateway's door: reserve before forwarding, settle after.

A request reserves its most tokens (prompt + every answer at its completion limit: the larger
of max_tokens and max_completion_tokens, times n or best_of, times the prompts) and its most
cost atomically before it is forwarded; its true usage is settled afterwards, and the
reservation is released on any other ending. A client that gives no limit gets one written into
the forwarded body (`default_max_tokens`), so the upstream cannot exceed the reservation.

Spend is priced at the model actually served: a paid upstream at its catalog price, a
self-hosted model at the API the operator maps it to (`--budget-price MODEL=API`), else at the
default budget price (the first `--compare-with`; for embeddings, the first
`--compare-embeddings`). Over a rate limit: 429 with Retry-After;
over a budget: 402 saying which budget and when it resets; a request that alone could pass a
limit: 400.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from llmecon.core.allocation import NANO
from llmecon.core.options import ApiOption
from llmecon.gateway.errors import GatewayError
from llmecon.ledger.keys import KeyInfo
from llmecon.limits import Admission, KeyPolicy, Limiter, LimitsUnavailableError, Rejection

BUDGETS = {"budget_day": "daily", "budget_month": "monthly"}


@dataclass(frozen=True)
class Door:
    """The limiter, the policy every key gets, and the price that turns tokens into spend."""

    limiter: Limiter
    policy: KeyPolicy
    price: ApiOption | None = None  # the default budget price
    default_max_tokens: int = 1024
    model_prices: Mapping[str, ApiOption] = field(default_factory=dict)  # MODEL=API
    catalog: Callable[[str], ApiOption | None] = lambda model: None  # paid APIs' own prices
    embedding_price: ApiOption | None = None  # the default for embeddings (else `price`)

    def price_for(self, model: str, *, paid: bool, embedding: bool = False) -> ApiOption | None:
        """The price `model`'s spend is counted at (paid: served by a paid API upstream;
        embedding: an /v1/embeddings call)."""
        if model in self.model_prices:
            return self.model_prices[model]
        own = self.catalog(model) if paid else None
        if own is None and embedding and self.embedding_price is not None:
            return self.embedding_price
        return own or self.price

    def dearest(
        self,
        candidates: Sequence[tuple[str, bool]],
        prompt: int,
        most: int,
        *,
        embedding: bool = False,
    ) -> Pricing:
        """Of the routes a call may take ((model, paid) each), the price that reserves most."""
        prices = [
            self.price_for(model, paid=paid, embedding=embedding) for model, paid in candidates
        ] or [self.embedding_price if embedding and self.embedding_price else self.price]
        if len(prices) == 1:  # one route (the usual case): nothing to compare, no bill to price
            return Pricing(prices[0])
        return max((Pricing(price) for price in prices), key=lambda p: p.cost_nusd(prompt, most))

    def counts_tokens(self, key: KeyInfo | None) -> bool:
        """Whether a tokens-per-minute limit or a budget applies to the key: then a request
        without a completion limit gets one written in (the reservation must bound it)."""
        policy = self.policy_for(key)
        return any(
            limit is not None
            for limit in (
                policy.tokens_per_minute,
                policy.budget_per_day_nusd,
                policy.budget_per_month_nusd,
            )
        )

    def policy_for(self, key: KeyInfo | None) -> KeyPolicy:
        """The key's own limits, each falling back to the gateway's default."""
        if key is None:
            return self.policy
        own = key.limits
        defaults = self.policy
        return KeyPolicy(
            requests_per_minute=own.requests_per_minute or defaults.requests_per_minute,
            tokens_per_minute=own.tokens_per_minute or defaults.tokens_per_minute,
            budget_per_day_nusd=own.budget_day_nusd or defaults.budget_per_day_nusd,
            budget_per_month_nusd=own.budget_month_nusd or defaults.budget_per_month_nusd,
        )

    async def admit(
        self, key: KeyInfo | None, prompt: int, most: int, pricing: Pricing
    ) -> Admission:
        """Reserve `prompt` + `most` completion tokens and their cost at `pricing`."""
        key_id = key.id if key is not None else "(no key)"
        try:
            decision = await self.limiter.admit(
                key_id, self.policy_for(key), prompt + most, pricing.cost_nusd(prompt, most)
            )
        except LimitsUnavailableError:
            raise GatewayError(503, "the limits store is unavailable; retry later",
                               "store_unavailable") from None  # fmt: skip
        if isinstance(decision, Rejection):
            raise refusal(decision)
        return decision

    async def finish(
        self, admission: Admission, tokens: tuple[int, int] | None, pricing: Pricing
    ) -> None:
        """Settle at the true usage, or release the reservation (tokens unknown: an error)."""
        try:
            if tokens is None:
                await self.limiter.release(admission)
            else:
                await self.limiter.settle(admission, sum(tokens), pricing.cost_nusd(*tokens))
        except LimitsUnavailableError:
            return  # the reservation expires by itself


@dataclass(frozen=True)
class Pricing:
    """The API price spend is counted at (None: budgets count nothing)."""

    price: ApiOption | None

    @property
    def name(self) -> str | None:
        return self.price.name if self.price is not None else None

    def cost_nusd(self, prompt: int, completion: int) -> int:
        if self.price is None:
            return 0
        return round(self.price.request_cost(prompt, completion) * NANO)


def usd(nusd: int) -> str:
    """Nano-dollars as dollars, to the cent, or to the nano-dollar below a cent."""
    amount = nusd / NANO
    if nusd == 0 or amount >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.9f}".rstrip("0")


def refusal(rejection: Rejection) -> GatewayError:
    retry = max(1, math.ceil(rejection.retry_after_s))
    budget = BUDGETS.get(rejection.kind)
    if rejection.never_fits:
        if budget is not None:
            message = (f"this request could cost up to {usd(rejection.requested)}, over the "
                       f"key's {budget} budget of {usd(rejection.limit)}; lower max_tokens, "
                       "max_completion_tokens or n")  # fmt: skip
        else:
            message = (f"this request needs {rejection.requested:,} of a {rejection.kind} "
                       f"limit of {rejection.limit:,}; lower max_tokens, max_completion_tokens "
                       "or n")  # fmt: skip
        return GatewayError(400, message, "request_over_limit", "max_tokens")
    if budget is not None:
        resets = datetime.now(UTC) + timedelta(seconds=rejection.retry_after_s)
        left = max(0, rejection.limit - rejection.used)
        message = (f"the key's {budget} budget of {usd(rejection.limit)} has {usd(left)} left, "
                   f"less than this request could cost ({usd(rejection.requested)}); "
                   f"it resets at {resets:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        error = GatewayError(402, message, f"{rejection.kind}_exceeded")
    else:
        message = (f"rate limit reached: {rejection.kind} {rejection.limit:,}; "
                   f"retry after {retry} s")  # fmt: skip
        error = GatewayError(429, message, "rate_limit_exceeded")
    error.headers = [(b"retry-after", str(retry).encode())]
    return error
