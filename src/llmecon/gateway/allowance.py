"""What each key has left of its rate limits and budgets, now: for `/metrics` and the console.

A key's limits are its own, each falling back to the gateway's default (`Door.policy_for`).
What it has taken comes from the limiter (`Limiter.usage`), the one every admission asks, so
a budget's used amount counts the reservations of requests in flight until they settle at
their true cost: what is left is what the next request may reserve. Keys without any limit,
and revoked keys, have nothing to show. Money is in nano-dollars (1 USD = 10**9), as in
`llmecon keys list --format json`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from llmecon.errors import LlmeconError
from llmecon.gateway.admission import Door
from llmecon.ledger.keys import KeyInfo
from llmecon.limits import KeyPolicy, KeyUsage

if TYPE_CHECKING:
    from llmecon.gateway.app import Gateway

log = logging.getLogger("llmecon.gateway")
NO_KEY = "(no key)"  # every request's key when auth is off (`serve --no-auth`)
LIMITS = ("requests_per_minute", "tokens_per_minute", "budget_day_nusd", "budget_month_nusd")
TIMEOUT_S = 3.0  # for the key store's list


@dataclass(frozen=True)
class Allowance:
    """One key's limits in force, what it has taken, and what is left."""

    key: KeyInfo | None  # None: the requests of a gateway without auth
    policy: KeyPolicy
    usage: KeyUsage

    @property
    def key_id(self) -> str:
        return self.key.id if self.key is not None else NO_KEY

    @property
    def name(self) -> str:
        return self.key.name if self.key is not None else NO_KEY

    def limits(self) -> dict[str, int | None]:
        """The limits in force (own or default); None: unlimited."""
        p = self.policy
        values = (p.requests_per_minute, p.tokens_per_minute, p.budget_per_day_nusd,
                  p.budget_per_month_nusd)  # fmt: skip
        return dict(zip(LIMITS, values, strict=True))

    def used(self) -> dict[str, int]:
        """Taken now: requests and tokens in the rate window, the budgets' spend with what
        requests in flight reserve."""
        u = self.usage
        return dict(zip(LIMITS, (u.requests, u.tokens, u.day_nusd, u.month_nusd), strict=True))

    def reserved(self) -> dict[str, int]:
        """The part of the budgets' `used` held by requests not settled yet."""
        return {"budget_day_nusd": self.usage.day_held_nusd,
                "budget_month_nusd": self.usage.month_held_nusd}  # fmt: skip

    def left(self) -> dict[str, int | None]:
        """What is left of each limit (never below 0); None: unlimited."""
        used = self.used()
        return {
            name: None if limit is None else max(0, limit - used[name])
            for name, limit in self.limits().items()
        }


def limited(policy: KeyPolicy) -> bool:
    """Whether any limit applies."""
    p = policy
    limits = (p.requests_per_minute, p.tokens_per_minute, p.budget_per_day_nusd,
              p.budget_per_month_nusd)  # fmt: skip
    return any(value is not None for value in limits)


async def allowances(
    door: Door, keys: Sequence[KeyInfo | None], *, only_limited: bool = True
) -> list[Allowance]:
    """The allowance of each active key (that has a limit, unless `only_limited` is False), in
    the order given: one limiter read per key, concurrently. `LimitsUnavailableError` when the
    limiter does not answer."""
    policies = [(key, door.policy_for(key)) for key in keys if key is None or key.active]
    wanted = [(key, p) for key, p in policies if limited(p) or not only_limited]
    usages = await asyncio.gather(
        *(door.limiter.usage(key.id if key is not None else NO_KEY) for key, _ in wanted)
    )
    return [Allowance(key, p, u) for (key, p), u in zip(wanted, usages, strict=True)]


async def gateway_allowances(gateway: Gateway, *, only_limited: bool = True) -> list[Allowance]:
    """The allowances on this gateway (keys from its key store, oldest first; the keyless
    requests with auth off). LlmeconError when a store does not answer."""
    door = gateway.config.door
    if door is None:
        return []
    keys: list[KeyInfo | None] = [None]
    if not gateway.config.no_auth:
        try:
            found = await asyncio.wait_for(
                asyncio.to_thread(gateway.keys.store.list_keys), TIMEOUT_S
            )
        except TimeoutError:
            raise LlmeconError("the key store did not answer in time") from None
        keys = list(found)
    return await allowances(door, keys, only_limited=only_limited)


async def for_metrics(gateway: Gateway, key: KeyInfo | None = None) -> tuple[list[Allowance], bool]:
    """Every key's allowance (`gateway_allowances`), or only `key`'s when given (a client key
    scraping sees its own series only), and whether they could be read: none and False when a
    store is down (the other metrics still render)."""
    door = gateway.config.door
    if door is None:
        return [], True
    try:
        if key is not None:
            return await allowances(door, [key]), True
        return await gateway_allowances(gateway), True
    except LlmeconError as error:
        log.warning("/metrics without key allowances: %s", error)
        return [], False


def key_record(info: KeyInfo) -> dict[str, Any]:
    """A key as `llmecon keys list --format json` shows it (never its secret)."""
    return {
        "id": info.id,
        "name": info.name,
        "prefix": info.prefix,
        "created_at": info.created_at.isoformat(),
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "limits": asdict(info.limits),
    }


def allowance_record(allowance: Allowance) -> dict[str, Any]:
    """An allowance as the console's JSON API shows it."""
    key = allowance.key
    record: dict[str, Any] = (
        key_record(key) if key is not None else {"id": NO_KEY, "name": NO_KEY, "limits": None}
    )
    return {
        **record,
        "in_force": allowance.limits(),
        "used": allowance.used(),
        "reserved": allowance.reserved(),
        "left": allowance.left(),
    }
