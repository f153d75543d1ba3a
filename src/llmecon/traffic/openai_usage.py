"""OpenAI's usage: the Usage API JSON (`/v1/organization/usage/completions` and `/embeddings`
pages of time buckets) and the usage dashboard's CSV export (one row per bucket and group).

OpenAI reports buckets (1m, 1h or 1d wide), not single requests: a record here is
`num_model_requests` requests spread over the bucket, with the bucket's token totals. Field
names follow the Usage API's result objects; tests/fixtures/traffic/README.md cites them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.traffic.columns import check_columns
from llmecon.traffic.records import Traffic, TrafficBuilder, parse_count

RESULT_OBJECTS = {
    "organization.usage.completions.result": ("input_tokens", "output_tokens"),
    "organization.usage.embeddings.result": ("input_tokens",),
}
COMMON = ("object", "num_model_requests", "input_tokens")
OPTIONAL = (
    "output_tokens", "input_cached_tokens", "input_uncached_tokens", "input_text_tokens",
    "output_text_tokens", "input_cached_text_tokens", "input_audio_tokens",
    "input_cached_audio_tokens", "output_audio_tokens", "input_image_tokens",
    "input_cached_image_tokens", "output_image_tokens", "project_id", "user_id", "api_key_id",
    "model", "batch", "service_tier",
)  # fmt: skip
BUCKET_KEYS = ("object", "start_time", "end_time", "results")
PAGE_KEYS = ("object", "data", "has_more", "next_page")
CSV_REQUIRED = ("start_time", "end_time", "num_model_requests", "input_tokens", "model")
CSV_OPTIONAL = ("start_time_iso", "end_time_iso", *(k for k in OPTIONAL if k != "model"))


def read_openai_json(document: Any, source: str) -> Traffic:
    pages = document if isinstance(document, list) else [document]
    builder = TrafficBuilder(source, "openai-usage-json")
    for page_index, page in enumerate(pages):
        at = f"{source}: page {page_index + 1}"
        if not isinstance(page, dict) or page.get("object") != "page":
            raise LlmeconError(
                f'{at}: expected a Usage API page ({{"object": "page", "data": [...]}}); '
                "save the JSON that /v1/organization/usage/completions returns"
            )
        check_columns(page, ("object", "data"), PAGE_KEYS[2:], at, "openai-usage-json")
        for bucket_index, bucket in enumerate(page["data"]):
            _bucket(builder, bucket, f"{at}: data[{bucket_index}]")
    return builder.build()


def _bucket(builder: TrafficBuilder, bucket: Any, at: str) -> None:
    if not isinstance(bucket, dict) or bucket.get("object") != "bucket":
        raise LlmeconError(f'{at}: expected a bucket object ({{"object": "bucket", ...}})')
    check_columns(bucket, BUCKET_KEYS, (), at, "openai-usage-json")
    start = parse_count(bucket["start_time"], at, "start_time")
    span = parse_count(bucket["end_time"], at, "end_time") - start
    if span <= 0:
        raise LlmeconError(f"{at}: end_time is not after start_time; the bucket is empty")
    for index, result in enumerate(bucket["results"]):
        where = f"{at}: results[{index}]"
        if not isinstance(result, dict):
            raise LlmeconError(f"{where}: expected a usage result object")
        kind = result.get("object")
        if kind not in RESULT_OBJECTS:
            raise LlmeconError(
                f"{where}: object {kind!r} is not a completions or embeddings result; "
                "import the completions or embeddings usage endpoints"
            )
        check_columns(result, COMMON, OPTIONAL, where, "openai-usage-json")
        for name in RESULT_OBJECTS[kind][1:]:
            if name not in result:
                raise LlmeconError(f"{where}: missing {name!r} in a {kind} object")
        _add(builder, result, where, start, span)


def read_openai_csv(lines: Iterable[str], source: str) -> Traffic:
    reader = csv.DictReader(lines)
    if reader.fieldnames is None:
        raise LlmeconError(f"{source}: the file is empty; export a period with traffic")
    check_columns(
        reader.fieldnames, CSV_REQUIRED, CSV_OPTIONAL, f"{source}: header", "openai-usage-csv"
    )
    builder = TrafficBuilder(source, "openai-usage-csv")
    for row in reader:
        at = f"{source}: line {reader.line_num}"
        if None in row or None in row.values():
            raise LlmeconError(
                f"{at}: the row's field count differs from the header's; "
                "is this file a mix of two formats?"
            )
        start = parse_count(row["start_time"], at, "start_time")
        span = parse_count(row["end_time"], at, "end_time") - start
        if span <= 0:
            raise LlmeconError(f"{at}: end_time is not after start_time; the bucket is empty")
        _add(builder, row, at, start, span)
    return builder.build()


def _add(
    builder: TrafficBuilder, result: Mapping[str, Any], at: str, start: int, span: int
) -> None:
    model = result.get("model")
    if not model or not isinstance(model, str):
        raise LlmeconError(
            f"{at}: model is {model!r}; query the Usage API with group_by=model so each result "
            "names its model"
        )
    output = result.get("output_tokens", 0)
    cached = result.get("input_cached_tokens", 0)
    builder.add(
        at,
        start,
        model,
        (
            parse_count(result["num_model_requests"], at, "num_model_requests"),
            parse_count(result["input_tokens"], at, "input_tokens"),
            parse_count(output if output != "" else 0, at, "output_tokens"),
            parse_count(cached if cached not in ("", None) else 0, at, "input_cached_tokens"),
        ),
        span=span,
        key=str(result["api_key_id"]) if result.get("api_key_id") else None,
    )
