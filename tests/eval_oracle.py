"""A deterministic OpenAI-compatible endpoint for the eval tests: an "oracle" that answers each
prompt from a table, and a mock judge that passes a candidate answer when it contains the
reference answer (case-folded). Both report usage as whitespace-separated words (like the mock
server), unless `usage` is off. Served by uvicorn in a thread on a free port."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import uvicorn

from llmecon.eval.judge import JUDGE_SYSTEM
from llmecon.processes import free_port

Message = MutableMapping[str, Any]
JUDGE_REPLY = re.compile(r"Reference answer:\n(.*?)\n\nCandidate answer:\n(.*)", re.DOTALL)


def _words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


class Oracle:
    def __init__(self, answers: Mapping[str, str], usage: bool = True) -> None:
        self.answers = answers
        self.usage = usage
        self.calls = 0
        self.judge_calls = 0
        self.keys: set[str] = set()  # Authorization headers seen

    def reply(self, request: dict[str, Any]) -> str:
        messages = request["messages"]
        if messages[0].get("content") == JUDGE_SYSTEM:
            self.judge_calls += 1
            found = JUDGE_REPLY.search(messages[-1]["content"])
            if found is None:
                return "no reference given, cannot judge"
            reference, candidate = (part.strip().casefold() for part in found.groups())
            return f"Checked.\nVERDICT: {'PASS' if reference in candidate else 'FAIL'}"
        self.calls += 1
        return self.answers.get(messages[-1]["content"], "I don't know")

    async def __call__(
        self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any
    ) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        if b"authorization" in headers:
            self.keys.add(headers[b"authorization"].decode())
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        text = self.reply(request)
        document: dict[str, Any] = {
            "id": "x", "object": "chat.completion", "model": request.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
        }  # fmt: skip
        if self.usage:
            prompt, completion = _words(request["messages"]), max(1, len(text.split()))
            document["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "total_tokens": prompt + completion}  # fmt: skip
        data = json.dumps(document).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})


@contextmanager
def serving(oracle: Oracle) -> Iterator[str]:
    """Serve `oracle`; yields its API base URL."""
    port = free_port()
    config = uvicorn.Config(
        oracle, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
        access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the oracle server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
