"""Quality and fine-tuning in the HTML report (issue 17): accuracy with its Wilson interval next to
cost, cost per correct answer, the bar with the options below it shown but marked in words, the
break-evens among the options that meet it, and base API / fine-tuned API / fine-tuned
self-hosted side by side. Every number is the one `compare --format json` prints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLES, Run
from test_quality_compare import SCENARIO, write
from test_report import json_tables, tables


class DataTables(HTMLParser):
    """{volume: {option: {field: value}}} from the tables of one class (`table.CLASS`), read
    from their data attributes; `text[option]` is each row's visible text (last volume)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.found: dict[float, dict[str, dict[str, Any]]] = {}
        self.text: dict[str, str] = {}
        self.inside = False
        self.volume = 0.0
        self.option = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.inside = self.kind in (a.get("class") or "").split()
            if self.inside:
                self.volume = float(a.get("data-volume") or 0)
                self.found[self.volume] = {}
        elif self.inside and tag == "tr" and a.get("data-option"):
            self.option = a["data-option"] or ""
            self.found[self.volume][self.option] = {}
            self.text[self.option] = ""
        elif self.inside and a.get("data-field") and a.get("data-value") is not None:
            value = a["data-value"]
            row = self.found[self.volume][self.option]
            row[a["data-field"] or ""] = None if value == "None" else float(value or "nan")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "tr":
            self.option = ""

    def handle_data(self, data: str) -> None:
        if self.inside and self.option:
            self.text[self.option] += data


def data_tables(page: str, kind: str) -> DataTables:
    parser = DataTables(kind)
    parser.feed(page)
    return parser


QUALITY_FIELDS = ("accuracy", "cost_per_correct_answer")


def json_quality(data: dict[str, Any]) -> dict[float, dict[str, dict[str, Any]]]:
    """compare's JSON quality figures as {volume: {option: {field: value}}}."""
    return {
        r["requests_per_day"]: {
            o["name"]: {
                **{f: o[f] for f in QUALITY_FIELDS},
                "interval_low": None if o["interval"] is None else o["interval"][0],
                "interval_high": None if o["interval"] is None else o["interval"][1],
            }
            for o in r["options"]
        }
        for r in data["quality"]["results"]
    }


def _report(llmecon: Callable[..., Run], out: Path, *args: str) -> str:
    run = llmecon("report", *args, "-o", str(out))
    assert run.code == 0, run.err
    return out.read_text()


def _section(page: str, name: str) -> str:
    found = re.search(rf"<section id={name} .*?</section>", page, re.S)
    assert found is not None, name
    return found.group(0)


