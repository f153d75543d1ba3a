"""Turn a pydantic validation error into one line: where, what is wrong, and the fix."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

_TYPE_NAMES = {
    "float_type": "a number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text",
    "list_type": "a list",
    "model_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
    "date_type": "a date (YYYY-MM-DD)",
    "bool_type": "true or false",
}


def describe(error: ValidationError, label: str, root: type[BaseModel]) -> str:
    """The first problem in `error`, as `label: key.path: problem; fix`."""
    details = error.errors()
    # An unknown key usually explains a "missing" one (a typo): report it first.
    detail = min(details, key=lambda d: d["type"] != "extra_forbidden")
    loc = detail["loc"]
    where = key_path(loc) or "top level"
    return f"{label}: {where}: {_problem(detail, root)}"


def key_path(loc: Sequence[int | str]) -> str:
    """('options', 1, 'api', 'model') -> 'options[1].api.model'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(detail: ErrorDetails, root: type[BaseModel]) -> str:
    kind, value = detail["type"], detail.get("input")
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {_shown(value)}; write {_TYPE_NAMES[kind]}"
    explain = _EXPLAIN.get(kind)
    if explain is not None:
        return explain(detail, root)
    return f"{detail['msg'].lower()} (got {_shown(value)})"


def _unknown_key(detail: ErrorDetails, root: type[BaseModel]) -> str:
    keys = allowed_keys(root, detail["loc"][:-1])
    close = difflib.get_close_matches(str(detail["loc"][-1]), keys, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}allowed keys here are {', '.join(keys)}"


def _too_small(detail: ErrorDetails, root: type[BaseModel]) -> str:
    context = detail.get("ctx", {})
    if "ge" in context:
        return f"got {_shown(detail.get('input'))}; must be at least {context['ge']}"
    return f"got {_shown(detail.get('input'))}; must be greater than {context.get('gt')}"


def _literal(detail: ErrorDetails, root: type[BaseModel]) -> str:
    expected = detail.get("ctx", {}).get("expected", "a valid value")
    return f"got {_shown(detail.get('input'))}; use {expected}"


def _validator(detail: ErrorDetails, root: type[BaseModel]) -> str:
    return str(detail.get("ctx", {}).get("error", detail["msg"]))


_EXPLAIN = {
    "extra_forbidden": _unknown_key,
    "missing": lambda detail, root: "is missing; add this key",
    "finite_number": lambda detail, root: f"got {detail.get('input')!r}; write a finite number",
    "greater_than_equal": _too_small,
    "greater_than": _too_small,
    "too_short": lambda detail, root: "is empty; give at least one entry",
    "literal_error": _literal,
    "value_error": _validator,
}


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


def allowed_keys(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys a mapping at `loc` may have, found by walking the model's fields."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = _field_named(model, part)
        model = _model_in(field.annotation) if field is not None else None
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _field_named(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in {name, field.alias}:
            return field
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in {typing.Union, types.UnionType, list, typing.Annotated}:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
