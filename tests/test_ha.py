"""Issue 12: plan --ha sizes every fleet to survive the loss of one replica."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from conftest import Run

PLAN = ("plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000", "--input-tokens",
        "500", "--output-tokens", "167", "--ttft-p95", "1000", "--tpot", "50", "--no-hosted",
        "--format", "json")  # fmt: skip


def test_ha_adds_one_spare_and_at_least_two(llmecon: Callable[..., Run]) -> None:
    plain = json.loads(llmecon(*PLAN).out)
    ha = json.loads(llmecon(*PLAN, "--ha").out)
    assert ha["fleet"]["min_replicas"] == 2 and ha["fleet"]["spare_replicas"] == 1
    before = {(c["instance"], c["precision"], c["tensor_parallel"], c["pricing"]): c
              for c in plain["candidates"]}  # fmt: skip
    for c in ha["candidates"]:
        old = before[(c["instance"], c["precision"], c["tensor_parallel"], c["pricing"])]
        assert c["replicas"] == max(2, old["replicas"] + 1)
        assert math.isclose(c["daily_cost"], old["daily_cost"] / old["replicas"] * c["replicas"])
    assert plain["candidates"][0]["instance"] == "g6e.xlarge"  # one machine without --ha ...
    assert ha["candidates"][0]["replicas"] >= 2  # ... never one with it