def test_quality_report_numbers_equal_compare_json(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    path = write(tmp_path, SCENARIO)
    page = _report(llmecon, tmp_path / "r.html", str(path), "--min-accuracy", "0.9")
    compared = json.loads(llmecon("compare", str(path), "--min-accuracy", "0.9", "--format",
                                  "json").out)  # fmt: skip
    assert tables(page)["main"] == json_tables(compared)
    quality = data_tables(page, "quality")
    assert quality.found == json_quality(compared)
    section = unescape(_section(page, "quality"))
    # the bar, in words; api-small ($0.000135/request) is the cheapest but below it: shown, marked
    assert "accuracy ≥ 90%" in section
    assert "below the bar" in quality.text["api-small"]
    assert "below the bar" not in quality.text["api-big"]
    assert "interval reaches below" in quality.text["self"]  # 90/100: Wilson 82.6% to 94.5%
    assert "82.6% – 94.5%" in quality.text["self"]
    assert "70/100" in quality.text["api-small"]
    # break-even among the options meeting the bar: api-big vs self at $24 / $0.00225
    assert "data-breakeven=10666.7" in section
    assert "api-small" not in re.search(r"<ul class=breakevens>.*?</ul>", section, re.S).group(0)  # type: ignore[union-attr]
    # the answer among good options, per volume
    assert "Cheapest option meeting the bar: api-big at 1,000 requests/day" in section
    assert "self at 100,000 requests/day" in section


def test_quality_chart_marks_options_below_the_bar_in_words(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    path = write(tmp_path, SCENARIO)
    page = _report(llmecon, tmp_path / "r.html", str(path), "--min-accuracy", "0.9")
    chart = re.search(r"<section class=chartblock data-chart=main .*?</section>", page, re.S)
    assert chart is not None
    svg = chart.group(0)
    assert "api-small (below the quality bar)" in svg
    assert "api-big (below" not in svg


def test_report_without_quality_has_no_quality_section(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    page = _report(llmecon, tmp_path / "r.html", str(EXAMPLES / "article-capacity.yaml"))
    assert "<section id=quality" not in page
    assert "<section id=finetune" not in page
    run = llmecon("report", str(EXAMPLES / "article-capacity.yaml"), "--min-accuracy", "0.5",
                  "-o", str(tmp_path / "x.html"))  # fmt: skip
    assert run.code == 2 and "quality:" in run.err and len(run.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_shipped_quality_example(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    scenario = str(EXAMPLES / "quality.yaml")
    page = _report(llmecon, tmp_path / "r.html", scenario)
    compared = json.loads(llmecon("compare", scenario, "--format", "json").out)
    assert data_tables(page, "quality").found == json_quality(compared)
    section = unescape(_section(page, "quality"))
    assert "fewer than two options meet the bar" in section
    assert "7/20" in section and "19/20" in section


FINE_TUNE = str(EXAMPLES / "fine-tune.yaml")


def test_fine_tune_report_compares_the_three(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    page = _report(llmecon, tmp_path / "r.html", FINE_TUNE)
    compared = json.loads(llmecon("compare", FINE_TUNE, "--format", "json").out)
    assert tables(page)["main"] == json_tables(compared)
    tuned = data_tables(page, "finetune")
    expected = {
        r["requests_per_day"]: {
            o["name"]: {
                "daily_cost": o["daily_cost"],
                "fine_tune_daily_cost": sum(
                    i["daily_cost"] for i in o["line_items"] if i["category"] == "fine_tune"
                ),
                "cost_per_request": o["cost_per_request"],
            }
            for o in r["options"]
        }
        for r in compared["results"]
    }
    assert tuned.found == expected
    assert "base API" in tuned.text["base-api"]
    assert "fine-tuned API" in tuned.text["fine-tuned-api"]
    assert "fine-tuned self-hosted" in tuned.text["fine-tuned-self-hosted"]
    section = unescape(_section(page, "finetune"))
    # 15M training tokens at $3/1M = $45 once; 1.67 instance-hours at $1.861/h = $3.10 once
    assert re.search(r"fine-tuned-api</th><td[^>]*>\$45.00</td><td[^>]*>90 days", section)
    assert re.search(r"fine-tuned-self-hosted</th><td[^>]*>\$3.10</td>", section)
    assert (
        "At 1,000,000 requests/day the cheapest of the three is fine-tuned-self-hosted" in section
    )


def test_fine_tune_with_quality_shows_cost_per_correct_answer(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    data = yaml.safe_load(Path(FINE_TUNE).read_text())
    data["quality"] = {"accuracy": {
        "base-api": {"correct": 80, "total": 100},
        "fine-tuned-api": {"correct": 95, "total": 100},
        "fine-tuned-self-hosted": {"correct": 93, "total": 100},
    }, "min_accuracy": 0.9}  # fmt: skip
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    page = _report(llmecon, tmp_path / "r.html", str(path))
    compared = json.loads(llmecon("compare", str(path), "--format", "json").out)
    tuned = data_tables(page, "finetune")
    for result in compared["quality"]["results"]:
        for option in result["options"]:
            row = tuned.found[result["requests_per_day"]][option["name"]]
            assert row["cost_per_correct_answer"] == option["cost_per_correct_answer"]
            assert row["accuracy"] == option["accuracy"]
    assert "below the bar" in tuned.text["base-api"]
    assert "below the bar" not in tuned.text["fine-tuned-api"]


@pytest.mark.parametrize("name", ["quality.yaml", "fine-tune.yaml"])
def test_quality_pages_keep_unique_ids(
    llmecon: Callable[..., Run], tmp_path: Path, name: str
) -> None:
    paths = [str(EXAMPLES / name), str(EXAMPLES / "article-2023.yaml")]
    page = _report(llmecon, tmp_path / "r.html", *paths)
    ids = re.findall(r"\sid=\"?([^\s\">]+)", page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
