"""Revoked keys announced across replicas: PostgreSQL's LISTEN/NOTIFY.

`llmecon keys revoke` on a PostgreSQL ledger sends `NOTIFY llmecon_key_revoked, '<key id>'`
in the transaction that revokes the key, so the notice leaves only if the revocation commits.
Every gateway replica listens on its own connection (`listen`, run in a thread) and drops the
key from its cache at once, instead of when its cache entry expires (2 s). The channel is the
database's, not the schema's: a revocation in another schema of the same database only makes a
replica look a key up again. After a lost connection the listener reconnects and reports `None`
("forget every key"), since notices sent meanwhile are lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

CHANNEL = "llmecon_key_revoked"
NOTIFY = "SELECT pg_notify('llmecon_key_revoked', %s)"
POLL_S = 0.5  # how often the listener looks at `stop` while no notice arrives
RETRY_S = 2.0  # after a failed connection

log = logging.getLogger("llmecon.gateway")


def listen(url: str, on_revoked: Callable[[str | None], None], stop: threading.Event) -> None:
    """Until `stop` is set: report each revoked key id to `on_revoked`, and None after every
    (re)connection."""
    while not stop.is_set():
        try:
            with psycopg.connect(
                url, autocommit=True, connect_timeout=5, keepalives=1, keepalives_idle=5,
                keepalives_interval=2, keepalives_count=3,
            ) as conn:  # fmt: skip
                conn.execute(f"LISTEN {CHANNEL}")
                on_revoked(None)
                while not stop.is_set():
                    for notice in conn.notifies(timeout=POLL_S):
                        on_revoked(notice.payload)
        except psycopg.Error as error:
            log.warning("listening for revoked keys failed (%s); retrying", str(error).strip())
            stop.wait(RETRY_S)
