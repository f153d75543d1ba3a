"""The HTML decision report and the calculator's routes (no browser: see test_report_browser)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml

from conftest import EXAMPLES, Run
from llmecon.pricebook.book import PriceBook
from llmecon.report.html.calculator import calculator_response


class CostTables(HTMLParser):
    """{variant: {volume: {option: {field: value}}}} from the report's data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict[float, dict[str, dict[str, Any]]]] = {}
        self.variant = self.volume = self.option = ""
        self.inside = False  # in a `table.costs` (other tables carry data attributes too)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("data-variant"):
            self.variant = a["data-variant"] or ""
            self.found[self.variant] = {}
        elif tag == "table":
            self.inside = "costs" in (a.get("class") or "").split() and bool(a.get("data-volume"))
            if self.inside:
                self.volume = a["data-volume"] or ""
                self.found[self.variant][float(self.volume)] = {}
        elif not self.inside:
            return
        elif tag == "tr" and a.get("data-option"):
            self.option = a["data-option"] or ""
            self.found[self.variant][float(self.volume)][self.option] = {}
        elif tag == "td" and a.get("data-value") is not None:
            value = a["data-value"]
            row = self.found[self.variant][float(self.volume)][self.option]
            row[a["data-field"] or ""] = None if value == "None" else float(value or "nan")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False


def tables(page: str) -> dict[str, dict[float, dict[str, dict[str, Any]]]]:
    parser = CostTables()
    parser.feed(page)
    return parser.found


FIELDS = ("daily_cost", "monthly_cost", "yearly_cost", "cost_per_request", "cost_per_1m_tokens")


def json_tables(data: dict[str, Any]) -> dict[float, dict[str, dict[str, Any]]]:
    return {
        r["requests_per_day"]: {o["name"]: {f: o[f] for f in FIELDS} for o in r["options"]}
        for r in data["results"]
    }


def _report(llmecon: Callable[..., Run], tmp_path: Path, *args: str) -> str:
    out = tmp_path / "report.html"
    run = llmecon("report", *args, "-o", str(out))
    assert run.code == 0, run.err
    return out.read_text()


