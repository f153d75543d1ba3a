"""The reports from other inputs (issue 15) and with quality and fine-tuning (issue 17) in a real
browser (Debian's chromium through Playwright, as tests/test_report_browser.py): each loads with
no console error, its chart renders and answers the mouse, the numbers on the page equal the
JSON command's, and axe-core finds no serious violation. Screenshots as in that file
(`LLMECON_SCREENSHOTS=docs/img` for the docs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLES, ROOT, Run
from llmecon.mock import MockSettings, running
from test_report import json_tables
from test_report_browser import (  # noqa: F401 - fixtures
    LAPTOP,
    PHONE,
    _page,
    browser,
    page_tables,
    screenshot,
    serious_violations,
    shots,
)
from test_report_inputs import QUICK, TRAFFIC, _fill, _json_rows, _usage
from test_report_quality import json_quality

_DATA_JS = """(kind) => {
  const out = {};
  document.querySelectorAll(`table.${kind}`).forEach(t => {
    const rows = {};
    t.querySelectorAll('tr[data-option]').forEach(r => {
      const cells = {};
      r.querySelectorAll('[data-field][data-value]').forEach(c => {
        const v = c.dataset.value; cells[c.dataset.field] = v === 'None' ? null : Number(v);
      });
      rows[r.dataset.option] = cells;
    });
    out[t.dataset.volume || '0'] = rows;
  });
  return out;
}"""


@pytest.fixture
def chromium(request: pytest.FixtureRequest) -> Any:
    """test_report_browser's `browser` (module-scoped: one chromium for these tests)."""
    return request.getfixturevalue("browser")


@pytest.fixture
def shots_dir(request: pytest.FixtureRequest) -> Path:
    folder: Path = request.getfixturevalue("shots")
    return folder


def data_tables(page: Any, kind: str) -> dict[float, Any]:
    return {float(v): rows for v, rows in page.evaluate(_DATA_JS, kind).items()}


def _open(chromium: Any, path: Path) -> tuple[Any, list[str]]:
    page, errors = _page(chromium, LAPTOP)
    page.goto(path.as_uri())
    return page, errors


def _chart_renders(page: Any, key: str) -> None:
    chart = page.locator(f"section[data-chart={key}] .chart svg")
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 600
    assert box["height"] > 250
    dots = page.locator(f"#{key}-hover-0 use")
    assert dots.count() > 0
    dots.nth(0).hover(force=True)
    assert page.locator(f"section[data-chart={key}] .tooltip").is_visible()


def _report(llmecon: Callable[..., Run], out: Path, *args: str) -> Path:
    run = llmecon("report", *args, "-o", str(out))
    assert run.code == 0, run.err
    return out


def test_quality_report_in_the_browser(
    chromium: Any,
    llmecon: Callable[..., Run],
    tmp_path: Path,
    shots_dir: Path,
) -> None:
    scenario = os.path.relpath(EXAMPLES / "quality.yaml")
    args = (scenario, "--min-accuracy", "0.3")
    page, errors = _open(chromium, _report(llmecon, tmp_path / "r.html", *args))
    compared = json.loads(llmecon("compare", *args, "--format", "json").out)
    assert page_tables(page) == json_tables(compared)
    assert data_tables(page, "quality") == json_quality(compared)
    _chart_renders(page, "main")
    assert page.locator("#quality tr.below").count() == 0  # 7/20 = 35% meets a 30% bar
    assert "its 95% interval reaches below it" in page.locator("#quality").inner_text()
    assert serious_violations(page) == []
    page.locator("#quality").scroll_into_view_if_needed()
    screenshot(page, shots_dir / "report-quality.png")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert errors == []


def test_fine_tune_report_in_the_browser(
    chromium: Any,
    llmecon: Callable[..., Run],
    tmp_path: Path,
) -> None:
    data = yaml.safe_load((EXAMPLES / "fine-tune.yaml").read_text())
    data["quality"] = {"accuracy": {"base-api": {"correct": 80, "total": 100},
                                    "fine-tuned-api": {"correct": 95, "total": 100},
                                    "fine-tuned-self-hosted": {"correct": 93, "total": 100}},
                       "min_accuracy": 0.9}  # fmt: skip
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    page, errors = _open(chromium, _report(llmecon, tmp_path / "r.html", str(path)))
    compared = json.loads(llmecon("compare", str(path), "--format", "json").out)
    assert page_tables(page) == json_tables(compared)
    assert data_tables(page, "quality") == json_quality(compared)
    tuned = data_tables(page, "finetune")
    for result in compared["results"]:
        for option in result["options"]:
            assert (
                tuned[result["requests_per_day"]][option["name"]]["daily_cost"]
                == (option["daily_cost"])
            )
    below = page.locator("#finetune tr[data-option=base-api]").first.inner_text()
    assert "below the bar" in below
    _chart_renders(page, "main")
    assert serious_violations(page) == []
    assert errors == []


