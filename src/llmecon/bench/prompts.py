"""Prompts of a target length in tokens, and the request bodies that carry them.

Token-aware: lengths are counted with tiktoken's cl100k_base, loaded from the BPE file bundled
with llmecon (never downloaded), or with a model's own `tokenizer.json` when given.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, Protocol

from llmecon.errors import LlmeconError

WORDS = (
    "cost", "capacity", "replica", "token", "latency", "model", "server", "price", "volume",
    "budget", "request", "answer", "cloud", "machine", "memory", "batch", "cache", "queue",
    "report", "engine", "estimate", "instance", "market", "value", "summary", "detail",
    "history", "forecast", "figure", "customer", "question", "support", "review", "throughput",
)  # fmt: skip


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...


@contextmanager
def _tiktoken_cache(directory: Path) -> Iterator[None]:
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def bundled_tiktoken(name: str = "cl100k_base") -> Tokenizer:
    """tiktoken's encoding from the BPE file shipped in llmecon/data/tokenizers (no network)."""
    import tiktoken  # noqa: PLC0415 - only the bench needs it

    if name != "cl100k_base":
        raise LlmeconError(f"only cl100k_base is bundled (asked for {name!r}); use cl100k_base")
    with as_file(files("llmecon") / "data" / "tokenizers") as directory, _tiktoken_cache(directory):
        encoding = tiktoken.get_encoding(name)
    return _Tiktoken(encoding)


@dataclass(frozen=True)
class _Tiktoken:
    encoding: Any

    def encode(self, text: str) -> list[int]:
        # encode(text, disallowed_special=()) gives the same tokens, after a scan for special
        # tokens that none of them may be
        return list(self.encoding.encode_ordinary(text))

    def decode(self, tokens: list[int]) -> str:
        return str(self.encoding.decode(tokens))


@dataclass(frozen=True)
class _HuggingFace:
    tokenizer: Any

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens))


def load_tokenizer(path: Path | None) -> Tokenizer:
    """A model's own tokenizer (a tokenizer.json file), else the bundled cl100k_base."""
    if path is None:
        return bundled_tiktoken()
    from tokenizers import Tokenizer as HfTokenizer  # noqa: PLC0415

    try:
        return _HuggingFace(HfTokenizer.from_file(str(path)))
    except Exception as error:  # the library raises plain Exception for bad files
        raise LlmeconError(
            f"--tokenizer {path}: cannot load ({error}); give a tokenizer.json"
        ) from None


def synthetic_prompt(tokenizer: Tokenizer, tokens: int, rng: random.Random) -> str:
    """Random words cut to exactly `tokens` tokens (as `tokenizer` counts them)."""
    words: list[str] = []
    while len(tokenizer.encode(" ".join(words))) < tokens:
        words.extend(rng.choice(WORDS) for _ in range(max(8, tokens // 2)))
    text = tokenizer.decode(tokenizer.encode(" ".join(words))[:tokens])
    while len(tokenizer.encode(text)) > tokens:  # decode/encode can merge at the cut
        text = text[:-1]
    return text


@dataclass(frozen=True)
class RequestShape:
    """What each request asks for."""

    model: str
    endpoint: str  # "chat" or "completions"
    output_tokens: int
    stream: bool
    ignore_eos: bool = False


def request_body(shape: RequestShape, prompt: str | list[dict[str, Any]]) -> bytes:
    """The JSON body of one request (chat messages or a completion prompt)."""
    body: dict[str, Any] = {"model": shape.model, "max_tokens": shape.output_tokens}
    if shape.endpoint == "chat":
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        body["messages"] = messages
    else:
        body["prompt"] = prompt if isinstance(prompt, str) else json.dumps(prompt)
    if shape.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if shape.ignore_eos:
        body["ignore_eos"] = True
        body["min_tokens"] = shape.output_tokens
    return json.dumps(body, separators=(",", ":")).encode()


def read_prompt_file(path: Path) -> list[str | list[dict[str, Any]]]:
    """Prompts from a JSONL file: one object per line with `prompt` (text) or `messages`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise LlmeconError(f"--prompts {path}: cannot read ({error.strerror})") from None
    prompts: list[str | list[dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise LlmeconError(f"--prompts {path}: line {number} is not JSON") from None
        value = item.get("messages", item.get("prompt")) if isinstance(item, dict) else None
        if not isinstance(value, str | list):
            raise LlmeconError(
                f'--prompts {path}: line {number} needs a "prompt" string or "messages" list'
            )
        prompts.append(value)
    if not prompts:
        raise LlmeconError(f"--prompts {path}: no prompts in the file")
    return prompts
