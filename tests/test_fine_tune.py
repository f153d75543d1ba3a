"""`fine_tune:`: a one-off training run per option, amortized per day as its own line item."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmecon.core.fine_tune import training_instance_hours, training_tokens

SCENARIO: dict[str, Any] = {
    "name": "fine-tuning",
    "workload": {"requests_per_day": [1000, 100000], "input_tokens": 500, "output_tokens": 100},
    "options": [
        {"name": "base", "api": {"input_per_1m": 0.15, "output_per_1m": 0.60}},
        {"name": "tuned-api", "api": {"input_per_1m": 0.30, "output_per_1m": 1.20}},
        {"name": "tuned-self", "self_hosted": {"hourly_price": 2.0, "replicas": 1}},
    ],
    "fine_tune": {
        "training_tokens": 5_000_000,
        "epochs": 3,
        "amortize_days": 90,
        "options": {
            "tuned-api": {"price_per_1m_training_tokens": 3.0},
            "tuned-self": {
                "training_tokens_per_second": 2500,
                "hourly_price": 2.0,
                "instances": 2,
            },
        },
    },
}


def run_json(llmecon: Callable[..., Any], tmp_path: Path, scenario: dict[str, Any]) -> Any:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return llmecon("compare", str(path), "--format", "json")


def test_core_arithmetic() -> None:
    assert training_tokens(5e6, 3) == 15e6
    # 15M tokens at 2,500 tokens/s = 6,000 s = 1.667 h, on 2 instances = 3.333 instance-hours
    assert training_instance_hours(5e6, 3, 2500, 2) == pytest.approx(10 / 3)
    with pytest.raises(ValueError):
        training_instance_hours(1, 1, 0)


def test_hand_computed_lines(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    run = run_json(llmecon, tmp_path, SCENARIO)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    bills = {o["name"]: o for o in data["results"][0]["options"]}
    (api_line,) = [i for i in bills["tuned-api"]["line_items"] if i["category"] == "fine_tune"]
    # 15M training tokens x $3/1M = $45 once; / 90 days = $0.50/day
    assert api_line["daily_cost"] == pytest.approx(0.5)
    assert api_line["unit"] == "1M training tokens"
    # 3.333 instance-hours x $2/h = $6.667 once; / 90 days = $0.074074/day
    (self_line,) = [i for i in bills["tuned-self"]["line_items"] if i["category"] == "fine_tune"]
    assert self_line["daily_cost"] == pytest.approx(20 / 3 / 90)
    # tuned-api at 1,000/day: tokens 1000 x (500 x 0.3 + 100 x 1.2)/1M = $0.27, plus $0.50
    assert bills["tuned-api"]["daily_cost"] == pytest.approx(0.27 + 0.5)
    assert bills["tuned-self"]["daily_cost"] == pytest.approx(48 + 20 / 3 / 90)
    assert not any(i["category"] == "fine_tune" for i in bills["base"]["line_items"])
    # the same amortized cost at every volume
    at_100k = {o["name"]: o for o in data["results"][1]["options"]}
    assert at_100k["tuned-api"]["daily_cost"] == pytest.approx(27 + 0.5)
    assert any("tuned-api: fine-tuning 5,000,000 tokens x 3 epochs" in n for n in data["notes"])
    assert any("$45.00 once, amortized over 90 days" in n for n in data["notes"])


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ({"nope": {"price_per_1m_training_tokens": 1}}, "fine_tune.options.nope: no option"),
        ({"tuned-api": {"price_per_1m_training_tokens": 1, "training_tokens_per_second": 5}},
         "give price_per_1m_training_tokens (a paid fine-tuning API) or"),
        ({"tuned-self": {"training_tokens_per_second": 5}}, "needs hourly_price or instance"),
        ({"tuned-api": {"price_per_1m_training_tokens": 1, "instance": "g6e.xlarge"}},
         "a paid fine-tuning API takes no hourly_price"),
        ({"tuned-self": {"training_tokens_per_second": 5, "instance": "nope.large"}},
         "fine_tune.options.tuned-self.instance:"),
        ({}, "fine_tune.options"),
    ],
)  # fmt: skip
def test_bad_fine_tune_blocks(
    llmecon: Callable[..., Any], tmp_path: Path, runs: dict[str, Any], message: str
) -> None:
    scenario = {**SCENARIO, "fine_tune": {**SCENARIO["fine_tune"], "options": runs}}
    run = run_json(llmecon, tmp_path, scenario)
    assert run.code == 2 and message in run.err and run.err.count("\n") == 1, run.err


def test_shipped_example_compares_the_three(llmecon: Callable[..., Any]) -> None:
    root = Path(__file__).resolve().parent.parent
    run = llmecon("compare", str(root / "examples" / "fine-tune.yaml"), "--format", "json")
    assert run.code == 0, run.err
    names = {o["name"] for o in json.loads(run.out)["results"][0]["options"]}
    assert names == {"base-api", "fine-tuned-api", "fine-tuned-self-hosted"}
