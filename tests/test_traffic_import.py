"""Issue 14: every import format gives the profile an independent count of the file gives;
bad input gets a one-line error naming the problem."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmecon.errors import LlmeconError
from llmecon.traffic import detect_format, profile_traffic, read_traffic

FIXTURES = Path(__file__).parent / "fixtures" / "traffic"


def _stamp(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _per_request_rows(name: str) -> list[tuple[int, str, int, int]]:
    """(start, model, prompt, completion) read with the standard library only."""
    path = FIXTURES / name
    if name == "generic.csv":
        with path.open() as f:
            return [
                (_stamp(r["timestamp"]), r["model"], int(r["prompt_tokens"]),
                 int(r["completion_tokens"]))
                for r in csv.DictReader(f)
            ]  # fmt: skip
    if name == "generic.jsonl":
        items = [json.loads(line) for line in path.read_text().splitlines()]
        key = "timestamp"
    elif name == "litellm_spend_logs.json":
        items, key = json.loads(path.read_text()), "startTime"
    else:
        with path.open() as f:
            items, key = list(csv.DictReader(f)), "startTime"
    return [
        (_stamp(i[key]), i["model"], int(i["prompt_tokens"]), int(i["completion_tokens"]))
        for i in items
    ]


def _nearest_rank(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)])


@pytest.mark.parametrize(
    ("name", "expected_format"),
    [
        ("generic.csv", "generic-csv"),
        ("generic.jsonl", "generic-jsonl"),
        ("litellm_spend_logs.json", "litellm-json"),
        ("litellm_spend_logs.csv", "litellm-csv"),
    ],
)
def test_per_request_formats_match_an_independent_count(name: str, expected_format: str) -> None:
    rows = _per_request_rows(name)
    traffic = read_traffic(str(FIXTURES / name))
    assert traffic.format == expected_format == detect_format(str(FIXTURES / name))
    profile = profile_traffic(traffic)
    assert profile.requests == len(rows)
    assert profile.prompt_tokens == sum(r[2] for r in rows)
    assert profile.completion_tokens == sum(r[3] for r in rows)
    per_model = Counter(r[1] for r in rows)
    assert {m.model: m.requests for m in profile.models} == dict(per_model)
    prompts = [r[2] for r in rows]
    assert profile.prompt.p50 == _nearest_rank(prompts, 50)
    assert profile.prompt.p90 == _nearest_rank(prompts, 90)
    assert profile.prompt.p99 == _nearest_rank(prompts, 99)
    assert profile.completion.p90 == _nearest_rank([r[3] for r in rows], 90)
    hours = Counter(r[0] // 3600 for r in rows)
    first, last = min(hours), max(hours)
    assert profile.hours == last - first + 1
    peak_hour, peak_count = max(hours.items(), key=lambda item: (item[1], -item[0]))
    assert profile.peak_hour_requests == peak_count
    assert profile.peak_hour == datetime.fromtimestamp(peak_hour * 3600, tz=UTC)
    assert profile.peak_factor == pytest.approx(peak_count / (len(rows) / profile.hours))
    by_hour_of_day = Counter()
    for hour, count in hours.items():
        by_hour_of_day[hour % 24] += count
    days_with_hour = Counter(h % 24 for h in range(first, last + 1))
    for hour in range(24):
        expected = by_hour_of_day[hour] / days_with_hour[hour] if days_with_hour[hour] else 0.0
        assert profile.hour_of_day[hour] == pytest.approx(expected)
    daily = Counter(datetime.fromtimestamp(r[0], UTC).date().isoformat() for r in rows)
    assert {d: r for d, r, _ in profile.daily if r} == dict(daily)


def _openai_results(name: str) -> list[dict[str, object]]:
    page = json.loads((FIXTURES / name).read_text())
    return [
        {**result, "start_time": b["start_time"], "end_time": b["end_time"]}
        for b in page["data"]
        for result in b["results"]
    ]


@pytest.mark.parametrize("name", ["openai_usage_completions.json", "openai_usage_embeddings.json"])
def test_openai_usage_api_matches_an_independent_count(name: str) -> None:
    results = _openai_results(name)
    profile = profile_traffic(read_traffic(str(FIXTURES / name)))
    assert profile.format == "openai-usage-json"
    assert not profile.per_request
    assert profile.requests == sum(int(r["num_model_requests"]) for r in results)
    assert profile.prompt_tokens == sum(int(r["input_tokens"]) for r in results)
    assert profile.completion_tokens == sum(int(r.get("output_tokens", 0)) for r in results)
    assert profile.cached_tokens == sum(int(r.get("input_cached_tokens", 0)) for r in results)
    per_hour: Counter[int] = Counter()
    for r in results:
        start, end = int(r["start_time"]), int(r["end_time"])
        hours = (end - start) // 3600
        for h in range(hours):
            per_hour[start // 3600 + h] += int(r["num_model_requests"]) / hours
    assert profile.peak_hour_requests == pytest.approx(max(per_hour.values()))
    assert sum(profile.hourly) == pytest.approx(profile.requests)


def test_openai_dashboard_csv_matches_an_independent_count() -> None:
    with (FIXTURES / "openai_usage_export.csv").open() as f:
        rows = list(csv.DictReader(f))
    profile = profile_traffic(read_traffic(str(FIXTURES / "openai_usage_export.csv")))
    assert profile.format == "openai-usage-csv"
    assert profile.requests == sum(int(r["num_model_requests"]) for r in rows)
    assert profile.prompt_tokens == sum(int(r["input_tokens"]) for r in rows)
    assert profile.completion_tokens == sum(int(r["output_tokens"]) for r in rows)
    days = Counter()
    for r in rows:
        days[r["start_time_iso"][:10]] += int(r["num_model_requests"])
    assert {d: r for d, r, _ in profile.daily} == dict(days)
    assert profile.days == 7
    # daily buckets: each hour gets 1/24 of its day, so the peak hour is the busiest day / 24
    assert profile.peak_hour_requests == pytest.approx(max(days.values()) / 24)


def test_weighted_percentiles_of_bucket_means() -> None:
    results = _openai_results("openai_usage_completions.json")
    means = []
    for r in results:
        means += [int(r["input_tokens"]) / int(r["num_model_requests"])] * int(
            r["num_model_requests"]
        )
    profile = profile_traffic(read_traffic(str(FIXTURES / "openai_usage_completions.json")))
    ordered = sorted(means)
    assert profile.prompt.p50 == pytest.approx(ordered[math.ceil(0.5 * len(ordered)) - 1])
    assert profile.prompt.p99 == pytest.approx(ordered[math.ceil(0.99 * len(ordered)) - 1])


def test_growth_trend_of_exponential_traffic(tmp_path: Path) -> None:
    path = tmp_path / "grow.csv"
    lines = ["timestamp,model,prompt_tokens,completion_tokens"]
    for day in range(60):
        count = round(100 * 1.08 ** (day / (365.25 / 12)))
        lines += [
            f"{datetime.fromtimestamp(1788220800 + day * 86400 + i, UTC).isoformat()},m,10,5"
            for i in range(count)
        ]
    path.write_text("\n".join(lines) + "\n")
    profile = profile_traffic(read_traffic(str(path)))
    assert profile.growth_per_month == pytest.approx(0.08, abs=0.005)


GENERIC_HEADER = "timestamp,model,prompt_tokens,completion_tokens\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "the file is empty"),
        ("header.csv", GENERIC_HEADER, "no usage records found"),
        (
            "missing.csv",
            "timestamp,model,prompt_tokens\n2026-10-01T00:00:00Z,m,1\n",
            "missing column 'completion_tokens'",
        ),
        (
            "unknown.csv",
            "timestamp,model,prompt_tokens,completion_tokens,prompt_tokns\n",
            "unknown column 'prompt_tokns'",
        ),
        (
            "nozone.csv",
            GENERIC_HEADER + "2026-10-01T00:00:00,m,1,2\n",
            "line 2: timestamp '2026-10-01T00:00:00' has no time zone",
        ),
        (
            "negative.csv",
            GENERIC_HEADER + "2026-10-01T00:00:00Z,m,-5,2\n",
            "line 2: prompt_tokens is negative",
        ),
        (
            "notnumber.csv",
            GENERIC_HEADER + "2026-10-01T00:00:00Z,m,ten,2\n",
            "prompt_tokens is 'ten'",
        ),
        (
            "mixed.csv",
            GENERIC_HEADER + "2026-10-01T00:00:00Z,m,1,2\n1790812800,1790899200,p,3,m,4,5\n",
            "line 3: 7 fields, the header has 4; is this file a mix of two formats?",
        ),
        (
            "mixed.jsonl",
            '{"timestamp": "2026-10-01T00:00:00Z", "model": "m", "prompt_tokens": 1, '
            '"completion_tokens": 2}\n{"request_id": "x", "startTime": "2026-10-01T00:00:00Z", '
            '"model": "m", "prompt_tokens": 1, "completion_tokens": 2}\n',
            "line 2: missing column 'timestamp'",
        ),
        ("unknown.tsv", "a\tb\n", "cannot tell the format"),
        ("empty.json", "  \n", "the file is empty"),
    ],
)
def test_bad_input_gets_one_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(LlmeconError) as caught:
        read_traffic(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_litellm_unknown_field_and_negative_tokens(tmp_path: Path) -> None:
    logs = json.loads((FIXTURES / "litellm_spend_logs.json").read_text())
    bad = tmp_path / "logs.json"
    bad.write_text(json.dumps([{**logs[0], "prompt_tokenz": 3}]))
    with pytest.raises(LlmeconError, match="unknown column 'prompt_tokenz'"):
        read_traffic(str(bad))
    bad.write_text(json.dumps([{**logs[0], "completion_tokens": -1}]))
    with pytest.raises(LlmeconError, match=r"\[0\]: completion_tokens is negative"):
        read_traffic(str(bad))


def test_openai_result_without_model_asks_for_group_by(tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "openai_usage_completions.json").read_text())
    page["data"][0]["results"][0]["model"] = None
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page))
    with pytest.raises(LlmeconError, match="group_by=model"):
        read_traffic(str(path))


def test_saved_import_round_trips(tmp_path: Path) -> None:
    from llmecon.traffic import save_traffic

    traffic = read_traffic(str(FIXTURES / "litellm_spend_logs.json"))
    saved = tmp_path / "t.npz"
    save_traffic(traffic, saved)
    again = read_traffic(str(saved))
    assert profile_traffic(again) == profile_traffic(traffic)
