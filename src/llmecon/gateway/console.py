"""The gateway's web console: `/ui` (a page), `/ui/api/summary` and `/ui/api/keys` (its data).

The page is a shell with no data in it; the data comes from the JSON endpoint, which needs the
admin key (`serve --admin-key-env VAR`: a secret of its own, not a client key) whenever auth is
on, and is refused (404) when no admin key is configured. With `--no-auth` on loopback it is
open like the rest. The summary is the ledger's usage report (per model, key, upstream and day,
with the honest per-day figures and break-even position of docs/ledger.md), upstream health,
readiness and latency percentiles from the gateway's own histograms. The keys are each active
key's limits in force and what is left of them now (`llmecon.gateway.allowance`).
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from llmecon.errors import LlmeconError
from llmecon.gateway.allowance import allowance_record, gateway_allowances
from llmecon.gateway.auth import is_admin
from llmecon.gateway.errors import GatewayError
from llmecon.gateway.http import check_origin, respond
from llmecon.gateway.leg import Send
from llmecon.ledger.usage_report import usage_report
from llmecon.limits import utc_windows

if TYPE_CHECKING:
    from llmecon.gateway.app import Gateway
    from llmecon.gateway.metrics import Histogram

GROUPS = ("model", "key", "upstream", "day")
QUANTILES = (0.5, 0.95, 0.99)


async def page(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    if gateway.config.admin_key_sha256 is None and not gateway.config.no_auth:
        raise GatewayError(404, "the console is off: start serve with --admin-key-env VAR")
    html = files("llmecon.gateway").joinpath("console.html").read_bytes()
    headers = [(b"cache-control", b"no-store"), (b"x-frame-options", b"DENY")]
    await respond(send, 200, html, b"text/html; charset=utf-8", headers)


async def summary(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    _admit(gateway, scope)
    reports = await asyncio.to_thread(_reports, gateway)
    router = gateway.config.router
    body = {
        "reports": reports,
        "upstreams": {u.name: router.healthy.get(u.name, True) for u in router.upstreams},
        "latency_ms": _percentiles(gateway.metrics.latency),
        "ttft_ms": _percentiles(gateway.metrics.ttft),
        "ledger_queue": gateway.writer.pending if gateway.writer else 0,
    }
    await respond(send, 200, json.dumps(body).encode(), headers=[(b"cache-control", b"no-store")])


async def keys(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    _admit(gateway, scope)
    try:
        found = await gateway_allowances(gateway, only_limited=False)
    except LlmeconError as error:
        raise GatewayError(503, f"{error}; retry later", "store_unavailable") from None
    windows = utc_windows(time.time())
    body = {
        "limits_on": gateway.config.door is not None,
        "day": windows.day,
        "month": windows.month,
        "keys": [allowance_record(a) for a in found],
    }
    await respond(send, 200, json.dumps(body).encode(), headers=[(b"cache-control", b"no-store")])


def _admit(gateway: Gateway, scope: dict[str, Any]) -> None:
    expected = gateway.config.admin_key_sha256
    if gateway.config.no_auth:
        check_origin(scope.get("headers", []))
        return
    if expected is None:
        raise GatewayError(404, "the console is off: start serve with --admin-key-env VAR")
    if not is_admin(scope, expected):
        error = GatewayError(401, "the console needs the admin key", "invalid_admin_key")
        error.headers = [(b"www-authenticate", b'Bearer realm="llmecon console"')]
        raise error


def _reports(gateway: Gateway) -> dict[str, Any]:
    return {by: usage_report(gateway.ledger, by, None, None) for by in GROUPS}


def _percentiles(histogram: Histogram) -> dict[str, dict[str, float | None]]:
    """Per model, p50/p95/p99 in milliseconds, read off the histogram's buckets (the upper
    bound of the bucket the quantile falls in)."""
    with_bounds = (*histogram.bounds, float("inf"))
    found: dict[str, dict[str, float | None]] = {}
    for label, counts in histogram.counts.items():
        total, result = sum(counts), {}
        for q in QUANTILES:
            running, bound = 0, None
            for limit, count in zip(with_bounds, counts, strict=True):
                running += count
                if running >= q * total:
                    bound = limit
                    break
            result[f"p{round(q * 100)}"] = (
                None if bound is None or bound == float("inf") else bound * 1000
            )
        found[label] = result
    return found
