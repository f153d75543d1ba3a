"""Review of issue 18's revocation notices: a key lookup in flight when the notice arrives
must not put the revoked key back in the cache for its whole ttl."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from conftest import PG_URL
from llmecon.gateway.auth import KeyCheck
from llmecon.gateway.errors import GatewayError
from llmecon.ledger.keys import KeyInfo
from timing import until

INFO = KeyInfo("k1", "team", "sk-abc", datetime(2026, 1, 1, tzinfo=UTC))


class SlowStore:
    """A key store whose first look-up reads the key valid, then answers late (the notice of
    its revocation arrives meanwhile); later look-ups find it revoked."""

    def __init__(self) -> None:
        self.entered, self.proceed = threading.Event(), threading.Event()
        self.revoked = False

    def verify_key(self, secret: str) -> KeyInfo | None:
        if self.revoked:
            return None
        self.entered.set()
        self.proceed.wait(5)
        return INFO


def _scope(secret: str) -> dict[str, object]:
    return {"headers": [(b"authorization", f"Bearer {secret}".encode())]}


def test_a_lookup_that_began_before_a_revocation_is_not_cached() -> None:
    store = SlowStore()

    async def scenario() -> None:
        check = KeyCheck(store, ttl_s=60.0)  # type: ignore[arg-type]
        first = asyncio.create_task(check.check(_scope("sk-abc-secret")))
        assert await asyncio.to_thread(store.entered.wait, 5)
        store.revoked = True  # the revocation commits...
        check.forget(INFO.id)  # ...and its notice reaches the loop (call_soon_threadsafe)
        store.proceed.set()
        assert (await first).id == INFO.id  # this request was already under way
        with pytest.raises(GatewayError) as refused:  # the next one is looked up again
            await check.check(_scope("sk-abc-secret"))
        assert refused.value.status == 401

    asyncio.run(scenario())


def test_the_listener_reconnects_forgets_all_and_leaves_no_connection() -> None:
    """A dropped listener connection (server restart, failover) reconnects and reports None
    (notices sent meanwhile are lost); once stopped, its connection is closed."""
    import uuid

    psycopg = pytest.importorskip("psycopg")
    from llmecon.ledger import revocations

    url = PG_URL
    name = f"review-{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL")
    seen: list[str | None] = []
    stop = threading.Event()
    listener = threading.Thread(
        target=revocations.listen, args=(f"{url}?application_name={name}", seen.append, stop)
    )
    mine = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"

    monkey = pytest.MonkeyPatch()
    monkey.setattr(revocations, "RETRY_S", 0.1)
    try:
        listener.start()
        assert until(lambda: seen == [None])
        admin.execute("SELECT pg_notify('llmecon_key_revoked', 'k1')")
        assert until(lambda: seen == [None, "k1"])
        admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({mine}) AS s", (name,))
        assert until(lambda: seen == [None, "k1", None]), seen
        admin.execute("SELECT pg_notify('llmecon_key_revoked', 'k2')")
        assert until(lambda: seen[-1] == "k2")
    finally:
        stop.set()
        listener.join(5)
        monkey.undo()
    assert not listener.is_alive()
    assert until(lambda: admin.execute(mine, (name,)).fetchall() == [])
    admin.close()


def test_watching_twice_then_unwatching_stops_both_listeners() -> None:
    """A gateway started again (a second lifespan) must not leave its first listener (and its
    database connection) running for the life of the process."""
    running: list[threading.Event] = []

    class Store:
        def watch_revocations(self, on_revoked: object, stop: threading.Event) -> None:
            running.append(stop)
            stop.wait(10)

    async def scenario() -> None:
        check = KeyCheck(Store())  # type: ignore[arg-type]
        check.watch(asyncio.get_running_loop())
        check.watch(asyncio.get_running_loop())
        check.unwatch()

    asyncio.run(scenario())
    for _ in range(500):  # the listener threads start
        if len(running) == 2:
            break
        threading.Event().wait(0.01)
    assert len(running) == 2 and all(stop.is_set() for stop in running)
