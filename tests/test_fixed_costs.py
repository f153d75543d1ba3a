"""Issue 12: full cost of ownership (fixed_costs:) next to compute-only, each line sourced."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Run
from llmecon.core.comparison import compare
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.scenario import scenario_from_data

FIXED = {
    "labour": {"fte": 0.25, "loaded_salary_per_year": 200_000},
    "on_call_per_month": 1500,
    "monitoring_per_month": 300,
    "storage": {"gb": 16, "price_per_gb_month": 0.08},
    "data_transfer": {"price_per_gb": 0.09},
    "load_balancer_per_month": 20,
}
PER_DAY = {
    "engineering labour": 0.25 * 200_000 / 365,
    "on-call": 1500 * 12 / 365,
    "monitoring": 300 * 12 / 365,
    "storage for weights": 16 * 0.08 * 12 / 365,
    "data transfer out": 1e6 * 167 * 4 / 1e9 * 0.09,
    "load balancer": 20 * 12 / 365,
}


def _data(**fixed: Any) -> dict[str, Any]:
    return {
        "name": "tco",
        "workload": {"requests_per_day": [1_000_000], "input_tokens": 500, "output_tokens": 167},
        "options": [
            {"name": "api", "api": {"model": "gpt-4o-mini"}},
            {"name": "self", "self_hosted": {"instance": "g6e.xlarge", "replicas": 2}},
        ],
        "fixed_costs": fixed,
    }


def _bills(book: PriceBook, data: dict[str, Any]) -> dict[str, Any]:
    result = compare(scenario_from_data(data, book, "test"))
    return {bill.option: bill for bill in result.results[0].bills}


def test_each_fixed_cost_is_a_sourced_line_item(book: PriceBook) -> None:
    bills = _bills(book, _data(**FIXED))
    own = {i.name: i for i in bills["self"].line_items if i.category == "fixed"}
    assert set(own) == set(PER_DAY)
    for name, expected in PER_DAY.items():
        assert own[name].daily_cost == pytest.approx(expected), name
        assert own[name].source.startswith("your figure")
    compute = 2 * 24 * 1.861
    assert bills["self"].compute_daily_cost == pytest.approx(compute)
    assert bills["self"].daily_cost == pytest.approx(compute + sum(PER_DAY.values()))
    assert bills["api"].fixed_daily_cost == 0  # default: self-hosted options only


def test_applies_to_chooses_the_options(book: PriceBook) -> None:
    bills = _bills(book, _data(on_call_per_month=365, applies_to=["api"]))
    assert bills["api"].fixed_daily_cost == pytest.approx(12.0)
    assert bills["self"].fixed_daily_cost == 0
    with pytest.raises(LlmeconError, match="applies_to names no option nope"):
        _bills(book, _data(on_call_per_month=1, applies_to=["nope"]))


def test_unknown_key_is_an_error(book: PriceBook) -> None:
    with pytest.raises(LlmeconError, match="fixed_costs"):
        _bills(book, _data(labor={"fte": 1, "loaded_salary_per_year": 1}))


def test_compare_shows_compute_only_and_full_cost(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    path = tmp_path / "tco.yaml"
    path.write_text(yaml.safe_dump(_data(**FIXED)))
    data = json.loads(llmecon("compare", str(path), "--format", "json").out)
    own = next(o for o in data["results"][0]["options"] if o["name"] == "self")
    assert own["fixed_daily_cost"] == pytest.approx(sum(PER_DAY.values()), rel=1e-9)
    assert own["compute_daily_cost"] + own["fixed_daily_cost"] == pytest.approx(own["daily_cost"])
    table = llmecon("compare", str(path)).out
    assert "ownership: self: compute only $89.33/day, full cost of ownership" in table
