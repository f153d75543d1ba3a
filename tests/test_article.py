"""The article's table, reproduced from examples/article-2023.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from conftest import EXAMPLES, Run
from llmecon.core.comparison import compare
from llmecon.pricebook.book import PriceBook
from llmecon.scenario import load_scenario

ARTICLE = EXAMPLES / "article-2023.yaml"


def _by_name(book: PriceBook) -> dict[float, dict[str, float]]:
    comparison = compare(load_scenario(ARTICLE, book))
    return {
        r.requests_per_day: {bill.option: bill.daily_cost for bill in r.bills}
        for r in comparison.results
    }


def test_chatgpt_daily_cost_matches_the_article(book: PriceBook) -> None:
    costs = _by_name(book)
    assert costs[1000]["chatgpt"] == pytest.approx(1.334)
    assert costs[1_000_000]["chatgpt"] == pytest.approx(1334.0)


def test_self_hosted_daily_cost_matches_the_article(book: PriceBook) -> None:
    costs = _by_name(book)
    assert costs[1000]["flan-ul2-sagemaker"] == pytest.approx(150.0117, abs=1e-4)
    assert costs[1_000_000]["flan-ul2-sagemaker"] == pytest.approx(161.6667, abs=1e-4)


def test_chatgpt_yearly_cost_at_one_million_is_about_half_a_million(book: PriceBook) -> None:
    comparison = compare(load_scenario(ARTICLE, book))
    chatgpt = next(b for b in comparison.results[1].bills if b.option == "chatgpt")
    assert chatgpt.yearly_cost == pytest.approx(486_910.0)
    assert chatgpt.monthly_cost == pytest.approx(486_910.0 / 12)
    assert chatgpt.cost_per_1m_tokens == pytest.approx(2.0)


def test_breakeven_is_about_113436_requests_per_day(book: PriceBook) -> None:
    comparison = compare(load_scenario(ARTICLE, book))
    (breakeven,) = comparison.breakevens
    (crossing,) = breakeven.crossings
    assert crossing.requests_per_day == pytest.approx(150 / (0.001334 - 0.0000106667 - 1e-6))
    assert round(crossing.requests_per_day) == 113_436
    assert (crossing.cheaper_below, crossing.cheaper_above) == ("chatgpt", "flan-ul2-sagemaker")


def test_notes_expose_the_articles_errors(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", str(ARTICLE), "--format", "json")
    notes = " ".join(json.loads(run.out)["notes"])
    assert "$120/day, not $150/day" in notes
    assert "$2.03/h" in notes
    assert "0.125 GB" in notes
    assert "Lambda request charge is 0" in notes
    assert "about 58 replicas" in notes


def test_table_states_the_breakeven_in_words(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", str(ARTICLE))
    assert run.code == 0, run.err
    assert (
        "self-hosting flan-ul2-sagemaker becomes cheaper than chatgpt above 113,436 requests/day"
        in " ".join(run.out.split())
    )
    assert "★" in run.out
