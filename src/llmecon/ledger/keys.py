"""API keys: what is stored (a SHA-256 hash, a display prefix), never the secret itself.

A secret is `llmecon-` followed by `secrets.token_urlsafe(32)`; it is returned once by
`create_key` and exists nowhere else. Both ledger backends implement `KeyStore`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

SECRET_PREFIX = "llmecon-"
PREFIX_CHARS = 12  # what `list_keys` shows: "llmecon-" and 4 random characters
ID_BYTES = 6  # 12 hex characters


@dataclass(frozen=True)
class KeyLimits:
    """A key's own limits; None falls back to the gateway's defaults."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    budget_day_nusd: int | None = None
    budget_month_nusd: int | None = None

    def values(self) -> tuple[int | None, int | None, int | None, int | None]:
        return (self.requests_per_minute, self.tokens_per_minute, self.budget_day_nusd,
                self.budget_month_nusd)  # fmt: skip


NO_LIMITS = KeyLimits()


@dataclass(frozen=True)
class KeyInfo:
    """What the ledger knows about a key; safe to log and display."""

    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    limits: KeyLimits = NO_LIMITS

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewKey:
    """A freshly minted key: the row to store and the secret to show once."""

    id: str
    prefix: str
    secret_sha256: str
    secret: str


def mint_key() -> NewKey:
    """A new random key id and secret, with the hash and prefix to store."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return NewKey(secrets.token_hex(ID_BYTES), secret[:PREFIX_CHARS], hash_secret(secret), secret)


def hash_secret(secret: str) -> str:
    """The stored form of a secret: its SHA-256 as 64 hex characters."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_hash(stored: str, presented: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode("ascii"), presented.encode("ascii"))


def check_key_name(name: str) -> str:
    """A key's name, stripped; an empty one is refused."""
    if not name.strip():
        raise ValueError("a key needs a name: e.g. create_key('team-search')")
    return name.strip()


class KeyStore(Protocol):
    """Create, list, revoke and verify gateway API keys."""

    def create_key(self, name: str, limits: KeyLimits = NO_LIMITS) -> tuple[KeyInfo, str]:
        """Store a new key named `name`; returns its info and the secret (shown once)."""
        ...

    def list_keys(self) -> list[KeyInfo]:
        """Every key, revoked ones included, oldest first."""
        ...

    def revoke_key(self, key_id: str) -> bool:
        """Revoke `key_id`; False when no such key exists or it was already revoked."""
        ...

    def verify_key(self, secret: str) -> KeyInfo | None:
        """The active key whose secret this is, or None (unknown or revoked)."""
        ...
