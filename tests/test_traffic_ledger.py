"""Issue 14: llmecon's own ledger (SQLite) as a traffic source, through `llmecon.ledger`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import Run
from llmecon.errors import LlmeconError
from llmecon.ledger import UsageRow, open_ledger
from llmecon.traffic import profile_traffic, read_traffic

T0 = datetime(2026, 10, 1, 9, tzinfo=UTC)


def _row(minutes: int, prompt: int | None, completion: int | None, model: str) -> UsageRow:
    return UsageRow(
        request_id=uuid.uuid4().hex, started_at=T0 + timedelta(minutes=minutes),
        finished_at=T0 + timedelta(minutes=minutes, seconds=2), key_id="k1", model=model,
        upstream="gpu", endpoint="chat", stream=False, status=200 if prompt else 502,
        outcome="ok" if prompt else "upstream_error", prompt_tokens=prompt,
        completion_tokens=completion, token_source="upstream", ttft_ms=None, latency_ms=2000.0,
        self_hosted_nusd=None, counterfactual_nusd={}, price_book="test",
    )  # fmt: skip


def test_ledger_rows_become_traffic(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    rows = [_row(m * 7, 100 + m, 10 + m, "llama-3.1-8b") for m in range(30)]
    rows.append(_row(5, None, None, "llama-3.1-8b"))  # failed, without usage: left out
    with open_ledger(url) as ledger:
        ledger.record(rows)
    profile = profile_traffic(read_traffic(url))
    assert profile.format == "ledger"
    assert profile.requests == 30
    assert profile.prompt_tokens == sum(100 + m for m in range(30))
    per_hour = [sum(1 for m in range(30) if (m * 7) // 60 == h) for h in range(4)]
    assert profile.peak_hour_requests == max(per_hour)
    run = llmecon("traffic", "show", url, "--output-format", "json")
    assert run.code == 0, run.err
    assert '"requests": 30' in run.out


def test_missing_ledger_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LlmeconError):
        read_traffic(str(tmp_path / "nope.db"))
