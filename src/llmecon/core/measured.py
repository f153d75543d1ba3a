"""Where measured traffic sits against the break-even with a paid API.

A self-hosted fleet costs about the same per day whatever it serves; an API costs per request.
With the ledger's daily self-hosted cost C (shares + idle) and an API's cost per request a, the
break-even is C / a requests/day.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiPosition:
    api: str
    cost_usd: float  # what the same traffic would have cost on the API
    per_request_usd: float | None
    breakeven_requests_per_day: float | None
    self_hosting_cheaper: bool | None


def api_position(
    api: str, cost_usd: float, priced_requests: int, self_hosted_per_day_usd: float,
    requests_per_day: float,
) -> ApiPosition:  # fmt: skip
    """The API's cost per request and the volume where the fleet starts paying off."""
    if priced_requests <= 0 or cost_usd <= 0:
        return ApiPosition(api, cost_usd, None, None, None)
    per_request = cost_usd / priced_requests
    if self_hosted_per_day_usd <= 0:  # nothing metered yet: no fleet cost to break even with
        return ApiPosition(api, cost_usd, per_request, None, None)
    breakeven = self_hosted_per_day_usd / per_request
    return ApiPosition(api, cost_usd, per_request, breakeven, requests_per_day >= breakeven)
