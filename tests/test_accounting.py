"""The ledger tells the truth (issue 9): each case seen in review, reproduced against the
in-process gateway, mock upstreams and real SQLite and PostgreSQL ledgers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Backend, Run
from gateway_runner import MINI, per_token_api
from llmecon.core.prices import Price
from llmecon.gateway.admission import Door
from llmecon.gateway.app import Gateway, GatewayConfig, create_app
from llmecon.gateway.upstreams import Router, Upstream
from llmecon.ledger import Ledger, open_ledger
from llmecon.ledger.usage_report import usage_report
from llmecon.limits import KeyPolicy, open_limiter
from llmecon.mock import MockSettings, running

NANO = 1_000_000_000


BIG = per_token_api("big", 2.5, 10.0)


@pytest.fixture
def ledger(backend: Backend) -> Iterator[Ledger]:
    with open_ledger(backend.url) as opened:
        yield opened


def _app(router: Router, ledger: Ledger, **config: Any) -> Gateway:
    settings = {"no_auth": True, "compare_with": (MINI,), "interval_s": 1.0, **config}
    return create_app(GatewayConfig(router=router, **settings), ledger, lambda t: len(t.split()))


Body = Callable[[httpx.AsyncClient, Gateway], Coroutine[Any, Any, Any]]


def _serve(apps: list[Gateway], body: Body) -> Any:
    """Start the apps (as uvicorn's lifespan would), run `body` against the first, stop all."""

    async def main() -> Any:
        for app in apps:
            app.start()
        try:
            transport = httpx.ASGITransport(app=apps[0])  # type: ignore[arg-type]
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gw", timeout=60
            ) as client:
                return await body(client, apps[0])
        finally:
            for app in apps:
                await app.stop()

    return asyncio.run(main())


def _chat(model: str = "mock", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi there"}], **extra}


def _priced(url: str, dollars_per_hour: float, name: str = "gpu") -> Router:
    return Router([Upstream(name, url, ("mock",), Price(dollars_per_hour, "instance-hour", "t"))])


def test_1_busy_time_is_charged_to_the_requests_in_flight(ledger: Ledger) -> None:
    """Two sequential ~1.6 s requests at $3.60/h in 1 s slots: charged their busy seconds x
    $0.001 (no slot in which nothing finishes gives its busy time to idle)."""
    settings = MockSettings(ttft_ms=100, itl_ms=50, output_tokens=30)
    with running(settings) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> None:
            for _ in range(2):
                reply = await client.post("/v1/chat/completions", json=_chat(stream=True))
                assert reply.status_code == 200
            await asyncio.sleep(1.0)  # then idle

        _serve([_app(_priced(url, 3.6), ledger)], body)
    rows = ledger.rows()
    busy_s = sum(r.latency_ms or 0 for r in rows) / 1000
    charged = sum(r.self_hosted_nusd or 0 for r in rows)
    assert busy_s > 3.0
    assert charged == pytest.approx(busy_s * 1_000_000, rel=0.05)  # $0.001 per second
    [gpu] = ledger.metered()
    idle = sum(t.idle_nusd for t in ledger.usage("upstream"))
    assert idle + charged == gpu.total_nusd  # conservation, to the nano-dollar
    assert gpu.total_nusd == pytest.approx(gpu.seconds * 1_000_000, abs=2)


def test_2_an_always_on_machine_costs_its_price_per_day(ledger: Ledger) -> None:
    """$3.60/h is $86.40/day whatever the traffic's span; an empty ledger gives no figure."""
    empty = usage_report(ledger, "model", None, None)
    assert empty["totals"]["self_hosted_cost_per_day"] is None
    assert empty["basis"] == "none"
    with running(MockSettings(ttft_ms=1, itl_ms=1, output_tokens=4)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> None:
            await asyncio.sleep(1.2)
            await client.post("/v1/chat/completions", json=_chat())
            await asyncio.sleep(1.5)

        _serve([_app(_priced(url, 3.6), ledger)], body)
    report = usage_report(ledger, "model", None, None)
    assert report["totals"]["self_hosted_cost_per_day"] == pytest.approx(86.40, rel=0.01)
    assert report["basis"] == "projection"
    assert any("projection" in note for note in report["notes"])
    assert all(item["self_hosting_cheaper"] is None for item in report["totals"]["breakeven"])


def test_3_two_replicas_charge_a_shared_upstream_once(ledger: Ledger, backend: Backend) -> None:
    """Two gateways, each with its own connection to one ledger, one $3.60/h upstream: the
    upstream is charged once."""
    with (
        running(MockSettings(ttft_ms=20, itl_ms=5, output_tokens=10)) as url,
        open_ledger(backend.url) as second,
    ):
        apps = [_app(_priced(url, 3.6), ledger), _app(_priced(url, 3.6), second)]

        async def body(client: httpx.AsyncClient, app: Gateway) -> float:
            other = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps[1]),  # type: ignore[arg-type]
                base_url="http://gw2",
            )
            started = asyncio.get_running_loop().time()
            async with other:
                for _ in range(12):
                    await asyncio.gather(
                        client.post("/v1/chat/completions", json=_chat()),
                        other.post("/v1/chat/completions", json=_chat()),
                    )
                    await asyncio.sleep(0.2)
            return asyncio.get_running_loop().time() - started

        wall = _serve(apps, body)
    [gpu] = ledger.metered()
    # once: about the wall-clock time (within a slot), not twice it
    assert gpu.total_nusd == pytest.approx(gpu.seconds * 1_000_000, abs=2)
    assert wall - 1.0 <= gpu.seconds <= wall + 1.5
    shares = sum(r.self_hosted_nusd or 0 for r in ledger.rows())
    assert len(ledger.rows()) == 24 and 0 < shares < gpu.total_nusd
    assert all(r.self_hosted_nusd is not None for r in ledger.rows())


