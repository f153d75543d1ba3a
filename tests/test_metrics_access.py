"""Who sees what on /metrics (review): the admin key may scrape and sees every key's gauges; a
client key sees only its own series; `llmecon_key_gauges_available` says whether the per-key
figures could be read (0 when a store is down)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway_runner import run_gateway
from llmecon.gateway.admission import Door
from llmecon.gateway.app import Gateway
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger
from llmecon.ledger.keys import KeyLimits
from llmecon.limits import KeyPolicy, KeyUsage, LimitsUnavailableError, MemoryLimiter

ADMIN = "admin-secret-0123456789"
PER_KEY = ("llmecon_budget_remaining_usd", "llmecon_budget_usd", "llmecon_rate_limit_remaining")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as store:
        yield store


def _scrape(ledger: Ledger, secret: str, limiter: Any = None) -> tuple[int, dict[str, Any]]:
    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        return await client.get("/metrics", headers={"authorization": f"Bearer {secret}"})

    router = Router([Upstream("u", "http://127.0.0.1:9/v1", ("m",))])
    door = Door(limiter or MemoryLimiter(), KeyPolicy())
    reply: httpx.Response = run_gateway(
        router, ledger, body, no_auth=False, door=door,
        admin_key_sha256=hashlib.sha256(ADMIN.encode()).hexdigest(),
    )  # fmt: skip
    if reply.status_code != 200:
        return reply.status_code, {}
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    return 200, families


def _keys_seen(families: dict[str, Any]) -> set[str]:
    return {s.labels["key_id"] for name in PER_KEY if name in families
            for s in families[name].samples}  # fmt: skip


def test_the_admin_key_scrapes_every_keys_gauges(ledger: Ledger) -> None:
    one, _ = ledger.create_key("alice", KeyLimits(budget_day_nusd=10**9))
    two, _ = ledger.create_key("bob", KeyLimits(requests_per_minute=5))
    status, families = _scrape(ledger, ADMIN)
    assert status == 200
    assert _keys_seen(families) == {one.id, two.id}
    assert families["llmecon_key_gauges_available"].samples[0].value == 1


def test_a_client_key_sees_only_its_own_series(ledger: Ledger) -> None:
    one, secret = ledger.create_key("alice", KeyLimits(budget_day_nusd=10**9))
    ledger.create_key("bob", KeyLimits(requests_per_minute=5, budget_day_nusd=10**9))
    status, families = _scrape(ledger, secret)
    assert status == 200
    assert _keys_seen(families) == {one.id}
    text_names = {s.labels["key"] for n in PER_KEY if n in families for s in families[n].samples}
    assert "bob" not in text_names
    _, unlimited = ledger.create_key("carol")
    status, families = _scrape(ledger, unlimited)
    assert status == 200 and _keys_seen(families) == set()


def test_a_wrong_key_is_still_refused(ledger: Ledger) -> None:
    assert _scrape(ledger, "not-a-key")[0] == 401


class _DownLimiter(MemoryLimiter):
    async def usage(self, key_id: str) -> KeyUsage:
        raise LimitsUnavailableError("the limits store does not answer")


def test_the_gauges_say_when_per_key_figures_could_not_be_read(ledger: Ledger) -> None:
    ledger.create_key("alice", KeyLimits(budget_day_nusd=10**9))
    status, families = _scrape(ledger, ADMIN, _DownLimiter())
    assert status == 200
    assert _keys_seen(families) == set()
    assert families["llmecon_key_gauges_available"].samples[0].value == 0
