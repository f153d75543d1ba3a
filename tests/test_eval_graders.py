"""Every grader on crafted answers: right, wrong, and the near misses each one must catch."""

from __future__ import annotations

from typing import Any

import pytest

from llmecon.core.quality import wilson_interval
from llmecon.eval.graders import GRADERS, build_grader, extract_json, last_number, normalize
from llmecon.eval.judge import judge_messages, parse_verdict
from llmecon.eval.schema_check import check_schema, violations


def grade(kind: str, expected: Any, answer: str, **params: Any) -> bool:
    return build_grader(kind, {"kind": kind, **params}, expected).grade(answer).correct


def test_registry_names_every_grader_of_the_issue() -> None:
    assert set(GRADERS) == {
        "exact", "normalized", "contains", "regex", "numeric", "json_schema", "choice", "judge",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "correct"),
    [("Paris", True), ("  Paris\n", True), ("paris", False), ("Paris.", False), ("", False)],
)
def test_exact(answer: str, correct: bool) -> None:
    assert grade("exact", "Paris", answer) is correct


def test_exact_without_strip_keeps_whitespace() -> None:
    assert not grade("exact", "Paris", " Paris", strip=False)


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ("the Eiffel Tower!", True),
        ("EIFFEL   tower", True),
        ("Eiffel Tower.", True),
        ("Éiffel Tower", True),
        ("Eiffel Towers", False),
        ("The Eiffel Tower in Paris", False),
    ],
)
def test_normalized(answer: str, correct: bool) -> None:
    assert grade("normalized", "Eiffel Tower", answer) is correct


def test_normalize_rules() -> None:
    assert normalize("  The  Cat, a DOG; an Owl… ") == "cat dog owl"


def test_contains_case_insensitive_by_default_and_all_of_a_list() -> None:
    assert grade("contains", "Paris", "It is PARIS, of course")
    assert not grade("contains", "Paris", "It is PARIS", case_sensitive=True)
    assert grade("contains", ["red", "blue"], "Blue and red")
    assert not grade("contains", ["red", "blue"], "only red")


def test_regex_pattern_and_flags() -> None:
    assert grade("regex", None, "Order #12345 shipped", pattern=r"#\d{5}\b")
    assert not grade("regex", None, "Order #1234 shipped", pattern=r"#\d{5}\b")
    assert grade("regex", None, "YES", pattern=r"^yes$", ignore_case=True)
    assert not grade("regex", None, "YES", pattern=r"^yes$")


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ("42", True),
        ("The answer is 42.", True),
        ("42.0000001", True),
        ("I think 41, no wait: 42", True),  # the last number counts
        ("42, not 41", False),
        ("forty-two", False),
        ("43", False),
    ],
)
def test_numeric_default_tolerance(answer: str, correct: bool) -> None:
    assert grade("numeric", 42, answer) is correct


def test_numeric_tolerances_and_number_forms() -> None:
    assert grade("numeric", 1234.5, "$1,234.50")
    assert grade("numeric", 100, "101", tolerance=1)
    assert not grade("numeric", 100, "102", tolerance=1)
    assert grade("numeric", 1000, "1040", relative=0.05)
    assert not grade("numeric", 1000, "1060", relative=0.05)
    assert grade("numeric", -3, "It is -3")
    assert grade("numeric", "3e2", "300")
    assert last_number("no digits") is None


SCHEMA = {
    "type": "object",
    "required": ["name", "age"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
}


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ('{"name": "Ana", "age": 3}', True),
        ('Here it is:\n```json\n{"name": "Ana", "age": 3}\n```', True),
        ('Sure! {"name": "Ana", "age": 3} Hope it helps.', True),
        ('{"name": "Ana"}', False),  # missing required
        ('{"name": "Ana", "age": "3"}', False),  # wrong type
        ('{"name": "Ana", "age": true}', False),  # a bool is not an integer
        ('{"name": "Ana", "age": -1}', False),  # minimum
        ('{"name": "Ana", "age": 3, "x": 1}', False),  # additionalProperties
        ('{"name": "Ana", "age": 3', False),  # not JSON
        ("no json here", False),
    ],
)
def test_json_schema_validity(answer: str, correct: bool) -> None:
    assert grade("json_schema", None, answer, schema=SCHEMA) is correct


