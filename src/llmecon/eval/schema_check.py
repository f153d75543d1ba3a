"""A small JSON Schema validator (the keywords extraction tasks use), with no dependency.

Supported: type, properties, required, additionalProperties (bool or schema), items, enum,
const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern,
minItems, maxItems. An unsupported keyword is an error when the dataset is read, never a
silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

SUPPORTED = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
        "pattern", "minItems", "maxItems", "title", "description", "$schema",
    }
)  # fmt: skip
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def check_schema(schema: Any, path: str = "schema") -> None:
    """Raise ValueError naming the first unsupported or malformed part of `schema`."""
    if not isinstance(schema, dict):
        raise ValueError(f"{path} must be a JSON object")
    unknown = sorted(set(schema) - SUPPORTED)
    if unknown:
        raise ValueError(
            f"{path}: unsupported JSON Schema keyword {unknown[0]!r}; supported: "
            + ", ".join(sorted(SUPPORTED))
        )
    kinds = schema.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds] if kinds else []:
        if kind not in _TYPES:
            raise ValueError(f"{path}.type: unknown type {kind!r}; use one of {', '.join(_TYPES)}")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{path}.properties.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            check_schema(schema[key], f"{path}.{key}")


def violations(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way `value` breaks `schema` (empty: valid)."""
    problems = _type_problems(value, schema, path)
    if problems:
        return problems
    problems += _value_problems(value, schema, path)
    if isinstance(value, dict):
        problems += _object_problems(value, schema, path)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += violations(item, schema["items"], f"{path}[{index}]")
    return problems


def _type_problems(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    kinds = schema.get("type")
    if kinds is None:
        return []
    names = kinds if isinstance(kinds, list) else [kinds]
    if any(_TYPES[name](value) for name in names):
        return []
    return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]


def _value_problems(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{path}: expected {schema['const']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        problems += _bounds(value, schema, path)
    if isinstance(value, str):
        problems += _sized(len(value), schema, "minLength", "maxLength", path)
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            problems.append(f"{path}: does not match {schema['pattern']!r}")
    if isinstance(value, list):
        problems += _sized(len(value), schema, "minItems", "maxItems", path)
    return problems


def _bounds(value: float, schema: dict[str, Any], path: str) -> list[str]:
    tests: tuple[tuple[str, Callable[[float], bool]], ...] = (
        ("minimum", lambda limit: value >= limit),
        ("maximum", lambda limit: value <= limit),
        ("exclusiveMinimum", lambda limit: value > limit),
        ("exclusiveMaximum", lambda limit: value < limit),
    )
    return [
        f"{path}: {value} breaks {key} {schema[key]}"
        for key, test in tests
        if key in schema and not test(schema[key])
    ]


def _sized(size: int, schema: dict[str, Any], low: str, high: str, path: str) -> list[str]:
    problems = []
    if low in schema and size < schema[low]:
        problems.append(f"{path}: length {size} is under {low} {schema[low]}")
    if high in schema and size > schema[high]:
        problems.append(f"{path}: length {size} is over {high} {schema[high]}")
    return problems


def _object_problems(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    problems = [
        f"{path}: missing {key!r}" for key in schema.get("required", []) if key not in value
    ]
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            problems += violations(item, properties[key], f"{path}.{key}")
        elif extra is False:
            problems.append(f"{path}: unexpected key {key!r}")
        elif isinstance(extra, dict):
            problems += violations(item, extra, f"{path}.{key}")
    return problems
