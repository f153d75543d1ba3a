"""Who is asking: the bearer key, checked against the key store with a short cache and a
deadline.

A key found valid is remembered for `ttl_s` seconds (keyed by its SHA-256, never the secret),
so most requests cost no database round trip; a revoked key stops working within that time, at
once where the store announces revocations (PostgreSQL: `watch`, ledger.revocations).
A key store that does not answer within `timeout_s` gives 503, never a hang; unknown keys are
never cached (a new key works at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.gateway.errors import GatewayError
from llmecon.gateway.http import CLOSE, bearer
from llmecon.ledger.keys import KeyInfo, KeyStore

log = logging.getLogger("llmecon.gateway")
MAX_CACHED = 10_000
UNKNOWN = (
    "invalid or revoked API key; keys live in the ledger this gateway was started with "
    "(`serve --ledger`): create one with `llmecon keys create NAME --ledger <the same URL>`"
)


@dataclass
class KeyCheck:
    store: KeyStore
    ttl_s: float = 2.0
    timeout_s: float = 3.0
    cache: dict[str, tuple[float, KeyInfo]] = field(default_factory=dict)
    last_failure: float = 0.0  # monotonic time the store last failed to answer
    watching: threading.Event | None = None  # set to stop the revocation listener
    forgotten: int = 0  # how many times `forget` ran: a look-up begun before is not cached

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Drop revoked keys from the cache as the store announces them (a thread), if it
        can; the cache is the event loop's, so the thread hands each notice to the loop."""
        feed = getattr(self.store, "watch_revocations", None)
        if feed is None:
            return
        self.unwatch()  # started again: one listener, not two
        self.watching = threading.Event()

        def on_revoked(key_id: str | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing left to forget
                loop.call_soon_threadsafe(self.forget, key_id)

        thread = threading.Thread(
            target=feed, args=(on_revoked, self.watching), name="llmecon-revocations", daemon=True
        )
        thread.start()

    def unwatch(self) -> None:
        if self.watching is not None:
            self.watching.set()

    def forget(self, key_id: str | None) -> None:
        """Drop `key_id` from the cache (None: every key)."""
        self.forgotten += 1
        if key_id is None:
            self.cache.clear()
            return
        for digest in [d for d, (_, key) in self.cache.items() if key.id == key_id]:
            del self.cache[digest]

    async def check(self, scope: dict[str, Any]) -> KeyInfo:
        """The valid key of the request; 401 without one, 503 if the store does not answer."""
        secret = bearer(scope.get("headers", []))
        if secret is None:
            message = "missing API key: send Authorization: Bearer <key>"
            raise _unauthorized(message, "missing_api_key")
        digest = hashlib.sha256(secret.encode()).hexdigest()
        now, forgotten = time.monotonic(), self.forgotten
        cached = self.cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            key = await asyncio.wait_for(
                asyncio.to_thread(self.store.verify_key, secret), self.timeout_s
            )
        except (LlmeconError, TimeoutError):
            self.last_failure = time.monotonic()
            log.warning("key store unavailable")
            raise GatewayError(
                503, "the key store is unavailable; retry later", "store_unavailable"
            ) from None
        if key is None:
            raise _unauthorized(UNKNOWN, "invalid_api_key")
        if self.forgotten != forgotten:  # a revocation arrived while the store answered:
            return key  # that answer may predate it, so it is not remembered
        if len(self.cache) >= MAX_CACHED:
            self.cache.clear()
        self.cache[digest] = (now + self.ttl_s, key)
        return key

    def healthy(self, within_s: float = 10.0) -> bool:
        return time.monotonic() - self.last_failure > within_s


def is_admin(scope: dict[str, Any], expected_sha256: str | None) -> bool:
    """Whether the request bears the admin key (`serve --admin-key-env`; False when none is
    configured), compared in constant time by its SHA-256."""
    secret = bearer(scope.get("headers", []))
    if expected_sha256 is None or secret is None:
        return False
    presented = hashlib.sha256(secret.encode()).hexdigest()
    return hmac.compare_digest(presented, expected_sha256)


def _unauthorized(message: str, code: str) -> GatewayError:
    error = GatewayError(401, message, code)
    error.headers = [(b"www-authenticate", b'Bearer realm="llmecon"'), CLOSE]
    return error
