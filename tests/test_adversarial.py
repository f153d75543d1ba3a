"""The gateway under hostile clients, bad upstreams and stuck stores (issue 10): each case seen
in review, reproduced, in-process where it can be and against a live gateway where the
connection itself is the attack. Every loop is bounded in count and time, on loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bad_upstream import END, bad_upstream, chunk, events, head, json_answer
from gateway_runner import run_gateway
from llmecon.errors import LlmeconError
from llmecon.gateway.accounting import LedgerWriter
from llmecon.gateway.admission import Door
from llmecon.gateway.app import Gateway, GatewayConfig, create_app
from llmecon.gateway.journal import Journal
from llmecon.gateway.upstreams import Fallback, Router, Upstream
from llmecon.ledger import Ledger, UsageRow, open_ledger
from llmecon.limits import KeyPolicy, open_limiter
from llmecon.mock import MockSettings, running
from llmecon.processes import free_port

GOOD = {"id": "x", "choices": [{"message": {"role": "assistant", "content": "one two three"}}]}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as store:
        yield store


Body = Callable[[httpx.AsyncClient, Gateway], Coroutine[Any, Any, Any]]


def _run(router: Router, ledger: Ledger, body: Body, **config: Any) -> Any:
    return run_gateway(router, ledger, body, **config)


def _chat(model: str = "bad", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi there"}], **extra}


def _one(url: str, request: dict[str, Any], ledger: Ledger, **config: Any) -> httpx.Response:
    async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
        return await client.post("/v1/chat/completions", json=request)

    return _run(Router([Upstream("bad", url, ("bad",))]), ledger, body, **config)  # type: ignore[no-any-return]


# 1. one bad row must not stop the ledger writer


def _row(n: int) -> UsageRow:
    now = datetime.now(UTC)
    fields = ("chat", False, 200, "ok", 1, 2, "upstream", 1.0, 1.0, None, {}, "t")
    return UsageRow(f"r{n:04d}", now, now, None, "m", "u", *fields)  # type: ignore[arg-type]


def test_1_a_poison_row_is_dead_lettered_and_the_rest_lands(
    ledger: Ledger, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    poison = _row(0)
    object.__setattr__(poison, "completion_tokens", 2**63 + 5)  # what the store refuses
    writer = LedgerWriter(ledger, {}, 60.0, Journal(tmp_path / "j.jsonl", "test"))
    writer.start()
    with caplog.at_level(logging.ERROR, "llmecon.gateway"):
        writer.submit(poison)
        for n in range(1, 101):
            writer.submit(_row(n))
        writer.close()
    assert len(ledger.rows()) == 100
    dead = (tmp_path / "j.dead.jsonl").read_text().splitlines()
    assert len(dead) == 1 and '"request_id":"r0000"' in dead[0]
    assert "OverflowError" in caplog.text and "r0000" in caplog.text
    assert (tmp_path / "j.jsonl").read_text() == ""  # nothing left to replay


def test_1_implausible_usage_is_ignored_and_counted_by_the_gateway(ledger: Ledger) -> None:
    for usage in ({"prompt_tokens": 3, "completion_tokens": 2**63 + 5},
                  {"prompt_tokens": 3, "completion_tokens": -5}):  # fmt: skip
        with bad_upstream(json_answer({**GOOD, "usage": usage})) as url:
            reply = _one(url, _chat(), ledger)
        assert reply.status_code == 200
    rows = ledger.rows()
    assert [(r.token_source, r.completion_tokens) for r in rows] == [("gateway", 3)] * 2


@pytest.mark.parametrize("model", ["m\u0000x", "m\nx", "x" * 300])
def test_1_model_names_the_store_cannot_keep_are_400(ledger: Ledger, model: str) -> None:
    with bad_upstream(json_answer(GOOD)) as url:
        router = Router([Upstream("any", url, ("*",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            return await client.post("/v1/chat/completions", json=_chat(model))

        reply = _run(router, ledger, body)
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "model"


def test_8_a_journal_is_never_replayed_into_another_ledger(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, "postgresql://u@db/prod")
    journal.append(_row(1))
    journal.close()
    with pytest.raises(LlmeconError, match="holds rows for the ledger postgresql://u@db/prod"):
        Journal(path, "sqlite:////tmp/other.db")
    Journal(path, "postgresql://u@db/prod").close()  # its own ledger replays it


# 5. misbehaving upstreams


def test_5_a_non_json_answer_is_a_502(ledger: Ledger) -> None:
    with bad_upstream(lambda body: [head(), chunk(b"<html>oops</html>"), END]) as url:
        reply = _one(url, _chat(), ledger)
    assert reply.status_code == 502 and "not a JSON object" in reply.json()["error"]["message"]
    [row] = ledger.rows()
    assert row.outcome == "upstream_error" and row.status == 502


def test_5_a_malformed_event_ends_the_stream_with_an_error(ledger: Ledger) -> None:
    good = b'{"choices":[{"delta":{"content":"a"}}]}'
    with bad_upstream(events(good, b"this is not json", good, b"[DONE]")) as url:
        reply = _one(url, _chat(stream=True), ledger)
    data = [line for line in reply.text.splitlines() if line.startswith("data: ")]
    assert data[0] == "data: " + good.decode() and "not a JSON object" in data[-1]
    [row] = ledger.rows()
    assert row.outcome == "upstream_error" and row.completion_tokens == 1


def test_5_answers_and_events_are_capped(ledger: Ledger) -> None:
    big = {**GOOD, "padding": "x" * 300_000}
    with bad_upstream(json_answer(big)) as url:
        reply = _one(url, _chat(), ledger, max_response_bytes=100_000)
    assert reply.status_code == 502 and "over 100,000 bytes" in reply.json()["error"]["message"]

    def endless(body: bytes) -> list[bytes]:
        return [head(kind="text/event-stream"), *[chunk(b"data: " + b"x" * 65536)] * 80, END]

    started = time.monotonic()
    with bad_upstream(endless) as url:
        reply = _one(url, _chat(stream=True), ledger, max_event_bytes=1 << 20)
    assert "over 1,048,576 bytes" in reply.text
    assert time.monotonic() - started < 10


def test_9_upstream_errors_are_told_without_leaking(ledger: Ledger) -> None:
    with bad_upstream(json_answer({"error": {"message": "bad key sk-abc"}}, 401)) as url:
        reply = _one(url, _chat(), ledger)
    assert reply.status_code == 502
    assert "sk-abc" not in reply.text and "127.0.0.1" not in reply.text
    assert "upstream bad refused the gateway's credentials" in reply.text
    with bad_upstream(
        json_answer({"error": {"message": "slow down"}}, 429, "retry-after: 7\r\n")
    ) as url:
        reply = _one(url, _chat(), ledger)
    assert reply.status_code == 429 and reply.headers["retry-after"] == "7"
    port = free_port()
    reply = _one(f"http://127.0.0.1:{port}/v1", _chat(), ledger)
    assert reply.status_code == 502 and str(port) not in reply.text


def test_6_a_connection_closed_before_answering_fails_over(ledger: Ledger) -> None:
    closing = MockSettings(ttft_ms=1, itl_ms=0, fault="close", fault_every=1)
    with running(closing) as broken, running(MockSettings(ttft_ms=1, itl_ms=0)) as good:
        router = Router(
            (Upstream("broken", broken, ("m",)), Upstream("spare", good, ("mock",))),
            (Fallback("m", "spare", "mock"),),
        )

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            return [
                (await client.post("/v1/chat/completions", json=_chat("m", stream=s))).status_code
                for s in (False, True)
            ]

        assert _run(router, ledger, body) == [200, 200]
    assert {r.upstream for r in ledger.rows()} == {"spare"}


def test_10_metrics_fold_unknown_model_names(ledger: Ledger) -> None:
    with bad_upstream(json_answer(GOOD)) as url:
        router = Router([Upstream("any", url, ("*",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> str:
            for n in range(50):
                await client.post("/v1/chat/completions", json=_chat(f"random-{n}"))
            return (await client.get("/metrics")).text

        text = _run(router, ledger, body)
    assert "random-" not in text and 'model="(other)"' in text


def test_11_readiness_names_what_is_degraded(ledger: Ledger) -> None:
    door = Door(open_limiter("redis://127.0.0.1:9/0"), KeyPolicy(requests_per_minute=5))
    with bad_upstream(json_answer(GOOD)) as url:
        router = Router([Upstream("bad", url, ("bad",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> tuple[Any, ...]:
            live = await client.get("/healthz")
            ready = await client.get("/readyz")
            head_ = await client.head("/healthz")
            get_ = await client.get("/v1/chat/completions")
            return live.status_code, ready.status_code, ready.json(), head_.status_code, get_

        live, ready, body_, head_status, get_ = _run(router, ledger, body, door=door)
    assert live == 200 and ready == 503 and head_status == 200
    assert body_["degraded"] == ["limits_store"] and body_["checks"]["upstreams"] == "ok"
    assert get_.status_code == 405 and get_.headers["allow"] == "POST"


def test_11_token_id_prompts_are_accepted_and_counted(ledger: Ledger) -> None:
    answer = {"id": "x", "choices": [{"text": "one two"}]}
    with bad_upstream(json_answer(answer)) as url:
        router = Router([Upstream("bad", url, ("bad",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> list[int]:
            prompts: list[Any] = [[1, 2, 3], [[1, 2], [3, 4, 5]]]
            return [
                (
                    await client.post("/v1/completions", json={"model": "bad", "prompt": p})
                ).status_code
                for p in prompts
            ]

        assert _run(router, ledger, body) == [200, 200]
    assert sorted(r.prompt_tokens or 0 for r in ledger.rows()) == [3, 5]


# 2. slow, idle and greedy clients against a live gateway (its own process and fd limit)

LIVE_ARGS = ("--header-timeout", "2", "--body-timeout", "3")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Any]:
    from test_hostile import Live

    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        gateway = Live(tmp_path, upstream, *LIVE_ARGS)
        gateway.start()
        yield gateway
        gateway.stop()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes `sock` within `seconds`, and what it sent before."""
    sock.settimeout(seconds)
    received = b""
    try:
        while data := sock.recv(65536):
            received += data
    except TimeoutError:
        return False, received
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return True, received


