"""The gateway's GET routes: models, liveness, readiness, metrics and its OpenAPI document.

`/healthz` says the process answers (liveness: restart it if not). `/readyz` says whether it
should get traffic: the ledger writer is not stuck, the key and limits stores answer, and at
least one upstream is healthy; a JSON body names what is degraded (503 when anything is).
`/v1/models`, `/metrics` and `/openapi.json` need a key when auth is on; `/metrics` also
takes the admin key, and shows a client key only its own per-key gauges.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from llmecon.gateway import allowance, console
from llmecon.gateway.auth import is_admin
from llmecon.gateway.http import respond
from llmecon.gateway.leg import Send
from llmecon.gateway.openapi import openapi_document

if TYPE_CHECKING:
    from llmecon.gateway.app import Gateway


async def models(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    await gateway.authorize(scope)
    data = [
        {"id": m, "object": "model", "created": 0, "owned_by": "llmecon"}
        for m in gateway.config.router.models()
    ]
    await respond(send, 200, json.dumps({"object": "list", "data": data}).encode())


async def health(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    router = gateway.config.router
    body = {
        "status": "ok",
        "ledger_queue": gateway.writer.pending if gateway.writer else 0,
        "upstreams": {u.name: router.healthy.get(u.name, True) for u in router.upstreams},
    }
    await respond(send, 200, json.dumps(body).encode())


async def ready(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    router = gateway.config.router
    upstreams = {u.name: router.healthy.get(u.name, True) for u in router.upstreams}
    writer = gateway.writer
    door = gateway.config.door
    checks = {
        "ledger_writer": "ok" if writer is not None and not writer.stuck() else "stuck",
        "key_store": "ok" if gateway.keys.healthy() else "unavailable",
        "limits_store": "ok" if door is None or await door.limiter.ping() else "unavailable",
        "upstreams": "ok" if any(upstreams.values()) else "none healthy",
    }
    degraded = sorted(name for name, state in checks.items() if state != "ok")
    body = {
        "status": "degraded" if degraded else "ready",
        "degraded": degraded,
        "checks": checks,
        "upstreams": upstreams,
        "ledger_queue": writer.pending if writer else 0,
    }
    await respond(send, 503 if degraded else 200, json.dumps(body).encode())


async def metrics(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    """The admin key (or any request with auth off) sees every key's gauges; a client key
    only its own series."""
    admin = gateway.config.no_auth or is_admin(scope, gateway.config.admin_key_sha256)
    key = None if admin else await gateway.authorize(scope)
    writer = gateway.writer
    router = gateway.config.router
    found, available = await allowance.for_metrics(gateway, None if admin else key)
    body = gateway.metrics.render(
        writer.pending if writer else 0,
        writer.failures if writer else 0,
        {u.name: router.healthy.get(u.name, True) for u in router.upstreams},
        found,
        key_gauges=available,
    )
    await respond(send, 200, body, b"text/plain; version=0.0.4")


async def openapi(gateway: Gateway, scope: dict[str, Any], send: Send) -> None:
    await gateway.authorize(scope)
    document = openapi_document(gateway.config.version, gateway.config.router.models())
    await respond(send, 200, json.dumps(document).encode())


ROUTES = {
    "/v1/models": models,
    "/healthz": health,
    "/readyz": ready,
    "/metrics": metrics,
    "/openapi.json": openapi,
    "/ui": console.page,
    "/ui/api/summary": console.summary,
    "/ui/api/keys": console.keys,
}
