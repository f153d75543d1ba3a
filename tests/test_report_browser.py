"""The report and the calculator in a real browser: Debian's chromium driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium (`apt-get install chromium`;
LLMECON_CHROMIUM names another). Without it these tests skip, unless LLMECON_REQUIRE_BROWSER is
set (CI sets it), where they fail. Screenshots go to $LLMECON_SCREENSHOTS (docs/img for the
docs) or to the test's temporary folder. Accessibility: axe-core (vendored, tests/vendor) runs in
the page; serious or critical violations fail the test.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, ROOT, Run
from llmecon.pricebook.book import PriceBook
from test_report import json_tables

CHROMIUM = Path(os.environ.get("LLMECON_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("LLMECON_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LLMECON_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser: Any, viewport: dict[str, int]) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    return page, errors


def screenshot(page: Any, path: Path, *, full_page: bool = False) -> None:
    """A PNG of the page, reduced to 256 colours (a third of the size; text stays sharp)."""
    from PIL import Image

    page.screenshot(path=str(path), full_page=full_page)
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)


def serious_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return [v for v in found if v["impact"] in {"serious", "critical"}]


_TABLES_JS = """(variant) => {
  const out = {};
  document.querySelectorAll(`section[data-variant=${variant}] table.costs`).forEach(t => {
    const rows = {};
    t.querySelectorAll('tr[data-option]').forEach(r => {
      const cells = {};
      r.querySelectorAll('td[data-value]').forEach(c => {
        const v = c.dataset.value; cells[c.dataset.field] = v === 'None' ? null : Number(v);
      });
      rows[r.dataset.option] = cells;
    });
    out[t.dataset.volume] = rows;
  });
  return out;
}"""


def page_tables(page: Any, variant: str = "main") -> dict[float, Any]:
    return {float(v): rows for v, rows in page.evaluate(_TABLES_JS, variant).items()}


def _no_page_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_report_in_the_browser(
    browser: Any, llmecon: Callable[..., Run], tmp_path: Path, shots: Path
) -> None:
    scenario = os.path.relpath(EXAMPLES / "article-2023.yaml")  # as a user types it
    assert llmecon("report", scenario, "-o", str(tmp_path / "report.html")).code == 0
    compared = json.loads(llmecon("compare", scenario, "--format", "json").out)
    page, errors = _page(browser, LAPTOP)
    page.goto((tmp_path / "report.html").as_uri())
    assert page_tables(page) == json_tables(compared)
    charts = page.locator(".chart svg")
    assert charts.count() == 2
    for index in range(2):
        box = charts.nth(index).bounding_box()
        assert box is not None
        assert box["width"] > 600
        assert box["height"] > 300
    assert page.locator("#main-hover-0 use").count() > 20
    page.locator("#main-hover-0 use").nth(10).hover(force=True)
    tip = page.locator("section[data-chart=main] .tooltip")
    assert tip.is_visible()
    assert tip.inner_text().startswith("chatgpt: $")
    assert "with capacity counted" in page.locator("p.answer").inner_text().lower()
    assert page.locator("#tradeoffs tr[data-topic]").count() == 6
    screenshot(page, shots / "report.png", full_page=True)
    assert serious_violations(page) == []
    page.set_viewport_size(PHONE)
    assert _no_page_overflow(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, shots / "report-phone.png")
    page.emulate_media(media="print")
    assert not page.locator(".tooltip").first.is_visible()
    pdf = page.pdf(path=str(tmp_path / "report.pdf"))
    assert pdf.startswith(b"%PDF")
    assert errors == []


@pytest.fixture
def calculator(book: PriceBook) -> Iterator[str]:
    from llmecon.cli.ui import calculator_server

    server = calculator_server("127.0.0.1", 0, book)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


INPUTS = (
    "?requests_per_day=1000,1000000&input_tokens=500&output_tokens=167"
    "&api=gpt-4o-mini,claude-haiku-4-5&self_hosted=ml.g5.4xlarge&model=&replicas=1"
)


def _api(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.load(answer)


def test_calculator_recomputes_on_input(
    browser: Any, calculator: str, llmecon: Callable[..., Run], tmp_path: Path, shots: Path
) -> None:
    page, errors = _page(browser, LAPTOP)
    page.goto(calculator + INPUTS)
    page.wait_for_selector("table.costs[data-volume='1000000.0']")
    assert page.locator("#results .chart svg").count() == 1
    assert page.locator("tr[data-option='open model on ml.g5.4xlarge']").count() == 2  # model=""
    assert "priced as 1 replica(s) at every volume" in page.locator("#notes").inner_text()
    page.fill("#requests_per_day", "5000, 2000000")
    page.wait_for_selector("table.costs[data-volume='2000000.0']")
    query = page.evaluate("window.location.search")
    assert "requests_per_day=5000%2C+2000000" in query
    assert page.locator("#share").get_attribute("href") == query
    live = _api(calculator + "api/compare" + query)
    assert page_tables(page) == json_tables(live["comparison"])
    assert set(page_tables(page)) == {5000.0, 2000000.0}
    page.locator("#main-hover-1 use").nth(5).hover(force=True)
    assert page.locator("#results .tooltip").inner_text().startswith("claude-haiku-4-5: $")
    screenshot(page, shots / "calculator.png", full_page=True)
    assert serious_violations(page) == []
    with page.expect_download() as download:
        page.click("#download-yaml")
    download.value.save_as(tmp_path / "scenario.yaml")
    compared = json.loads(
        llmecon("compare", str(tmp_path / "scenario.yaml"), "--format", "json").out
    )
    assert json_tables(compared) == json_tables(live["comparison"])
    with page.expect_download() as report:
        page.click("#download-report")
    assert report.value.suggested_filename == "llmecon-report.html"
    page.set_viewport_size(PHONE)
    assert _no_page_overflow(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, shots / "calculator-phone.png")
    assert errors == []
    page.fill("#requests_per_day", "a lot")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert "'a' is not a number" in page.locator("#error").inner_text()
    assert page.locator("table.costs[data-volume='2000000.0']").count() == 1  # last good result


def test_calculator_link_restores_the_inputs(browser: Any, calculator: str) -> None:
    page, errors = _page(browser, LAPTOP)
    page.goto(calculator + INPUTS.replace("1000,1000000", "42000"))
    page.wait_for_selector("table.costs[data-volume='42000.0']")
    assert page.input_value("#requests_per_day") == "42000"
    assert page.input_value("#api") == "gpt-4o-mini,claude-haiku-4-5"
    assert errors == []


def test_several_scenarios_in_the_browser(
    browser: Any, llmecon: Callable[..., Run], tmp_path: Path, shots: Path
) -> None:
    paths = [os.path.relpath(EXAMPLES / f"{name}.yaml") for name in ("article-2023", "llama-tco")]
    assert llmecon("report", *paths, "-o", str(tmp_path / "report.html")).code == 0
    page, errors = _page(browser, LAPTOP)
    page.goto((tmp_path / "report.html").as_uri())
    page.locator("#s2-main-hover-0 use").nth(3).hover(force=True)
    assert page.locator("section[data-chart=s2-main] .tooltip").is_visible()
    assert not page.locator("section[data-chart=s1-main] .tooltip").is_visible()
    page.click("nav a[href='#s2-top']")
    assert page.evaluate("window.location.hash") == "#s2-top"
    assert serious_violations(page) == []
    assert errors == []
