"""What differs between two scenario files, key path by key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmecon.scenario.yaml_source import parse_yaml, read_text


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        found: dict[str, Any] = {}
        for key, value in data.items():
            found.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(data, list) and data and all(isinstance(i, dict) and "name" in i for i in data):
        found = {}
        for item in data:  # options and one-off costs: matched by name, not position
            found.update(_flatten(item, f"{prefix}[{item['name']}]"))
        return found
    return {prefix: data}


def scenario_changes(first: Path, second: Path) -> list[tuple[str, Any, Any]]:
    """(key path, value in `first`, value in `second`) for every key that differs; a key
    missing on one side has the value None there."""
    old = _flatten(parse_yaml(read_text(first), str(first)))
    new = _flatten(parse_yaml(read_text(second), str(second)))
    return [
        (path, old.get(path), new.get(path))
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]
