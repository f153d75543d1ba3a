"""Running a task set against endpoints with the bench HTTP client, and grading the answers.

Requests are OpenAI chat completions, not streamed, temperature 0, sent by `concurrency`
workers over the bench client's keep-alive pool (`llmecon.bench.client`). Latency is the
client's: from the request's send to the last byte of its answer. Tokens come from the
answer's `usage`; a server that reports none is counted with the bench tokenizer (tiktoken
cl100k_base) over the message contents and the answer, and the result says so.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from llmecon.bench.client import Endpoint, Exchange, Pool
from llmecon.bench.prompts import Tokenizer, load_tokenizer
from llmecon.eval.dataset import Item
from llmecon.eval.graders import Verdict
from llmecon.eval.judge import judge_messages, parse_verdict

CHAT_PATH = "/chat/completions"
RETRYABLE = ("http_429", "http_5", "connect", "timeout", "closed")


@dataclass(frozen=True)
class Target:
    """An OpenAI-compatible endpoint and the model name to send."""

    name: str
    base_url: str
    model: str
    api_key: str | None = None


@dataclass(frozen=True)
class EvalSpec:
    items: tuple[Item, ...] = field(repr=False)  # asyncio reprs coroutine arguments: keep small
    targets: tuple[Target, ...]
    judge: Target | None = None
    concurrency: int = 8
    timeout_s: float = 120.0
    max_tokens: int = 256
    temperature: float = 0.0
    retries: int = 2  # for 429, 5xx, connect errors and timeouts, with exponential backoff
    backoff_s: float = 0.5


@dataclass(slots=True)
class Call:
    """One answered (or failed) chat call: its text, tokens and latency."""

    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    counted: bool = False  # True: tokens counted by the tokenizer (no usage in the answer)
    latency_s: float = 0.0
    error: str | None = None
    retries: int = 0  # how many times it was sent again


@dataclass(frozen=True)
class Outcome:
    """One item's result at one endpoint; `judge` is the judge's call, if any."""

    item_id: str
    grader: str
    correct: bool
    reason: str
    call: Call
    judge: Call | None = None


@dataclass(frozen=True)
class TargetRun:
    target: Target
    outcomes: tuple[Outcome, ...] = field(repr=False)
    wall_s: float


Progress = Callable[[int], None]


def run_eval(
    spec: EvalSpec, progress: Callable[[Target], Progress] | None = None
) -> list[TargetRun]:
    """Every item of `spec` at every target, one target after the other."""
    if any(item.grader.rubric is not None for item in spec.items) and spec.judge is None:
        raise ValueError("judge items need a judge endpoint")
    tokenizer = _LazyTokenizer()
    runs = []
    for target in spec.targets:
        tick = progress(target) if progress is not None else None
        runs.append(_loop_run(_run_target(spec, target, tokenizer, tick)))
    return runs


class _LazyTokenizer:
    """The bench tokenizer, loaded on first use (only servers without usage need it)."""

    def __init__(self) -> None:
        self._tokenizer: Tokenizer | None = None

    def encode(self, text: str) -> list[int]:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(None)
        return self._tokenizer.encode(text)

    def decode(self, tokens: list[int]) -> str:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(None)
        return self._tokenizer.decode(tokens)


def _loop_run(coroutine: Any) -> TargetRun:
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up

        return uvloop.run(coroutine)  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(coroutine)  # type: ignore[no-any-return]


class _Caller:
    """Chat calls to one endpoint over one keep-alive pool."""

    def __init__(self, target: Target, spec: EvalSpec, tokenizer: Tokenizer) -> None:
        self.target = target
        self.endpoint = Endpoint.parse(target.base_url, target.api_key)
        self.pool = Pool(self.endpoint)
        self.spec = spec
        self.tokenizer = tokenizer

    async def chat(self, messages: Any, max_tokens: int) -> Call:
        """One answer; a retryable failure is sent again after backoff_s x 2^attempt."""
        call = await self._chat_once(messages, max_tokens)
        for attempt in range(self.spec.retries):
            if call.error is None or not call.error.startswith(RETRYABLE):
                break
            await asyncio.sleep(self.spec.backoff_s * 2**attempt)
            call = await self._chat_once(messages, max_tokens)
            call.retries = attempt + 1
        return call

    async def _chat_once(self, messages: Any, max_tokens: int) -> Call:
        body = json.dumps(
            {
                "model": self.target.model,
                "messages": list(messages),
                "max_tokens": max_tokens,
                "temperature": self.spec.temperature,
                "stream": False,
            }
        ).encode()
        request = self.endpoint.request_head(CHAT_PATH, len(body)) + body
        exchange = Exchange(t_sched=time.perf_counter(), stream=False)
        await self.pool.send(exchange, request, self.spec.timeout_s)
        call = Call(latency_s=(exchange.t_done or time.perf_counter()) - exchange.t_send)
        if not exchange.ok:
            call.error = f"{exchange.error}: {exchange.detail}"[:200]
            return call
        return self._read(exchange, messages, call)

    def _read(self, exchange: Exchange, messages: Any, call: Call) -> Call:
        try:
            choice = json.loads(exchange.body)["choices"][0]
            text = choice.get("message", {}).get("content") or choice.get("text") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            call.error = "malformed: the answer has no choices[0].message.content"
            return call
        call.text = str(text)
        usage = exchange.usage or {}
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            call.prompt_tokens, call.completion_tokens = prompt, completion
        else:
            call.counted = True
            words = " ".join(_content(m) for m in messages)
            call.prompt_tokens = len(self.tokenizer.encode(words))
            call.completion_tokens = len(self.tokenizer.encode(call.text))
        return call


def _content(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


async def _run_target(
    spec: EvalSpec, target: Target, tokenizer: Tokenizer, tick: Progress | None
) -> TargetRun:
    caller = _Caller(target, spec, tokenizer)
    judge = _Caller(spec.judge, spec, tokenizer) if spec.judge is not None else None
    outcomes: list[Outcome | None] = [None] * len(spec.items)
    indices = iter(range(len(spec.items)))
    started = time.perf_counter()
    workers = max(1, min(spec.concurrency, len(spec.items)))
    try:
        await asyncio.gather(
            *(_worker(spec, (caller, judge), indices, outcomes, tick) for _ in range(workers))
        )
    finally:
        caller.pool.close()
        if judge is not None:
            judge.pool.close()
    wall = time.perf_counter() - started
    return TargetRun(target, tuple(o for o in outcomes if o is not None), wall)


async def _worker(
    spec: EvalSpec,
    callers: tuple[_Caller, _Caller | None],
    indices: Iterator[int],
    outcomes: list[Outcome | None],
    tick: Progress | None,
) -> None:
    caller, judge = callers
    for index in indices:
        item = spec.items[index]
        outcomes[index] = await _evaluate(item, spec, caller, judge)
        if tick is not None:
            tick(1)


async def _evaluate(item: Item, spec: EvalSpec, caller: _Caller, judge: _Caller | None) -> Outcome:
    call = await caller.chat(item.messages, item.max_tokens or spec.max_tokens)
    kind = item.grader.kind
    if call.error is not None:
        return Outcome(item.id, kind, False, f"request failed: {call.error}", call)
    if item.grader.rubric is None:
        verdict = item.grader.grade(call.text)
        return Outcome(item.id, kind, verdict.correct, verdict.reason, call)
    assert judge is not None
    messages = judge_messages(item.grader.rubric, item.question, item.grader.reference, call.text)
    verdict_call = await judge.chat(messages, 256)
    judged: Verdict | None = None
    if verdict_call.error is None:
        judged = parse_verdict(verdict_call.text)
    if judged is None:
        reason = verdict_call.error or f"the judge gave no verdict: {verdict_call.text[:80]!r}"
        return Outcome(item.id, kind, False, f"judge failed: {reason}", call, verdict_call)
    return Outcome(item.id, kind, judged.correct, judged.reason, call, verdict_call)
