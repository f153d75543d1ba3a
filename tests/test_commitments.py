"""Issue 12: committed prices (EC2 Reserved Instances): sourced, dated, amortized, side by side."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from conftest import EXAMPLES, Run
from llmecon.core.commitments import COMMITMENT_KEYS, commitment
from llmecon.pricebook.book import PriceBook

SOURCE_COMMIT = "2d0108c7bd261c8e40493fbd35135437bd6c9099"
PLAN = ("plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000", "--input-tokens",
        "500", "--output-tokens", "167", "--ttft-p95", "1000", "--tpot", "50")  # fmt: skip

# Rates as the source states them (tsaol/aws-gpu data/gpu_instances_raw.json @ 2d0108c7,
# pricing.us-east-1.linux.reserved.yrTerm{1,3}Standard.*): instance -> key -> $/h effective.
EXPECTED = {
    "g6e.xlarge": {
        "reserved_1y_no_upfront": 1.17243, "reserved_1y_partial_upfront": 1.116633,
        "reserved_1y_all_upfront": 1.094292, "reserved_3y_no_upfront": 0.80395,
        "reserved_3y_partial_upfront": 0.744384, "reserved_3y_all_upfront": 0.699734,
    },
    "g5.xlarge": {
        "reserved_1y_no_upfront": 0.63378, "reserved_1y_partial_upfront": 0.603626,
        "reserved_1y_all_upfront": 0.591553, "reserved_3y_no_upfront": 0.43459,
        "reserved_3y_partial_upfront": 0.402418, "reserved_3y_all_upfront": 0.378272,
    },
    "g4dn.xlarge": {
        "reserved_1y_no_upfront": 0.331, "reserved_1y_partial_upfront": 0.315763,
        "reserved_1y_all_upfront": 0.309247, "reserved_3y_no_upfront": 0.227,
        "reserved_3y_partial_upfront": 0.210213, "reserved_3y_all_upfront": 0.197793,
    },
    "g6.xlarge": {"reserved_1y_no_upfront": 0.52392, "reserved_3y_all_upfront": 0.321499},
    "g6e.12xlarge": {"reserved_1y_no_upfront": 6.61036, "reserved_3y_all_upfront": 3.945244},
    "p4d.24xlarge": {
        "reserved_1y_no_upfront": 13.921094, "reserved_1y_partial_upfront": 13.258202,
        "reserved_1y_all_upfront": 12.993037, "reserved_3y_no_upfront": 9.374219,
        "reserved_3y_partial_upfront": 8.679832, "reserved_3y_all_upfront": 8.159056,
    },
    # AWS offers p5 Reserved Instances for 3 years only
    "p5.48xlarge": {
        "reserved_3y_no_upfront": 23.77728, "reserved_3y_partial_upfront": 22.015991,
        "reserved_3y_all_upfront": 20.695053,
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("instance", "key"), [(i, k) for i, rates in EXPECTED.items() for k in rates]
)
def test_each_commitment_rate_with_source_and_date(
    book: PriceBook, instance: str, key: str
) -> None:
    rate = book.instance(instance).commitments[key]
    assert rate.amount == EXPECTED[instance][key]
    assert rate.as_of == date(2025, 11, 30)
    assert SOURCE_COMMIT in rate.source and key in rate.source and "vantage" in rate.source


def test_p5_has_no_one_year_rate(book: PriceBook) -> None:
    assert set(book.instance("p5.48xlarge").commitments) == {
        "reserved_3y_no_upfront", "reserved_3y_partial_upfront", "reserved_3y_all_upfront"
    }  # fmt: skip


def test_every_commitment_is_consistent_with_the_catalog(book: PriceBook) -> None:
    """The source's on-demand price equals ours; longer terms and more upfront cost less."""
    raw = Path(__file__).parents[1] / "src/llmecon/data/prices/aws_commitments.yaml"
    import yaml

    entries = yaml.safe_load(raw.read_text())["entries"]
    assert len(entries) == 27
    for entry in entries:
        instance = book.instance(entry["instance"])
        assert instance.service == "ec2" and instance.region == "us-east-1"
        # equal, to the catalog's rounding (g6e.2xlarge: 2.24208 in the source, 2.242 in ours)
        assert entry["on_demand_in_source"] == pytest.approx(instance.hourly.amount, rel=1e-3)
        rates = instance.commitments
        assert all(0 < r.amount < instance.hourly.amount for r in rates.values())
        for years in ("1y", "3y"):
            no, partial, full = (rates.get(f"reserved_{years}_{p}_upfront") for p in
                                 ("no", "partial", "all"))  # fmt: skip
            if no and partial and full:
                assert full.amount < partial.amount < no.amount
        if "reserved_1y_no_upfront" in rates:
            assert rates["reserved_3y_no_upfront"].amount < rates["reserved_1y_no_upfront"].amount
    assert not book.instance("ml.g5.xlarge").commitments  # SageMaker: none sourced