def test_json_schema_with_expected_fields() -> None:
    expected = {"name": "Ana Lima", "age": 3}
    assert grade("json_schema", expected, '{"name": "ana lima", "age": 3}', schema=SCHEMA)
    assert not grade("json_schema", expected, '{"name": "Ana", "age": 3}', schema=SCHEMA)


def test_schema_checker_keywords() -> None:
    schema = {
        "type": "array", "minItems": 1, "maxItems": 2,
        "items": {"type": ["string", "null"], "enum": ["a", "b", None], "maxLength": 1},
    }  # fmt: skip
    assert violations(["a", None], schema) == []
    assert violations([], schema)
    assert violations(["a", "b", "a"], schema)
    assert violations(["c"], schema)
    assert violations({"k": 1.5}, {"additionalProperties": {"type": "integer"}})
    assert violations("ab", {"pattern": "^a", "const": "ab"}) == []
    assert violations(5, {"exclusiveMaximum": 5})
    with pytest.raises(ValueError, match="unsupported JSON Schema keyword 'oneOf'"):
        check_schema({"oneOf": []})
    with pytest.raises(ValueError, match="unknown type 'str'"):
        check_schema({"properties": {"a": {"type": "str"}}})


def test_extract_json_prefers_whole_text() -> None:
    assert extract_json(' {"a": 1} ') == {"a": 1}
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("{nope}")


LABELS = ["positive", "negative", "neutral"]


@pytest.mark.parametrize(
    ("answer", "correct"),
    [
        ("positive", True),
        ("Positive.", True),
        ("Sentiment: POSITIVE", True),
        ("negative", False),
        ("positive or negative", False),  # names two labels: ambiguous
        ("nonpositive", False),  # whole words only
        ("I cannot tell", False),
    ],
)
def test_choice(answer: str, correct: bool) -> None:
    assert grade("choice", "positive", answer, labels=LABELS) is correct


def test_choice_prefers_the_longer_label_it_contains() -> None:
    labels = ["positive", "very positive", "negative"]
    assert grade("choice", "very positive", "Very positive!", labels=labels)
    assert not grade("choice", "positive", "very positive", labels=labels)
    assert grade("choice", "positive", "positive", labels=labels)
    assert not grade("choice", "positive", "very positive, or negative", labels=labels)


@pytest.mark.parametrize(
    ("kind", "expected", "params", "message"),
    [
        ("exact", None, {}, "needs 'expected'"),
        ("numeric", "many", {}, "needs 'expected': a number"),
        ("numeric", 1, {"tolerance": -1}, "tolerance must be a number >= 0"),
        ("regex", None, {"pattern": "("}, "is invalid"),
        ("regex", None, {}, "needs 'pattern'"),
        ("json_schema", None, {}, "needs 'schema'"),
        ("choice", "maybe", {"labels": LABELS}, "is not one of the labels"),
        ("choice", "a", {"labels": ["a"]}, "at least 2"),
        ("judge", None, {}, "needs 'rubric'"),
        ("contains", "x", {"case": True}, "has no parameter 'case'"),
    ],
)
def test_bad_grader_parameters_are_errors(
    kind: str, expected: Any, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_grader(kind, {"kind": kind, **params}, expected)


def test_judge_prompt_and_verdicts() -> None:
    messages = judge_messages("Must name the capital.", "Capital of France?", "Paris", "Lyon")
    text = messages[-1]["content"]
    assert "Must name the capital." in text and "Reference answer:\nParis" in text
    assert text.endswith("Candidate answer:\nLyon")
    assert "VERDICT: PASS or VERDICT: FAIL" in messages[0]["content"]
    assert parse_verdict("Correct.\nVERDICT: PASS") == parse_verdict("verdict: **pass**")
    assert parse_verdict("VERDICT: PASS")
    fail = parse_verdict("It names Lyon.\nVERDICT: FAIL")
    assert fail is not None and not fail.correct
    last = parse_verdict("Not VERDICT: PASS but\nVERDICT: FAIL")
    assert last is not None and not last.correct
    assert parse_verdict("I think it passes") is None


def test_wilson_interval_known_values() -> None:
    # Wilson (1927) / Newcombe (1998) table: 81/263 -> 0.2553 to 0.3662; 0/10 -> 0 to 0.2775
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 10)[0] == 0.0
    assert round(wilson_interval(0, 10)[1], 4) == 0.2775
    assert round(wilson_interval(10, 10)[0], 4) == 0.7225
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
