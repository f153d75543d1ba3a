"""Rate limits and budgets at the gateway's door: reserve before forwarding, settle after.

A request reserves its most tokens (prompt + max_tokens) and its most cost (priced with the
budget price: the key's compared API) atomically before it is forwarded; its true usage is
settled afterwards, and the reservation is released on any other ending. Over a rate limit:
429 with Retry-After; over a budget: 402 saying which budget and when it resets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from llmecon.core.allocation import NANO
from llmecon.core.options import ApiOption
from llmecon.core.workload import Tokens
from llmecon.gateway.errors import GatewayError
from llmecon.ledger.keys import KeyInfo
from llmecon.limits import Admission, KeyPolicy, Limiter, LimitsUnavailableError, Rejection

BUDGETS = {"budget_day": "daily", "budget_month": "monthly"}


@dataclass(frozen=True)
class Door:
    """The limiter, the policy every key gets, and the price that turns tokens into spend."""

    limiter: Limiter
    policy: KeyPolicy
    price: ApiOption | None = None
    default_max_tokens: int = 1024

    def cost_nusd(self, prompt: int, completion: int) -> int:
        if self.price is None:
            return 0
        return round(self.price.bill(1, Tokens.of_split(prompt, completion)).daily_cost * NANO)

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

    async def admit(self, key: KeyInfo | None, prompt: int, max_tokens: int | None) -> Admission:
        most = max_tokens or self.default_max_tokens
        key_id = key.id if key is not None else "(no key)"
        try:
            decision = await self.limiter.admit(
                key_id, self.policy_for(key), prompt + most, self.cost_nusd(prompt, most)
            )
        except LimitsUnavailableError:
            raise GatewayError(503, "the limits store is unavailable; retry later",
                               "store_unavailable") from None  # fmt: skip
        if isinstance(decision, Rejection):
            raise refusal(decision)
        return decision

    async def finish(self, admission: Admission, tokens: tuple[int, int] | None) -> None:
        """Settle at the true usage, or release the reservation (tokens unknown: an error)."""
        try:
            if tokens is None:
                await self.limiter.release(admission)
            else:
                await self.limiter.settle(admission, sum(tokens), self.cost_nusd(*tokens))
        except LimitsUnavailableError:
            return  # the reservation expires by itself


def refusal(rejection: Rejection) -> GatewayError:
    retry = max(1, math.ceil(rejection.retry_after_s))
    if rejection.kind in BUDGETS:
        resets = datetime.now(UTC) + timedelta(seconds=rejection.retry_after_s)
        usd = rejection.limit / NANO
        message = (f"the key's {BUDGETS[rejection.kind]} budget of ${usd:,.2f} is spent; "
                   f"it resets at {resets:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        error = GatewayError(402, message, f"{rejection.kind}_exceeded")
    elif rejection.never_fits:
        message = (f"this request needs {rejection.requested:,} of a {rejection.kind} limit of "
                   f"{rejection.limit:,}; lower max_tokens")  # fmt: skip
        return GatewayError(400, message, "request_over_limit", "max_tokens")
    else:
        message = (f"rate limit reached: {rejection.kind} {rejection.limit:,}; "
                   f"retry after {retry} s")  # fmt: skip
        error = GatewayError(429, message, "rate_limit_exceeded")
    error.headers = [(b"retry-after", str(retry).encode())]
    return error
