"""Replicas from throughput: the formula, its boundaries, profiles, autoscaling, spot, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLES, Run
from llmecon.core.capacity import CapacityFleet, Throughput, whole_replicas
from llmecon.core.workload import Tokens

TOKENS = Tokens.of_split(500, 167)
PEAKY = [1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 9, 9, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1]


def fleet(rps: float = 0.2, **options: Any) -> CapacityFleet:
    return CapacityFleet(Throughput("test", requests_per_second=rps), **options)


@pytest.mark.parametrize(("volume", "replicas"), [(17_280, 1), (17_281, 2), (34_560, 2), (1e6, 58)])
def test_replicas_at_exact_boundaries(volume: float, replicas: int) -> None:
    assert fleet().plan(volume, TOKENS).peak_replicas == replicas


def test_float_noise_does_not_add_a_replica() -> None:
    assert whole_replicas(57.0000000001) == 57
    assert whole_replicas(57.00001) == 58
    assert fleet(rps=0.1).plan(0.3 * 86_400, TOKENS).peak_replicas == 3  # 0.3 / 0.1 = 2.9999...


def test_peak_factor_and_target_utilization() -> None:
    # 1M/day = 11.574 req/s; x3 peak = 34.72; / (0.2 x 0.8) = 217.01 -> 218
    plan = fleet(peak_factor=3, target_utilization=0.8).plan(1e6, TOKENS)
    assert plan.peak_replicas == 218
    assert plan.instance_hours == 218 * 24


def test_min_replicas() -> None:
    assert fleet(min_replicas=3).plan(10, TOKENS).peak_replicas == 3
    assert fleet(min_replicas=0).plan(0.0001, TOKENS).peak_replicas == 1


def test_output_tokens_per_second_uses_the_workload() -> None:
    rate = CapacityFleet(Throughput("t", output_tokens_per_second=1670))
    assert rate.plan(86_400 * 10, TOKENS).peak_replicas == 1  # 10 req/s x 167 tokens = 1670
    assert rate.plan(86_400 * 10.01, TOKENS).peak_replicas == 2


def test_profile_sizes_for_the_busiest_hour() -> None:
    volume = 1e6
    plan = fleet(daily_profile=tuple(PEAKY)).plan(volume, TOKENS)
    busiest = volume / 86_400 * 24 * 10 / sum(PEAKY)
    assert plan.peak_rps == pytest.approx(busiest)
    assert set(plan.replicas_by_hour) == {whole_replicas(busiest / 0.2)}


def test_autoscale_follows_the_hours_and_costs_less() -> None:
    volume = 1e6
    scaled = fleet(daily_profile=tuple(PEAKY), autoscale=True).plan(volume, TOKENS)
    fixed = fleet(daily_profile=tuple(PEAKY)).plan(volume, TOKENS)
    rates = [volume / 86_400 * 24 * w / sum(PEAKY) for w in PEAKY]
    assert list(scaled.replicas_by_hour) == [whole_replicas(r / 0.2) for r in rates]
    assert scaled.peak_replicas == fixed.peak_replicas
    assert scaled.instance_hours < fixed.instance_hours


def test_scale_to_zero() -> None:
    night_off = [0] * 6 + [1] * 18
    plan = fleet(daily_profile=tuple(night_off), autoscale=True, min_replicas=0).plan(1000, TOKENS)
    assert plan.replicas_by_hour[:6] == (0,) * 6
    assert min(plan.replicas_by_hour[6:]) >= 1


def _compare(llmecon: Callable[..., Run], path: Path) -> Any:
    run = llmecon("compare", str(path), "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def _option(data: Any, volume: float, name: str) -> Any:
    result = next(r for r in data["results"] if r["requests_per_day"] == volume)
    return next(o for o in result["options"] if o["name"] == name)


def test_the_article_corrected_needs_58_replicas(llmecon: Callable[..., Run]) -> None:
    data = _compare(llmecon, EXAMPLES / "article-capacity.yaml")
    hosted = _option(data, 1e6, "flan-ul2-sagemaker")
    assert hosted["replicas"] == 58
    assert hosted["daily_cost"] == pytest.approx(2837.43, abs=0.01)
    assert _option(data, 1e6, "chatgpt")["daily_cost"] == pytest.approx(1334.0)
    assert _option(data, 17_280, "flan-ul2-sagemaker")["replicas"] == 1
    assert _option(data, 17_281, "flan-ul2-sagemaker")["replicas"] == 2
    capacity = hosted["capacity"]
    assert capacity["per_replica_requests_per_second"] == pytest.approx(0.2)
    assert "5 s each" in capacity["source"]
    pair = next(b for b in data["breakeven"] if b["between"] == ["chatgpt", "flan-ul2-sagemaker"])
    assert pair["requests_per_day"] == [] and pair["cheaper_throughout"] == "chatgpt"


def test_roofline_options_show_what_batching_changes(llmecon: Callable[..., Run]) -> None:
    data = _compare(llmecon, EXAMPLES / "article-capacity.yaml")
    int8 = _option(data, 1e6, "flan-ul2-int8-estimated")
    int4 = _option(data, 1e6, "flan-ul2-int4-estimated")
    assert "concurrency 1 " in int8["capacity"]["source"]
    assert int4["replicas"] < int8["replicas"] / 4
    assert int4["daily_cost"] < _option(data, 1e6, "chatgpt")["daily_cost"]


def _scenario(tmp_path: Path, hosted: dict[str, Any], **workload: Any) -> Path:
    data = {
        "name": "capacity test",
        "workload": {"requests_per_day": [1000, 1e6], "input_tokens": 500, "output_tokens": 167,
                     **workload},
        "options": [
            {"name": "api", "api": {"input_per_1m": 0.15, "output_per_1m": 0.6}},
            {"name": "hosted", "self_hosted": hosted},
        ],
    }  # fmt: skip
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_autoscaled_and_fixed_fleets_are_both_shown(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    hosted = {"hourly_price": 1.0, "capacity": {"requests_per_second": 2, "autoscale": True}}
    data = _compare(llmecon, _scenario(tmp_path, hosted, daily_profile=PEAKY))
    option = _option(data, 1e6, "hosted")
    capacity = option["capacity"]
    assert len(set(capacity["replicas_by_hour"])) > 1
    assert option["daily_cost"] == pytest.approx(sum(capacity["replicas_by_hour"]) * 1.0)
    assert capacity["fixed_fleet_daily_cost"] == pytest.approx(option["replicas"] * 24.0)
    assert capacity["fixed_fleet_daily_cost"] > option["daily_cost"]
    table = llmecon("compare", str(_scenario(tmp_path, hosted, daily_profile=PEAKY))).out
    assert "autoscaled by hour" in table and "sized for the peak all day" in table


def test_staircase_break_even_has_several_crossings(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    # $24/day replicas serving 0.125 req/s (10,800/day) against an API costing $0.0025/request:
    # the API passes each step inside it, and each new replica jumps back above the API.
    path = tmp_path / "stairs.yaml"
    path.write_text(yaml.safe_dump({
        "name": "stairs",
        "workload": {"requests_per_day": 1000, "tokens_per_request": 1000},
        "options": [
            {"name": "api", "api": {"price_per_1k_tokens": 0.0025}},
            {"name": "hosted", "self_hosted": {"hourly_price": 1.0,
                                               "capacity": {"requests_per_second": 0.125}}},
        ],
    }))  # fmt: skip
    (breakeven,) = _compare(llmecon, path)["breakeven"]
    volumes = breakeven["requests_per_day"]
    assert len(volumes) > 10
    assert volumes[:3] == [pytest.approx(9600, abs=0.1), pytest.approx(10800, rel=1e-6),
                           pytest.approx(19200, abs=0.1)]  # fmt: skip
    assert [c["cheaper_above"] for c in breakeven["crossings"][:2]] == ["hosted", "api"]


def test_spot_pricing(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    hosted = {"instance": "g5.xlarge", "pricing": "spot", "replicas": 1}
    option = _option(_compare(llmecon, _scenario(tmp_path, hosted)), 1000, "hosted")
    assert option["daily_cost"] == pytest.approx(0.433 * 24)
    assert "(spot)" in option["line_items"][0]["source"]


def test_profile_from_a_bench_result(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    (tmp_path / "bench.json").write_text(json.dumps({"endpoint": "http://x/v1", "runs": [
        {"summary": {"requests_per_second": 9.0}, "health": {"valid": False}},
        {"summary": {"requests_per_second": 3.0, "goodput_requests_per_second": 2.5}},
        {"summary": {"requests_per_second": 2.0}},
    ]}))  # fmt: skip
    hosted = {"hourly_price": 1.0, "capacity": {"profile": "bench.json"}}
    option = _option(_compare(llmecon, _scenario(tmp_path, hosted)), 1e6, "hosted")
    assert option["capacity"]["per_replica_requests_per_second"] == 2.5
    assert option["replicas"] == 5  # 11.57 / 2.5 = 4.63
    assert "measured: bench.json" in option["capacity"]["source"]


BAD = [
    ({"hourly_price": 1, "replicas": 2, "capacity": {"requests_per_second": 1}}, {},
     "options[1].self_hosted", "not both"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1, "seconds_per_request": 5}}, {},
     "options[1].self_hosted.capacity", "exactly one of seconds_per_request"),
    ({"hourly_price": 1, "capacity": {}}, {}, "capacity", "exactly one of"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1, "concurrency": 2}}, {},
     "capacity", "concurrency goes with seconds_per_request"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1, "peak_factor": 2}},
     {"daily_profile": PEAKY}, "options[1].self_hosted.capacity.peak_factor",
     "remove peak_factor"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1}}, {"daily_profile": [1] * 23},
     "workload.daily_profile", "give 24"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1}}, {"daily_profile": [0] * 24},
     "workload.daily_profile", "all 0"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1, "target_utilization": 0}}, {},
     "capacity.target_utilization", "greater than 0"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1, "target_utilization": 1.5}}, {},
     "capacity.target_utilization", "less than or equal to 1"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1, "min_replicas": -1}}, {},
     "capacity.min_replicas", "at least 0"),
    ({"hourly_price": 1, "capacity": {"requests_per_second": 1, "peak_factor": 0.5}}, {},
     "capacity.peak_factor", "at least 1"),
    ({"hourly_price": 1, "capacity": {"estimate": {"model": "gpt-9", "gpu": "A10G"}}}, {},
     "capacity.estimate.model", "unknown model"),
    ({"hourly_price": 1, "capacity": {"estimate": {"model": "llama-3.1-8b"}}}, {},
     "capacity.estimate.gpu", "missing GPU"),
    ({"instance": "g5.xlarge", "capacity": {"estimate": {"model": "llama-3.1-70b"}}}, {},
     "capacity.estimate", "does not fit" ),
    ({"hourly_price": 1, "pricing": "spot"}, {}, "options[1].self_hosted", "needs instance"),
    ({"instance": "ml.g5.4xlarge", "pricing": "spot"}, {}, "self_hosted.pricing",
     "no spot price"),
    ({"hourly_price": 1, "capacity": {"profile": "missing.json"}}, {},
     "capacity.profile", "no such file"),
]  # fmt: skip


@pytest.mark.parametrize(("hosted", "workload", "where", "what"), BAD)
def test_bad_capacity(
    tmp_path: Path,
    llmecon: Callable[..., Run],
    hosted: dict[str, Any],
    workload: dict[str, Any],
    where: str,
    what: str,
) -> None:
    run = llmecon("compare", str(_scenario(tmp_path, hosted, **workload)))
    assert run.code == 2 and run.out == ""
    (line,) = run.err.strip().splitlines()
    assert where in line and what in line, line


def test_output_rate_needs_output_tokens(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "x", "workload": {"requests_per_day": 1, "tokens_per_request": 10},
        "options": [{"name": "h", "self_hosted": {
            "hourly_price": 1, "capacity": {"output_tokens_per_second": 100}}}],
    }))  # fmt: skip
    run = llmecon("compare", str(path))
    assert (
        run.code == 2 and "output_tokens_per_second: needs the workload's output_tokens" in run.err
    )


def test_invalid_bench_profile(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    (tmp_path / "bench.json").write_text("{not json")
    hosted = {"hourly_price": 1.0, "capacity": {"profile": "bench.json"}}
    run = llmecon("compare", str(_scenario(tmp_path, hosted)))
    assert run.code == 2 and "cannot read" in run.err and "as JSON" in run.err