def test_amortization_arithmetic_by_hand() -> None:
    # All Upfront, 3 years: the fee is the effective rate x 3 x 8,760 h = 0.699734 x 26,280
    full = commitment("reserved_3y_all_upfront", 0.699734)
    assert full.term_hours == 26_280
    assert full.upfront_per_machine == pytest.approx(18_389.00952)
    assert full.recurring_hourly == 0
    lines = dict(full.lines(2))
    assert lines["upfront fee, 2 x $18,389.01"] == pytest.approx(36_778.01904)
    # 2 x 0.699734 x 24
    assert lines["upfront amortized over 26,280 h, per day"] == pytest.approx(33.587232)
    assert lines["committed over 3 year(s), used or not"] == pytest.approx(36_778.01904)
    # No Upfront, 1 year: no fee; 1.17243 $/h for 8,760 h = 10,270.4868 per machine
    none = commitment("reserved_1y_no_upfront", 1.17243)
    assert none.upfront_per_machine == 0 and none.recurring_hourly == 1.17243
    assert dict(none.lines(1)) == {
        "hourly charge, 1 x $1.17243/h, per day": pytest.approx(28.13832),
        "committed over 1 year(s), used or not": pytest.approx(10_270.4868),
    }
    # Partial Upfront: the source gives only the effective rate, so the split is not invented
    partial = commitment("reserved_1y_partial_upfront", 1.116633)
    assert partial.upfront_per_machine is None and partial.recurring_hourly is None
    assert dict(partial.lines(1))["upfront fee (share not stated by the source)"] is None


def test_commitment_key_is_checked() -> None:
    with pytest.raises(ValueError, match="not a commitment"):
        commitment("savings_plan_1y", 1.0)
    assert len(COMMITMENT_KEYS) == 6


