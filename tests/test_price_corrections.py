"""Issue 12: each stale or wrong price the review found, corrected with its source and date."""

from __future__ import annotations

from datetime import date

import pytest

from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook


def _pair(book: PriceBook, model: str, day: date) -> tuple[float, float]:
    price = book.api_model(model, day)
    return price.input.amount, price.output.amount


@pytest.mark.parametrize(
    ("name", "hourly", "ec2"),
    [("ml.p4d.24xlarge", 25.2513, "p4d.24xlarge"), ("ml.p5.48xlarge", 63.296, "p5.48xlarge")],
)
def test_sagemaker_p4d_p5_follow_the_june_2025_cut(
    book: PriceBook, name: str, hourly: float, ec2: str
) -> None:
    price = book.instance(name)
    assert price.hourly.amount == hourly
    assert price.hourly.amount == pytest.approx(1.15 * book.instance(ec2).hourly.amount, abs=1e-3)
    assert price.effective_from == date(2025, 6, 1)
    assert price.hourly.as_of == date(2025, 6, 1)
    assert "June-2025" in price.hourly.source


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 5, 13), (5.0, 15.0)),
        (date(2024, 8, 6), (5.0, 15.0)),  # gpt-4o-2024-08-06 existed, the alias did not move
        (date(2024, 10, 1), (5.0, 15.0)),
        (date(2024, 10, 2), (2.5, 10.0)),
    ],
)
def test_gpt_4o_alias_moved_on_2024_10_02(
    book: PriceBook, day: date, expected: tuple[float, float]
) -> None:
    assert _pair(book, "gpt-4o", day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2023, 11, 6), (1.5, 2.0)),
        (date(2023, 12, 10), (1.5, 2.0)),
        (date(2023, 12, 11), (1.0, 2.0)),
        (date(2024, 2, 15), (1.0, 2.0)),
        (date(2024, 2, 16), (0.5, 1.5)),
    ],
)
def test_gpt_35_turbo_alias_dates(
    book: PriceBook, day: date, expected: tuple[float, float]
) -> None:
    assert _pair(book, "gpt-3.5-turbo", day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 9, 4), (0.27, 1.1)),
        (date(2025, 9, 5), (0.56, 1.68)),
        (date(2025, 9, 29), (0.28, 0.42)),
        (date(2026, 11, 25), (0.28, 0.42)),
    ],
)
def test_deepseek_chat_history(book: PriceBook, day: date, expected: tuple[float, float]) -> None:
    assert _pair(book, "deepseek-chat", day) == expected


def test_deepseek_chat_current_price_matches_the_last_history_entry(book: PriceBook) -> None:
    current = book.api_model("deepseek-chat")
    assert (current.input.amount, current.output.amount) == (0.28, 0.42)


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2024, 11, 4), (1.0, 5.0)), (date(2024, 12, 3), (0.8, 4.0))],
)
def test_claude_3_5_haiku_from_launch(
    book: PriceBook, day: date, expected: tuple[float, float]
) -> None:
    assert _pair(book, "claude-3-5-haiku", day) == expected
    with pytest.raises(LlmeconError, match="no known price on 2024-11-03"):
        book.api_model("claude-3-5-haiku", date(2024, 11, 3))


@pytest.mark.parametrize(
    ("model", "day", "expected"),
    [
        ("claude-2", date(2023, 7, 11), (11.02, 32.68)),
        ("claude-2", date(2023, 11, 21), (8.0, 24.0)),
        ("claude-instant-1", date(2023, 4, 24), (1.63, 5.51)),
        ("claude-instant-1", date(2023, 11, 21), (0.8, 2.4)),
        ("text-davinci-003", date(2022, 11, 28), (20.0, 20.0)),
        ("text-davinci-003", date(2023, 4, 24), (20.0, 20.0)),
    ],
)
def test_older_models_priced_when_they_were_sold(
    book: PriceBook, model: str, day: date, expected: tuple[float, float]
) -> None:
    assert _pair(book, model, day) == expected


def test_text_davinci_003_not_priced_after_its_shutdown(book: PriceBook) -> None:
    with pytest.raises(LlmeconError, match="no longer sold on 2024-01-05"):
        book.api_model("text-davinci-003", date(2024, 1, 5))


def test_as_of_is_the_price_date_not_a_dataset_date(book: PriceBook) -> None:
    """Derived prices carry the date of the price, never the date a file quoting it was made."""
    compile_dates = {date(2026, 11, 25), date(2026, 8, 5)}
    for entry in book.instances.values():
        assert entry.hourly.as_of not in compile_dates, entry.name
    for model, history in book.api_history.items():
        for price in history:
            if price.input.as_of in compile_dates:
                assert price.input.as_of == price.effective_from, model