def test_traffic_report_in_the_browser(
    chromium: Any,
    llmecon: Callable[..., Run],
    tmp_path: Path,
) -> None:
    page, errors = _open(chromium, _report(llmecon, tmp_path / "r.html", "--traffic", TRAFFIC,
                                          *QUICK))  # fmt: skip
    compared = json.loads(llmecon("compare", "--traffic", TRAFFIC, *QUICK, "--format", "json").out)
    assert page_tables(page) == json_tables(compared)
    shown = page.locator("#traffic [data-requests-per-day]").get_attribute("data-requests-per-day")
    assert float(shown or "nan") == compared["results"][0]["requests_per_day"]
    _chart_renders(page, "main")
    assert serious_violations(page) == []
    assert errors == []


def _bench(path: Path) -> Path:
    """A bench result against the mock, from another process (Playwright's sync API keeps an
    event loop running in this one, and the bench runs its own)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with running(MockSettings(ttft_ms=1, itl_ms=1, output_tokens=16)) as url:
        subprocess.run(
            [sys.executable, "-m", "llmecon", "bench", url, "--model", "mock", "--requests", "24",
             "--concurrency", "1", "--sweep", "1,4", "--input-tokens", "64", "--output-tokens",
             "16", "--instance", "ml.g5.xlarge", "--api", "gpt-4o-mini", "--output", str(path)],
            check=True, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
    return path


def test_bench_report_in_the_browser(
    chromium: Any,
    llmecon: Callable[..., Run],
    tmp_path: Path,
    shots_dir: Path,
) -> None:
    bench_file = _bench(tmp_path / "bench.json")
    page, errors = _open(chromium, _report(llmecon, tmp_path / "r.html", "--bench",
                                          str(bench_file)))  # fmt: skip
    bench = json.loads(bench_file.read_text())
    runs = data_tables(page, "benchcost")[0.0]
    for index, run in enumerate(bench["runs"], start=1):
        assert runs[f"run {index}"]["requests_per_second"] == run["summary"]["requests_per_second"]
        assert (
            runs[f"run {index}"]["per_1m_output_tokens"]
            == (run["cost"]["max_throughput"]["per_1m_output_tokens"])
        )
    assert set(page_tables(page)) == {1000.0, 10000.0, 100000.0, 1000000.0}
    _chart_renders(page, "main")
    assert serious_violations(page) == []
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, shots_dir / "report-bench.png", full_page=True)
    assert errors == []


def test_ledger_report_in_the_browser(
    chromium: Any,
    llmecon: Callable[..., Run],
    tmp_path: Path,
    shots_dir: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _fill(url, hours=3, per_hour=60)
    page, errors = _open(chromium, _report(llmecon, tmp_path / "r.html", "--ledger", url))
    for by in ("key", "model", "upstream", "day"):
        shown = data_tables(page, f"usage-{by}")[0.0]
        assert shown == _json_rows(_usage(llmecon, url, by))
    totals = _usage(llmecon, url, "model")["totals"]
    position = data_tables(page, "usage-position")[0.0]
    for item in totals["breakeven"]:
        assert (
            position[item["api"]]["breakeven_requests_per_day"]
            == (item["breakeven_requests_per_day"])
        )
    _chart_renders(page, "usage")
    tip = page.locator("section[data-chart=usage] .tooltip").inner_text()
    assert tip.startswith("self-hosted, idle included: $")
    assert "the API is cheaper here" in page.locator("#answer").inner_text()
    assert serious_violations(page) == []
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, shots_dir / "report-ledger.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.emulate_media(media="print")
    assert page.pdf(path=str(tmp_path / "usage.pdf")).startswith(b"%PDF")
    assert errors == []
