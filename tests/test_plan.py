"""`llmecon plan` and `llmecon estimate`: the search, its JSON contract and its errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conftest import Run
from llmecon.core.planning import Machine, Targets, plan_deployments
from llmecon.core.prices import Price
from llmecon.core.roofline import estimate
from llmecon.core.workload import Tokens
from llmecon.pricebook.hardware import load_gpus, load_models

BASE = ("plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000",
        "--input-tokens", "500", "--output-tokens", "167")  # fmt: skip


def _plan(llmecon: Callable[..., Run], *extra: str) -> Any:
    run = llmecon(*BASE, *extra, "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def test_candidates_are_sorted_and_complete(llmecon: Callable[..., Run]) -> None:
    data = _plan(llmecon, "--ttft-p95", "1000", "--tpot", "50")
    candidates = data["candidates"]
    assert candidates
    costs = [c["daily_cost"] for c in candidates]
    assert costs == sorted(costs)
    for key in ("instance", "gpus", "precision", "replicas", "daily_cost", "cost_per_1m_tokens"):
        assert key in candidates[0]
    for candidate in candidates:
        assert candidate["ttft_ms"] <= 1000 and candidate["tpot_ms"] <= 50
        daily = candidate["replicas"] * 24 * candidate["hourly_price"]
        assert candidate["daily_cost"] == pytest.approx(daily)
        tokens = 1e6 * 667
        assert candidate["cost_per_1m_tokens"] == pytest.approx(daily / tokens * 1e6)
    assert {a["model"] for a in data["api_alternatives"]} >= {"gpt-4o-mini", "claude-haiku-4-5"}


def test_tighter_targets_never_make_it_cheaper(llmecon: Callable[..., Run]) -> None:
    loose = _plan(llmecon)["candidates"][0]["daily_cost"]
    tight = _plan(llmecon, "--tpot", "20")["candidates"][0]["daily_cost"]
    assert tight >= loose


def test_big_models_need_several_gpus(llmecon: Callable[..., Run]) -> None:
    run = llmecon("plan", "--model", "llama-3.1-70b", "--requests-per-day", "100000",
                  "--input-tokens", "500", "--output-tokens", "200", "--precision", "fp16",
                  "--format", "json")  # fmt: skip
    data = json.loads(run.out)
    assert all(c["gpus"] * c["tensor_parallel"] >= 2 for c in data["candidates"])
    assert any("does not fit" in r["reason"] or "GB" in r["reason"] for r in data["rejected"])


def test_spot_candidates(llmecon: Callable[..., Run]) -> None:
    data = _plan(llmecon, "--pricing", "spot")
    assert data["candidates"] and {c["pricing"] for c in data["candidates"]} == {"spot"}
    assert all("(spot)" in c["price_source"] for c in data["candidates"])


def test_autoscaled_plan_costs_no_more(llmecon: Callable[..., Run]) -> None:
    profile = "1,1,1,1,1,2,4,8,10,10,9,9,9,9,9,8,7,6,5,4,3,2,1,1"
    fixed = _plan(llmecon, "--daily-profile", profile)["candidates"][0]["daily_cost"]
    scaled = _plan(llmecon, "--daily-profile", profile, "--autoscale")["candidates"][0]
    assert scaled["daily_cost"] <= fixed


def test_binary_search_keeps_the_largest_batch_meeting_the_target() -> None:
    model, gpu = load_models()["llama-3.1-8b"], load_gpus()["a10g"]
    machine = Machine("box", Price(1.0, "instance-hour", "test"), gpu, 1)
    tokens = Tokens.of_split(500, 167)
    (loose,), _ = plan_deployments(model, [machine], ["fp16"], tokens, 1e5)
    (single,), _ = plan_deployments(model, [machine], ["fp16"], tokens, 1e5,
                                    targets=Targets(tpot_ms=1e9))  # fmt: skip
    target = (loose.estimate.tpot_ms + _tpot_at_one(model, gpu, tokens)) / 2
    (tight,), _ = plan_deployments(model, [machine], ["fp16"], tokens, 1e5,
                                   targets=Targets(tpot_ms=target))  # fmt: skip
    assert single.estimate.concurrency == loose.estimate.concurrency
    assert 1 < tight.estimate.concurrency < loose.estimate.concurrency
    assert tight.estimate.tpot_ms <= target
    assert tight.binding == "tpot target"
    over = estimate(model, gpu, 1, "fp16", tight.estimate.concurrency + 1,
                    input_tokens=500, output_tokens=167)  # fmt: skip
    assert over.tpot_ms > target  # one more request in the batch would miss the target


def _tpot_at_one(model: Any, gpu: Any, tokens: Tokens) -> float:
    return estimate(model, gpu, 1, "fp16", 1, input_tokens=500, output_tokens=167).tpot_ms


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--model", "gpt-9"), "unknown model"),
        (("--daily-profile", "1,2,3"), "24 finite non-negative weights"),
        (("--daily-profile", "a,b"), "24 numbers separated by commas"),
        (("--autoscale",), "give --daily-profile"),
        (("--peak-factor", "2", "--daily-profile", ",".join(["1"] * 24)), "drop --peak-factor"),
        (("--tpot", "-1"), "--tpot"),
        (("--api", "gpt-9000"), "unknown API model"),
    ],
)
def test_bad_plan_input(llmecon: Callable[..., Run], extra: tuple[str, ...], message: str) -> None:
    run = llmecon(*BASE, *extra)
    assert run.code == 2 and run.out == ""
    (line,) = run.err.strip().splitlines()
    assert message in line


def test_estimate_json_keys(llmecon: Callable[..., Run]) -> None:
    run = llmecon("estimate", "--model", "llama-3.1-8b", "--gpu", "A10G", "--format", "json")
    data = json.loads(run.out)
    for key in ("fits", "weights_gb", "kv_cache_gb_per_sequence", "max_concurrency", "ttft_ms",
                "tpot_ms", "output_tokens_per_second", "requests_per_second"):  # fmt: skip
        assert key in data
    assert data["fits"] is True and data["weights_gb"] == pytest.approx(16.06, abs=0.01)


def test_estimate_that_does_not_fit_is_an_answer(llmecon: Callable[..., Run]) -> None:
    run = llmecon("estimate", "--model", "llama-3.1-70b", "--gpu", "A10G", "--format", "json")
    assert run.code == 0
    data = json.loads(run.out)
    assert data["fits"] is False and "GB" in data["reason"]


def test_estimate_from_an_instance(llmecon: Callable[..., Run]) -> None:
    run = llmecon("estimate", "--model", "llama-3.1-70b", "--instance", "p4d.24xlarge",
                  "--format", "json")  # fmt: skip
    data = json.loads(run.out)
    assert (data["gpu"], data["gpus"], data["fits"]) == ("A100-40GB", 8, True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "llama-3.1-8b"), "give --gpu TYPE or --instance NAME"),
        (("--model", "llama-3.1-8b", "--gpu", "A11G"), "unknown GPU"),
        (("--model", "llama-3.1-8b", "--instance", "ml.m5.xlarge"), "no whole GPU"),
    ],
)
def test_bad_estimate_input(
    llmecon: Callable[..., Run], args: tuple[str, ...], message: str
) -> None:
    run = llmecon("estimate", *args)
    assert run.code == 2 and message in run.err
