"""Traffic formats by name (a registry, not a branch chain), detection, and the saved form.

`read_traffic(path, format_name)` reads any of them; with no format it is detected from the
file name and content where that is unambiguous, and a one-line error asks for --format when
it is not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO

import numpy as np

from llmecon.errors import LlmeconError
from llmecon.traffic.generic import read_generic_csv, read_generic_jsonl
from llmecon.traffic.ledger_source import read_ledger
from llmecon.traffic.litellm import read_litellm_csv, read_litellm_json
from llmecon.traffic.openai_usage import read_openai_csv, read_openai_json
from llmecon.traffic.records import Traffic

Reader = Callable[[str], Traffic]
_SAVED_COLUMNS = ("start", "span", "model", "requests", "prompt", "completion", "cached", "key")
_LEDGER_SCHEMES = ("sqlite://", "postgresql://", "postgres://")


@contextmanager
def _lines(path: str) -> Iterator[TextIO]:
    try:
        with Path(path).open(encoding="utf-8", newline="") as handle:
            yield handle
    except FileNotFoundError:
        raise LlmeconError(f"{path}: no such file; check the path") from None
    except UnicodeDecodeError:
        raise LlmeconError(f"{path}: not UTF-8 text; export the usage as CSV or JSON") from None


def _document(path: str) -> Any:
    with _lines(path) as handle:
        text = handle.read()
    if not text.strip():
        raise LlmeconError(f"{path}: the file is empty; export a period with traffic")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise LlmeconError(
            f"{path}: not JSON ({error.msg} at line {error.lineno}); for one object per line "
            "use --format generic-jsonl"
        ) from None


def _csv(reader: Callable[[TextIO, str], Traffic]) -> Reader:
    def read(path: str) -> Traffic:
        with _lines(path) as handle:
            return reader(handle, path)

    return read


def _json(reader: Callable[[Any, str], Traffic]) -> Reader:
    return lambda path: reader(_document(path), path)


def save_traffic(traffic: Traffic, path: Path) -> None:
    """Write `traffic` in llmecon's own compact form (.npz), for fast re-use."""
    try:
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                models=np.array(traffic.models, dtype=str),
                keys=np.array(traffic.keys, dtype=str),
                source=np.array([traffic.source, traffic.format]),
                **{name: getattr(traffic, name) for name in _SAVED_COLUMNS},
            )
    except OSError as error:
        raise LlmeconError(f"{path}: cannot write ({error.strerror})") from None


def _load_saved(path: str) -> Traffic:
    try:
        with np.load(path, allow_pickle=False) as data:
            columns = {name: data[name].astype(np.int64) for name in _SAVED_COLUMNS}
            source, original = (str(v) for v in data["source"])
            return Traffic(
                source=source, format=original, models=tuple(str(m) for m in data["models"]),
                keys=tuple(str(k) for k in data["keys"]), **columns,
            )  # fmt: skip
    except FileNotFoundError:
        raise LlmeconError(f"{path}: no such file; check the path") from None
    except (OSError, KeyError, ValueError) as error:
        raise LlmeconError(
            f"{path}: not a traffic file saved by `llmecon traffic import` ({error})"
        ) from None


FORMATS: Mapping[str, Reader] = MappingProxyType(
    {
        "openai-usage-json": _json(read_openai_json),
        "openai-usage-csv": _csv(read_openai_csv),
        "litellm-json": _json(read_litellm_json),
        "litellm-csv": _csv(read_litellm_csv),
        "generic-csv": _csv(read_generic_csv),
        "generic-jsonl": _csv(read_generic_jsonl),
        "ledger": read_ledger,
        "llmecon": _load_saved,
    }
)
"""Every importable format by name (`--format NAME`)."""


def read_traffic(path: str, format_name: str | None = None) -> Traffic:
    """The traffic in `path` (a file, or a ledger URL for format `ledger`)."""
    name = format_name or detect_format(path)
    reader = FORMATS.get(name)
    if reader is None:
        raise LlmeconError(f"unknown traffic format {name!r}; use one of {', '.join(FORMATS)}")
    return reader(path)


_CSV_MARKERS = (
    ("litellm-csv", "startTime"),
    ("openai-usage-csv", "num_model_requests"),
    ("generic-csv", "timestamp"),
)


def detect_format(path: str) -> str:
    """The format of `path` from its name and first bytes; an error when unsure."""
    if path.startswith(_LEDGER_SCHEMES) or path.endswith((".db", ".sqlite")):
        return "ledger"
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return "llmecon"
    if suffix in (".jsonl", ".ndjson"):
        return "generic-jsonl"
    with _lines(path) as handle:
        first = handle.readline()
    if not first.strip():
        raise LlmeconError(f"{path}: the file is empty; export a period with traffic")
    if suffix == ".json" or first.lstrip().startswith(("{", "[")):
        return _detect_json(path, first)
    header = {name.strip() for name in first.strip().split(",")}
    found = [name for name, marker in _CSV_MARKERS if marker in header]
    if len(found) != 1:
        raise LlmeconError(
            f"{path}: cannot tell the format from the header; give --format ({', '.join(FORMATS)})"
        )
    return found[0]


def _detect_json(path: str, first: str) -> str:
    stripped = first.strip()
    if stripped.startswith("{") and stripped.endswith("}") and '"timestamp"' in stripped:
        return "generic-jsonl"
    document = _document(path)
    page = document[0] if isinstance(document, list) and document else document
    if isinstance(page, dict) and page.get("object") == "page":
        return "openai-usage-json"
    if isinstance(document, dict) and "data" in document:
        document = document["data"]
    rows = document if isinstance(document, list) else []
    if rows and isinstance(rows[0], dict) and "startTime" in rows[0]:
        return "litellm-json"
    raise LlmeconError(f"{path}: cannot tell the JSON format; give --format ({', '.join(FORMATS)})")
