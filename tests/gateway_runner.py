"""One in-process gateway runner for the gateway tests: the app started as uvicorn's lifespan
would, `body` run with an httpx client over ASGI, the app stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from llmecon.gateway.app import Gateway, GatewayConfig, create_app
from llmecon.gateway.upstreams import Router
from llmecon.ledger import Ledger

Body = Callable[[httpx.AsyncClient, Gateway], Coroutine[Any, Any, Any]]


def run_gateway(router: Router, ledger: Ledger, body: Body, **config: Any) -> Any:
    """Run `body` against a gateway on `router` (auth off unless `no_auth=False`); prompts are
    counted as words."""

    async def main() -> Any:
        settings = {"no_auth": True, **config}
        app = create_app(GatewayConfig(router=router, **settings), ledger, lambda t: len(t.split()))
        app.start()
        try:
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                return await body(client, app)
        finally:
            await app.stop()

    return asyncio.run(main())
