"""The generic formats: CSV or JSON Lines with one request per row.

Columns: timestamp (ISO 8601 with a zone), model, prompt_tokens, completion_tokens; optional
cached_tokens, latency_ms, key. Any other column is an error (a typo must not be ignored).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.traffic.columns import check_columns
from llmecon.traffic.records import Traffic, TrafficBuilder, parse_count, parse_time

REQUIRED = ("timestamp", "model", "prompt_tokens", "completion_tokens")
OPTIONAL = ("cached_tokens", "latency_ms", "key")


def read_generic_csv(lines: Iterable[str], source: str) -> Traffic:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise LlmeconError(f"{source}: the file is empty; export a period with traffic")
    check_columns(header, REQUIRED, OPTIONAL, f"{source}: header", "generic-csv")
    where = {name: header.index(name) for name in header}
    t, m, p, c = (where[name] for name in REQUIRED)
    cached = where.get("cached_tokens")
    key = where.get("key")
    width = len(header)
    builder = TrafficBuilder(source, "generic-csv")
    for number, row in enumerate(reader, start=2):
        if len(row) != width:
            if not row:
                continue
            raise LlmeconError(
                f"{source}: line {number}: {len(row)} fields, the header has {width}; "
                "is this file a mix of two formats?"
            )
        at = f"{source}: line {number}"
        builder.add(
            at,
            parse_time(row[t], at),
            row[m],
            (
                1,
                parse_count(row[p], at, "prompt_tokens"),
                parse_count(row[c], at, "completion_tokens"),
                parse_count(row[cached], at, "cached_tokens") if cached is not None else 0,
            ),
            key=row[key] if key is not None else None,
        )
    return builder.build()


def read_generic_jsonl(lines: Iterable[str], source: str) -> Traffic:
    builder = TrafficBuilder(source, "generic-jsonl")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        at = f"{source}: line {number}"
        record = _object(line, at)
        check_columns(record, REQUIRED, OPTIONAL, at, "generic-jsonl")
        model = record["model"]
        if not isinstance(model, str):
            raise LlmeconError(f"{at}: model is {model!r}; expected a model name")
        stamp = record["timestamp"]
        if not isinstance(stamp, str):
            raise LlmeconError(f"{at}: timestamp is {stamp!r}; expected an ISO 8601 string")
        builder.add(
            at,
            parse_time(stamp, at),
            model,
            (
                1,
                parse_count(record["prompt_tokens"], at, "prompt_tokens"),
                parse_count(record["completion_tokens"], at, "completion_tokens"),
                parse_count(record.get("cached_tokens", 0), at, "cached_tokens"),
            ),
            key=str(record["key"]) if record.get("key") is not None else None,
        )
    return builder.build()


def _object(line: str, at: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise LlmeconError(f"{at}: not JSON ({error.msg}); one JSON object per line") from None
    if not isinstance(record, dict):
        raise LlmeconError(f"{at}: expected a JSON object per line, got {type(record).__name__}")
    return record
