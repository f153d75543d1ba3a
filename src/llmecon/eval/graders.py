"""Graders by name: how an answer is judged correct. A registry, never an if/elif chain.

Each grader is built once per dataset item from the item's `expected` value and the grader's
own parameters (validated then, so a bad dataset fails before any request is sent), and grades
an answer text to a Verdict. The LLM judge needs a model call; it is built here (rubric,
reference) and graded by the runner through `judge.py`.
"""

from __future__ import annotations

import json
import math
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from llmecon.eval.schema_check import check_schema, violations


@dataclass(frozen=True)
class Verdict:
    correct: bool
    reason: str = ""


@dataclass(frozen=True)
class Grader:
    """`check(answer)` grades locally; `rubric` set means an LLM judge grades instead."""

    kind: str
    check: Callable[[str], Verdict] = field(repr=False)
    rubric: str | None = None
    reference: str | None = None

    def grade(self, answer: str) -> Verdict:
        return self.check(answer)


Params = Mapping[str, Any]
Factory = Callable[[Params, Any], Grader]

_PUNCTUATION = str.maketrans("", "", string.punctuation + "“”‘’«»…")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


def normalize(text: str) -> str:
    """Case-folded, accents and punctuation removed, articles dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _ARTICLES.sub(" ", text.translate(_PUNCTUATION))
    return " ".join(text.split())


def _text(expected: Any, kind: str) -> str:
    if isinstance(expected, bool) or not isinstance(expected, str | int | float):
        raise ValueError(f"the {kind} grader needs 'expected': a string (the right answer)")
    return str(expected)


def _allowed(params: Params, kind: str, *names: str) -> None:
    unknown = sorted(set(params) - {"kind", *names})
    if unknown:
        allowed = ", ".join(names) if names else "none"
        raise ValueError(f"the {kind} grader has no parameter {unknown[0]!r} (allowed: {allowed})")


def _exact(params: Params, expected: Any) -> Grader:
    _allowed(params, "exact", "strip")
    want = _text(expected, "exact")
    strip = params.get("strip", True)

    def check(answer: str) -> Verdict:
        got = answer.strip() if strip else answer
        return Verdict(got == want, "" if got == want else f"expected {want!r}")

    return Grader("exact", check)


def _normalized(params: Params, expected: Any) -> Grader:
    _allowed(params, "normalized")
    want = normalize(_text(expected, "normalized"))

    def check(answer: str) -> Verdict:
        ok = normalize(answer) == want
        return Verdict(ok, "" if ok else f"expected {want!r} after normalizing")

    return Grader("normalized", check)


def _contains(params: Params, expected: Any) -> Grader:
    _allowed(params, "contains", "case_sensitive")
    wants = expected if isinstance(expected, list) else [expected]
    texts = [_text(want, "contains") for want in wants]
    if not texts:
        raise ValueError("the contains grader needs 'expected': a string or a list of strings")
    sensitive = bool(params.get("case_sensitive", False))
    needles = texts if sensitive else [t.casefold() for t in texts]

    def check(answer: str) -> Verdict:
        hay = answer if sensitive else answer.casefold()
        missing = [n for n in needles if n not in hay]
        return Verdict(not missing, f"missing {missing[0]!r}" if missing else "")

    return Grader("contains", check)


def _regex(params: Params, expected: Any) -> Grader:
    _allowed(params, "regex", "pattern", "ignore_case")
    pattern = params.get("pattern", expected)
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("the regex grader needs 'pattern' (or 'expected'): a regular expression")
    try:
        compiled = re.compile(pattern, re.IGNORECASE if params.get("ignore_case") else 0)
    except re.error as error:
        raise ValueError(f"the regex grader's pattern {pattern!r} is invalid: {error}") from None

    def check(answer: str) -> Verdict:
        ok = compiled.search(answer) is not None
        return Verdict(ok, "" if ok else f"no match for {pattern!r}")

    return Grader("regex", check)


def last_number(text: str) -> float | None:
    """The last number written in `text` (1,234.5 and -3e2 read as numbers), or None."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    return float(found[-1].replace(",", ""))