def test_4_a_non_streamed_answer_without_usage_is_counted(ledger: Ledger) -> None:
    with running(MockSettings(ttft_ms=1, itl_ms=1, usage=False)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> dict[str, Any]:
            reply = await client.post("/v1/chat/completions", json=_chat(max_tokens=40))
            return dict(reply.json())

        answer = _serve([_app(Router([Upstream("u", url, ("mock",))]), ledger)], body)
    [row] = ledger.rows()
    text = answer["choices"][0]["message"]["content"]
    assert row.token_source == "gateway"
    assert row.completion_tokens == len(text.split()) > 1
    assert row.prompt_tokens == 2


def _door(**policy: Any) -> Door:
    return Door(open_limiter("memory://"), KeyPolicy(**policy), MINI, default_max_tokens=64)


@pytest.mark.parametrize(
    "extra",
    [
        {"max_tokens": None, "max_completion_tokens": 200},
        {"n": 4, "max_tokens": 50},
        {},  # no limit: the upstream's default is 2,000 tokens
    ],
    ids=["max_completion_tokens", "n", "no-limit"],
)
def test_5_200_concurrent_requests_never_overspend_a_budget(
    ledger: Ledger, extra: dict[str, Any]
) -> None:
    budget = 400_000  # $0.0004: a few requests' worth
    with running(MockSettings(ttft_ms=5, itl_ms=0, output_tokens=2000)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            replies = await asyncio.gather(
                *(
                    client.post("/v1/chat/completions", json=_chat(stream=True, **extra))
                    for _ in range(200)
                )
            )
            return [r.status_code for r in replies]

        router = Router([Upstream("u", url, ("mock",))])
        codes = _serve([_app(router, ledger, door=_door(budget_per_day_nusd=budget))], body)
    assert codes.count(200) >= 1 and set(codes) <= {200, 402}
    spent = sum(r.counterfactual_nusd["mini"] or 0 for r in ledger.rows())
    assert 0 < spent <= budget
    assert all(r.budget_price == "mini" for r in ledger.rows())


def test_5_tokens_per_minute_count_every_answer(ledger: Ledger) -> None:
    with running(MockSettings(ttft_ms=1, itl_ms=0, output_tokens=2000)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            extra = {"max_tokens": None, "max_completion_tokens": 1000, "n": 2}
            replies = await asyncio.gather(
                *(client.post("/v1/chat/completions", json=_chat(**extra)) for _ in range(40))
            )
            return [r.status_code for r in replies]

        router = Router([Upstream("u", url, ("mock",))])
        codes = _serve([_app(router, ledger, door=_door(tokens_per_minute=5000))], body)
    # each reserves 2 + 2 x 1000 tokens: two fit in the minute at once, never more
    assert codes.count(200) == 2 and codes.count(429) == 38
    assert sum(r.prompt_tokens or 0 + (r.completion_tokens or 0) for r in ledger.rows()) <= 5000


def test_5_max_completion_tokens_is_validated(ledger: Ledger) -> None:
    with running(MockSettings(ttft_ms=1, itl_ms=0)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[httpx.Response]:
            return [
                await client.post("/v1/chat/completions", json=_chat(**bad))
                for bad in ({"max_completion_tokens": -1}, {"n": 0}, {"n": 1000})
            ]

        replies = _serve([_app(Router([Upstream("u", url, ("mock",))]), ledger)], body)
    assert [r.status_code for r in replies] == [400, 400, 400]
    assert [r.json()["error"]["param"] for r in replies] == ["max_completion_tokens", "n", "n"]


def test_5_a_stream_past_its_limit_is_stopped(ledger: Ledger) -> None:
    """An upstream that ignores max_tokens is cut at the limit with an error event."""

    with running(MockSettings(ttft_ms=1, itl_ms=0, output_tokens=300, usage=False)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> str:
            request = _chat(stream=True, max_tokens=300)
            # the gateway reads max_tokens 300 but the upstream gets a body asking for more
            reply = await client.post("/v1/chat/completions", json=request)
            return reply.text

        app = _app(Router([Upstream("u", url, ("mock",))]), ledger)
        original = app._attempt

        async def lying(leg: Any, request_id: str, outcome: Any) -> Any:
            call = leg.call
            body_json = json.loads(call.body)
            body_json["max_tokens"] = 300
            leg = type(leg)(**{**leg.__dict__, "call": type(call)(
                **{**call.__dict__, "max_tokens": 10, "body": json.dumps(body_json).encode()}
            )})  # fmt: skip
            return await original(leg, request_id, outcome)

        app._attempt = lying  # type: ignore[method-assign]
        text = _serve([app], body)
    assert "more tokens than the request's limit" in text
    [row] = ledger.rows()
    assert row.outcome == "upstream_error" and row.completion_tokens == 11


def test_6_budgets_are_priced_at_the_model_served(ledger: Ledger) -> None:
    """A paid upstream's model at its own price; a self-hosted one at the operator's mapping."""
    with running(MockSettings(ttft_ms=1, itl_ms=0, output_tokens=8, model="big")) as url:
        router = Router(
            [
                Upstream("paid", url, ("big",)),
                Upstream("own", url, ("mock",), Price(1.0, "instance-hour", "t")),
            ]
        )
        door = Door(
            open_limiter("memory://"),
            KeyPolicy(budget_per_day_nusd=NANO),
            MINI,
            catalog=lambda model: BIG if model == "big" else None,
        )

        async def body(client: httpx.AsyncClient, app: Gateway) -> None:
            for model in ("big", "mock"):
                reply = await client.post("/v1/chat/completions", json=_chat(model))
                assert reply.status_code == 200

        _serve([_app(router, ledger, door=door)], body)
    assert {r.model: r.budget_price for r in ledger.rows()} == {"big": "big", "mock": "mini"}


def test_7_shutdown_ends_work_in_flight_and_records_it(ledger: Ledger) -> None:
    with running(MockSettings(ttft_ms=10, itl_ms=20, output_tokens=400, usage=False)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[httpx.Response]:
            calls = [
                client.post("/v1/chat/completions", json=_chat(stream=True)),
                client.post("/v1/chat/completions", json=_chat()),
            ]
            tasks = [asyncio.ensure_future(call) for call in calls]
            await asyncio.sleep(1.0)
            app.drain()
            return list(await asyncio.gather(*tasks))

        app = _app(Router([Upstream("u", url, ("mock",))]), ledger, drain_s=0.3)
        stream, once = _serve([app], body)
    assert '"code": "shutting_down"' in stream.text and stream.text.endswith("data: [DONE]\n\n")
    assert once.status_code == 503 and once.json()["error"]["code"] == "shutting_down"
    rows = {r.stream: r for r in ledger.rows()}
    assert rows[True].outcome == rows[False].outcome == "shutdown"
    delivered = stream.text.count('"content"')
    assert rows[True].completion_tokens is not None and rows[True].completion_tokens >= 20
    assert abs(rows[True].completion_tokens - delivered) <= 2
    assert rows[True].status == 200 and rows[False].status == 503


def test_7b_a_stream_cut_at_shutdown_still_gets_the_usage_it_asked_for(ledger: Ledger) -> None:
    """A client that asked for stream usage gets the final usage chunk (the tokens delivered,
    as recorded) before [DONE] even when the drain period ends its stream."""
    with running(MockSettings(ttft_ms=10, itl_ms=20, output_tokens=400, usage=False)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            extra = {"stream": True, "stream_options": {"include_usage": True}}
            call = asyncio.ensure_future(client.post("/v1/chat/completions", json=_chat(**extra)))
            await asyncio.sleep(1.0)
            app.drain()
            return await call

        app = _app(Router([Upstream("u", url, ("mock",))]), ledger, drain_s=0.3)
        stream = _serve([app], body)
    payloads = [line[6:] for line in stream.text.splitlines() if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    usage = json.loads(payloads[-2])
    assert usage["choices"] == [] and '"shutting_down"' in payloads[-3]
    [row] = ledger.rows()
    assert row.outcome == "shutdown"
    assert usage["usage"]["completion_tokens"] == row.completion_tokens
    assert usage["usage"]["prompt_tokens"] == row.prompt_tokens
    assert usage["usage"]["total_tokens"] == row.prompt_tokens + row.completion_tokens


def test_8_usage_names_keys_and_refuses_a_missing_ledger(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert llmecon("keys", "create", "team-a", "--ledger", url).code == 0
    again = llmecon("keys", "create", "team-a", "--ledger", url)
    assert again.code == 2 and "exists already" in again.err
    with open_ledger(url) as store:
        [key] = store.list_keys()
        from llmecon.ledger import UsageRow

        now = datetime.now(UTC)
        fields = ("chat", False, 200, "ok", 1, 2, "upstream", 1.0, 1.0, None, {}, "test")
        store.record([UsageRow("r1", now, now, key.id, "m", "u", *fields)])  # type: ignore[arg-type]
    report = llmecon("usage", "--ledger", url, "--by", "key", "--format", "json")
    [row] = json.loads(report.out)["rows"]
    assert row["name"] == "team-a"
    assert "team-a" in llmecon("usage", "--ledger", url, "--by", "key").out
    missing = llmecon("usage", "--ledger", f"sqlite:///{tmp_path / 'typo.db'}")
    assert missing.code == 2 and "no ledger at" in missing.err
    assert not (tmp_path / "typo.db").exists()
    listed = llmecon("keys", "list", "--ledger", f"sqlite:///{tmp_path / 'typo.db'}")
    assert listed.code == 2


def test_8_usage_gives_no_verdict_from_seconds_of_traffic(ledger: Ledger) -> None:
    with running(MockSettings(ttft_ms=1, itl_ms=0, output_tokens=4)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> None:
            for _ in range(13):
                await client.post("/v1/chat/completions", json=_chat())

        _serve([_app(_priced(url, 3.6), ledger)], body)
    report = usage_report(ledger, "model", None, None)
    assert report["basis"] == "projection"
    assert [item["self_hosting_cheaper"] for item in report["totals"]["breakeven"]] == [None]
    assert any("no break-even verdict" in note for note in report["notes"])


def test_8_an_unknown_key_says_where_keys_live(ledger: Ledger) -> None:
    with running(MockSettings(ttft_ms=1, itl_ms=0)) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            headers = {"authorization": "Bearer sk-nope"}
            return await client.post("/v1/chat/completions", json=_chat(), headers=headers)

        reply = _serve([_app(Router([Upstream("u", url, ("mock",))]), ledger, no_auth=False)], body)
    assert reply.status_code == 401 and "--ledger" in reply.json()["error"]["message"]


@pytest.mark.parametrize("tools", [100, 5])
def test_5_tools_and_schemas_count_in_the_reservation(ledger: Ledger, tools: int) -> None:
    """Found in review: the reservation counted message text only, while the upstream bills
    tools and templates too (83x a $0.001 budget with 100 tools). The body is reserved now."""
    from bad_upstream import json_answer
    from llmecon.bench.prompts import bundled_tiktoken

    tokenizer = bundled_tiktoken()

    def upstream(body: bytes) -> list[bytes]:  # bills the prompt like a chat template would
        usage = {"prompt_tokens": len(body) // 4, "completion_tokens": 1}
        return json_answer({"id": "x", "choices": [{"message": {"content": "ok"}}],
                            "usage": usage})(body)  # fmt: skip

    schema = {"type": "object", "properties": {f"p{i}": {"type": "string", "description":
              "a parameter of this tool " * 8} for i in range(8)}}  # fmt: skip
    request = _chat(max_tokens=1, tools=[
        {"type": "function", "function": {"name": f"tool{i}", "parameters": schema}}
        for i in range(tools)])  # fmt: skip
    budget = 1_000_000  # $0.001
    from bad_upstream import bad_upstream

    with bad_upstream(upstream) as url:

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            replies = await asyncio.gather(
                *(client.post("/v1/chat/completions", json=request) for _ in range(20))
            )
            return [r.status_code for r in replies]

        config = {"no_auth": True, "compare_with": (MINI,), "interval_s": 1.0,
                  "door": _door(budget_per_day_nusd=budget)}  # fmt: skip
        app = create_app(GatewayConfig(router=Router([Upstream("u", url, ("mock",))]), **config),
                         ledger, lambda text: len(tokenizer.encode(text)))  # fmt: skip
        codes = _serve([app], body)
    spent = sum(r.counterfactual_nusd["mini"] or 0 for r in ledger.rows())
    if tools == 100:
        assert codes == [400] * 20 and spent == 0  # each alone could cost more than the budget
    else:
        assert codes.count(200) >= 1 and spent <= budget
