"""The gateway's web console (/ui) in a real browser, against a live gateway with traffic: it
refuses without the admin key, shows the same figures as its JSON API (spend, and each key's
budgets and limits with what is left), and has no console errors once opened."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmecon.mock import MockSettings, running
from test_hostile import Live, _llmecon
from test_report_browser import (  # noqa: F401 - fixtures
    _page,
    browser,
    screenshot,
    serious_violations,
    shots,
)

pytestmark = pytest.mark.slow
ADMIN = "admin-secret-0123456789"


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("LLMECON_ADMIN", ADMIN)
    with running(MockSettings(ttft_ms=5, itl_ms=2, output_tokens=12)) as upstream:
        gateway = Live(
            tmp_path, upstream, "--admin-key-env", "LLMECON_ADMIN", "--upstream-price",
            "mock=3.6", "--compare-with", "gpt-4o-mini", "--budget-day", "5", "--tpm", "100000",
        )  # fmt: skip
        batch = ("keys", "create", "batch", "--rpm", "60", "--budget-month", "20")
        subprocess.run(_llmecon(*batch, "--ledger", gateway.ledger), capture_output=True,
                       check=True)  # fmt: skip
        gateway.start()
        headers = {"Authorization": f"Bearer {gateway.key}"}
        for stream in (False, True, False):
            body = {"model": "mock", "stream": stream, "max_tokens": 12,
                    "messages": [{"role": "user", "content": "hello there"}]}  # fmt: skip
            assert httpx.post(f"{gateway.url}/chat/completions", json=body,
                              headers=headers).status_code == 200  # fmt: skip
        yield gateway
        gateway.stop()


def test_the_console_needs_the_admin_key(console: Live) -> None:
    base = f"http://127.0.0.1:{console.port}"
    assert httpx.get(f"{base}/ui/api/summary").status_code == 401
    client = {"Authorization": f"Bearer {console.key}"}  # a client key is not the admin key
    assert httpx.get(f"{base}/ui/api/summary", headers=client).status_code == 401
    admin = {"Authorization": f"Bearer {ADMIN}"}
    summary = httpx.get(f"{base}/ui/api/summary", headers=admin).json()
    assert summary["reports"]["model"]["totals"]["requests"] == 3
    assert ADMIN not in console.log.read_text()


def test_the_console_shows_the_api_s_figures(console: Live, browser: Any, shots: Path) -> None:  # noqa: F811
    base = f"http://127.0.0.1:{console.port}"
    page, errors = _page(browser, {"width": 1366, "height": 768})
    page.goto(f"{base}/ui")
    page.wait_for_selector("#login:not([hidden])")
    errors.clear()  # the first, keyless fetch is a 401 by design
    page.fill("#key", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")
    page.wait_for_selector("#by-model tbody tr")
    summary = httpx.get(f"{base}/ui/api/summary",
                        headers={"Authorization": f"Bearer {ADMIN}"}).json()  # fmt: skip
    totals = summary["reports"]["model"]["totals"]
    shown = page.inner_text("[data-test=requests] b")
    assert shown == f"{totals['requests']:,}"
    rows = page.eval_on_selector_all("#by-model tbody tr", "rows => rows.length")
    assert rows == len(summary["reports"]["model"]["rows"]) + 1  # and the total
    assert page.eval_on_selector("#chart svg", "svg => svg.querySelectorAll('rect').length") > 0
    assert "mock: healthy" in page.inner_text("#upstreams")
    _check_limits(page, base)
    assert serious_violations(page) == []  # axe-core, in the same browser
    screenshot(page, shots / "console.png", full_page=True)
    page.locator("#limits").scroll_into_view_if_needed()
    _element_shot(page.locator("#limits"), shots / "console-limits.png")
    keyless = "the server responded with a status of 401"  # the first fetch, by design
    assert [e for e in errors if keyless not in e] == []
    phone, phone_errors = _page(browser, {"width": 390, "height": 844})
    phone.add_init_script(f"sessionStorage.setItem('llmecon-admin-key', {json.dumps(ADMIN)})")
    phone.goto(f"{base}/ui")
    phone.wait_for_selector("#console:not([hidden])")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1  # wide tables scroll inside their section, the page does not
    assert phone_errors == []


def test_the_console_is_off_without_an_admin_key(tmp_path: Path) -> None:
    with running(MockSettings(ttft_ms=1, itl_ms=1)) as upstream:
        gateway = Live(tmp_path, upstream)
        gateway.start()
        try:
            reply = httpx.get(f"http://127.0.0.1:{gateway.port}/ui")
            assert reply.status_code == 404 and "--admin-key-env" in reply.text
        finally:
            gateway.stop()


def _check_limits(page: Any, base: str) -> None:
    """The budgets-and-limits table shows exactly /ui/api/keys: every limit in force of every
    key, with what is used, reserved and left."""
    page.wait_for_selector("#limits tbody tr")
    data = httpx.get(f"{base}/ui/api/keys", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    assert [k["name"] for k in data["keys"]] == ["t", "batch"]
    shown = page.eval_on_selector_all(
        "#limits tbody tr",
        """rows => rows.map(r => [r.dataset.key, r.dataset.limit, Object.fromEntries(
            [...r.querySelectorAll('td[data-value]')].map(td => [td.dataset.field,
                                                               Number(td.dataset.value)]))])""",
    )
    expected = []
    for key in data["keys"]:
        for name, limit in key["in_force"].items():
            if limit is None:
                continue
            values = {"in_force": limit, "used": key["used"][name], "left": key["left"][name]}
            if name.startswith("budget"):
                values["reserved"] = key["reserved"][name]
            expected.append([key["id"], name, values])
    assert shown == expected
    t = data["keys"][0]
    assert t["in_force"]["budget_day_nusd"] == 5 * 10**9  # serve's default
    assert t["used"]["tokens_per_minute"] > 0  # the three requests of the fixture
    left = t["left"]["budget_day_nusd"]
    cell = f'#limits tr[data-key="{t["id"]}"][data-limit="budget_day_nusd"] td[data-field=left]'
    assert page.inner_text(cell) == f"${left / 1e9:,.2f}"
    batch = data["keys"][1]
    assert batch["in_force"]["requests_per_minute"] == 60  # its own
    assert batch["in_force"]["budget_month_nusd"] == 20 * 10**9


def _element_shot(locator: Any, path: Path) -> None:
    """A PNG of one element, reduced to 256 colours like `screenshot`'s."""
    from PIL import Image

    locator.screenshot(path=str(path))
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)
