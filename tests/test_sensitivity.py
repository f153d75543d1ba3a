"""Issue 14: `llmecon sensitivity` finds which input flips the decision, and where."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import Run
from llmecon.core.sensitivity import sensitivity
from llmecon.pricebook.book import PriceBook
from llmecon.scenario import scenario_from_data

# API: 1,000 + 1,000 tokens at $1/1M each = $0.002/request, $200/day at 100,000 requests/day.
# Fleet: a fixed replica at $10/h = $240/day. The API wins by $40/day.
SCENARIO = {
    "name": "flip",
    "workload": {"requests_per_day": 100_000, "input_tokens": 1_000, "output_tokens": 1_000},
    "options": [
        {"name": "api", "api": {"input_per_1m": 1.0, "output_per_1m": 1.0}},
        {"name": "fleet", "self_hosted": {"hourly_price": 10.0, "replicas": 1}},
    ],
}


def test_flip_points_match_the_arithmetic(book: PriceBook) -> None:
    result = sensitivity(scenario_from_data(SCENARIO, book, "test"))
    assert result.choice == "api"
    assert result.margin == pytest.approx(40.0)
    swings = {s.factor: s for s in result.swings}
    # API dearer by 20% (or 20% more tokens, or 20% more volume) costs $240 too: the flip
    for name in ("API price", "tokens per request", "volume"):
        assert swings[name].flip_at == pytest.approx(1.2, rel=1e-6), name
        assert swings[name].choice_high == "fleet"
    assert swings["instance price"].flip_at == pytest.approx(200 / 240, rel=1e-6)
    assert swings["instance price"].margin_high == pytest.approx(240 * 2 - 200)
    # a fixed fleet does not depend on throughput or utilisation
    assert swings["target utilisation"].flip_at is None
    assert swings["target utilisation"].width == 0
    assert result.swings[-1].width <= result.swings[0].width


def test_sensitivity_cli_table_json_plot(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    run = llmecon("sensitivity", str(path), "--plot", str(tmp_path / "t.png"))
    assert run.code == 0, run.err
    assert "API price x1.2 flips the decision away from api" in run.out
    assert (tmp_path / "t.png").stat().st_size > 0
    data = json.loads(llmecon("sensitivity", str(path), "--format", "json").out)
    assert data["choice"] == "api" and len(data["swings"]) == 6
    one = {**SCENARIO, "options": SCENARIO["options"][:1]}
    path.write_text(yaml.safe_dump(one))
    bad = llmecon("sensitivity", str(path))
    assert bad.code == 2 and "at least two options" in bad.err
