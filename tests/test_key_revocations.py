"""Revoked keys leave the gateway's key cache when PostgreSQL announces them (issue 18)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest

from conftest import PG_URL, postgres_schema
from llmecon.gateway.auth import KeyCheck
from llmecon.gateway.errors import GatewayError
from llmecon.ledger import open_ledger


@pytest.fixture
def ledger_url() -> Iterator[str]:
    for backend in postgres_schema():
        yield backend.url


def _scope(secret: str) -> dict[str, object]:
    return {"headers": [(b"authorization", f"Bearer {secret}".encode())]}


def test_a_revocation_empties_the_cache_long_before_its_ttl(ledger_url: str) -> None:
    store, admin = open_ledger(ledger_url), open_ledger(ledger_url)
    keep, _ = store.create_key("keep")
    info, secret = store.create_key("team")
    kept_secret = admin.create_key("other")[1]

    async def scenario() -> float:
        check = KeyCheck(store, ttl_s=60.0)  # only the notice can end the cache entry
        check.watch(asyncio.get_running_loop())
        try:
            await asyncio.sleep(0.5)  # the listener connects (and forgets all, once)
            assert (await check.check(_scope(secret))).id == info.id
            await check.check(_scope(kept_secret))
            assert len(check.cache) == 2
            began = asyncio.get_running_loop().time()
            assert await asyncio.to_thread(admin.revoke_key, info.id)
            while len(check.cache) == 2:
                assert asyncio.get_running_loop().time() - began < 5, "no notice arrived"
                await asyncio.sleep(0.005)
            took = asyncio.get_running_loop().time() - began
            with pytest.raises(GatewayError) as refused:
                await check.check(_scope(secret))
            assert refused.value.status == 401
            await check.check(_scope(kept_secret))  # another key stays cached
            return took
        finally:
            check.unwatch()

    try:
        took = asyncio.run(scenario())
    finally:
        store.close()
        admin.close()
    assert took < 1.0 and keep.id != info.id


def test_a_failed_revocation_announces_nothing(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger, psycopg.connect(PG_URL, autocommit=True) as listener:
        listener.execute("LISTEN llmecon_key_revoked")
        assert not ledger.revoke_key("no-such-key")
        assert list(listener.notifies(timeout=0.3)) == []
        info, _ = ledger.create_key("team")
        assert ledger.revoke_key(info.id)
        assert [n.payload for n in listener.notifies(timeout=2.0, stop_after=1)] == [info.id]
        assert not ledger.revoke_key(info.id)  # already revoked: no second notice
        assert list(listener.notifies(timeout=0.3)) == []
