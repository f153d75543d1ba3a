"""Issue 18: `llmecon usage --format focus` writes FOCUS 1.0 rows that pass a column and type
check against the spec's published column list (shipped as data, from the spec's v1.0 tag)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from conftest import Run
from llmecon.ledger import UsageRow, open_ledger
from llmecon.ledger.focus import check_focus, focus_export, focus_spec

T0 = datetime(2026, 10, 30, 22, tzinfo=UTC)
SPEC = json.loads(resources.files("llmecon.ledger").joinpath("focus_1_0_columns.json").read_text())
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _row(minutes: int, key: str | None, nusd: int) -> UsageRow:
    return UsageRow(
        request_id=uuid.uuid4().hex, started_at=T0 + timedelta(minutes=minutes),
        finished_at=T0 + timedelta(minutes=minutes, seconds=1), key_id=key, model="llama",
        upstream="gpu", endpoint="chat", stream=False, status=200, outcome="ok",
        prompt_tokens=100, completion_tokens=20, token_source="upstream", ttft_ms=None,
        latency_ms=1000.0, self_hosted_nusd=nusd,
        counterfactual_nusd={"gpt-4o-mini": 3 * nusd, "claude-haiku-4-5": None},
        price_book="test",
    )  # fmt: skip


def _ledger(tmp_path: Path) -> tuple[str, list[str], int]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        keys = [ledger.create_key(name)[0].id for name in ("team-a", "team-b")]
        rows = [_row(m * 10, keys[m % 2], 1_234_567 + m) for m in range(30)]  # over midnight
        rows.append(_row(5, None, 999))
        ledger.record(rows)
    return url, keys, sum(r.self_hosted_nusd or 0 for r in rows)


def _check_text(kind: str, text: str) -> bool:
    """A CSV cell against the spec's data type, parsed independently of llmecon."""
    if kind == "Decimal":
        try:
            Decimal(text)
        except InvalidOperation:
            return False
        return True
    if kind == "Date/Time":
        return bool(DATETIME.match(text))
    if kind == "JSON":
        return isinstance(json.loads(text), dict)
    return True


def test_the_shipped_column_list_is_focus_1_0() -> None:
    columns = {c["id"]: c for c in SPEC["columns"]}
    assert SPEC["version"] == "1.0" and SPEC["commit"] and SPEC["source"].startswith("https://")
    assert len(columns) == 43
    assert columns["BilledCost"] == {"id": "BilledCost", "type": "Decimal",
                                     "level": "Mandatory", "nulls": False}  # fmt: skip
    assert columns["ChargePeriodStart"]["type"] == "Date/Time"
    assert columns["Tags"]["type"] == "JSON"
    assert sum(c["level"] == "Mandatory" for c in SPEC["columns"]) == 21


def test_focus_csv_passes_the_column_and_type_check(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    url, keys, total_nusd = _ledger(tmp_path)
    run = llmecon("usage", "--ledger", url, "--format", "focus")
    assert run.code == 0, run.out + run.err
    reader = csv.DictReader(io.StringIO(run.out))
    header = reader.fieldnames or []
    rows = list(reader)
    spec_ids = [c["id"] for c in SPEC["columns"]]
    assert header[: len(spec_ids)] == spec_ids  # every FOCUS column, in the spec's order
    assert all(name.startswith("x_") for name in header[len(spec_ids) :])
    for column in SPEC["columns"]:
        for n, row in enumerate(rows):
            cell = row[column["id"]]
            if cell == "":
                assert column["nulls"], f"row {n}: {column['id']} is null"
                continue
            assert _check_text(column["type"], cell), f"row {n}: {column['id']} = {cell!r}"
            allowed = SPEC["allowed_values"].get(column["id"])
            assert allowed is None or cell in allowed, f"row {n}: {column['id']} = {cell!r}"
    # two days (the traffic crosses midnight) x two keys, and keyless requests on day one
    assert len(rows) == 5
    assert {r["ChargePeriodStart"] for r in rows} == {
        "2026-10-30T00:00:00Z",
        "2026-10-31T00:00:00Z",
    }
    assert {r["SubAccountId"] for r in rows} == {*keys, ""}
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(total_nusd).scaleb(-9)
    assert sum(Decimal(r["x_CounterfactualCost_gpt_4o_mini"]) for r in rows) == Decimal(
        3 * total_nusd
    ).scaleb(-9)
    assert {json.loads(r["Tags"]).get("llmecon/key-name") for r in rows} == {
        "team-a", "team-b", None
    }  # fmt: skip


def test_focus_rows_pass_the_library_check(tmp_path: Path) -> None:
    url, _, _ = _ledger(tmp_path)
    with open_ledger(url) as ledger:
        export = focus_export(ledger)
    assert check_focus(export.columns, export.rows, export.spec) == []


def test_the_check_finds_what_breaks_the_rules(tmp_path: Path) -> None:
    url, _, _ = _ledger(tmp_path)
    with open_ledger(url) as ledger:
        export = focus_export(ledger)
    rows: list[dict[str, Any]] = [dict(r) for r in export.rows]
    rows[0]["BilledCost"] = None
    rows[1]["ChargeCategory"] = "Fee"
    rows[2]["ChargePeriodStart"] = "yesterday"
    columns = [c for c in export.columns if c != "ServiceName"] + ["Custom"]
    problems = check_focus(columns, rows, focus_spec())
    assert "mandatory column ServiceName is missing" in problems
    assert "column Custom is not FOCUS and lacks the x_ prefix" in problems
    assert "row 0: BilledCost is null" in problems
    assert "row 1: ChargeCategory 'Fee' is not an allowed value" in problems
    assert any(p.startswith("row 2: ChargePeriodStart is not a Date/Time") for p in problems)


def test_since_until_bound_the_export(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    url, _, _ = _ledger(tmp_path)
    run = llmecon("usage", "--ledger", url, "--format", "focus", "--since", "2026-10-31")
    assert run.code == 0, run.out + run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert {r["ChargePeriodStart"] for r in rows} == {"2026-10-31T00:00:00Z"}


def test_parquet_needs_an_output_file(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    url, _, _ = _ledger(tmp_path)
    run = llmecon("usage", "--ledger", url, "--format", "parquet")
    assert run.code == 2
    assert "--output" in run.err
    assert "Traceback" not in run.err


def test_parquet_round_trips(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    url, _, total_nusd = _ledger(tmp_path)
    out = tmp_path / "focus.parquet"
    run = llmecon("usage", "--ledger", url, "--format", "parquet", "--output", str(out))
    assert run.code == 0, run.out + run.err
    table = pq.read_table(out)
    assert table.column_names[:43] == [c["id"] for c in SPEC["columns"]]
    assert sum(table.column("BilledCost").to_pylist()) == Decimal(total_nusd).scaleb(-9)