def test_2_slowloris_headers_and_bodies_are_cut(live: Any) -> None:
    header = _connect(live.port)
    header.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    for _ in range(8):  # one header byte every 0.5 s
        try:
            header.sendall(b"X")
        except OSError:
            break
        time.sleep(0.5)
    closed, _ = _closed_within(header, 3)
    assert closed and time.monotonic() - started < 5.5  # the 2 s header deadline, not 70 s
    body = _connect(live.port)
    body.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + live.key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 83\r\n\r\n{"
    )
    started = time.monotonic()
    for _ in range(12):  # one body byte every 0.5 s
        try:
            body.sendall(b" ")
        except OSError:
            break
        time.sleep(0.5)
    closed, answer = _closed_within(body, 4)
    assert closed and time.monotonic() - started < 7  # the 3 s body deadline
    assert answer.startswith(b"HTTP/1.1 408")
    idle = _connect(live.port)
    assert _closed_within(idle, 4)[0]  # a socket that never sends anything is closed too


def test_2_an_oversized_header_is_refused_before_it_is_buffered(live: Any) -> None:
    assert live.process is not None
    before = _rss_kb(live.process.pid)
    sock = _connect(live.port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
    try:
        for _ in range(200):  # up to 20 MB, one 100 kB piece at a time
            sock.sendall(b"a" * 100_000)
    except OSError:
        pass
    closed, answer = _closed_within(sock, 3)
    assert closed and answer.startswith(b"HTTP/1.1 431")
    assert _rss_kb(live.process.pid) - before < 20_000
    assert httpx.get(f"http://127.0.0.1:{live.port}/healthz").status_code == 200


def test_2_bodies_without_a_key_are_never_read(live: Any) -> None:
    assert live.process is not None
    httpx.get(f"http://127.0.0.1:{live.port}/healthz")
    before = _rss_kb(live.process.pid)
    socks = []
    payload = b"x" * 1_000_000
    for _ in range(300):
        sock = _connect(live.port)
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            sock.sendall(payload[:200_000])
        socks.append(sock)
    answers = [_closed_within(sock, 5) for sock in socks]
    for sock in socks:
        sock.close()
    # each is answered 401 and closed (a reset when the server closes on unread upload bytes
    # may swallow the answer), none is left open holding its body
    assert all(closed for closed, _ in answers), [d[:40] for _, d in answers]
    assert {data[:12] for _, data in answers} <= {b"HTTP/1.1 401", b""}
    time.sleep(0.5)
    assert _rss_kb(live.process.pid) <= before * 1.2


def test_2_idle_connections_cannot_exhaust_file_descriptors(tmp_path: Path) -> None:
    from test_hostile import Live

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2048:
        pytest.skip(f"the hard open-file limit ({hard}) is too low for this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        gateway = Live(tmp_path, upstream, *LIVE_ARGS)
        # the gateway gets the 1,024 limit of the review (its children inherit it)
        gateway.extra = (*gateway.extra, "--ledger", gateway.ledger)
        original = subprocess.Popen

        def limited(*args: Any, **kwargs: Any) -> Any:
            kwargs["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
            return original(*args, **kwargs)

        subprocess.Popen = limited  # type: ignore[misc]
        try:
            gateway.start()
        finally:
            subprocess.Popen = original  # type: ignore[misc]
        try:
            idle = [_connect(gateway.port) for _ in range(1100)]
            headers = {"Authorization": f"Bearer {gateway.key}"}
            request = {"model": "mock", "messages": [{"role": "user", "content": "hi"}]}
            url = f"{gateway.url}/chat/completions"
            busy = httpx.post(url, json=request, headers=headers, timeout=10)
            assert busy.status_code in {200, 503}  # answered at once, never a hang
            time.sleep(3)  # the idle ones pass their header deadline
            assert httpx.post(url, json=request, headers=headers, timeout=10).status_code == 200
            for sock in idle:
                sock.close()
        finally:
            gateway.stop()
        assert "Too many open files" not in gateway.log.read_text()


# 4. a PostgreSQL server that stops answering (blackholed, not refusing)


class Blackhole:
    """A loopback TCP proxy to PostgreSQL that can stop forwarding, both ways, at will."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.holding = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.holding.is_set():
                continue  # accepted, never answered
            server = socket.create_connection(("127.0.0.1", self.target))
            self.sockets.append(server)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.holding.is_set():
                    time.sleep(0.05)  # swallow nothing, pass nothing on
                sink.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self.holding.clear()
        for sock in self.sockets:
            sock.close()


def test_4_a_blackholed_postgres_gives_503_within_5_s(tmp_path: Path) -> None:
    from conftest import postgres_schema
    from test_hostile import _llmecon, _wait

    schemas = postgres_schema()
    backend = next(schemas)
    proxy = Blackhole(5432)
    via_proxy = backend.url.replace(":5432/", f":{proxy.port}/")
    keys = [
        subprocess.run(_llmecon("keys", "create", name, "--ledger", backend.url),
                       capture_output=True, text=True, check=True).stdout.strip()
        for name in ("used", "fresh")
    ]  # fmt: skip
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        port = free_port()
        command = _llmecon(
            "serve", "--no-embedded", "--upstream", f"mock={upstream}", "--port", str(port),
            "--ledger", via_proxy, "--journal", str(tmp_path / "j.jsonl"), "--drain", "0",
        )  # fmt: skip
        with (tmp_path / "log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(f"{base}/healthz", process)
            request = {"model": "mock", "messages": [{"role": "user", "content": "hi"}]}

            def ask(key: str) -> tuple[int, float]:
                started = time.monotonic()
                reply = httpx.post(f"{base}/v1/chat/completions", json=request, timeout=30,
                                   headers={"Authorization": f"Bearer {key}"})  # fmt: skip
                return reply.status_code, time.monotonic() - started

            assert ask(keys[0])[0] == 200
            proxy.holding.set()
            status, seconds = ask(keys[1])
            assert status == 503 and seconds < 5
            ready = httpx.get(f"{base}/readyz", timeout=10)
            assert ready.status_code == 503 and "key_store" in ready.json()["degraded"]
        finally:
            proxy.close()
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
            finally:
                next(schemas, None)


def test_7_a_non_streamed_client_that_leaves_cancels_the_upstream(tmp_path: Path) -> None:
    from test_hostile import Live

    slow = MockSettings(ttft_ms=10, itl_ms=20, output_tokens=200)  # about 4 s per answer
    with running(slow) as upstream:
        gateway = Live(tmp_path, upstream, *LIVE_ARGS)
        gateway.start()
        request = {"model": "mock", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {gateway.key}"}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{gateway.url}/chat/completions", json=request, headers=headers,
                       timeout=httpx.Timeout(10, read=0.5))  # fmt: skip
        time.sleep(0.5)
        gateway.stop()
    with open_ledger(gateway.ledger) as ledger:
        [row] = ledger.rows()
    assert (row.outcome, row.status) == ("client_disconnected", 499)
    assert row.latency_ms is not None and row.latency_ms < 2000  # not the 4 s of the answer


# 3. token counting must not block the event loop


def test_3_huge_prompts_are_counted_off_the_event_loop(ledger: Ledger) -> None:
    threads: dict[int, set[str]] = {}

    def count(text: str) -> int:
        threads.setdefault(len(text), set()).add(threading.current_thread().name)
        return len(text.split())

    door = Door(open_limiter("memory://"), KeyPolicy(requests_per_minute=100))
    with bad_upstream(json_answer(GOOD)) as url:

        async def main() -> list[int]:
            config = GatewayConfig(router=Router([Upstream("bad", url, ("bad",))]),
                                   no_auth=True, door=door)  # fmt: skip
            app = create_app(config, ledger, count)
            app.start()
            try:
                transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
                async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                    codes = []
                    for text in ("short prompt", " ".join(["word"] * 200_000)):
                        request = {"model": "bad", "messages": [{"role": "user", "content": text}]}
                        reply = await client.post("/v1/chat/completions", json=request)
                        codes.append(reply.status_code)
                    return codes
            finally:
                await app.stop()

        assert asyncio.run(main()) == [200, 200]
    loop_thread = threading.main_thread().name
    short, long = len("short prompt"), len(" ".join(["word"] * 200_000))
    assert threads[short] == {loop_thread}  # a short prompt is counted in place (cheaper)
    assert loop_thread not in threads[long]  # a long one only in a worker thread


# 7. upstream timeouts and the minor items


def test_7_an_upstream_that_never_answers_times_out_at_the_first_byte(ledger: Ledger) -> None:
    from llmecon.gateway.upstream_client import UpstreamTimeouts

    with running(MockSettings(ttft_ms=0, itl_ms=0, fault="hang", fault_every=1)) as url:
        started = time.monotonic()
        timeouts = UpstreamTimeouts(first_byte=0.5, idle=0.5, total=30)
        router = Router([Upstream("hang", url, ("mock",))])

        async def body(client: httpx.AsyncClient, app: Gateway) -> httpx.Response:
            return await client.post("/v1/chat/completions", json=_chat("mock"))

        reply = _run(router, ledger, body, timeouts=timeouts)
    assert reply.status_code == 504 and time.monotonic() - started < 5


def test_11_minor_items(tmp_path: Path, live: Any) -> None:
    ledger_file = Path(live.ledger.removeprefix("sqlite:///"))
    assert ledger_file.stat().st_mode & 0o777 == 0o600
    url = f"http://127.0.0.1:{live.port}"
    denied = httpx.post(f"{url}/v1/chat/completions", json={})
    assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Bearer")
    assert denied.headers["connection"] == "close"
    headers = {"Authorization": f"Bearer {live.key}"}
    big = httpx.post(f"{url}/v1/chat/completions", content=b"x" * 2_000_000, headers=headers)
    assert big.status_code == 413 and big.headers["connection"] == "close"
    document = httpx.get(f"{url}/openapi.json", headers=headers).json()
    chat = document["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]
    fields = chat["application/json"]["schema"]["properties"]
    assert fields["max_tokens"]["maximum"] == 1_000_000
    assert {"max_completion_tokens", "n"} <= set(fields)


def test_2_headers_over_the_cap_in_one_read_are_refused_too(live: Any) -> None:
    """Found in review: 33-100 KB of headers sent at once passed the 32 KiB cap."""
    for size in (33_000, 60_000, 100_000):
        sock = _connect(live.port)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
        closed, answer = _closed_within(sock, 3)
        assert closed and answer.startswith(b"HTTP/1.1 431"), (size, answer[:40])
    assert httpx.get(f"http://127.0.0.1:{live.port}/healthz").status_code == 200
