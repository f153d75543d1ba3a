"""What is being served: volumes in requests/day and tokens per request."""

from __future__ import annotations

from dataclasses import dataclass

TOKENS_PER_WORD = 4 / 3
"""The article's rule of thumb: 100 tokens ~ 75 words."""


@dataclass(frozen=True)
class Tokens:
    """Tokens per request: a total (one price for prompt + completion) or an input/output split."""

    total: float
    input: float | None = None
    output: float | None = None
    words: float | None = None

    @classmethod
    def of_total(cls, total: float) -> Tokens:
        return cls(total=total)

    @classmethod
    def of_split(cls, input_tokens: float, output_tokens: float) -> Tokens:
        return cls(total=input_tokens + output_tokens, input=input_tokens, output=output_tokens)

    @classmethod
    def of_words(cls, words: float) -> Tokens:
        return cls(total=words * TOKENS_PER_WORD, words=words)

    @property
    def is_split(self) -> bool:
        return self.input is not None and self.output is not None


@dataclass(frozen=True)
class Workload:
    """Requests per day to evaluate (one or several volumes) and the tokens of each request."""

    volumes: tuple[float, ...]
    tokens: Tokens
