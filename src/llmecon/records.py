"""Plain data (parsed YAML or JSON) read into frozen dataclasses, strictly, without pydantic.

A record is a frozen, keyword-only dataclass whose field types are real objects (its module
does not use `from __future__ import annotations`): `float`, `int`, `str`, `bool`, `date`,
`Literal[...]`, `X | None`, `list[X]`, `dict[K, V]`, another record, and `Annotated[X, Bound(...),
Check(...), Before(...)]` for ranges, lengths, per-field checks and coercions. A field read from a
different key says so: `field(metadata={"key": "lambda"})`. A record's `check(self)` method, if it
has one, runs once its fields are valid; it raises ValueError (or `FieldError` naming a field).

`read(Record, data)` returns the record or raises `RecordError` with every problem found, each
with its key path, in the order pydantic would give them (fields in order, then unknown keys).
`describe` turns the first into one line: where, what is wrong, and the fix. Unknown keys,
wrong types, non-finite or out-of-range numbers, unknown literals and bad dates are problems.
`strict=False` also takes numbers and dates written as text (as the price files may).
"""

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

__all__ = [
    "Before",
    "Bound",
    "Check",
    "FieldError",
    "Problem",
    "RecordError",
    "describe",
    "explain",
    "key_path",
    "keys_of",
    "read",
]

R = TypeVar("R")
Loc = tuple[int | str, ...]


@dataclasses.dataclass(frozen=True)
class Bound:
    """Limits on a number (ge, gt, le) or on the length of text, a list or a mapping."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    min_length: int | None = None


@dataclasses.dataclass(frozen=True)
class Check:
    """A check of a field's valid value: returns it, or raises ValueError with the fix."""

    function: Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class Before:
    """A change to a field's raw value before it is checked (e.g. one number -> a list)."""

    function: Callable[[Any], Any]


class FieldError(ValueError):
    """A record's `check` found a problem; `key` names the field it is about (else the record)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong: where (key path), what kind, the value found, and what to write."""

    loc: Loc
    kind: str  # missing, unknown_key, type, finite, range, too_short, literal, invalid
    value: Any = None
    expected: str = ""


class RecordError(ValueError):
    """The problems found reading a record; `str()` is the first one, described."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(describe(problems))
        self.problems = problems


def read(record: type[R], data: Any, *, strict: bool = True) -> R:
    """`data` as a `record`; raises RecordError naming every problem."""
    problems: list[Problem] = []
    value = _Reader(strict, problems).value(record, data, ())
    if problems:
        raise RecordError(problems)
    return typing.cast("R", value)


def keys_of(record: type[Any]) -> list[str]:
    """The keys a record's mapping may have, in field order."""
    return [_key(f) for f in dataclasses.fields(record)]


def describe(problems: Sequence[Problem], label: str = "") -> str:
    """The first problem (an unknown key first: it usually explains a missing one), as
    `label: key.path: problem; fix`."""
    problem = min(problems, key=lambda p: p.kind != "unknown_key")
    where = key_path(problem.loc) or "top level"
    return f"{label}: {where}: {explain(problem)}" if label else f"{where}: {explain(problem)}"


