"""The usage report: ledger totals in USD, and where the volume sits against break-evens.

JSON contract: {"by", "since", "until", "days", "metered_seconds", "metered", "basis", "notes",
"rows", "totals"}; `metered_seconds` is the window the per-day figures use (the longest-metered
upstream, so `days` = metered_seconds / 86,400) and `metered` lists each priced upstream's
seconds and cost (USD, idle included). Every row and the totals carry requests,
prompt_tokens, completion_tokens, self_hosted_cost, idle_cost, counterfactual_cost (an object
keyed by API name), in USD (rows grouped by key also carry the key's `name`).
`totals.breakeven` has, per API, the cost per
request and the requests/day where self-hosting pays off.

Per-day figures are taken over the metered time (the closed slots of each priced upstream, idle
included, summed in SQL), not over the span of the rows: one always-on machine costs its hourly
price x 24 a day whatever the traffic. Without a priced upstream, over the traffic's span.
Under a day of metered time they are projections (`basis: "projection"`); under an hour, or
under 100 requests, the report gives the figures but no verdict (`self_hosting_cheaper: null`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from llmecon.core.measured import api_position
from llmecon.ledger.model import IDLE_GROUP, UsageTotals, to_usd
from llmecon.ledger.protocol import Ledger

DAY_S = 86_400.0
PROJECTION_BELOW_S = DAY_S  # per-day figures from less metered time are projections
VERDICT_MIN_S = 3_600.0  # no break-even verdict from less metered time than this
VERDICT_MIN_REQUESTS = 100  # nor from fewer requests


def _row(totals: UsageTotals, names: Mapping[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {"group": totals.group}
    if totals.group in names:
        row["name"] = names[totals.group]
    return row | {
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
    names = {key.id: key.name for key in ledger.list_keys()} if by == "key" else {}
    total = _sum(groups)
    metered = ledger.metered(since, until)
    if metered:
        window_s = max(m.seconds for m in metered)
        fleet_per_day = sum(to_usd(m.total_nusd) * DAY_S / m.seconds for m in metered if m.seconds)
    else:
        span = ledger.traffic_span(since, until)
        window_s = (span[1] - span[0]).total_seconds() if span else 0.0
        fleet_per_day = 0.0
    requests_per_day = total.requests * DAY_S / window_s if window_s > 0 else None
    verdict = window_s >= VERDICT_MIN_S and total.requests >= VERDICT_MIN_REQUESTS
    priced = _priced_per_api(groups if by == "model" else ledger.usage("model", since, until))
    totals = _row(total, {})
    totals.pop("group")
    totals["requests_per_day"] = requests_per_day
    totals["self_hosted_cost_per_day"] = fleet_per_day if window_s > 0 else None
    totals["breakeven"] = [
        _position(
            api,
            to_usd(n),
            priced.get(api, 0),
            fleet_per_day,
            priced.get(api, 0) * DAY_S / window_s if window_s > 0 else None,
            verdict=verdict,
        )
        for api, n in sorted(total.counterfactual_nusd.items())
    ]
    return {
        "by": by,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "days": window_s / DAY_S,
        "metered_seconds": window_s if metered else 0.0,
        "metered": [
            {"upstream": m.upstream, "seconds": m.seconds, "cost": to_usd(m.total_nusd)}
            for m in sorted(metered, key=lambda m: m.upstream)
        ],
        "basis": _basis(window_s),
        "notes": _notes(window_s, total.requests, metered=bool(metered))
        + _mix_note(
            priced, total.requests - sum(g.requests for g in groups if g.group == IDLE_GROUP)
        ),
        "rows": [_row(g, names) for g in groups],
        "totals": totals,
    }


def _position(
    api: str,
    cost_usd: float,
    priced: int,
    fleet_per_day: float,
    requests_per_day: float | None,
    *,
    verdict: bool,
) -> dict[str, Any]:
    position = asdict(api_position(api, cost_usd, priced, fleet_per_day, requests_per_day or 0.0))
    if not verdict or not fleet_per_day:
        position["self_hosting_cheaper"] = None
    return position


def _basis(window_s: float) -> str:
    if window_s <= 0:
        return "none"
    return "projection" if window_s < PROJECTION_BELOW_S else "measured"


def _notes(window_s: float, requests: int, *, metered: bool) -> list[str]:
    notes = []
    what = "metered time" if metered else "traffic"
    if window_s <= 0:
        notes.append("no metered time and no traffic in this window: no per-day figures")
    elif window_s < PROJECTION_BELOW_S:
        notes.append(
            f"per-day figures are projections from {_span(window_s)} of {what}, not a measured day"
        )
    if window_s < VERDICT_MIN_S or requests < VERDICT_MIN_REQUESTS:
        notes.append(
            f"no break-even verdict under {VERDICT_MIN_S / 3600:g} h of {what} or "
            f"{VERDICT_MIN_REQUESTS} requests (here {_span(window_s)}, {requests:,})"
        )
    return notes


def _priced_per_api(by_model: list[UsageTotals]) -> dict[str, int]:
    """Per API, the requests it prices: those of the models it was compared with (a chat API
    prices chat and completions requests, an embedding API embedding requests), so a fleet
    serving both is not shown a chat API's cost spread over its embedding requests."""
    counts: dict[str, int] = {}
    for group in by_model:
        if group.group == IDLE_GROUP:
            continue
        for api in group.counterfactual_nusd:
            counts[api] = counts.get(api, 0) + group.requests
    return counts


def _mix_note(priced: dict[str, int], requests: int) -> list[str]:
    """Said when an API prices only part of the traffic (chat and embeddings on one fleet)."""
    partial = sorted(api for api, n in priced.items() if 0 < n < requests)
    if not partial:
        return []
    return [
        f"{', '.join(partial)} price(s) only part of the traffic: each break-even is per request "
        "of its own kind and weighs the whole fleet's cost against that kind alone"
    ]


def _span(seconds: float) -> str:
    return f"{seconds / 3600:,.2f} h" if seconds >= 360 else f"{seconds:,.1f} s"


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
