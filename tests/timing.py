"""Timing assertions that hold on a shared, loaded machine without being loosened.

Another process holding the CPU at the wrong moment can only delay what a test observes, never
make it early. So a timing check keeps its bound and is repeated: `settled` measures again (at
most `attempts` times) while a precision check fails, and raises the last failure with every
attempt's error. Checks that no load can excuse (never early, the right content) go in `hard`:
they must hold at every attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
ATTEMPTS = 3


def settled(
    measure: Callable[[], T],
    check: Callable[[T], None],
    *,
    hard: Callable[[T], None] | None = None,
    attempts: int = ATTEMPTS,
) -> T:
    """The first measurement that passes `check` (and `hard`, which is never retried)."""
    failures: list[str] = []
    for _ in range(attempts):
        value = measure()
        if hard is not None:
            hard(value)
        try:
            check(value)
        except AssertionError as error:
            failures.append(str(error) or repr(error))
            continue
        return value
    raise AssertionError(f"{attempts} attempts failed: " + " | ".join(failures))


def until(check: Callable[[], object], timeout: float = 10.0, every: float = 0.005) -> bool:
    """Poll `check` until it is true or `timeout` seconds pass; whether it ended true."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(every)
    return bool(check())
