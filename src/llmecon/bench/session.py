"""A whole benchmark: prompts, an optional ignore_eos probe, every load point, their metrics."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmecon.bench.cause import failure_cause
from llmecon.bench.client import Endpoint, Exchange, Pool
from llmecon.bench.metrics import Record, Summary, summarize
from llmecon.bench.outcome import Health, health_of, to_records
from llmecon.bench.prompts import (
    RequestShape,
    Tokenizer,
    load_tokenizer,
    read_prompt_file,
    request_body,
    synthetic_prompt,
)
from llmecon.bench.runner import Load, Progress, run_load

PATHS = {"chat": "/chat/completions", "completions": "/completions"}
PROMPT_POOL = 256  # distinct prompts per run, cycled when more requests are sent


@dataclass(frozen=True)
class BenchSpec:
    base_url: str
    model: str
    loads: tuple[Load, ...]
    api_key: str | None = None
    endpoint: str = "chat"
    stream: bool = True
    input_tokens: int = 256
    output_tokens: int = 128
    prompts_file: Path | None = None
    tokenizer_file: Path | None = None
    slos: Mapping[str, float] = field(default_factory=dict)
    ignore_eos: str = "auto"  # auto: probe once, use it when the server accepts it
    seed: int = 0
    parse: str = "fast"  # fast: classify chunks without decoding them; full: decode every one


@dataclass(frozen=True)
class RunResult:
    load: Load
    summary: Summary
    health: Health
    records: tuple[Record, ...] = field(default=(), repr=False)  # repr of 100k rows is slow


@dataclass(frozen=True)
class BenchResult:
    spec: BenchSpec
    runs: tuple[RunResult, ...]
    ignore_eos: bool
    tokenizer: str


def run_bench(spec: BenchSpec, progress: Callable[[Load], Progress] | None = None) -> BenchResult:
    """Run every load point in `spec` against the endpoint, one after the other."""
    endpoint = Endpoint.parse(spec.base_url, spec.api_key)
    tokenizer = load_tokenizer(spec.tokenizer_file)
    prompts, prompt_tokens = _prompts(spec, tokenizer)
    return _event_loop_run(_bench(spec, endpoint, tokenizer, (prompts, prompt_tokens), progress))


def _event_loop_run(coroutine: Any) -> BenchResult:
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up

        return uvloop.run(coroutine)  # type: ignore[no-any-return]
    except ImportError:
        return asyncio.run(coroutine)  # type: ignore[no-any-return]


async def _bench(
    spec: BenchSpec,
    endpoint: Endpoint,
    tokenizer: Tokenizer,
    prompt_set: tuple[Sequence[str | list[dict[str, Any]]], Sequence[int]],
    progress: Callable[[Load], Progress] | None,
) -> BenchResult:
    prompts, prompt_tokens = prompt_set
    path = PATHS[spec.endpoint]
    ignore_eos = spec.ignore_eos == "on"
    if spec.ignore_eos == "auto":
        ignore_eos = await _accepts_ignore_eos(spec, endpoint, path, prompts[0])
    shape = RequestShape(spec.model, spec.endpoint, spec.output_tokens, spec.stream, ignore_eos)
    bodies = [request_body(shape, prompt) for prompt in prompts]
    runs = []
    for load in spec.loads:
        raw = await run_load(
            endpoint, path, bodies, load, progress(load) if progress else None, parse=spec.parse
        )
        records = to_records(raw, prompt_tokens, tokenizer)
        summary = summarize(records, spec.slos)
        health = health_of(raw, summary.completed, failure_cause(records, endpoint, path))
        runs.append(RunResult(load, summary, health, tuple(records)))
    name = "tokenizer.json" if spec.tokenizer_file else "tiktoken cl100k_base"
    return BenchResult(spec, tuple(runs), ignore_eos, name)


async def _accepts_ignore_eos(
    spec: BenchSpec, endpoint: Endpoint, path: str, prompt: str | list[dict[str, Any]]
) -> bool:
    """Send one short request with ignore_eos/min_tokens; a 4xx means the server rejects them."""
    shape = RequestShape(spec.model, spec.endpoint, 1, False, ignore_eos=True)
    body = request_body(shape, prompt)
    pool = Pool(endpoint)
    probe = Exchange(t_sched=time.perf_counter(), stream=False)
    try:
        await pool.send(probe, endpoint.request_head(path, len(body)) + body, 60.0)
    finally:
        pool.close()
    return probe.error is None


def _prompts(
    spec: BenchSpec, tokenizer: Tokenizer
) -> tuple[list[str | list[dict[str, Any]]], list[int]]:
    if spec.prompts_file is not None:
        prompts = read_prompt_file(spec.prompts_file)
        return prompts, [len(tokenizer.encode(_text(p))) for p in prompts]
    rng = random.Random(spec.seed)
    count = min(PROMPT_POOL, max((load.requests or PROMPT_POOL) for load in spec.loads))
    texts: list[str | list[dict[str, Any]]] = [
        synthetic_prompt(tokenizer, spec.input_tokens, rng) for _ in range(count)
    ]
    return texts, [spec.input_tokens] * count


def _text(prompt: str | list[dict[str, Any]]) -> str:
    if isinstance(prompt, str):
        return prompt
    return " ".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict))
