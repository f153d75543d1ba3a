"""LiteLLM proxy spend logs: the `/spend/logs` JSON (a list, or v2's {"data": [...]}) and the CSV
export of the same rows. Field names are those of the `LiteLLM_SpendLogs` table
(litellm/proxy/schema.prisma); tests/fixtures/traffic/README.md cites them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.traffic.columns import check_columns
from llmecon.traffic.records import Traffic, TrafficBuilder, parse_count, parse_time

REQUIRED = ("request_id", "startTime", "model", "prompt_tokens", "completion_tokens")
OPTIONAL = (
    "call_type", "api_key", "spend", "total_tokens", "endTime", "completionStartTime",
    "model_id", "model_group", "custom_llm_provider", "api_base", "user", "metadata",
    "cache_hit", "cache_key", "request_tags", "team_id", "organization_id", "end_user",
    "requester_ip_address", "messages", "response", "session_id", "status",
    "mcp_namespaced_tool_name", "agent_id", "proxy_server_request",
)  # fmt: skip
_V2_KEYS = frozenset({"data", "total", "page", "page_size", "total_pages"})


def read_litellm_json(document: Any, source: str) -> Traffic:
    rows = _rows(document, source)
    builder = TrafficBuilder(source, "litellm-json")
    for index, row in enumerate(rows):
        at = f"{source}: [{index}]"
        if not isinstance(row, dict):
            raise LlmeconError(f"{at}: expected a spend-log object, got {type(row).__name__}")
        check_columns(row, REQUIRED, OPTIONAL, at, "litellm-json")
        _add(builder, row, at)
    return builder.build()


def read_litellm_csv(lines: Iterable[str], source: str) -> Traffic:
    reader = csv.DictReader(lines)
    if reader.fieldnames is None:
        raise LlmeconError(f"{source}: the file is empty; export a period with traffic")
    check_columns(reader.fieldnames, REQUIRED, OPTIONAL, f"{source}: header", "litellm-csv")
    builder = TrafficBuilder(source, "litellm-csv")
    for row in reader:
        at = f"{source}: line {reader.line_num}"
        if None in row or None in row.values():
            raise LlmeconError(
                f"{at}: the row's field count differs from the header's; "
                "is this file a mix of two formats?"
            )
        _add(builder, row, at)
    return builder.build()


def _rows(document: Any, source: str) -> list[Any]:
    if isinstance(document, dict) and set(document) <= _V2_KEYS and "data" in document:
        document = document["data"]
    if not isinstance(document, list):
        raise LlmeconError(
            f'{source}: expected the /spend/logs JSON (a list of spend logs, or {{"data": '
            "[...]}} from /spend/logs/v2)"
        )
    return document


def _add(builder: TrafficBuilder, row: Mapping[str, Any], at: str) -> None:
    stamp = row["startTime"]
    if not isinstance(stamp, str):
        raise LlmeconError(f"{at}: startTime is {stamp!r}; expected an ISO 8601 string")
    model = row["model"]
    if not isinstance(model, str):
        raise LlmeconError(f"{at}: model is {model!r}; expected a model name")
    key = row.get("api_key")
    builder.add(
        at,
        parse_time(stamp, f"{at}: startTime"),
        model,
        (
            1,
            parse_count(row["prompt_tokens"], at, "prompt_tokens"),
            parse_count(row["completion_tokens"], at, "completion_tokens"),
            0,
        ),
        key=str(key) if key else None,
    )