def test_plan_lists_pricing_side_by_side(book: PriceBook, llmecon: Callable[..., Run]) -> None:
    kinds = "on_demand,reserved_1y_no_upfront,reserved_3y_all_upfront"
    run = llmecon(*PLAN, "--pricing", kinds, "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    rows = {row["pricing"]: row for row in data["pricing"]}
    assert list(rows) == kinds.split(",")
    for kind, row in rows.items():
        price = book.instance(row["instance"])
        rate = price.hourly if kind == "on_demand" else price.commitments[kind]
        assert row["hourly_rate"] == rate.amount
        assert row["daily_cost"] == pytest.approx(rate.amount * 24 * row["machines"])
    assert rows["on_demand"]["saving_vs_on_demand"] == 0
    full = rows["reserved_3y_all_upfront"]
    lines = {line["item"]: line["usd"] for line in full["commitment"]["lines"]}
    upfront = full["hourly_rate"] * 26_280 * full["machines"]
    assert lines[f"upfront fee, {full['machines']} x ${upfront / full['machines']:,.2f}"] == (
        pytest.approx(upfront)
    )
    assert "used or not" in full["commitment"]["note"]
    # committed machines are candidates too: the cheapest self-hosted plan is now committed
    assert data["candidates"][0]["pricing"] == "reserved_3y_all_upfront"


def test_plan_table_shows_commitment_lines(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*PLAN, "--no-hosted", "--pricing", "on_demand,reserved_3y_all_upfront")
    assert run.code == 0, run.err
    assert "Pricing side by side" in run.out
    assert "upfront amortized over 26,280 h" in run.out
    assert "paid whether the machines are used or not" in run.out


def test_commitments_change_the_cheapest_self_hosted_plan(llmecon: Callable[..., Run]) -> None:
    """At 1M requests/day the cheapest self-hosted plan on demand loses to a hosted Llama
    offer; committed for 3 years all upfront it is within a few percent of it."""
    base = json.loads(llmecon(*PLAN, "--format", "json").out)
    both = json.loads(llmecon(*PLAN, "--format", "json", "--pricing",
                              "on_demand,reserved_3y_all_upfront").out)  # fmt: skip
    assert base["candidates"][0]["pricing"] == "on_demand"
    assert both["candidates"][0]["pricing"] == "reserved_3y_all_upfront"
    assert both["candidates"][0]["daily_cost"] < 0.4 * base["candidates"][0]["daily_cost"]


@pytest.mark.parametrize(
    ("pricing", "needle"),
    [("savings_plan_1y", "no dated per-instance Savings Plans"),
     ("reserved_2y_no_upfront", "unknown pricing 'reserved_2y_no_upfront'")],
)  # fmt: skip
def test_bad_pricing_is_one_line(llmecon: Callable[..., Run], pricing: str, needle: str) -> None:
    run = llmecon(*PLAN, "--pricing", pricing)
    assert run.code == 2 and needle in run.err and len(run.err.strip().splitlines()) == 1


def test_commitments_need_ec2(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*PLAN, "--pricing", "reserved_1y_no_upfront", "--service", "sagemaker")
    assert run.code == 2 and "commitments are priced for EC2 only" in run.err


SCENARIO = """name: committed
workload: {requests_per_day: 200000, input_tokens: 500, output_tokens: 167}
options:
  - name: llama
    self_hosted:
      instance: g6e.xlarge
      pricing: PRICING
      replicas: 2
"""


def _scenario(tmp_path: Path, pricing: str, extra: str = "") -> str:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("PRICING", pricing) + extra)
    return str(path)