def test_article_report_numbers_equal_compare_json(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    scenario = str(EXAMPLES / "article-2023.yaml")
    page = _report(llmecon, tmp_path, scenario)
    compared = json.loads(llmecon("compare", scenario, "--format", "json").out)
    assert tables(page)["main"] == json_tables(compared)
    crossing = compared["breakeven"][0]["crossings"][0]["requests_per_day"]
    assert f"data-breakeven={crossing!r}" in page
    assert "113,436" in page


def test_article_report_states_the_corrected_conclusion(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    page = _report(llmecon, tmp_path, str(EXAMPLES / "article-2023.yaml"))
    answer = re.search(r"<p class=answer data-answer=corrected>(.*?)</p>", page, re.S)
    assert answer is not None
    assert "capacity counted" in answer.group(1)
    assert "the cheapest is chatgpt" in answer.group(1)
    assert "chatgpt is cheaper than flan-ul2-sagemaker at every volume" in answer.group(1)
    assert "At 1,000,000 requests/day flan-ul2-sagemaker needs 58 replicas" in answer.group(1)
    corrected = tables(page)["corrected"]
    assert (
        corrected[1e6]["flan-ul2-sagemaker"]["daily_cost"] > corrected[1e6]["chatgpt"]["daily_cost"]
    )
    margins = re.search(r"<section id=sensitivity.*?</section>", page, re.S)
    assert margins is not None  # with capacity: chatgpt $1,334 vs flan $8,711.67 at 1M/day
    assert "<td data-margin=rise>553.0%</td><td data-margin=fall>84.7%</td>" in margins.group(0)
    replicas = re.findall(r'data-option="flan-ul2-sagemaker">.*?data-field=replicas>(\d+)<', page)
    assert replicas == ["1", "1", "1", "58"]  # as written at 1K, 1M; with capacity at 1K, 1M


def test_report_shows_the_trade_offs_with_consequences(
    llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    data = yaml.safe_load((EXAMPLES / "article-corrected.yaml").read_text())
    data["considerations"] = {
        "data_residency": "no_third_party",
        "ops_team": "none",
        "comments": {"ops_team": "two backend engineers, no SRE"},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    page = _report(llmecon, tmp_path, str(path))
    residency = re.search(r"<tr data-topic=data_residency>(.*?)</tr>", page, re.S)
    assert residency is not None
    assert "paid APIs are ruled out whatever they cost" in residency.group(1)
    assert "favours self-hosting" in residency.group(1)
    ops = re.search(r"<tr data-topic=ops_team>(.*?)</tr>", page, re.S)
    assert ops is not None
    assert "two backend engineers, no SRE" in ops.group(1)
    assert "favours a paid API" in ops.group(1)
    quality = re.search(r"<tr data-topic=quality>(.*?)</tr>", page, re.S)
    assert quality is not None
    assert "not stated" in quality.group(1)
    assert "Run an evaluation" in quality.group(1)


@pytest.mark.parametrize(
    ("considerations", "problem"),
    [
        ({"data_residency": "eu"}, "no_third_party"),
        ({"comments": {"ops": "x"}}, "'ops': not a topic"),
        ({"opsteam": "none"}, "ops_team"),
    ],
)
def test_considerations_typo_is_a_one_line_error(
    llmecon: Callable[..., Run], tmp_path: Path, considerations: dict[str, Any], problem: str
) -> None:
    data = yaml.safe_load((EXAMPLES / "article-2023.yaml").read_text())
    data["considerations"] = considerations
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    for command in (("compare", str(path)), ("report", str(path), "-o", str(tmp_path / "r.html"))):
        run = llmecon(*command)
        assert run.code == 2
        assert "considerations" in run.err
        assert problem in run.err
        assert len(run.err.strip().splitlines()) == 1


def test_report_is_self_contained(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    page = _report(llmecon, tmp_path, str(EXAMPLES / "article-capacity.yaml"))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page)
    assert page.count("<svg") == 1  # article-capacity already sizes replicas: no correction
    assert "@media print" in page


def test_report_with_a_bench_result(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    bench = {"endpoint": "http://127.0.0.1:1/v1", "model": "tiny", "runs": [
        {"load": {"mode": "concurrency", "concurrency": 4},
         "summary": {"requests": 8, "completed": 8, "requests_per_second": 2.5,
                     "output_tokens_per_second": 80.0, "ttft_ms": {"p50": 12.0, "p95": 30.0},
                     "e2e_ms": {"p50": 400.0, "p95": 650.0}},
         "health": {"valid": True, "reasons": []}},
    ]}  # fmt: skip
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    page = _report(
        llmecon,
        tmp_path,
        str(EXAMPLES / "article-2023.yaml"),
        "--bench",
        str(tmp_path / "bench.json"),
    )
    section = re.search(r"<section id=bench.*?</section>", page, re.S)
    assert section is not None
    assert "concurrency 4 in flight" in section.group(0)
    assert "<td>650</td>" in section.group(0)


@pytest.mark.parametrize(
    ("content", "problem"), [("{nope", "not JSON"), ('{"runs": 3}', "not a `llmecon bench` result")]
)
def test_bad_bench_file(
    llmecon: Callable[..., Run], tmp_path: Path, content: str, problem: str
) -> None:
    (tmp_path / "bench.json").write_text(content)
    run = llmecon(
        "report", str(EXAMPLES / "article-2023.yaml"), "--bench", str(tmp_path / "bench.json"),
        "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert run.code == 2
    assert problem in run.err
    assert not (tmp_path / "r.html").exists()


QUERY = (
    "requests_per_day=1000,1000000&input_tokens=500&output_tokens=167&api=gpt-4o-mini"
    "&self_hosted=ml.g5.4xlarge&model=&replicas=2"
)


def test_calculator_numbers_equal_the_quick_form(
    book: PriceBook, llmecon: Callable[..., Run]
) -> None:
    answer = calculator_response("/api/compare", parse_qs(QUERY, keep_blank_values=True), book)
    assert answer.status == 200
    body = json.loads(answer.body)
    quick = llmecon(
        "compare", "--requests-per-day", "1000", "--requests-per-day", "1000000",
        "--input-tokens", "500", "--output-tokens", "167", "--api", "gpt-4o-mini",
        "--self-hosted", "ml.g5.4xlarge", "--replicas", "2", "--format", "json",
    )  # fmt: skip
    expected = json_tables(json.loads(quick.out))
    renamed = {v: {n.replace("open model on ", ""): r for n, r in o.items()} for v, o in
               json_tables(body["comparison"]).items()}  # fmt: skip
    assert renamed == expected
    assert tables(body["html"])["main"] == json_tables(body["comparison"])


def test_calculator_yaml_download_is_a_scenario_that_compares_the_same(
    book: PriceBook, llmecon: Callable[..., Run], tmp_path: Path
) -> None:
    query = parse_qs(QUERY, keep_blank_values=True)
    download = calculator_response("/api/scenario.yaml", query, book)
    assert download.status == 200
    assert "attachment" in download.headers["Content-Disposition"]
    (tmp_path / "s.yaml").write_bytes(download.body)
    compared = json.loads(llmecon("compare", str(tmp_path / "s.yaml"), "--format", "json").out)
    live = json.loads(calculator_response("/api/compare", query, book).body)
    assert json_tables(compared) == json_tables(live["comparison"])
    report = calculator_response("/api/report.html", query, book)
    assert report.status == 200
    assert report.body.startswith(b"<!doctype html>")


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("requests_per_day=lots", "requests per day: 'lots' is not a number"),
        ("requests_per_day=1000&api=&self_hosted=", "give at least one paid API"),
        ("requests_per_day=1000&api=gpt-nope&self_hosted=", "gpt-nope"),
        ("requests_per_day=-5", "requests_per_day"),
    ],
)
def test_calculator_bad_input_is_a_400_with_one_line(
    book: PriceBook, query: str, problem: str
) -> None:
    answer = calculator_response("/api/compare", parse_qs(query, keep_blank_values=True), book)
    assert answer.status == 400
    message = json.loads(answer.body)["error"]
    assert problem in message
    assert "\n" not in message


def test_calculator_page_and_unknown_paths(book: PriceBook) -> None:
    page = calculator_response("/", parse_qs("api=claude-haiku-4-5"), book)
    assert page.status == 200
    assert b'value="claude-haiku-4-5"' in page.body
    assert b"<datalist id=instance-names>" in page.body
    assert calculator_response("/nothing", {}, book).status == 404


def test_docs_list_every_consideration_and_answer() -> None:
    from llmecon.records import fields_of
    from llmecon.report.html.considerations import TOPICS
    from llmecon.scenario.considerations import ConsiderationsSpec

    docs = (EXAMPLES.parent / "docs" / "report.md").read_text()
    for topic in TOPICS:
        assert f"| {topic.key} |" in docs
        allowed = fields_of(ConsiderationsSpec)[topic.key]
        assert set(topic.answers) == set(allowed.__args__[0].__args__)  # type: ignore[union-attr]
        for answer in topic.answers:
            assert f"`{answer}`" in docs


def test_llmecon_ui_prints_its_url_and_serves(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import urllib.request

    env = {**os.environ, "PYTHONPATH": str(EXAMPLES.parent / "src")}
    command = [sys.executable, "-m", "llmecon", "ui", "--port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) as server:
        try:
            assert server.stderr is not None
            line = server.stderr.readline()
            url = re.search(r"http://\S+/", line)
            assert url is not None, line
            with urllib.request.urlopen(url.group(0) + "api/compare?" + QUERY, timeout=60) as r:
                assert json.load(r)["comparison"]["results"][0]["requests_per_day"] == 1000
            busy = subprocess.run(
                [*command[:-1], url.group(0).rsplit(":", 1)[1].strip("/")],
                capture_output=True, text=True, env=env, timeout=60, check=False,
            )  # fmt: skip
            assert busy.returncode == 2
            assert "cannot listen" in busy.stderr
            assert len(busy.stderr.strip().splitlines()) == 1
        finally:
            server.terminate()


def test_several_scenarios_in_one_report(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    names = ("article-2023", "article-corrected", "article-capacity")
    bench = {"endpoint": "http://x/v1", "model": "m", "runs": [{"summary": {"completed": 3}}]}
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    paths = [str(EXAMPLES / f"{name}.yaml") for name in names]
    page = _report(llmecon, tmp_path, *paths, "--bench", str(tmp_path / "bench.json"))
    articles = page.split("<article ")[1:]
    assert len(articles) == len(names)
    for path, article in zip(paths, articles, strict=True):
        compared = json.loads(llmecon("compare", path, "--format", "json").out)
        assert tables(article)["main"] == json_tables(compared)
        assert compared["scenario"] in article
    ids = re.findall(r"\sid=\"?([^\s\">]+)", page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert page.count("Measured capacity (bench)") == 1
    assert all(f'href="#s{n}-top"' in page for n in (1, 2, 3))
