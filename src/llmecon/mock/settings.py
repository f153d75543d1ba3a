"""What the mock server does: its timings, output length, and which requests fail and how."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

Fault = Literal["http_500", "http_429", "cut", "malformed", "error_event", "hang", "close"]
FAULTS: tuple[Fault, ...] = get_args(Fault)
LineEnding = Literal["lf", "crlf", "cr"]
LINE_ENDINGS: tuple[LineEnding, ...] = get_args(LineEnding)
FAULT_HELP = {
    "http_500": "answer 500 with an OpenAI error body",
    "http_429": "answer 429 (rate limited) with an OpenAI error body",
    "cut": "close the connection half-way through the response, without [DONE]",
    "malformed": "send an SSE event whose data is not JSON half-way through the stream",
    "error_event": "send an OpenAI error object as an SSE event half-way through the stream "
    "(as vLLM does), or as a 200 body",
    "hang": "send the headers, then nothing until the client gives up",
    "close": "close the connection before sending any response",
}


@dataclass(frozen=True)
class MockSettings:
    """Timings and behaviour of the mock OpenAI-compatible server.

    Timings are measured from the moment the request body has been received (t0): the first
    content token leaves at t0 + ttft_ms, token i at t0 + ttft_ms + i * itl_ms.

    model: the name the server reports and lists in /v1/models.
    output_tokens: tokens per answer when the request sets no max_tokens.
    tokens_per_chunk: tokens per SSE chunk after the first (which always carries one).
    role_delta: chat streams start at once with {"role": "assistant", "content": ""}.
    usage: report token usage (False: never, like llama-cpp-python's server when streaming).
    fault, fault_every: every fault_every-th completion request (1-based) gets the fault.
    line_ending: how SSE lines end: "lf" (what servers send), "crlf" or "cr" (also valid SSE).
    keep_alive_s: an idle keep-alive connection is closed after this many seconds.
    """

    model: str = "mock"
    ttft_ms: float = 80.0
    itl_ms: float = 10.0
    output_tokens: int = 32
    tokens_per_chunk: int = 1
    role_delta: bool = True
    usage: bool = True
    fault: Fault | None = None
    fault_every: int = 0
    line_ending: LineEnding = "lf"
    keep_alive_s: float = 5.0

    def __post_init__(self) -> None:
        if self.line_ending not in LINE_ENDINGS:
            raise ValueError(f"line_ending must be one of {', '.join(LINE_ENDINGS)}, "
                             f"got {self.line_ending!r}")  # fmt: skip
        if not math.isfinite(self.keep_alive_s) or self.keep_alive_s <= 0:
            raise ValueError(
                f"keep_alive_s must be a number > 0 (seconds), got {self.keep_alive_s}"
            )
        for name in ("ttft_ms", "itl_ms"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0 (milliseconds), got {value}")
        for name, low in (("output_tokens", 1), ("tokens_per_chunk", 1), ("fault_every", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not self.model:
            raise ValueError("model must be a non-empty name, e.g. 'mock'")
        self._check_fault()

    def _check_fault(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; use one of {', '.join(FAULTS)}")
        if self.fault is not None and self.fault_every == 0:
            raise ValueError(
                f"fault={self.fault!r} needs fault_every >= 1 (1 = every request, "
                "3 = every third request); fault_every=0 never injects it"
            )
        if self.fault is None and self.fault_every:
            raise ValueError(f"fault_every={self.fault_every} needs a fault: {', '.join(FAULTS)}")

    def is_faulty(self, request_number: int) -> bool:
        """Whether the request_number-th completion request (counting from 1) gets the fault."""
        return self.fault is not None and request_number % self.fault_every == 0