def test_scenario_commitment_is_priced_and_noted(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    run = llmecon("compare", _scenario(tmp_path, "reserved_3y_all_upfront"), "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    text = json.dumps(data)
    assert "upfront fee, 2 x $18,389.01" in text and "used or not" in text
    costs = data["results"][0]["options"][0]
    assert costs["daily_cost"] == pytest.approx(2 * 0.699734 * 24)


@pytest.mark.parametrize(
    ("pricing", "extra", "needles"),
    [("savings_plan_3y", "", ["options[0].self_hosted", "no dated per-instance rates"]),
     ("reserved_5y", "", ["options[0].self_hosted", "use one of on_demand, spot"])],
)  # fmt: skip
def test_scenario_bad_pricing_is_one_line(
    tmp_path: Path, llmecon: Callable[..., Run], pricing: str, extra: str, needles: list[str]
) -> None:
    run = llmecon("compare", _scenario(tmp_path, pricing, extra))
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1, run.err
    for needle in needles:
        assert needle in run.err


def test_scenario_commitment_unknown_for_instance(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    path = _scenario(tmp_path, "reserved_1y_no_upfront")
    Path(path).write_text(Path(path).read_text().replace("g6e.xlarge", "p5.48xlarge"))
    run = llmecon("compare", path)
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1
    assert "no reserved_1y_no_upfront rate is known for p5.48xlarge" in run.err


def test_prices_show_lists_committed_rates(llmecon: Callable[..., Run]) -> None:
    run = llmecon("prices", "show", "g6e.xlarge", "--format", "json")
    assert run.code == 0, run.err
    rates = json.loads(run.out)[0]["commitments"]
    assert rates["reserved_3y_all_upfront"]["amount"] == 0.699734
    assert rates["reserved_3y_all_upfront"]["as_of"] == "2025-11-30"
    table = llmecon("prices", "show", "g6e.xlarge")
    assert "commitments.reserved_1y_no_upfront: $1.17243 per instance-hour" in table.out
    assert "commitments" not in llmecon("prices", "show", "ml.g5.xlarge").out


def test_library_plan_takes_pricing_kinds(llmecon: Callable[..., Run]) -> None:
    import llmecon as api

    kinds = ["on_demand", "reserved_1y_all_upfront"]
    result = api.plan("llama-3.1-8b", requests_per_day=1_000_000, input_tokens=500,
                      output_tokens=167, ttft_p95_ms=1000, tpot_ms=50, pricing=kinds)  # fmt: skip
    run = llmecon(*PLAN, "--pricing", ",".join(kinds), "--format", "json")
    assert result.to_dict() == json.loads(run.out)
    assert [row["pricing"] for row in result.to_dict()["pricing"]] == kinds


def test_recommendation_flips_with_a_commitment(llmecon: Callable[..., Run]) -> None:
    """README: at 1,500,000 requests/day the hosted offer wins on demand; with a 3-year
    all-upfront commitment one g6e.xlarge does ($0.699734 x 24 = $16.79/day < $25.02)."""
    volume = ("--requests-per-day", "1500000")
    args = (*PLAN[:3], *volume, *PLAN[5:], "--format", "json")
    on_demand = json.loads(llmecon(*args).out)["recommendation"]
    committed = json.loads(llmecon(*args, "--pricing", "on_demand,reserved_3y_all_upfront").out)
    assert on_demand["kind"] == "hosted" and on_demand["daily_cost"] == pytest.approx(25.02)
    assert committed["recommendation"] == {
        "kind": "self_hosted", "name": "g6e.xlarge fp8 tp1 reserved_3y_all_upfront",
        "daily_cost": pytest.approx(0.699734 * 24),
    }  # fmt: skip
    # at 1,000,000 the hosted offer still wins, by $0.11/day
    at_1m = json.loads(llmecon(*PLAN, "--format", "json", "--pricing",
                               "on_demand,reserved_3y_all_upfront").out)  # fmt: skip
    assert at_1m["recommendation"]["kind"] == "hosted"
    assert at_1m["recommendation"]["daily_cost"] == pytest.approx(16.68)


def test_candidate_table_labels_committed_machines(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*PLAN, "--no-hosted", "--pricing", "reserved_3y_all_upfront", "--top", "1")
    assert "(reserved_3y_all_upfront)" in run.out


def test_reserved_example(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", str(EXAMPLES / "llama-reserved.yaml"), "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    at_high = {o["name"]: o for o in data["results"][1]["options"]}
    assert data["results"][1]["cheapest"] == "g6e-reserved-3y"
    assert at_high["g6e-reserved-3y"]["daily_cost"] == pytest.approx(0.699734 * 24)
    assert at_high["g6e-reserved-1y"]["daily_cost"] == pytest.approx(1.17243 * 24)
    assert at_high["g6e-on-demand"]["daily_cost"] == pytest.approx(1.861 * 24)
    assert data["results"][0]["cheapest"] == "llama-hosted"
    assert any("each machine is its own commitment" in note for note in data["notes"])


# --- compare shows the upfront payment and its amortization (issue 12 review R1) ------------


def _compare_option(llmecon: Callable[..., Run], path: str) -> dict[str, object]:
    run = llmecon("compare", path, "--format", "json")
    assert run.code == 0, run.err
    option: dict[str, object] = json.loads(run.out)["results"][0]["options"][0]
    return option


def test_compare_shows_the_upfront_fee_and_its_amortization_as_plan_does(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    # plan picks the instance and machine count; compare prices the same fleet
    run = llmecon(*PLAN, "--no-hosted", "--pricing", "reserved_3y_all_upfront", "--format", "json")
    assert run.code == 0, run.err
    planned = json.loads(run.out)["pricing"][0]
    instance, machines = planned["instance"], planned["machines"]
    path = _scenario(tmp_path, "reserved_3y_all_upfront")
    Path(path).write_text(
        Path(path).read_text().replace("g6e.xlarge", instance).replace("replicas: 2",
                                                                       f"replicas: {machines}")
    )  # fmt: skip
    option = _compare_option(llmecon, path)
    commitment_block = option["commitment"]
    assert isinstance(commitment_block, dict)
    assert commitment_block["lines"] == planned["commitment"]["lines"]  # the same numbers
    lines = {line["item"]: line["usd"] for line in commitment_block["lines"]}
    rate = planned["hourly_rate"]
    fee = rate * 26_280  # All Upfront: the whole term's effective rate, paid at purchase
    assert lines[f"upfront fee, {machines} x ${fee:,.2f}"] == pytest.approx(fee * machines)
    amortized = lines["upfront amortized over 26,280 h, per day"]
    assert amortized == pytest.approx(fee * machines / 26_280 * 24)
    # the daily bill: the amortized fee is its own line, and it is the whole daily cost
    (item,) = option["line_items"]  # type: ignore[misc]
    assert "upfront" in item["name"] and "amortized" in item["name"]
    assert item["daily_cost"] == pytest.approx(amortized)
    assert option["daily_cost"] == pytest.approx(amortized)


def test_compare_all_upfront_lines_by_hand(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    option = _compare_option(llmecon, _scenario(tmp_path, "reserved_3y_all_upfront"))
    # 2 x g6e.xlarge, $0.699734/h effective: fee 0.699734 x 26,280 = $18,389.00952 each
    (item,) = option["line_items"]  # type: ignore[misc]
    assert (
        item["name"] == "g6e.xlarge upfront fee (reserved_3y_all_upfront) amortized over 26,280 h"
    )
    assert (item["quantity"], item["unit"]) == (48, "instance-hour")
    assert item["unit_price"] == pytest.approx(18_389.00952 / 26_280)
    assert item["daily_cost"] == pytest.approx(33.587232)  # 2 x 18,389.00952 / 26,280 x 24
    block = option["commitment"]
    assert block["pricing"] == "reserved_3y_all_upfront" and block["machines"] == 2  # type: ignore[index]
    assert block["lines"][0] == {"item": "upfront fee, 2 x $18,389.01", "usd": 36_778.01904}  # type: ignore[index]


def test_compare_no_upfront_is_an_hourly_charge(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    option = _compare_option(llmecon, _scenario(tmp_path, "reserved_1y_no_upfront"))
    (item,) = option["line_items"]  # type: ignore[misc]
    assert item["name"] == "g6e.xlarge hourly charge (reserved_1y_no_upfront)"
    assert item["daily_cost"] == pytest.approx(2 * 1.17243 * 24)
    lines = {line["item"]: line["usd"] for line in option["commitment"]["lines"]}  # type: ignore[index]
    assert lines["hourly charge, 2 x $1.17243/h, per day"] == pytest.approx(2 * 1.17243 * 24)
    assert not any("upfront" in name for name in lines)


def test_compare_partial_upfront_does_not_invent_the_split(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    option = _compare_option(llmecon, _scenario(tmp_path, "reserved_1y_partial_upfront"))
    (item,) = option["line_items"]  # type: ignore[misc]
    assert "effective rate" in item["name"] and "split not stated" in item["name"]
    assert item["daily_cost"] == pytest.approx(2 * 1.116633 * 24)
    lines = {line["item"]: line["usd"] for line in option["commitment"]["lines"]}  # type: ignore[index]
    assert lines["upfront fee (share not stated by the source)"] is None


def test_compare_on_demand_has_no_commitment(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    option = _compare_option(llmecon, _scenario(tmp_path, "on_demand"))
    assert option["commitment"] is None
    assert option["line_items"][0]["name"] == "g6e.xlarge hours"  # type: ignore[index]
