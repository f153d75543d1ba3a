"""The gateway as a live process: schemathesis against its own OpenAPI document finds no 5xx,
keys never reach the logs, and a killed gateway loses no row it answered."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmecon.ledger import open_ledger
from llmecon.mock import MockSettings, running
from llmecon.processes import free_port

pytestmark = pytest.mark.slow


def _llmecon(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmecon", *args]


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway exited"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


class Live:
    def __init__(self, tmp: Path, upstream: str, *extra: str) -> None:
        self.tmp, self.upstream, self.extra = tmp, upstream, extra
        self.ledger = f"sqlite:///{tmp / 'ledger.db'}"
        self.log = tmp / "gateway.log"
        self.key = subprocess.run(
            _llmecon("keys", "create", "t", "--ledger", self.ledger),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                _llmecon(
                    "serve",
                    "--no-embedded",
                    "--upstream",
                    f"mock={self.upstream}",
                    "--port",
                    str(self.port),
                    "--ledger",
                    self.ledger,
                    "--journal",
                    str(self.tmp / "j.jsonl"),
                    "--interval",
                    "1",
                    *self.extra,
                ),
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        _wait(f"http://127.0.0.1:{self.port}/healthz", self.process)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with running(MockSettings(ttft_ms=0, itl_ms=0, output_tokens=4)) as upstream:
        gateway = Live(tmp_path, upstream)
        gateway.start()
        yield gateway
        gateway.stop()


def test_schemathesis_finds_no_server_error(live: Live) -> None:
    tool = str(Path(sys.executable).parent / "schemathesis")
    done = subprocess.run(
        [
            tool,
            "run",
            f"http://127.0.0.1:{live.port}/openapi.json",
            "-H",
            f"Authorization: Bearer {live.key}",
            "-c",
            "not_a_server_error",
            "-n",
            "40",
            "--request-timeout",
            "10",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout.split("SUMMARY")[-1]


def test_keys_never_reach_the_logs(live: Live) -> None:
    headers = {"Authorization": f"Bearer {live.key}"}
    body = {"model": "mock", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(f"{live.url}/chat/completions", json=body, headers=headers).status_code == 200
    wrong = {"Authorization": "Bearer llmecon-not-a-real-key-0123456789"}
    denied = httpx.post(f"{live.url}/chat/completions", json=body, headers=wrong)
    assert denied.status_code == 401 and "llmecon-not-a-real-key" not in denied.text
    live.stop()
    text = live.log.read_text()
    assert live.key not in text and "llmecon-not-a-real-key" not in text
    assert live.key[:20] not in text


def test_kill_9_loses_no_answered_row(live: Live) -> None:
    headers = {"Authorization": f"Bearer {live.key}"}
    body = {"model": "mock", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    answered = 0
    for _ in range(40):
        reply = httpx.post(f"{live.url}/chat/completions", json=body, headers=headers)
        assert reply.status_code == 200 and "[DONE]" in reply.text  # received in full
        answered += 1
    live.stop(signal.SIGKILL)  # no shutdown, no drain
    live.start()  # replays the journal
    live.stop()
    ledger = open_ledger(live.ledger)
    try:
        assert len(ledger.rows()) == answered
    finally:
        ledger.close()


def test_sigterm_drains_then_ends_streams_with_an_error_and_records_them(tmp_path: Path) -> None:
    slow = MockSettings(ttft_ms=10, itl_ms=20, output_tokens=2000, usage=False)
    with running(slow) as upstream:
        gateway = Live(tmp_path, upstream, "--drain", "1")
        gateway.start()
        headers = {"Authorization": f"Bearer {gateway.key}"}
        body = {"model": "mock", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        lines: list[str] = []
        with httpx.stream(
            "POST", f"{gateway.url}/chat/completions", json=body, headers=headers, timeout=30
        ) as reply:
            for line in reply.iter_lines():
                lines.append(line)
                if len(lines) == 20:
                    assert gateway.process is not None
                    gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process is not None and gateway.process.wait(30) in (0, -signal.SIGTERM)
    events = [line for line in lines if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and "shutting_down" in events[-2]
    delivered = sum('"content"' in line for line in events)
    with open_ledger(gateway.ledger) as ledger:
        [row] = ledger.rows()
    assert row.outcome == "shutdown" and row.completion_tokens is not None
    assert abs(row.completion_tokens - delivered) <= 2 and delivered > 25  # it drained 1 s
    assert row.self_hosted_nusd is None  # no price given: a paid API, nothing to allocate
