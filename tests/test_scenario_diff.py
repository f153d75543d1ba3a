"""Issue 14: `compare A.yaml B.yaml --diff` shows what changed and what it did."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from conftest import Run

BASE = {
    "name": "base",
    "workload": {"requests_per_day": [100_000], "input_tokens": 1_000, "output_tokens": 1_000},
    "options": [
        {"name": "api", "api": {"input_per_1m": 1.0, "output_per_1m": 1.0}},
        {"name": "fleet", "self_hosted": {"hourly_price": 10.0, "replicas": 1}},
    ],
}


def _files(tmp_path: Path) -> tuple[Path, Path]:
    changed = yaml.safe_load(yaml.safe_dump(BASE))
    changed["options"][1]["self_hosted"]["hourly_price"] = 5.0  # $120/day: now cheaper
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(yaml.safe_dump(BASE))
    second.write_text(yaml.safe_dump(changed))
    return first, second


def test_diff_names_the_change_and_its_effect(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    first, second = _files(tmp_path)
    run = llmecon("compare", str(first), str(second), "--diff")
    assert run.code == 0, run.err
    assert "options[fleet].self_hosted.hourly_price" in run.out
    assert "-50.0%" in run.out
    # $0.002/request against $240/day and then $120/day: 120,000 -> 60,000 requests/day
    assert "break-even api / fleet: 120,000 -> 60,000 requests/day" in run.out
    assert "at 100,000 requests/day the cheapest changes: api -> fleet" in run.out
    data = json.loads(llmecon("compare", str(first), str(second), "--diff", "--format", "json").out)
    assert data["changes"] == [
        {"key": "options[fleet].self_hosted.hourly_price", "before": 10.0, "after": 5.0}
    ]
    fleet = next(c for c in data["costs"] if c["option"] == "fleet")
    assert (fleet["before"], fleet["after"]) == (240.0, 120.0)


def test_diff_needs_two_files(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    first, second = _files(tmp_path)
    one = llmecon("compare", str(first), "--diff")
    assert one.code == 2 and "--diff compares two scenario files" in one.err
    two = llmecon("compare", str(first), str(second))
    assert two.code == 2 and "add --diff" in two.err
