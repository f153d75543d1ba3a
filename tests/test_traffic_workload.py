"""Issue 14: observed traffic as a workload. A month of hourly-varying traffic with a known peak
gets the replicas that peak needs; the API bill is the sum over requests."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import Run
from llmecon.core.comparison import compare
from llmecon.pricebook.book import PriceBook
from llmecon.scenario import load_scenario

PEAK_DAY, PEAK_HOUR, PEAK_REQUESTS = 17, 14, 9_000  # 2.5 req/s in that hour
PER_REPLICA_RPS = 0.4


def _month(path: Path) -> list[tuple[int, int, int]]:
    """October 2026, one CSV row per request; hourly counts vary; one hour far busier."""
    rows: list[tuple[int, int, int]] = []
    lines = ["timestamp,model,prompt_tokens,completion_tokens,cached_tokens"]
    for day in range(31):
        for hour in range(24):
            count = 20 + 30 * (8 <= hour <= 18) + (day % 7)
            if (day, hour) == (PEAK_DAY, PEAK_HOUR):
                count = PEAK_REQUESTS
            for i in range(count):
                prompt = 100 + (i * 37 + hour * 11 + day) % 3000
                completion = 20 + (i * 13 + day) % 400
                cached = prompt // 2 if i % 3 == 0 else 0
                second = (i * 3600) // count
                lines.append(
                    f"2026-10-{day + 1:02d}T{hour:02d}:{second // 60:02d}:{second % 60:02d}Z,"
                    f"gpt-4o-mini,{prompt},{completion},{cached}"
                )
                rows.append((prompt, completion, cached))
    path.write_text("\n".join(lines) + "\n")
    return rows


def _scenario(tmp_path: Path, autoscale: bool = False) -> Path:
    data = {
        "name": "observed month",
        "workload": {"traffic": "month.csv"},
        "options": [
            {"name": "gpt-4o-mini", "api": {"model": "gpt-4o-mini"}},
            {"name": "mini-by-hand", "api": {"input_per_1m": 0.15, "output_per_1m": 0.6,
                                            "cached_input_per_1m": 0.075}},
            {
                "name": "fleet",
                "self_hosted": {
                    "hourly_price": 2.0,
                    "capacity": {"requests_per_second": PER_REPLICA_RPS, "autoscale": autoscale},
                },
            },
        ],
    }  # fmt: skip
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def month(tmp_path: Path) -> list[tuple[int, int, int]]:
    return _month(tmp_path / "month.csv")


def test_fleet_sized_for_the_observed_peak_and_api_summed_per_request(
    tmp_path: Path, month: list[tuple[int, int, int]], book: PriceBook
) -> None:
    scenario = load_scenario(_scenario(tmp_path), book)
    result = compare(scenario).results[0]
    bills = {bill.option: bill for bill in result.bills}
    peak_rps = PEAK_REQUESTS / 3600
    assert bills["fleet"].replicas == math.ceil(peak_rps / PER_REPLICA_RPS) == 7
    days = 31
    assert result.requests_per_day == pytest.approx(len(month) / days)
    # the bill by hand: every request's own tokens at $0.15/$0.075 cached/$0.60 per 1M
    by_hand = sum(
        ((p - c) * 0.15 + c * 0.075 + o * 0.6) / 1e6 for p, o, c in month
    )  # fmt: skip
    assert bills["mini-by-hand"].daily_cost * days == pytest.approx(by_hand, rel=1e-9)
    # the catalog model's rates give the same sum when they are the same rates
    assert bills["fleet"].daily_cost == pytest.approx(7 * 24 * 2.0)


def test_autoscaled_fleet_follows_the_observed_average_day(
    tmp_path: Path, month: list[tuple[int, int, int]], book: PriceBook
) -> None:
    scenario = load_scenario(_scenario(tmp_path, autoscale=True), book)
    bill = next(b for b in compare(scenario).results[0].bills if b.option == "fleet")
    assert bill.fleet is not None
    # the busiest hour of the average day holds 1/31 of the peak hour's excess
    assert max(bill.fleet.replicas_by_hour) < 7


def test_compare_traffic_prints_the_summary(
    tmp_path: Path, month: list[tuple[int, int, int]], llmecon: Callable[..., Run]
) -> None:
    run = llmecon(
        "compare", "--traffic", str(tmp_path / "month.csv"), "--api", "gpt-4o-mini",
        "--self-hosted", "g6e.xlarge", "--model", "llama-3.1-8b",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "over 2026-10-01..2026-11-01 you paid $" in run.out
    assert "replicas of g6e.xlarge, peak 2.5 req/s" in run.out or "replica of g6e" in run.out


def test_traffic_excludes_other_workload_keys(
    tmp_path: Path, month: list[tuple[int, int, int]], llmecon: Callable[..., Run]
) -> None:
    path = _scenario(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["workload"]["requests_per_day"] = 5
    path.write_text(yaml.safe_dump(data))
    run = llmecon("compare", str(path))
    assert run.code == 2
    assert "workload.requests_per_day: workload.traffic gives the volume" in run.err


def test_traffic_show_cli(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "traffic" / "litellm_spend_logs.csv"
    run = llmecon("traffic", "show", str(fixture), "--plot", str(tmp_path / "t.png"))
    assert run.code == 0, run.err
    assert "peak hour" in run.out and (tmp_path / "t.png").stat().st_size > 0
    saved = tmp_path / "t.npz"
    run = llmecon("traffic", "import", str(fixture), "--output", str(saved))
    assert run.code == 0 and "60 records" in run.out
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,model,prompt_tokens,completion_tokens\n2026-10-01T00:00:00,m,1,2\n")
    run = llmecon("traffic", "show", str(bad))
    assert run.code == 2 and "has no time zone" in run.err and run.err.count("\n") == 1


def test_plan_traffic_equals_the_flags_it_stands_for(llmecon: Callable[..., Run]) -> None:
    from llmecon.traffic import profile_traffic, read_traffic

    fixture = str(Path(__file__).parent / "fixtures" / "traffic" / "openai_usage_export.csv")
    found = profile_traffic(read_traffic(fixture))
    common = ("plan", "--model", "llama-3.1-8b", "--format", "json", "--top", "2")
    by_traffic = llmecon(*common, "--traffic", fixture)
    by_flags = llmecon(
        *common, "--requests-per-day", repr(found.requests_per_day),
        "--input-tokens", str(round(found.prompt.mean)),
        "--output-tokens", str(round(found.completion.mean)),
        "--peak-factor", repr(found.peak_factor),
    )  # fmt: skip
    assert by_traffic.code == 0, by_traffic.err
    assert by_traffic.out == by_flags.out
    clash = llmecon(*common, "--traffic", fixture, "--requests-per-day", "5")
    assert clash.code == 2 and "drop --requests-per-day" in clash.err


def test_long_context_tier_is_chosen_per_request() -> None:
    import numpy as np

    from llmecon.core.options import ApiOption
    from llmecon.core.prices import ContextTier, Price
    from llmecon.core.token_pricing import TokenPricing
    from llmecon.core.traffic_workload import ObservedTraffic, observed_items

    def per_1m(amount: float) -> Price:
        return Price(amount, "1M tokens", "test", per=1e6)

    pricing = TokenPricing(
        input=per_1m(1.0), output=per_1m(4.0), cached_input=per_1m(0.25),
        tiers=(ContextTier(200_000, per_1m(2.0), per_1m(8.0)),),
    )  # fmt: skip
    prompts = [1_000, 250_000, 199_999, 300_000]
    outputs = [100, 200, 300, 400]
    cached = [500, 0, 0, 100_000]
    traffic = ObservedTraffic(
        np.ones(4, dtype=np.int64), np.array(prompts), np.array(outputs), np.array(cached),
        days=2.0, peak_factor=1.0, hour_of_day=(1.0,) * 24,
    )  # fmt: skip
    items = observed_items(ApiOption("m", pricing), traffic)
    by_hand = 0.0
    for prompt, output, hit in zip(prompts, outputs, cached, strict=True):
        rate_in, rate_out = (2.0, 8.0) if prompt > 200_000 else (1.0, 4.0)
        cached_rate = 0.25 * rate_in  # the tier raises cached tokens by the same ratio
        by_hand += ((prompt - hit) * rate_in + hit * cached_rate + output * rate_out) / 1e6
    assert sum(i.daily_cost for i in items) * 2.0 == pytest.approx(by_hand, rel=1e-12)
    assert any("prompt > 200,000 tokens" in i.name for i in items)
