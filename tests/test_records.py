"""llmecon.records: strict reading of plain data into frozen records (what replaced pydantic on
the compare path, issue 19)."""

# No `from __future__ import annotations`: the records below are read at run time.
from datetime import date
from typing import Annotated, Literal

import pytest

from llmecon.records import Bound, Check, Record, RecordError, field, keys_of, read


class Inner(Record):
    size: Annotated[int, Bound(ge=1)]


def _even(value: int) -> int:
    if value % 2:
        raise ValueError(f"{value} is odd; give an even number")
    return value


class Outer(Record):
    name: str
    kind: Literal["a", "b"] = "a"
    when: date | None = None
    inner: Inner | None = None
    items: list[Inner] = field(default_factory=list)
    lambda_: float = field(key="lambda", default=0.0)
    even: Annotated[int, Check(_even)] = 0

    def check(self) -> None:
        if self.kind == "b" and self.inner is None:
            raise ValueError("kind b needs inner")


def test_a_record_reads_defaults_keys_and_nesting() -> None:
    read_ = read(Outer, {"name": "x", "lambda": 2, "items": [{"size": 3}], "even": 4})
    assert read_ == Outer(name="x", lambda_=2.0, items=[Inner(size=3)], even=4)
    assert read_.items[0].size == 3 and read_.kind == "a" and read_.when is None
    assert keys_of(Outer) == ["name", "kind", "when", "inner", "items", "lambda", "even"]
    assert Outer(name="y").items is not Outer(name="z").items  # each its own list
    assert repr(Inner(size=1)) == "Inner(size=1)"
    assert hash(Inner(size=1)) == hash(Inner(size=1))


def test_a_record_is_frozen_and_keyword_only() -> None:
    record = Inner(size=1)
    with pytest.raises(AttributeError, match="frozen"):
        record.size = 2  # type: ignore[misc]
    with pytest.raises(TypeError, match="give size"):
        Inner()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no field colour"):
        Inner(size=1, colour=2)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "nmae": 1}, "nmae: unknown key; did you mean 'name'?"),
        ({}, "name: is missing; add this key"),
        ({"name": 3}, "name: expected text, got 3 (int); write text"),
        ({"name": "x", "kind": "c"}, "kind: got 'c' (text); use 'a' or 'b'"),
        ({"name": "x", "when": "2025-01-01"}, "when: expected a date (YYYY-MM-DD), got "
         "'2025-01-01' (text)"),
        ({"name": "x", "items": [{"size": 0}]}, "items[0].size: got 0 (int); must be at least 1"),
        ({"name": "x", "items": [{"size": True}]}, "items[0].size: expected a whole number"),
        ({"name": "x", "lambda": float("inf")}, "lambda: got inf; write a finite number"),
        ({"name": "x", "even": 3}, "even: 3 is odd; give an even number"),
        ({"name": "x", "kind": "b"}, "top level: kind b needs inner"),
        ({"name": "x", "inner": [1]}, "inner: expected a mapping of keys, got a list"),
        ("x", "top level: expected a mapping of keys"),
    ],
)  # fmt: skip
def test_each_problem_is_one_line_with_its_key_path(data: object, message: str) -> None:
    with pytest.raises(RecordError) as raised:
        read(Outer, data)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_unknown_key_is_named_before_a_missing_one() -> None:
    with pytest.raises(RecordError, match=r"^nmae: unknown key"):
        read(Outer, {"nmae": "x"})


def test_lax_reading_takes_text_numbers_and_dates() -> None:
    class Price(Record):
        amount: float
        on: date
        count: int

    read_ = read(Price, {"amount": "1.5", "on": "2025-02-03", "count": 2.0}, strict=False)
    assert read_ == Price(amount=1.5, on=date(2025, 2, 3), count=2)
    with pytest.raises(RecordError, match="amount: expected a number"):
        read(Price, {"amount": "1.5", "on": date(2025, 2, 3), "count": 2})


def test_string_annotations_are_refused_when_the_record_is_defined() -> None:
    with pytest.raises(TypeError, match="string annotations"):

        class Bad(Record):
            size: "int"
