"""Issue 12: the quick form knows capacity (--model sizes replicas) and warns when it cannot."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

from conftest import Run

QUICK = ("compare", "--requests-per-day", "1000", "--requests-per-day", "1000000",
         "--input-tokens", "500", "--output-tokens", "167", "--api", "gpt-4o-mini",
         "--self-hosted", "ml.g5.4xlarge", "--format", "json")  # fmt: skip


def _option(data: dict[str, object], volume: int, name: str) -> dict[str, object]:
    result = next(r for r in data["results"] if r["requests_per_day"] == volume)  # type: ignore[attr-defined]
    return next(o for o in result["options"] if o["name"] == name)


def test_model_sizes_replicas_from_the_roofline_estimate(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*QUICK, "--model", "llama-3.1-8b")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    small, large = _option(data, 1000, "ml.g5.4xlarge"), _option(data, 1_000_000, "ml.g5.4xlarge")
    assert small["replicas"] == 1
    capacity = large["capacity"]
    assert "roofline estimate: llama-3.1-8b" in capacity["source"]
    expected = math.ceil(
        capacity["peak_requests_per_second"] / capacity["per_replica_requests_per_second"]
    )
    assert large["replicas"] == expected > 1
    assert large["daily_cost"] == pytest.approx(expected * 24 * 2.03)
    assert not any("--model MODEL" in note for note in data["notes"])


def test_without_a_model_the_replica_warning_says_how_to_fix_it(
    llmecon: Callable[..., Run],
) -> None:
    data = json.loads(llmecon(*QUICK).out)
    assert _option(data, 1_000_000, "ml.g5.4xlarge")["replicas"] == 1
    warning = next(note for note in data["notes"] if note.startswith("ml.g5.4xlarge: priced as 1"))
    assert "--model MODEL" in warning and "--profile" in warning


def test_model_and_profile_together_is_an_error(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*QUICK, "--model", "llama-3.1-8b", "--profile", "bench.json")
    assert run.code == 2 and "not both" in run.err


def test_batch_and_cached_fraction_reach_the_apis(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*QUICK, "--batch", "--cached-fraction", "0.5")
    assert run.code == 0, run.err
    api = _option(json.loads(run.out), 1_000_000, "gpt-4o-mini")
    # batch rates 0.075 in / 0.30 out; cached input 0.075
    expected = 1e6 * (250 * 0.075 + 250 * 0.075 + 167 * 0.30) / 1e6
    assert api["daily_cost"] == pytest.approx(expected)
