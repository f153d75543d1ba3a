"""What each key has left of its budgets and rate limits: the /metrics gauges and the console's
/ui/api/keys, against the limiter's own state (reservations of requests in flight included),
and the console's keys against `llmecon keys list --format json`."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from gateway_runner import MINI, run_gateway
from llmecon.cli.keys import keys as keys_command
from llmecon.gateway.admission import Door, Pricing
from llmecon.gateway.allowance import NO_KEY, Allowance
from llmecon.gateway.app import Gateway
from llmecon.gateway.metrics import allowance_lines
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger
from llmecon.ledger.keys import KeyInfo, KeyLimits
from llmecon.limits import (
    Admission,
    KeyPolicy,
    KeyUsage,
    Limiter,
    MemoryLimiter,
    open_limiter,
)
from llmecon.limits.redis_store import RedisLimiter
from llmecon.mock import MockSettings, running
from test_deploy import METRICS
from test_limits import REDIS_URL, _redis_client

USD = 10**9
ADMIN = "admin-secret-0123456789"
ALLOWANCE_METRICS = (
    "llmecon_budget_usd",
    "llmecon_budget_remaining_usd",
    "llmecon_rate_limit_remaining",
)


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running(MockSettings(ttft_ms=1, itl_ms=1, output_tokens=8)) as url:
        yield url


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    store = open_ledger(ledger_url, create=True)
    yield store
    store.close()


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi there"}], **extra}


def _gauges(text: str) -> dict[tuple[str, str, str, str], float]:
    """(metric, key name, key id, window or limit) -> value, for the allowance gauges."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if "key_id" in labels:
                last = labels.get("window") or labels["limit"]
                found[(sample.name, labels["key"], labels["key_id"], last)] = sample.value
    return found


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[Limiter]:
    """A fresh limiter: in process, or over the tests' Redis (a prefix of its own)."""
    if request.param == "memory":
        yield MemoryLimiter()
        return
    client = _redis_client()  # skips when no Redis answers (fails when one is required)
    prefix = f"test-allowance-{uuid.uuid4().hex[:12]}"
    try:
        yield RedisLimiter(REDIS_URL, prefix=prefix)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def test_metrics_show_what_each_key_has_left_with_reservations_in_flight(
    mock_url: str, ledger: Ledger, limiter: Limiter
) -> None:
    tight, tight_secret = ledger.create_key(
        "tight", KeyLimits(requests_per_minute=5, budget_day_nusd=USD // 100)
    )
    ledger.create_key("loose")  # the default limits: a monthly budget
    gone, _ = ledger.create_key("gone", KeyLimits(budget_day_nusd=USD))
    ledger.revoke_key(gone.id)
    door = Door(limiter, KeyPolicy(budget_per_month_nusd=2 * USD), MINI)
    router = Router([Upstream("u", mock_url, ("m",))])
    headers = {"authorization": f"Bearer {tight_secret}"}
    admin = {"authorization": "Bearer admin-secret-0123456789"}  # every key's series
    digest = hashlib.sha256(b"admin-secret-0123456789").hexdigest()

    async def body(client: httpx.AsyncClient, app: Gateway) -> tuple[str, str, KeyUsage]:
        reply = await client.post("/v1/chat/completions", json=_chat(), headers=headers)
        assert reply.status_code == 200
        # another replica's request in flight: $0.003 reserved, not settled
        policy = door.policy_for(tight)
        held = await door.limiter.admit(tight.id, policy, 100, 3 * USD // 1000)
        assert isinstance(held, Admission)
        during = (await client.get("/metrics", headers=admin)).text
        usage = await door.limiter.usage(tight.id)
        await door.limiter.release(held)
        after = (await client.get("/metrics", headers=admin)).text
        return during, after, usage

    during, after, usage = run_gateway(
        router, ledger, body, no_auth=False, door=door, admin_key_sha256=digest
    )
    [row] = ledger.rows()
    assert row.prompt_tokens is not None and row.completion_tokens is not None
    spent = Pricing(MINI).cost_nusd(row.prompt_tokens, row.completion_tokens)
    assert spent > 0
    assert (usage.day_spent_nusd, usage.day_held_nusd) == (spent, 3 * USD // 1000)
    left = _gauges(during)
    day = ("llmecon_budget_remaining_usd", "tight", tight.id, "day")
    assert round(left[day] * USD) == USD // 100 - spent - 3 * USD // 1000
    assert round(_gauges(after)[day] * USD) == USD // 100 - spent  # the reservation released
    assert left[("llmecon_budget_usd", "tight", tight.id, "day")] == 0.01
    assert left[("llmecon_rate_limit_remaining", "tight", tight.id, "requests_per_minute")] == 3
    for family in text_string_to_metric_families(during):  # as the dashboard's checker expects
        if family.name in ALLOWANCE_METRICS:
            assert METRICS[family.name][0] == family.type == "gauge"
            assert {frozenset(s.labels) for s in family.samples} == {METRICS[family.name][1]}
    month = [k for k in left if k[0] == "llmecon_budget_remaining_usd" and k[3] == "month"]
    assert {k[1] for k in month} == {"tight", "loose"}  # own limits over defaults; not revoked
    assert all(k[2] != gone.id for k in left)


def test_allowance_series_are_capped_and_the_rest_summed() -> None:
    def allowance(number: int, left: int) -> Allowance:
        key = KeyInfo(f"k{number}", f"team-{number}", "llmecon-abcd", datetime.now(UTC))
        usage = KeyUsage(1, 10, USD - left, 0, 0, 0, "2026-12-04", "2026-12")
        return Allowance(key, KeyPolicy(requests_per_minute=10, budget_per_day_nusd=USD), usage)

    lines = allowance_lines([allowance(n, n * USD // 10) for n in range(1, 5)], cap=2)
    gauges = _gauges("\n".join(lines) + "\n")
    keys = {(k[1], k[2]) for k in gauges}
    assert keys == {("team-1", "k1"), ("team-2", "k2"), ("(other)", "(other)")}
    other = ("llmecon_budget_remaining_usd", "(other)", "(other)", "day")
    assert gauges[other] == pytest.approx(0.7)  # $0.30 + $0.40 left
    assert gauges[("llmecon_budget_usd", "(other)", "(other)", "day")] == 2.0
    assert gauges[("llmecon_rate_limit_remaining", "(other)", "(other)", "requests_per_minute")]
    assert not any(k[3] == "month" for k in gauges)  # no monthly budget: no series


def test_without_auth_the_keyless_requests_have_the_default_allowance(
    mock_url: str, ledger: Ledger
) -> None:
    door = Door(MemoryLimiter(), KeyPolicy(tokens_per_minute=10_000), MINI)
    router = Router([Upstream("u", mock_url, ("m",))])

    async def body(client: httpx.AsyncClient, app: Gateway) -> str:
        await client.post("/v1/chat/completions", json=_chat(max_tokens=8))
        return (await client.get("/metrics")).text

    gauges = _gauges(run_gateway(router, ledger, body, door=door))
    [(name, value)] = [(k, v) for k, v in gauges.items() if k[1] == NO_KEY]
    assert name[3] == "tokens_per_minute"
    [row] = ledger.rows()
    assert row.prompt_tokens is not None and row.completion_tokens is not None
    assert value == 10_000 - row.prompt_tokens - row.completion_tokens  # settled, not reserved


def test_the_console_lists_keys_as_keys_list_does_with_what_is_left(
    mock_url: str, ledger: Ledger, ledger_url: str
) -> None:
    limited, secret = ledger.create_key("limited", KeyLimits(tokens_per_minute=5_000))
    plain, _ = ledger.create_key("plain")
    door = Door(open_limiter("memory://"), KeyPolicy(budget_per_day_nusd=USD), MINI)
    router = Router([Upstream("u", mock_url, ("m",))])
    admin = {"authorization": f"Bearer {ADMIN}"}

    async def body(client: httpx.AsyncClient, app: Gateway) -> list[httpx.Response]:
        headers = {"authorization": f"Bearer {secret}"}
        await client.post("/v1/chat/completions", json=_chat(), headers=headers)
        return [
            await client.get("/ui/api/keys"),
            await client.get("/ui/api/keys", headers={"authorization": f"Bearer {secret}"}),
            await client.get("/ui/api/keys", headers=admin),
        ]

    import hashlib

    digest = hashlib.sha256(ADMIN.encode()).hexdigest()
    keyless, client_key, reply = run_gateway(
        router, ledger, body, no_auth=False, door=door, admin_key_sha256=digest
    )
    assert (keyless.status_code, client_key.status_code) == (401, 401)
    data = reply.json()
    listed = CliRunner().invoke(keys_command, ["list", "--ledger", ledger_url, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    fields = ("id", "name", "prefix", "created_at", "revoked_at", "limits")
    assert [{f: k[f] for f in fields} for k in data["keys"]] == json.loads(listed.output)
    first, second = data["keys"]
    assert (first["id"], second["id"]) == (limited.id, plain.id)
    [row] = ledger.rows()
    assert row.prompt_tokens is not None and row.completion_tokens is not None
    tokens = row.prompt_tokens + row.completion_tokens
    spent = Pricing(MINI).cost_nusd(row.prompt_tokens, row.completion_tokens)
    assert first["in_force"] == {
        "requests_per_minute": None,
        "tokens_per_minute": 5_000,
        "budget_day_nusd": USD,  # the gateway's default
        "budget_month_nusd": None,
    }
    assert first["used"] == {
        "requests_per_minute": 1,
        "tokens_per_minute": tokens,
        "budget_day_nusd": spent,
        "budget_month_nusd": spent,
    }
    assert first["left"]["tokens_per_minute"] == 5_000 - tokens
    assert first["left"]["budget_day_nusd"] == USD - spent
    assert first["left"]["budget_month_nusd"] is None
    assert first["reserved"] == {"budget_day_nusd": 0, "budget_month_nusd": 0}
    assert second["used"]["requests_per_minute"] == 0
    assert second["left"]["budget_day_nusd"] == USD
