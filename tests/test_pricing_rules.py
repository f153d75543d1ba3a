"""Issue 12: the pricing rules a paid API applies (tiers, context, cache, batch, $0, no noise)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from conftest import Run
from llmecon.core.bill import Bill
from llmecon.core.comparison import compare
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.scenario import scenario_from_data


def _scenario(
    api: dict[str, Any], input_tokens: int, output_tokens: int = 1000, **workload: Any
) -> dict[str, Any]:
    return {
        "name": "rules",
        "workload": {"requests_per_day": [1000], "input_tokens": input_tokens,
                     "output_tokens": output_tokens, **workload},
        "options": [{"name": "api", "api": api}],
    }  # fmt: skip


def _bill(
    book: PriceBook, data: dict[str, Any], as_of: date | None = None
) -> tuple[Bill, tuple[str, ...]]:
    result = compare(scenario_from_data(data, book, "test", as_of))
    return result.results[0].bills[0], result.notes


@pytest.mark.parametrize(
    ("model", "prompt", "rates", "tiered"),
    [
        ("gemini-2.5-pro", 300_000, (2.50, 15.0), True),  # above 200k: the whole request
        ("gemini-2.5-pro", 200_000, (1.25, 10.0), False),  # at the threshold: base rates
        ("gpt-5.4", 300_000, (5.0, 22.5), True),  # above 272k
        ("gpt-5.4", 250_000, (2.5, 15.0), False),
    ],
)
def test_long_context_tier_per_request(
    book: PriceBook, model: str, prompt: int, rates: tuple[float, float], tiered: bool
) -> None:
    bill, notes = _bill(book, _scenario({"model": model}, prompt))
    expected = 1000 * (prompt * rates[0] + 1000 * rates[1]) / 1e6
    assert bill.daily_cost == pytest.approx(expected)
    assert any("long-context" in note for note in notes) == tiered


def test_tier_applies_to_a_dated_price_equal_to_the_snapshot(book: PriceBook) -> None:
    bill, _ = _bill(book, _scenario({"model": "gemini-2.5-pro"}, 300_000), date(2025, 7, 1))
    assert bill.daily_cost == pytest.approx(1000 * (300_000 * 2.5 + 1000 * 15) / 1e6)


def test_prompt_longer_than_the_context_window_is_an_error(book: PriceBook) -> None:
    with pytest.raises(LlmeconError, match=r"300,000-token prompt exceeds .* 128,000-token"):
        _bill(book, _scenario({"model": "gpt-4o-mini"}, 300_000))


def test_cached_fraction_bills_cached_input(book: PriceBook) -> None:
    bill, _ = _bill(book, _scenario({"model": "gpt-4o-mini"}, 1000, 100, cached_fraction=0.5))
    names = [item.name for item in bill.line_items]
    assert names == ["gpt-4o-mini input tokens", "gpt-4o-mini cached input tokens",
                     "gpt-4o-mini output tokens"]  # fmt: skip
    assert bill.daily_cost == pytest.approx(1000 * (500 * 0.15 + 500 * 0.075 + 100 * 0.6) / 1e6)


def test_cached_fraction_without_a_cached_price_is_noted(book: PriceBook) -> None:
    data = _scenario({"input_per_1m": 1.0, "output_per_1m": 2.0}, 1000, 100, cached_fraction=0.5)
    bill, notes = _bill(book, data)
    assert bill.daily_cost == pytest.approx(1000 * (1000 * 1.0 + 100 * 2.0) / 1e6)
    assert any("no cached-input price" in note for note in notes)
    given = {"input_per_1m": 1.0, "output_per_1m": 2.0, "cached_input_per_1m": 0.1}
    bill, _ = _bill(book, _scenario(given, 1000, 100, cached_fraction=0.5))
    assert bill.daily_cost == pytest.approx(1000 * (500 * 1.0 + 500 * 0.1 + 100 * 2.0) / 1e6)


def test_batch_uses_batch_rates_and_says_so(book: PriceBook) -> None:
    bill, notes = _bill(book, _scenario({"model": "gpt-4o-mini", "batch": True}, 1000, 100))
    assert bill.daily_cost == pytest.approx(1000 * (1000 * 0.075 + 100 * 0.30) / 1e6)
    assert any("24 hours" in note for note in notes)


def test_batch_without_batch_prices_is_an_error(book: PriceBook) -> None:
    with pytest.raises(LlmeconError, match="no batch price is known for deepseek-chat"):
        _bill(book, _scenario({"model": "deepseek-chat", "batch": True}, 1000))


def test_zero_price_is_noted(book: PriceBook) -> None:
    _, notes = _bill(book, _scenario({"model": "vertex_ai/meta/llama-3.1-8b-instruct-maas"}, 500))
    assert any("$0 token price (free tier or missing data; check" in note for note in notes)


def test_output_limit_implies_several_responses(book: PriceBook) -> None:
    _, notes = _bill(book, _scenario({"model": "gpt-4o-mini"}, 1000, 40_000))
    assert any("16,384-token output limit" in note and "3 responses" in note for note in notes)


def test_prices_json_has_no_float_noise(llmecon: Callable[..., Run]) -> None:
    run = llmecon("prices", "list", "--search", "llama", "--format", "json")
    amounts = [e["input"]["amount"] for e in json.loads(run.out)] + [
        e["output"]["amount"] for e in json.loads(run.out)
    ]
    assert len(amounts) > 50
    assert all(a == float(f"{a:.10g}") for a in amounts)
    assert "99999999" not in run.out and "00000001" not in run.out
