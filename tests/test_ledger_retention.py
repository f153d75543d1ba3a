"""Issue 18: `llmecon ledger prune` folds old raw rows into hourly roll-ups without changing
what `usage` reports; `llmecon ledger stats` shows the size. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import Backend, Run
from llmecon.ledger import UsageRow, open_ledger
from llmecon.ledger.focus import focus_export

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
HOUR = NOW.replace(minute=0)  # roll-ups resolve windows to the hour (`usage` uses whole days)


def _row(at: datetime, key: str | None, model: str, nusd: int | None) -> UsageRow:
    return UsageRow(
        request_id=uuid.uuid4().hex, started_at=at, finished_at=at + timedelta(seconds=1),
        key_id=key, model=model, upstream="gpu" if model == "llama" else "api", endpoint="chat",
        stream=False, status=200, outcome="ok", prompt_tokens=100, completion_tokens=7,
        token_source="upstream", ttft_ms=None, latency_ms=1000.0, self_hosted_nusd=nusd,
        counterfactual_nusd={"gpt-4o-mini": 5_000 + (nusd or 0), "other": None},
        price_book="test",
    )  # fmt: skip


def _rows() -> list[UsageRow]:
    rows = []
    for n in range(400):  # 400 requests over 200 days, several per hour some days
        at = NOW - timedelta(days=n // 2, minutes=7 * (n % 5))
        key = (None, "k1", "k2")[n % 3]
        rows.append(_row(at, key, ("llama", "qwen")[n % 2], None if n % 17 == 0 else 1000 + n))
    return rows


def _everything(ledger) -> dict[str, object]:  # type: ignore[no-untyped-def]
    found: dict[str, object] = {}
    for by in ("key", "model", "day", "upstream"):
        found[by] = ledger.usage(by)
        found[by + "-window"] = ledger.usage(
            by, HOUR - timedelta(days=150), HOUR - timedelta(days=20)
        )
    return found


def test_prune_keeps_usage_totals(backend: Backend) -> None:
    with open_ledger(backend.url) as ledger:
        ledger.record(_rows())
        before = _everything(ledger)
        span = ledger.traffic_span()
        pruned = ledger.prune(NOW - timedelta(days=90))
        assert pruned.rows == len([r for r in _rows() if r.started_at < pruned.before])
        assert pruned.before.minute == 0
        assert _everything(ledger) == before
        remaining = ledger.rows()
        assert remaining and all(r.started_at >= pruned.before for r in remaining)
        again = ledger.prune(NOW - timedelta(days=30))  # more of the same hours: merged
        assert again.rows > 0
        assert _everything(ledger) == before
        assert ledger.prune(NOW - timedelta(days=30)).rows == 0
        new_span = ledger.traffic_span()
        assert span is not None and new_span is not None
        assert new_span[0] == span[0].replace(minute=0, second=0)
        stats = {t.name: t for t in ledger.stats().tables}
        assert stats["usage"].rows == len(ledger.rows())
        assert stats["usage_hourly"].rows > 0


def test_focus_export_is_unchanged_by_a_prune(backend: Backend) -> None:
    with open_ledger(backend.url) as ledger:
        ledger.record(_rows())
        start = (NOW - timedelta(days=120)).replace(hour=0, minute=0)
        first = focus_export(ledger, start, NOW.replace(hour=0, minute=0))
        ledger.prune(NOW - timedelta(days=60))
        assert focus_export(ledger, start, NOW.replace(hour=0, minute=0)).rows == first.rows


def test_ledger_prune_and_stats_commands(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.record(_rows())
    run = llmecon("ledger", "prune", "--older-than", "90d", "--ledger", url)
    assert run.code == 0, run.err
    assert run.out.startswith("pruned ")
    run = llmecon("ledger", "stats", "--ledger", url, "--json")
    assert run.code == 0, run.err
    facts = json.loads(run.out)
    tables = {t["name"]: t["rows"] for t in facts["tables"]}
    assert 0 < tables["usage"] < 400
    assert tables["usage_hourly"] > 0
    assert facts["database_bytes"] > 0
    run = llmecon("ledger", "stats", "--ledger", url)
    assert "usage_hourly" in run.out and "roll-ups:" in run.out


def test_a_bad_age_is_a_one_line_error(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    run = llmecon("ledger", "prune", "--older-than", "90 days", "--ledger", url)
    assert run.code == 2
    assert "e.g. 90d" in run.err
    assert "Traceback" not in run.err
