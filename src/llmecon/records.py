"""Plain data (parsed YAML or JSON) read into frozen records, strictly, without pydantic.

A record is a subclass of `Record`: frozen, keyword-only, with fields declared as annotations
(real objects: its module does not use `from __future__ import annotations`) and defaults, like
a dataclass but built without generating code (a dataclass costs ~1 ms to create on Python 3.11;
a record ~20 us, and `llmecon compare` imports ~40 of them). Field types: `float`, `int`, `str`,
`bool`, `date`, `Literal[...]`, `X | None`, `list[X]`, `dict[K, V]`, another record, and
`Annotated[X, Bound(...), Check(...), Before(...)]` for ranges, lengths, per-field checks and
coercions. `field(key="lambda")` reads a field from another key; `field(default_factory=list)`
gives each record its own list. A record's `check(self)` method, if it has one, runs once its
fields are valid; it raises ValueError (or `FieldError` naming a field).

`read(Record, data)` returns the record or raises `RecordError` with every problem found, each
with its key path, in the order pydantic would give them (fields in order, then unknown keys).
`describe` turns the first into one line: where, what is wrong, and the fix. Unknown keys,
wrong types, non-finite or out-of-range numbers, unknown literals and bad dates are problems.
`strict=False` also takes numbers and dates written as text (as the price files may).
"""

import difflib
import math
import types
import typing
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, ClassVar, TypeVar

__all__ = [
    "Before",
    "Bound",
    "Check",
    "FieldError",
    "Problem",
    "Record",
    "RecordError",
    "describe",
    "explain",
    "field",
    "fields_of",
    "key_path",
    "keys_of",
    "read",
]

R = TypeVar("R")
Loc = tuple[int | str, ...]
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()


class _Field:
    """One field: its name, the key it is read from, its type, its default or default factory."""

    __slots__ = ("default", "factory", "key", "kind", "name")

    def __init__(self, name: str, key: str, kind: Any, default: Any, factory: Any) -> None:
        self.name, self.key, self.kind, self.default, self.factory = (
            name, key, kind, default, factory
        )  # fmt: skip

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.factory is None


class _Spec:
    __slots__ = ("default", "factory", "key")

    def __init__(self, key: str | None, default: Any, factory: Any) -> None:
        self.key, self.default, self.factory = key, default, factory


def field(
    *, key: str | None = None, default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
) -> Any:  # fmt: skip
    """A field read from `key` (else its name), with a default or a default factory."""
    return _Spec(key, default, default_factory)


@typing.dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
class Record:
    """A frozen, keyword-only record: fields from the subclass's annotations (see module doc)."""

    __record_fields__: ClassVar[tuple[_Field, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found = {f.name: f for f in cls.__record_fields__}
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect costs start-up
        for name, kind in own.items():
            if isinstance(kind, str):  # a programming error, not a user's
                raise TypeError(f"{cls.__name__}: string annotations; drop the __future__ import")
            if typing.get_origin(kind) is ClassVar:
                continue
            spec = cls.__dict__.get(name, _MISSING)
            if not isinstance(spec, _Spec):
                spec = _Spec(None, spec, None)
            elif spec.default is _MISSING:
                delattr(cls, name)
            found[name] = _Field(name, spec.key or name, kind, spec.default, spec.factory)
        cls.__record_fields__ = tuple(found.values())

    def __init__(self, **values: Any) -> None:
        for f in self.__record_fields__:
            if f.name in values:
                value = values.pop(f.name)
            elif f.required:
                raise TypeError(f"{type(self).__name__}: give {f.name}")
            else:
                value = f.default if f.factory is None else f.factory()
            object.__setattr__(self, f.name, value)
        if values:
            raise TypeError(f"{type(self).__name__}: no field {', '.join(values)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in self.__record_fields__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return False
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__)
        return f"{type(self).__name__}({shown})"


def fields_of(record: type[Record]) -> dict[str, Any]:
    """Each field's name and type, in order."""
    return {f.name: f.kind for f in record.__record_fields__}


def keys_of(record: type[Record]) -> list[str]:
    """The keys a record's mapping may have, in field order."""
    return [f.key for f in record.__record_fields__]


class Bound(Record):
    """Limits on a number (ge, gt, le) or on the length of text, a list or a mapping."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    min_length: int | None = None


class Check:
    """A check of a field's valid value: returns it, or raises ValueError with the fix."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function


class Before:
    """A change to a field's raw value before it is checked (e.g. one number -> a list)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function


class FieldError(ValueError):
    """A record's `check` found a problem; `key` names the field it is about (else the record)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class Problem(Record):
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
        name = part if isinstance(part, str) and part.isprintable() else repr(part)
        text += f"[{part}]" if isinstance(part, int) else (f".{name}" if text else name)
    return text


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
        "finite": f"got {_short(repr(problem.value))}; write a finite number",
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
    kind = "text" if isinstance(value, str) else type(value).__name__
    return f"{_short(repr(value))} ({kind})"


def _short(text: str, most: int = 60) -> str:
    """`text`, or its start and end around an ellipsis when longer than `most` characters."""
    if len(text) <= most:
        return text
    return f"{text[: most // 2]}...{text[-8:]} ({len(text)} characters)"


class _Reader:
    """One read: the strictness, the problems found so far, and each record's fields."""

    def __init__(self, strict: bool, problems: list[Problem]) -> None:
        self.strict = strict
        self.problems = problems
        self.plans: dict[type[Record], dict[str, None]] = {}

    def fail(self, loc: Loc, kind: str, value: Any = None, expected: str = "") -> None:
        self.problems.append(Problem(loc=loc, kind=kind, value=value, expected=expected))

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
        if isinstance(kind, type) and issubclass(kind, Record):
            return self.record(kind, raw, loc)
        return self.scalar(kind, raw, loc)

    def plan(self, record: type[Record]) -> dict[str, None]:
        """The keys a record allows, in order."""
        if record not in self.plans:
            self.plans[record] = dict.fromkeys(keys_of(record))
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

    def record(self, record: type[Record], raw: Any, loc: Loc) -> Any:
        if not isinstance(raw, dict):
            self.fail(loc, "type", raw, "a mapping of keys")
            return None
        before = len(self.problems)
        allowed = self.plan(record)
        values = {}
        for f in record.__record_fields__:
            if f.key in raw:
                values[f.name] = self.value(f.kind, raw[f.key], (*loc, f.key))
            elif f.required:
                self.fail((*loc, f.key), "missing")
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


def _scalar(kind: Any, raw: Any, strict: bool) -> Any:  # noqa: PLR0911 - one per kind
    if isinstance(raw, bool):
        return raw if kind is bool else _WRONG
    if kind is float:
        if isinstance(raw, int | float):
            return _float(raw)
        return _parsed(float, raw) if not strict and isinstance(raw, str) else _WRONG
    if kind is int:
        if isinstance(raw, int):
            return raw
        if not strict and isinstance(raw, str):
            return _parsed(int, raw)
        whole = not strict and isinstance(raw, float) and raw.is_integer()
        return int(raw) if whole else _WRONG
    if kind is date:
        if isinstance(raw, date) and type(raw) is date:
            return raw
        return _parsed(date.fromisoformat, raw) if not strict and isinstance(raw, str) else _WRONG
    return raw if isinstance(raw, kind) else _WRONG


def _float(raw: float) -> float:
    try:
        return float(raw)
    except OverflowError:  # an int beyond a float's range: not a finite number
        return math.inf


def _parsed(parse: Callable[[str], Any], raw: str) -> Any:
    try:
        return parse(raw)
    except ValueError:
        return _WRONG
