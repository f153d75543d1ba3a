"""The JSON contract of `llmecon compare`, and the CSV, Markdown and quick-form outputs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from conftest import EXAMPLES, Run

ARTICLE = str(EXAMPLES / "article-2023.yaml")
OPTION_KEYS = {
    "name", "kind", "rank", "cheapest", "daily_cost", "monthly_cost", "yearly_cost",
    "cost_per_request", "cost_per_1m_tokens", "replicas", "line_items",
}  # fmt: skip
LINE_ITEM_KEYS = {"name", "quantity", "unit", "unit_price", "daily_cost", "source", "as_of"}


def _json(llmecon: Callable[..., Run], *args: str) -> Any:
    run = llmecon("compare", *args, "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def test_document_has_the_contract_keys(llmecon: Callable[..., Run]) -> None:
    data = _json(llmecon, ARTICLE)
    assert {"scenario", "currency", "results", "breakeven", "notes"} <= set(data)
    assert data["scenario"] == "ChatGPT API vs Flan-UL2 on SageMaker (article, April 2023)"
    assert data["currency"] == "USD"
    assert [r["requests_per_day"] for r in data["results"]] == [1000, 1_000_000]
    for result in data["results"]:
        for option in result["options"]:
            assert set(option) >= OPTION_KEYS
            for item in option["line_items"]:
                assert set(item) >= LINE_ITEM_KEYS
                assert item["source"]


def test_article_figures_in_json(llmecon: Callable[..., Run]) -> None:
    data = _json(llmecon, ARTICLE)
    first = {o["name"]: o for o in data["results"][0]["options"]}
    chatgpt = first["chatgpt"]
    assert chatgpt["kind"] == "api" and chatgpt["replicas"] is None
    assert chatgpt["daily_cost"] == pytest.approx(1.334)
    assert chatgpt["monthly_cost"] == pytest.approx(40.5758, abs=1e-4)
    assert chatgpt["yearly_cost"] == pytest.approx(486.91)
    assert chatgpt["cost_per_request"] == pytest.approx(0.001334)
    assert chatgpt["cost_per_1m_tokens"] == pytest.approx(2.0)
    assert chatgpt["cheapest"] is True and chatgpt["rank"] == 1
    hosted = first["flan-ul2-sagemaker"]
    assert hosted["kind"] == "self_hosted" and hosted["replicas"] == 1
    assert sum(i["daily_cost"] for i in hosted["line_items"]) == pytest.approx(hosted["daily_cost"])
    (breakeven,) = data["breakeven"]
    assert breakeven["between"] == ["chatgpt", "flan-ul2-sagemaker"]
    assert breakeven["requests_per_day"] == [pytest.approx(113435.8, abs=0.1)]


def test_options_are_sorted_by_daily_cost(llmecon: Callable[..., Run]) -> None:
    data = _json(llmecon, str(EXAMPLES / "article-corrected.yaml"))
    for result in data["results"]:
        costs = [o["daily_cost"] for o in result["options"]]
        assert costs == sorted(costs)
        assert result["cheapest"] == result["options"][0]["name"]


def test_catalog_prices_carry_source_and_date(llmecon: Callable[..., Run]) -> None:
    data = _json(llmecon, str(EXAMPLES / "article-corrected.yaml"))
    items = [i for o in data["results"][0]["options"] for i in o["line_items"]]
    assert all(i["as_of"] for i in items)
    hours = next(i for i in items if i["name"] == "ml.g5.4xlarge hours")
    assert hours["unit_price"] == 2.03 and "FMBench" in hours["source"]


def test_bert_class_option_costs_about_5_52_a_day(llmecon: Callable[..., Run]) -> None:
    data = _json(llmecon, str(EXAMPLES / "article-corrected.yaml"))
    bert = next(o for o in data["results"][0]["options"] if o["name"] == "bert-class-sagemaker")
    instance = next(i for i in bert["line_items"] if i["name"].endswith("hours"))
    assert instance["daily_cost"] == pytest.approx(5.52)


def test_quick_form(llmecon: Callable[..., Run]) -> None:
    data = _json(
        llmecon,
        "--requests-per-day", "1000", "--input-tokens", "500", "--output-tokens", "167",
        "--api", "gpt-4o-mini", "--self-hosted", "ml.g5.4xlarge",
    )  # fmt: skip
    options = {o["name"]: o for o in data["results"][0]["options"]}
    assert options["gpt-4o-mini"]["daily_cost"] == pytest.approx(
        1000 * (500 * 0.15 + 167 * 0.6) / 1e6
    )
    assert options["ml.g5.4xlarge"]["daily_cost"] == pytest.approx(2.03 * 24)


def test_as_of_picks_the_price_of_that_day(llmecon: Callable[..., Run]) -> None:
    quick = ("--requests-per-day", "1000", "--tokens-per-request", "667", "--api", "gpt-3.5-turbo")
    data = _json(llmecon, *quick, "--as-of", "2023-04-24")
    (option,) = data["results"][0]["options"]
    assert option["daily_cost"] == pytest.approx(1.334)
    assert option["line_items"][0]["as_of"] is not None
    later = llmecon("compare", *quick, "--as-of", "2023-07-01")
    assert later.code == 2 and "prices input and output tokens differently" in later.err


def test_as_of_before_a_model_existed(llmecon: Callable[..., Run]) -> None:
    run = llmecon(
        "compare", "--requests-per-day", "1", "--input-tokens", "1", "--output-tokens", "1",
        "--api", "gpt-4o-mini", "--as-of", "2023-04-24",
    )  # fmt: skip
    assert run.code == 2 and "had no known price on 2023-04-24" in run.err


def test_csv_has_one_row_per_option_and_volume(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", ARTICLE, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert len(rows) == 4
    assert float(rows[0]["daily_cost"]) == pytest.approx(1.334)
    detailed = llmecon("compare", ARTICLE, "--format", "csv", "--details")
    assert len(list(csv.DictReader(io.StringIO(detailed.out)))) == 2 * (1 + 4)


def test_markdown(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", ARTICLE, "--format", "markdown")
    assert run.code == 0
    assert "### 1,000 requests/day" in run.out
    assert "| **cheapest** | chatgpt | api | - | $1.334 |" in run.out
    assert "above 113,436 requests/day" in run.out


def test_details_show_line_items_with_sources(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", str(EXAMPLES / "article-corrected.yaml"), "--details")
    assert "ml.g5.4xlarge hours" in run.out
    assert "2025-04-11" in run.out
