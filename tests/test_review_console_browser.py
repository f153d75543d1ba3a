"""Review: a key whose name is HTML is shown as text in the console (no script runs), in the
limits table and in the by-key spend table."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmecon.mock import MockSettings, running
from test_hostile import Live, _llmecon
from test_report_browser import _page, browser  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow
ADMIN = "admin-secret-0123456789"
NAME = '<img src=x onerror="window.__xss=1">'


def test_a_key_named_like_html_is_text_in_the_console(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    browser: Any,  # noqa: F811
) -> None:
    monkeypatch.setenv("LLMECON_ADMIN", ADMIN)
    with running(MockSettings(ttft_ms=5, itl_ms=2, output_tokens=4)) as upstream:
        gateway = Live(tmp_path, upstream, "--admin-key-env", "LLMECON_ADMIN",
                       "--upstream-price", "mock=3.6", "--tpm", "100000")  # fmt: skip
        made = subprocess.run(_llmecon("keys", "create", NAME, "--rpm", "60", "--ledger",
                                       gateway.ledger),
                              capture_output=True, check=True, text=True)  # fmt: skip
        secret = made.stdout.splitlines()[0].strip()
        gateway.start()
        try:
            body = {
                "model": "mock",
                "max_tokens": 4,
                "messages": [{"role": "user", "content": "hi"}],
            }
            reply = httpx.post(f"{gateway.url}/chat/completions", json=body,
                               headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
            assert reply.status_code == 200
            page, errors = _page(browser, {"width": 1366, "height": 768})
            missing: list[str] = []
            page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
            page.add_init_script(
                f"sessionStorage.setItem('llmecon-admin-key', {json.dumps(ADMIN)})"
            )
            page.goto(f"http://127.0.0.1:{gateway.port}/ui")
            page.wait_for_selector("#limits tbody tr")
            assert page.evaluate("window.__xss") is None
            assert page.eval_on_selector_all("img", "found => found.length") == 0
            assert NAME in page.inner_text("#limits")
            assert NAME in page.inner_text("#by-key")
            page.wait_for_timeout(500)  # lets a stray <img src=x> load and fail, were there one
            assert page.evaluate("window.__xss") is None
            assert [url for url in missing if not url.endswith("/favicon.ico")] == []
            assert [e for e in errors if "status of 404" not in e] == []
        finally:
            gateway.stop()
