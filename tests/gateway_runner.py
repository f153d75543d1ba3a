"""One in-process gateway runner for the gateway tests: the app started as uvicorn's lifespan
would, `body` run with an httpx client over ASGI, the app stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from llmecon.core.options import ApiOption
from llmecon.core.prices import Price
from llmecon.core.token_pricing import TokenPricing
from llmecon.gateway.app import Gateway, GatewayConfig, create_app
from llmecon.gateway.upstreams import Router
from llmecon.ledger import Ledger


def per_token_api(name: str, prompt_per_1m: float, completion_per_1m: float) -> ApiOption:
    """A paid API priced per 1M prompt and completion tokens, for the gateway's counterfactuals
    and budgets."""
    return ApiOption(
        name,
        TokenPricing(
            input=Price(prompt_per_1m, "tokens", "t", per=1e6),
            output=Price(completion_per_1m, "tokens", "t", per=1e6),
        ),
        name,
    )


MINI = per_token_api("mini", 0.15, 0.6)  # gpt-4o-mini's rates under a short name

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
