"""When requests are sent: absolute offsets from the start, never accumulated sleeps."""

from __future__ import annotations

import random
from collections.abc import Iterator


def arrival_offsets(rate: float, arrivals: str, seed: int) -> Iterator[float]:
    """Seconds after the start at which request i is due: i / rate, or a Poisson process."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    if arrivals == "constant":
        index = 0
        while True:
            yield index / rate
            index += 1
    rng = random.Random(seed)
    offset = 0.0
    while True:
        yield offset
        offset += rng.expovariate(rate)