def _numeric(params: Params, expected: Any) -> Grader:
    _allowed(params, "numeric", "tolerance", "relative")
    if isinstance(expected, bool) or not isinstance(expected, int | float | str):
        raise ValueError("the numeric grader needs 'expected': a number")
    want = float(expected) if not isinstance(expected, str) else last_number(expected)
    if want is None or not math.isfinite(want):
        raise ValueError(f"the numeric grader needs 'expected': a number, not {expected!r}")
    tolerance = params.get("tolerance", 1e-6)
    relative = params.get("relative", 0.0)
    for name, value in (("tolerance", tolerance), ("relative", relative)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"the numeric grader's {name} must be a number >= 0")

    def check(answer: str) -> Verdict:
        got = last_number(answer)
        if got is None:
            return Verdict(False, "no number in the answer")
        ok = abs(got - want) <= max(tolerance, relative * abs(want))
        return Verdict(ok, "" if ok else f"{got:g} is not {want:g}")

    return Grader("numeric", check)


def extract_json(text: str) -> Any:
    """The JSON value in an answer: the whole text, a ```json fence, or the first {...} span."""
    candidates = [text.strip()]
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        candidates.append(fence.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("no JSON object in the answer")


def _json_schema(params: Params, expected: Any) -> Grader:
    _allowed(params, "json_schema", "schema")
    schema = params.get("schema")
    if schema is None:
        raise ValueError("the json_schema grader needs 'schema': a JSON Schema object")
    check_schema(schema)
    if expected is not None and not isinstance(expected, dict):
        raise ValueError("the json_schema grader's 'expected' must be an object (or absent)")

    def check(answer: str) -> Verdict:
        try:
            value = extract_json(answer)
        except ValueError as error:
            return Verdict(False, str(error))
        problems = violations(value, schema)
        if problems:
            return Verdict(False, problems[0])
        for key, want in (expected or {}).items():
            got = value.get(key) if isinstance(value, dict) else None
            if _field(got) != _field(want):
                return Verdict(False, f"{key}: expected {want!r}, got {got!r}")
        return Verdict(True)

    return Grader("json_schema", check)


def _field(value: Any) -> Any:
    return normalize(value) if isinstance(value, str) else value


def _choice(params: Params, expected: Any) -> Grader:
    _allowed(params, "choice", "labels")
    labels = params.get("labels")
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(label, str) and label.strip() for label in labels)
    ):
        raise ValueError("the choice grader needs 'labels': a list of at least 2 label strings")
    want = _text(expected, "choice")
    if normalize(want) not in {normalize(label) for label in labels}:
        raise ValueError(f"'expected' {want!r} is not one of the labels {labels!r}")
    patterns = {label: re.compile(rf"\b{re.escape(normalize(label))}\b") for label in labels}

    def check(answer: str) -> Verdict:
        text = normalize(answer)
        named = [label for label, pattern in patterns.items() if pattern.search(text)]
        named = [a for a in named if not any(_inside(a, b) for b in named if b != a)]
        if len(named) != 1:
            reason = "names no label" if not named else f"names several labels: {named}"
            return Verdict(False, reason)
        ok = normalize(named[0]) == normalize(want)
        return Verdict(ok, "" if ok else f"chose {named[0]!r}, expected {want!r}")

    return Grader("choice", check)


def _inside(short: str, long: str) -> bool:
    """True when label `short` is a whole-word part of label `long` ("positive" in "very
    positive"): an answer naming the long one names the short one only through it."""
    return re.search(rf"\b{re.escape(normalize(short))}\b", normalize(long)) is not None


def _judge(params: Params, expected: Any) -> Grader:
    _allowed(params, "judge", "rubric")
    rubric = params.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise ValueError("the judge grader needs 'rubric': what a correct answer must do")
    reference = None if expected is None else str(expected)

    def check(answer: str) -> Verdict:
        raise RuntimeError("the judge grader is graded by a model call (see eval.judge)")

    return Grader("judge", check, rubric=rubric, reference=reference)


GRADERS: Mapping[str, Factory] = MappingProxyType(
    {
        "exact": _exact,
        "normalized": _normalized,
        "contains": _contains,
        "regex": _regex,
        "numeric": _numeric,
        "json_schema": _json_schema,
        "choice": _choice,
        "judge": _judge,
    }
)


def build_grader(kind: str, params: Params, expected: Any) -> Grader:
    """The grader `kind` for one item; ValueError (or KeyError for an unknown kind) if bad."""
    if kind not in GRADERS:
        raise KeyError(kind)
    return GRADERS[kind](params, expected)
