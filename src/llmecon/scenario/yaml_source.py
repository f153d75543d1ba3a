"""Reading YAML as a user means it: duplicate keys are errors and 1e6 is a number."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from llmecon.errors import LlmeconError

_FLOAT = re.compile(
    r"""^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$""", re.VERBOSE
)


class _ScenarioLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and reads exponent floats without a dot."""


def _mapping(loader: _ScenarioLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        keys.add(key)
    return loader.construct_mapping(node)


_ScenarioLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def parse_yaml(text: str, label: str) -> Any:
    """The YAML document in `text`; syntax errors name `label` and the line."""
    try:
        return yaml.load(text, Loader=_ScenarioLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        raise LlmeconError(f"{label}: YAML error{where}: {problem}; fix the YAML there") from None
    except yaml.YAMLError as error:
        raise LlmeconError(f"{label}: YAML error: {error}; fix the YAML") from None
    except ValueError as error:  # a date like 2024-02-30, or an int over 4300 digits
        raise LlmeconError(
            f"{label}: a value cannot be read ({error}); fix that date or number"
        ) from None


def read_text(path: Path) -> str:
    """The file's text, or an error that says why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LlmeconError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise LlmeconError(f"{path}: is a directory; give a scenario .yaml file") from None
    except PermissionError:
        raise LlmeconError(
            f"{path}: cannot be read (permission denied); make it readable"
        ) from None
    except UnicodeDecodeError:
        raise LlmeconError(f"{path}: not UTF-8 text; save the scenario as UTF-8 YAML") from None
    except OSError as error:
        raise LlmeconError(f"{path}: cannot be read ({error.strerror}); check the file") from None
    if not text.strip():
        raise LlmeconError(
            f"{path}: the file is empty; write a scenario with name, workload and options "
            "(see the README's scenario format)"
        )
    return text
