"""`plan --quality EVAL.json [--min-accuracy]`: accuracy and cost per correct answer in a plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PLAN = ("plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000", "--input-tokens",
        "500", "--output-tokens", "167", "--ttft-p95", "1000", "--tpot", "50", "--top", "3",
        "--api", "gpt-4o-mini", "--api", "claude-haiku-4-5")  # fmt: skip


def write_eval(tmp_path: Path, endpoints: list[dict[str, Any]]) -> Path:
    path = tmp_path / "eval.json"
    document = {"format": "llmecon-eval", "version": 1, "dataset": "t.jsonl", "items": 200,
                "endpoints": endpoints}  # fmt: skip
    path.write_text(json.dumps(document))
    return path


def test_accuracy_and_cost_per_correct(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    path = write_eval(tmp_path, [
        {"name": "llama-3.1-8b", "items": 200, "correct": 170},
        {"name": "gpt-4o-mini", "items": 200, "correct": 186},
    ])  # fmt: skip
    run = llmecon(*PLAN, "--quality", str(path), "--min-accuracy", "0.9", "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    rows = {row["name"]: row for row in data["quality"]["options"]}
    best = data["candidates"][0]
    (self_row,) = [row for row in rows.values() if row["kind"] == "self_hosted"]
    assert best["instance"] in self_row["name"] and self_row["accuracy"] == 0.85
    assert self_row["daily_cost"] == pytest.approx(best["daily_cost"])
    assert self_row["cost_per_correct_answer"] == pytest.approx(best["daily_cost"] / 1e6 / 0.85)
    assert self_row["meets_bar"] is False
    mini = rows["gpt-4o-mini"]
    assert mini["cost_per_correct_answer"] == pytest.approx(mini["daily_cost"] / 1e6 / 0.93)
    assert mini["meets_bar"] is True
    assert rows["claude-haiku-4-5"]["accuracy"] is None  # not measured: never meets a bar
    hosted = [row for row in data["quality"]["options"] if row["kind"] == "hosted"]
    assert hosted and all(row["accuracy"] == 0.85 for row in hosted)  # the same weights
    assert data["quality"]["cheapest_meeting_bar"] == "gpt-4o-mini"
    table = llmecon(*PLAN, "--quality", str(path), "--min-accuracy", "0.9")
    assert "per correct answer" in table.out and "BELOW BAR" in table.out
    assert "Cheapest option meeting the bar: gpt-4o-mini" in table.out


def test_without_a_bar_the_cheapest_measured_wins(
    llmecon: Callable[..., Any], tmp_path: Path
) -> None:
    path = write_eval(tmp_path, [{"name": "llama-3.1-8b", "items": 10, "correct": 9}])
    data = json.loads(llmecon(*PLAN, "--quality", str(path), "--format", "json").out)
    cheapest = min(
        (row for row in data["quality"]["options"] if row["accuracy"] is not None),
        key=lambda row: row["daily_cost"],
    )
    assert data["quality"]["cheapest_meeting_bar"] == cheapest["name"]


def test_plan_quality_errors(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    run = llmecon(*PLAN, "--min-accuracy", "0.9")
    assert run.code == 2 and "--min-accuracy needs --quality" in run.err
    path = write_eval(tmp_path, [{"name": "other", "items": 10, "correct": 9}])
    run = llmecon(*PLAN, "--quality", str(path))
    assert run.code == 2 and "no endpoint is named like the model (llama-3.1-8b)" in run.err
    run = llmecon(*PLAN, "--quality", str(tmp_path / "none.json"))
    assert run.code == 2 and "does not exist" in run.err