def key_path(loc: Sequence[int | str]) -> str:
    """('options', 1, 'api', 'model') -> 'options[1].api.model'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _key(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("key", field.name))


def _names(kind: Any) -> str:
    return {float: "a number", int: "a whole number", str: "text", bool: "true or false",
            date: "a date (YYYY-MM-DD)", list: "a list", dict: "a mapping of keys"}.get(
        kind, "a mapping of keys")  # fmt: skip


def explain(problem: Problem) -> str:
    """What is wrong with the value and what to write instead."""
    shown = _shown(problem.value)
    text = {
        "missing": "is missing; add this key",
        "unknown_key": f"unknown key; {problem.expected}",
        "type": f"expected {problem.expected}, got {shown}; write {problem.expected}",
        "finite": f"got {problem.value!r}; write a finite number",
        "range": f"got {shown}; must be {problem.expected}",
        "too_short": f"is empty; {problem.expected}",
        "literal": f"got {shown}; use {problem.expected}",
    }
    return text.get(problem.kind, problem.expected)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value!r} ({'text' if isinstance(value, str) else type(value).__name__})"


class _Reader:
    """One read: the strictness, the problems found so far, and each record's fields."""

    def __init__(self, strict: bool, problems: list[Problem]) -> None:
        self.strict = strict
        self.problems = problems
        self.plans: dict[type[Any], tuple[list[tuple[str, str, Any, bool]], dict[str, None]]] = {}

    def fail(self, loc: Loc, kind: str, value: Any = None, expected: str = "") -> None:
        self.problems.append(Problem(loc, kind, value, expected))

    def value(self, kind: Any, raw: Any, loc: Loc) -> Any:  # noqa: PLR0911 - one per kind
        if kind in _SCALARS:
            return self.scalar(kind, raw, loc)
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            return self.annotated(kind, raw, loc)
        if origin in {types.UnionType, typing.Union}:
            inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
            return None if raw is None else self.value(inner[0], raw, loc)
        if origin is typing.Literal:
            return self.literal(typing.get_args(kind), raw, loc)
        if origin is list:
            return self.items(typing.get_args(kind)[0], raw, loc)
        if origin is dict:
            return self.mapping(typing.get_args(kind), raw, loc)
        if dataclasses.is_dataclass(kind):
            return self.record(typing.cast("type[Any]", kind), raw, loc)
        return self.scalar(kind, raw, loc)

    def plan(self, record: type[Any]) -> tuple[list[tuple[str, str, Any, bool]], dict[str, None]]:
        """(field name, key, type, required) of each field, and the keys allowed (in order)."""
        if record not in self.plans:
            fields = [(f.name, _key(f), _type(record, f), _required(f))
                      for f in dataclasses.fields(record)]  # fmt: skip
            self.plans[record] = (fields, dict.fromkeys(key for _, key, _, _ in fields))
        return self.plans[record]

    def annotated(self, kind: Any, raw: Any, loc: Loc) -> Any:
        inner, *marks = typing.get_args(kind)
        for mark in marks:
            if isinstance(mark, Before):
                raw = mark.function(raw)
        before = len(self.problems)
        value = self.value(inner, raw, loc)
        for mark in marks:
            if len(self.problems) > before or value is None:
                break
            if isinstance(mark, Bound):
                self.bound(mark, value, loc)
            elif isinstance(mark, Check):
                try:
                    value = mark.function(value)
                except ValueError as error:
                    self.fail(loc, "invalid", value, str(error))
        return value

    def bound(self, bound: Bound, value: Any, loc: Loc) -> None:
        if bound.min_length is not None and len(value) < bound.min_length:
            if isinstance(value, str):
                self.fail(loc, "range", value, f"at least {bound.min_length} character(s) long")
            else:
                self.fail(loc, "too_short", value, "give at least one entry")
        elif bound.ge is not None and value < bound.ge:
            self.fail(loc, "range", value, f"at least {bound.ge:g}")
        elif bound.gt is not None and value <= bound.gt:
            self.fail(loc, "range", value, f"greater than {bound.gt:g}")
        elif bound.le is not None and value > bound.le:
            self.fail(loc, "range", value, f"less than or equal to {bound.le:g}")

    def literal(self, allowed: tuple[Any, ...], raw: Any, loc: Loc) -> Any:
        if not isinstance(raw, bool) and any(raw == a and type(raw) is type(a) for a in allowed):
            return raw
        shown = [repr(a) for a in allowed]
        listed = f"{', '.join(shown[:-1])} or {shown[-1]}" if len(shown) > 1 else shown[0]
        self.fail(loc, "literal", raw, listed)
        return None

    def items(self, kind: Any, raw: Any, loc: Loc) -> Any:
        if not isinstance(raw, list | tuple):
            self.fail(loc, "type", raw, "a list")
            return None
        return [self.value(kind, item, (*loc, i)) for i, item in enumerate(raw)]

    def mapping(self, kinds: tuple[Any, Any], raw: Any, loc: Loc) -> Any:
        if not isinstance(raw, dict):
            self.fail(loc, "type", raw, "a mapping of keys")
            return None
        out = {}
        for name, item in raw.items():
            key = self.value(kinds[0], name, (*loc, name))
            out[key] = self.value(kinds[1], item, (*loc, name))
        return out

    def record(self, record: type[Any], raw: Any, loc: Loc) -> Any:
        if not isinstance(raw, dict):
            self.fail(loc, "type", raw, "a mapping of keys")
            return None
        before = len(self.problems)
        fields, allowed = self.plan(record)
        values = {}
        for name, key, kind, required in fields:
            if key in raw:
                values[name] = self.value(kind, raw[key], (*loc, key))
            elif required:
                self.fail((*loc, key), "missing")
        if not raw.keys() <= allowed.keys():
            self.unknown_keys(list(allowed), raw, loc)
        if len(self.problems) > before:
            return None
        return self.checked(record(**values), loc)

    def unknown_keys(self, allowed: list[str], raw: dict[Any, Any], loc: Loc) -> None:
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.fail((*loc, key), "unknown_key", key,
                          f"{hint}allowed keys here are {', '.join(allowed)}")  # fmt: skip

    def checked(self, value: Any, loc: Loc) -> Any:
        check = getattr(value, "check", None)
        if check is None:
            return value
        try:
            check()
        except FieldError as error:
            self.fail((*loc, error.key) if error.key else loc, "invalid", None, str(error))
        except ValueError as error:
            self.fail(loc, "invalid", None, str(error))
        return value

    def scalar(self, kind: Any, raw: Any, loc: Loc) -> Any:
        value = _scalar(kind, raw, self.strict)
        if value is _WRONG:
            self.fail(loc, "type", raw, _names(kind))
            return None
        if kind is float and not math.isfinite(value):
            self.fail(loc, "finite", raw)
            return None
        return value


_WRONG = object()
_SCALARS = frozenset({float, int, str, bool, date})


def _type(record: type[Any], field: dataclasses.Field[Any]) -> Any:
    if isinstance(field.type, str):  # a programming error, not a user's
        raise TypeError(f"{record.__name__}: string annotations; drop the __future__ import")
    return field.type


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _scalar(kind: Any, raw: Any, strict: bool) -> Any:  # noqa: PLR0911 - one per kind
    if isinstance(raw, bool):
        return raw if kind is bool else _WRONG
    if kind is float:
        if isinstance(raw, int | float):
            return float(raw)
        return _parsed(float, raw) if not strict and isinstance(raw, str) else _WRONG
    if kind is int:
        if isinstance(raw, int):
            return raw
        whole = not strict and isinstance(raw, float) and raw.is_integer()
        return int(raw) if whole else _WRONG
    if kind is date:
        if isinstance(raw, date) and type(raw) is date:
            return raw
        return _parsed(date.fromisoformat, raw) if not strict and isinstance(raw, str) else _WRONG
    return raw if isinstance(raw, kind) else _WRONG


def _parsed(parse: Callable[[str], Any], raw: str) -> Any:
    try:
        return parse(raw)
    except ValueError:
        return _WRONG
