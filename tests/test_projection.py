"""Issue 14: growth projections, payback month with one-off costs, price-change what-ifs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import Run
from llmecon.core.projection import monthly_volumes, project
from llmecon.pricebook.book import PriceBook
from llmecon.scenario import scenario_from_data

DAYS_PER_MONTH = 365 / 12
SCENARIO = {
    "name": "payback",
    "workload": {"requests_per_day": 100_000, "input_tokens": 1_000, "output_tokens": 1_000},
    "options": [
        {"name": "api", "api": {"input_per_1m": 1.0, "output_per_1m": 1.0}},  # $0.002/request
        {"name": "fleet", "self_hosted": {"hourly_price": 10.0, "replicas": 1}},  # $240/day
    ],
    "one_off_costs": [{"name": "migration", "amount": 30_000}],
}


def test_payback_month_matches_a_hand_count(book: PriceBook) -> None:
    scenario = scenario_from_data(SCENARIO, book, "test")
    volumes = monthly_volumes(100_000, 0.08, 36)
    result = project(scenario, volumes)
    api_total, fleet_total, expected = 0.0, 30_000.0, None
    for month, volume in enumerate(volumes, start=1):
        api_total += volume * 0.002 * DAYS_PER_MONTH
        fleet_total += 240 * DAYS_PER_MONTH
        if expected is None and fleet_total <= api_total:
            expected = month
    assert expected is not None
    assert result.payback("fleet") == expected
    assert result.months[-1].cumulative["api"] == pytest.approx(api_total)
    # the fleet is cheaper per month once 100,000 x 1.08^(m-1) x $0.002 > $240: from month 4
    assert result.first_win("fleet") is not None
    assert result.first_win("fleet").month == 4


def test_price_change_applies_from_its_month(book: PriceBook) -> None:
    from llmecon.core.projection import PriceChange

    scenario = scenario_from_data(SCENARIO, book, "test")
    flat = project(scenario, (100_000.0,) * 6)
    raised = project(scenario, (100_000.0,) * 6, changes=(PriceChange("api", 1.5, 4),))
    assert [m.cost["api"] for m in raised.months[:3]] == [m.cost["api"] for m in flat.months[:3]]
    assert raised.months[3].cost["api"] == pytest.approx(1.5 * flat.months[3].cost["api"])


def test_compare_growth_cli(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    run = llmecon(
        "compare", str(path), "--growth", "8%/month", "--months", "36", "--start", "2026-12",
        "--price-change", "api=+50%@2027-06", "--format", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    data = json.loads(run.out)["projection"]
    assert len(data["months"]) == 36 and data["start"] == "2026-12"
    june = data["months"][6]
    assert june["month"] == "2027-06"
    base = 100_000 * 1.08**6 * 0.002 * DAYS_PER_MONTH
    assert june["cost"]["api"] == pytest.approx(base * 1.5)
    table = llmecon("compare", str(path), "--growth", "8%", "--start", "2026-12")
    assert "payback: fleet pays back in month" in table.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--growth", "fast"), "--growth 'fast': write a monthly rate"),
        (("--months", "3"), "--months and --price-change need --growth"),
        (("--growth", "8%", "--price-change", "nope=+5%"), "no option 'nope'"),
        (("--growth", "8%", "--price-change", "api=50"), "write OPTION=+50%@YYYY-MM"),
        (("--growth", "8%", "--start", "2027-01", "--price-change", "api=+5%@2026-06"),
         "before the projection's start"),
    ],
)  # fmt: skip
def test_projection_bad_input(
    tmp_path: Path, llmecon: Callable[..., Run], args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    run = llmecon("compare", str(path), *args)
    assert run.code == 2
    assert message in run.err


def test_one_off_costs_name_real_options(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    data = {**SCENARIO, "one_off_costs": [{"name": "x", "amount": 5, "applies_to": ["flet"]}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    run = llmecon("compare", str(path))
    assert run.code == 2 and "one_off_costs[0].applies_to: no option 'flet'" in run.err


def test_growth_observed_uses_the_traffic_trend(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    from datetime import UTC, datetime

    lines = ["timestamp,model,prompt_tokens,completion_tokens"]
    for day in range(60):
        count = round(100 * 1.08 ** (day / (365.25 / 12)))
        lines += [
            f"{datetime.fromtimestamp(1788220800 + day * 86400 + i * 60, UTC).isoformat()},m,10,5"
            for i in range(count)
        ]
    traffic = tmp_path / "grow.csv"
    traffic.write_text("\n".join(lines) + "\n")
    args = ("compare", "--traffic", str(traffic), "--api", "gpt-4o-mini", "--months", "3")
    run = llmecon(*args, "--growth", "observed", "--format", "json")
    assert run.code == 0, run.err
    months = json.loads(run.out)["projection"]["months"]
    ratio = months[1]["requests_per_day"] / months[0]["requests_per_day"]
    assert ratio == pytest.approx(1.08, abs=0.005)
    short = tmp_path / "short.csv"
    short.write_text("\n".join(lines[:500]) + "\n")
    run = llmecon(
        "compare", "--traffic", str(short), "--api", "gpt-4o-mini", "--growth", "observed"
    )
    assert (
        run.code == 2 and "--growth observed needs traffic with at least 14 whole days" in run.err
    )
