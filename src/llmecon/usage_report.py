"""The usage report: ledger totals in USD, and where the volume sits against break-evens.

JSON contract: {"by", "since", "until", "days", "rows": [...], "totals": {...}}; every row and
the totals carry requests, prompt_tokens, completion_tokens, self_hosted_cost, idle_cost,
counterfactual_cost (an object keyed by API name), in USD. `totals.breakeven` has, per API,
the cost per request and the requests/day where self-hosting pays off.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from llmecon.core.measured import api_position
from llmecon.ledger.model import IDLE_GROUP, UsageTotals, to_usd
from llmecon.ledger.protocol import Ledger

MIN_SPAN = timedelta(seconds=1)  # the period the rows cover, at least a second


def _row(totals: UsageTotals) -> dict[str, Any]:
    return {
        "group": totals.group,
        "requests": totals.requests,
        "prompt_tokens": totals.prompt_tokens,
        "completion_tokens": totals.completion_tokens,
        "self_hosted_cost": to_usd(totals.self_hosted_nusd),
        "idle_cost": to_usd(totals.idle_nusd),
        "counterfactual_cost": {
            api: to_usd(n) for api, n in sorted(totals.counterfactual_nusd.items())
        },
        "unallocated_requests": totals.unallocated_requests,
    }


def usage_report(
    ledger: Ledger, by: str, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Rows per group and totals (summed in integer nano-dollars, shown in USD)."""
    groups = ledger.usage(by, since, until)  # type: ignore[arg-type]
    total = _sum(groups)
    days = _span(ledger, since, until).total_seconds() / 86_400
    fleet_per_day = to_usd(total.self_hosted_nusd + total.idle_nusd) / days
    requests_per_day = total.requests / days
    priced = sum(g.requests for g in groups if g.group != IDLE_GROUP)
    totals = _row(total)
    totals.pop("group")
    totals["requests_per_day"] = requests_per_day
    totals["self_hosted_cost_per_day"] = fleet_per_day
    totals["breakeven"] = [
        asdict(api_position(api, to_usd(n), priced, fleet_per_day, requests_per_day))
        for api, n in sorted(total.counterfactual_nusd.items())
    ]
    return {
        "by": by,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "days": days,
        "rows": [_row(g) for g in groups],
        "totals": totals,
    }


def _sum(groups: list[UsageTotals]) -> UsageTotals:
    apis: dict[str, int] = {}
    for group in groups:
        for api, nusd in group.counterfactual_nusd.items():
            apis[api] = apis.get(api, 0) + nusd
    return UsageTotals(
        group="(total)",
        requests=sum(g.requests for g in groups),
        prompt_tokens=sum(g.prompt_tokens for g in groups),
        completion_tokens=sum(g.completion_tokens for g in groups),
        self_hosted_nusd=sum(g.self_hosted_nusd for g in groups),
        idle_nusd=sum(g.idle_nusd for g in groups),
        counterfactual_nusd=apis,
        unallocated_requests=sum(g.unallocated_requests for g in groups),
    )


def _span(ledger: Ledger, since: datetime | None, until: datetime | None) -> timedelta:
    rows = ledger.rows(since, until)
    if not rows:
        return MIN_SPAN
    start = since or min(r.started_at for r in rows)
    end = until or max(r.finished_at for r in rows)
    return max(end - start, MIN_SPAN)
