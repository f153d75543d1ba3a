"""Traffic as columns: one record per request (or per usage bucket), held in compact arrays.

A record says that `requests` requests to `model` started in [start, start + span) seconds
(Unix time, UTC; span 0: one request at that instant) with these token totals. Per-request
sources give one request per record; OpenAI's Usage API gives buckets of many.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from llmecon.errors import LlmeconError

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Traffic:
    """Columns of equal length; `model` indexes `models`, `key` indexes `keys` (-1: none)."""

    source: str
    format: str
    start: Ints
    span: Ints
    model: Ints
    requests: Ints
    prompt: Ints
    completion: Ints
    cached: Ints
    key: Ints
    models: tuple[str, ...]
    keys: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def per_request(self) -> bool:
        """True when every record is one request (token distributions are then exact)."""
        return bool(np.all(self.requests == 1))


class TrafficBuilder:
    """Collects records row by row into typed arrays (8 bytes per value, not a Python int)."""

    def __init__(self, source: str, format_name: str) -> None:
        self.source = source
        self.format = format_name
        self._columns = {name: array("q") for name in _COLUMNS}
        self._models: dict[str, int] = {}
        self._keys: dict[str, int] = {}

    def add(
        self, where: str, start: int, model: str, counts: tuple[int, int, int, int], *,
        span: int = 0, key: str | None = None,
    ) -> None:  # fmt: skip
        """One record: `counts` is (requests, prompt, completion, cached) tokens."""
        requests, prompt, completion, cached = counts
        if min(counts) < 0:
            names = ("requests", "prompt tokens", "completion tokens", "cached tokens")
            bad = next(n for n, v in zip(names, counts, strict=True) if v < 0)
            raise LlmeconError(f"{where}: {bad} is negative; counts must be >= 0")
        if cached > prompt:
            raise LlmeconError(
                f"{where}: cached tokens ({cached}) exceed prompt tokens ({prompt}); "
                "cached tokens are part of the prompt"
            )
        if not model:
            raise LlmeconError(f"{where}: model is empty; every record needs a model name")
        columns = self._columns
        columns["start"].append(start)
        columns["span"].append(span)
        columns["model"].append(_code(self._models, model))
        columns["requests"].append(requests)
        columns["prompt"].append(prompt)
        columns["completion"].append(completion)
        columns["cached"].append(cached)
        columns["key"].append(-1 if not key else _code(self._keys, key))

    def build(self) -> Traffic:
        if not self._columns["start"]:
            raise LlmeconError(
                f"{self.source}: no usage records found; export a period with traffic"
            )
        arrays = {name: np.frombuffer(col, dtype=np.int64) for name, col in self._columns.items()}
        return Traffic(
            source=self.source, format=self.format, models=tuple(self._models),
            keys=tuple(self._keys), **arrays,
        )  # fmt: skip


_COLUMNS = ("start", "span", "model", "requests", "prompt", "completion", "cached", "key")


def _code(codes: dict[str, int], name: str) -> int:
    code = codes.get(name)
    if code is None:
        code = codes[name] = len(codes)
    return code


def parse_time(text: str, where: str) -> int:
    """Unix seconds from an ISO 8601 timestamp that carries a zone (Z or +hh:mm)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LlmeconError(
            f"{where}: {text!r} is not an ISO 8601 timestamp; write e.g. 2026-10-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise LlmeconError(
            f"{where}: timestamp {text!r} has no time zone; add Z or an offset such as +00:00"
        )
    return int(moment.timestamp())


def parse_count(value: object, where: str, field: str) -> int:
    """A non-negative whole count from a CSV cell or a JSON number."""
    if isinstance(value, bool):
        raise LlmeconError(f"{where}: {field} is {value!r}; expected a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            raise LlmeconError(
                f"{where}: {field} is {value!r}; expected a whole number of tokens"
            ) from None
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise LlmeconError(f"{where}: {field} is {value!r}; expected a whole number")
    if number < 0:
        raise LlmeconError(f"{where}: {field} is negative ({number}); counts must be >= 0")
    return number
