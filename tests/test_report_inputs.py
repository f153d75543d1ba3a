"""`llmecon report` from other inputs (issue 15): the user's own traffic (`--traffic`), a bench
result alone (`--bench` without a scenario) and the gateway's ledger (`--ledger`). The numbers in
each equal the JSON command they stand for: `compare --traffic ... --format json`, the bench
result file, `usage --format json`."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, ROOT, Backend, Run
from llmecon.ledger import MeterReport, UsageRow, open_ledger
from llmecon.mock import MockSettings, running
from test_report import json_tables, tables
from test_report_quality import data_tables

TRAFFIC = str(ROOT / "tests" / "fixtures" / "traffic" / "openai_usage_export.csv")
QUICK = ("--api", "gpt-4o-mini", "--self-hosted", "g6e.xlarge", "--model", "llama-3.1-8b")


def _report(llmecon: Callable[..., Run], out: Path, *args: str) -> str:
    run = llmecon("report", *args, "-o", str(out))
    assert run.code == 0, run.err
    return out.read_text()


def _one_line_error(run: Run, *words: str) -> None:
    assert run.code == 2, run.out
    assert len(run.err.strip().splitlines()) == 1, run.err
    for word in words:
        assert word in run.err


def _section(page: str, name: str) -> str:
    found = re.search(rf"<section id={name} .*?</section>", page, re.S)
    assert found is not None, name
    return unescape(found.group(0))


# --- --traffic --------------------------------------------------------------------------------


def test_traffic_report_equals_compare_traffic_json(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    page = _report(llmecon, tmp_path / "r.html", "--traffic", TRAFFIC, *QUICK)
    compared = json.loads(llmecon("compare", "--traffic", TRAFFIC, *QUICK, "--format", "json").out)
    assert tables(page)["main"] == json_tables(compared)
    table_output = llmecon("compare", "--traffic", TRAFFIC, *QUICK).out
    summary = table_output.strip().splitlines()[-1]
    assert summary.startswith("over 2026-10-01..2026-10-08 you paid $17.80")
    section = _section(page, "traffic")
    assert summary[0].upper() + summary[1:] in " ".join(section.split())
    observed = re.search(r"data-requests-per-day=([\d.]+)", section)
    assert observed is not None
    assert float(observed.group(1)) == compared["results"][0]["requests_per_day"]
    assert "16,953 requests" in section
    assert "gpt-4o" in section and "$17.80" in section


def test_traffic_with_a_scenario_equals_compare(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    scenario = str(EXAMPLES / "traffic.yaml")  # names its own workload.traffic
    page = _report(llmecon, tmp_path / "r.html", scenario)
    compared = json.loads(llmecon("compare", scenario, "--format", "json").out)
    assert tables(page)["main"] == json_tables(compared)
    assert "1 replica of llama-g6e" in _section(page, "traffic")
    other = str(EXAMPLES / "article-capacity.yaml")
    page = _report(llmecon, tmp_path / "r2.html", other, "--traffic", TRAFFIC)
    compared = json.loads(llmecon("compare", other, "--traffic", TRAFFIC, "--format", "json").out)
    assert tables(page)["main"] == json_tables(compared)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--traffic", TRAFFIC), ("--api", "--self-hosted")),
        (("--api", "gpt-4o-mini"), ("--traffic",)),
        ((), ("SCENARIO.yaml", "--traffic", "--bench", "--ledger")),
        (("--traffic", str(ROOT / "nope.csv"), *QUICK), ("nope.csv",)),
    ],
)
def test_bad_traffic_reports(
    llmecon: Callable[..., Run], tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    _one_line_error(llmecon("report", *args, "-o", str(tmp_path / "r.html")), *words)
    assert not (tmp_path / "r.html").exists()


# --- --bench alone ----------------------------------------------------------------------------


@pytest.fixture
def bench_file(llmecon: Callable[..., Run], tmp_path: Path) -> Path:
    path = tmp_path / "bench" / "bench.json"
    path.parent.mkdir()
    with running(MockSettings(ttft_ms=1, itl_ms=1, output_tokens=16)) as url:
        run = llmecon(
            "bench", url, "--model", "mock", "--requests", "24", "--concurrency", "1",
            "--sweep", "1,4", "--input-tokens", "64", "--output-tokens", "16",
            "--instance", "ml.g5.xlarge", "--api", "gpt-4o-mini", "--api", "claude-haiku-4-5",
            "--output", str(path),
        )  # fmt: skip
    assert run.code == 0, run.err
    return path


def test_bench_alone_report_numbers_equal_the_bench_json(
    llmecon: Callable[..., Run], bench_file: Path, tmp_path: Path
) -> None:
    page = _report(
        llmecon, tmp_path / "r.html", "--bench", str(bench_file),
        "--requests-per-day", "1000", "--requests-per-day", "1000000",
    )  # fmt: skip
    bench = json.loads(bench_file.read_text())
    runs = data_tables(page, "benchcost").found[0.0]
    assert len(runs) == len(bench["runs"]) == 2
    for index, run in enumerate(bench["runs"], start=1):
        cost = run["cost"]
        assert runs[f"run {index}"] == {
            "requests_per_second": run["summary"]["requests_per_second"],
            "output_tokens_per_second": run["summary"]["output_tokens_per_second"],
            "per_1m_output_tokens": cost["max_throughput"]["per_1m_output_tokens"],
            "per_1m_tokens_blended": cost["max_throughput"]["per_1m_tokens_blended"],
        }
        for breakeven in cost["breakeven"]:
            for crossing in breakeven["crossings"][:8]:
                assert f"data-breakeven={crossing['requests_per_day']!r}" in page
    prices = _section(page, "benchcost")
    assert f"${bench['runs'][0]['cost']['hourly_price']:g}/h" in prices
    assert bench["runs"][0]["cost"]["source"] in prices
    # replicas at volumes: the scenario the page shows, compared, gives the same tables
    yaml_text = re.search(r"<pre class=scenario-yaml>(.*?)</pre>", page, re.S)
    assert yaml_text is not None
    scenario = bench_file.parent / "from-bench.yaml"
    scenario.write_text(unescape(yaml_text.group(1)))
    compared = json.loads(llmecon("compare", str(scenario), "--format", "json").out)
    assert tables(page)["main"] == json_tables(compared)
    assert set(tables(page)["main"]) == {1000.0, 1000000.0}
    best = max(r["summary"]["requests_per_second"] for r in bench["runs"])
    hosted = [o for o in compared["results"][1]["options"] if o["kind"] == "self_hosted"]
    assert hosted[0]["capacity"]["per_replica_requests_per_second"] == pytest.approx(best)
    assert hosted[0]["replicas"] >= 1
    assert page.count("<svg") == 1


def test_bench_alone_needs_a_priced_valid_run(
    llmecon: Callable[..., Run], bench_file: Path, tmp_path: Path
) -> None:
    bench = json.loads(bench_file.read_text())
    for run in bench["runs"]:
        run["health"]["valid"] = False
    bad = tmp_path / "invalid.json"
    bad.write_text(json.dumps(bench))
    _one_line_error(
        llmecon("report", "--bench", str(bad), "-o", str(tmp_path / "r.html")),
        str(bad), "no valid run",
    )  # fmt: skip
    unpriced = json.loads(bench_file.read_text())
    for run in unpriced["runs"]:
        run["cost"] = None
    (tmp_path / "unpriced.json").write_text(json.dumps(unpriced))
    page = _report(llmecon, tmp_path / "r.html", "--bench", str(tmp_path / "unpriced.json"))
    assert "no hourly price" in page and "--instance" in page
    assert "<svg" not in page


# --- --ledger ---------------------------------------------------------------------------------

T0 = datetime(2026, 11, 2, 22, tzinfo=UTC)  # two hours over a UTC midnight
FAR = datetime(9999, 1, 1, tzinfo=UTC)
HOURLY = 1_000_000_000  # $1/h


def _fill(url: str, hours: int, per_hour: int) -> None:
    """`per_hour` requests of 2 s each hour on upstream gpu (metered at $1/h, idle included),
    alternating two keys and two models; each would cost $0.00005 on gpt-4o-mini."""
    with open_ledger(url) as ledger:
        keys = [ledger.create_key(name)[0].id for name in ("team-a", "team-b")]
        for hour in range(hours):
            start = T0 + timedelta(hours=hour)
            rows, weights, busy = [], {}, []
            for n in range(per_hour):
                at = timedelta(seconds=n * 3600 // per_hour)
                row = UsageRow(
                    request_id=uuid.uuid4().hex, started_at=start + at,
                    finished_at=start + at + timedelta(seconds=2), key_id=keys[n % 2],
                    model=("llama", "qwen")[n % 2], upstream="gpu", endpoint="chat",
                    stream=False, status=200, outcome="ok", prompt_tokens=200,
                    completion_tokens=40, token_source="upstream", ttft_ms=50.0,
                    latency_ms=2000.0, self_hosted_nusd=None,
                    counterfactual_nusd={"gpt-4o-mini": 50_000, "claude-haiku-4-5": 400_000},
                    price_book="test",
                )  # fmt: skip
                rows.append(row)
                offset = int(at.total_seconds() * 1e6)
                weights[row.request_id] = 2_000_000
                busy.append((offset, offset + 2_000_000))
            ledger.record(rows)
            ledger.report_meters([MeterReport(
                upstream="gpu", replica="r1", slot_start=start,
                slot_end=start + timedelta(hours=1), metered=(0, 3_600_000_000),
                hourly_nusd=HOURLY, busy=tuple(busy), weights=weights,
            )])  # fmt: skip
        ledger.close_slots(FAR)


def _usage(llmecon: Callable[..., Run], url: str, by: str) -> dict[str, Any]:
    run = llmecon("usage", "--ledger", url, "--by", by, "--format", "json")
    assert run.code == 0, run.err
    data: dict[str, Any] = json.loads(run.out)
    return data


def _rows(page: str, by: str) -> dict[str, dict[str, Any]]:
    found = data_tables(page, f"usage-{by}").found
    assert len(found) == 1
    return next(iter(found.values()))


def _json_rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["group"]: {
            "requests": r["requests"],
            "prompt_tokens": r["prompt_tokens"],
            "completion_tokens": r["completion_tokens"],
            "self_hosted_cost": r["self_hosted_cost"],
            "idle_cost": r["idle_cost"],
            **{f"api:{api}": cost for api, cost in r["counterfactual_cost"].items()},
        }
        for r in report["rows"]
    }


def test_ledger_report_numbers_equal_usage_json(
    llmecon: Callable[..., Run], backend: Backend, tmp_path: Path
) -> None:
    _fill(backend.url, hours=2, per_hour=80)
    page = _report(llmecon, tmp_path / "r.html", "--ledger", backend.url)
    for by in ("key", "model", "upstream", "day"):
        assert _rows(page, by) == _json_rows(_usage(llmecon, backend.url, by)), by
    totals = _usage(llmecon, backend.url, "model")["totals"]
    # 160 requests over 2 h metered: 1,920 requests/day; $1/h is $24/day; gpt-4o-mini $0.00005
    # per request breaks even at 480,000 requests/day, so self-hosting is dearer here
    assert totals["requests_per_day"] == pytest.approx(1920)
    assert totals["self_hosted_cost_per_day"] == pytest.approx(24)
    answer = _section(page, "answer")
    assert "$24.00/day" in answer and "1,920 requests/day" in answer
    position = data_tables(page, "usage-position").found[0.0]
    for item in totals["breakeven"]:
        row = position[item["api"]]
        assert row["per_request_usd"] == item["per_request_usd"]
        assert row["breakeven_requests_per_day"] == item["breakeven_requests_per_day"]
        assert row["api_cost_per_day"] == pytest.approx(
            item["per_request_usd"] * totals["requests_per_day"]
        )
        assert item["self_hosting_cheaper"] is False
    assert "480,000" in answer
    assert "On gpt-4o-mini the same traffic would cost $0.096/day" in answer
    assert "the API is cheaper here" in answer
    assert "team-a" in _section(page, "usage-by-key")
    assert page.count("<svg") == 1  # the per-day chart: self-hosted with idle vs each API


def test_ledger_report_gives_no_verdict_from_too_little_traffic(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _fill(url, hours=1, per_hour=30)  # one hour of metered time but only 30 requests
    report = _usage(llmecon, url, "model")
    assert all(item["self_hosting_cheaper"] is None for item in report["totals"]["breakeven"])
    page = _report(llmecon, tmp_path / "r.html", "--ledger", url)
    answer = _section(page, "answer")
    assert "No verdict" in answer
    assert "100 requests" in answer
    assert "cheaper" not in answer.replace("self_hosting_cheaper", "")
    assert _rows(page, "model") == _json_rows(report)


def test_ledger_report_errors(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'typo.db'}"
    _one_line_error(
        llmecon("report", "--ledger", missing, "-o", str(tmp_path / "r.html")), "no ledger at"
    )
    assert not (tmp_path / "typo.db").exists()
    _one_line_error(
        llmecon("report", str(EXAMPLES / "article-2023.yaml"), "--ledger", missing,
                "-o", str(tmp_path / "r.html")),
        "--ledger",
    )  # fmt: skip
