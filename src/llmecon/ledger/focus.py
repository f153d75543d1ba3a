"""The ledger as FOCUS 1.0 rows (FinOps Open Cost and Usage Specification), for FinOps tools.

One row per UTC day and API key (and one per day for idle machine time): the self-hosted cost
allocated to the key is the charge (`BilledCost` = `EffectiveCost` = `ListCost` =
`ContractedCost`, no discounts), the key is the sub-account and a tag; what the same traffic
would have cost on each compared API is a custom column `x_CounterfactualCost_<API>`.
Custom columns carry the `x_` prefix and follow the FOCUS columns, as the spec asks.

The column list, types, feature levels, nullability and allowed values are data
(`focus_1_0_columns.json`, read from the spec's v1.0 tag); `check_focus` checks rows against it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.ledger.model import IDLE_GROUP, NO_KEY_GROUP, UsageTotals
from llmecon.ledger.protocol import Ledger

MAX_DAYS = 3_660  # one query per day: refuse a period longer than ten years
SERVICE = "LLM inference (self-hosted, llmecon gateway)"
_API_NAME = re.compile(r"[^0-9A-Za-z]+")


@dataclass(frozen=True)
class FocusColumn:
    id: str
    type: str  # "String", "Decimal", "Date/Time" or "JSON"
    level: str  # "Mandatory", "Conditional" or "Recommended"
    nulls: bool


@dataclass(frozen=True)
class FocusSpec:
    version: str
    source: str
    commit: str
    as_of: str
    columns: tuple[FocusColumn, ...]
    allowed_values: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class FocusExport:
    """The column names in order (FOCUS first, then `x_`) and one dict per row. Values are
    Decimal, datetime (UTC), str, dict (JSON columns), int (custom counts) or None."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    spec: FocusSpec


def focus_spec() -> FocusSpec:
    """The FOCUS 1.0 columns shipped with llmecon."""
    text = resources.files("llmecon.ledger").joinpath("focus_1_0_columns.json").read_text()
    raw = json.loads(text)
    return FocusSpec(
        version=raw["version"],
        source=raw["source"],
        commit=raw["commit"],
        as_of=raw["as_of"],
        columns=tuple(FocusColumn(**c) for c in raw["columns"]),
        allowed_values={k: frozenset(v) for k, v in raw["allowed_values"].items()},
    )


def counterfactual_column(api: str) -> str:
    """The custom column holding what the traffic would have cost on `api`."""
    return "x_CounterfactualCost_" + _API_NAME.sub("_", api).strip("_")


def _usd(nusd: int) -> Decimal:
    return Decimal(nusd).scaleb(-9)


def _days(ledger: Ledger, since: datetime | None, until: datetime | None) -> list[date]:
    span = ledger.traffic_span(since, until)
    if span is None:
        return []
    first = (since or span[0]).astimezone(UTC).date()
    last = ((until - timedelta(microseconds=1)) if until else span[1]).astimezone(UTC).date()
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise LlmeconError(
            f"the FOCUS export covers {count:,} days; give --since/--until within {MAX_DAYS:,} days"
        )
    return [first + timedelta(days=n) for n in range(max(count, 0))]


def _month(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day.replace(day=1), time(), UTC)
    return start, (start + timedelta(days=32)).replace(day=1)


def _row(totals: UsageTotals, day: date, account: str, names: Mapping[str, str]) -> dict[str, Any]:
    idle = totals.group == IDLE_GROUP
    tokens = totals.prompt_tokens + totals.completion_tokens
    key = None if idle or totals.group == NO_KEY_GROUP else totals.group
    cost = _usd(totals.self_hosted_nusd + totals.idle_nusd)
    start = datetime.combine(day, time(), UTC)
    period = _month(day)
    tags = {"llmecon/allocation": "idle"} if idle else {"llmecon/key": totals.group}
    name = names.get(key) if key else None
    if name:
        tags["llmecon/key-name"] = name
    return {
        "BilledCost": cost,
        "BillingAccountId": account,
        "BillingAccountName": account,
        "BillingCurrency": "USD",
        "BillingPeriodEnd": period[1],
        "BillingPeriodStart": period[0],
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": (
            "Idle machine time no request used"
            if idle
            else "Self-hosted LLM inference, the key's share of machine time"
        ),
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": start + timedelta(days=1),
        "ChargePeriodStart": start,
        "ConsumedQuantity": None if idle else Decimal(tokens),
        "ConsumedUnit": None if idle else "Tokens",
        "ContractedCost": cost,
        "EffectiveCost": cost,
        "InvoiceIssuerName": account,
        "ListCost": cost,
        "PricingCategory": "Standard",
        "ProviderName": "Self-hosted",
        "PublisherName": "llmecon",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": SERVICE,
        "SubAccountId": key,
        "SubAccountName": name,
        "Tags": tags,
        "x_Requests": totals.requests,
        "x_PromptTokens": totals.prompt_tokens,
        "x_CompletionTokens": totals.completion_tokens,
        "x_IdleCost": _usd(totals.idle_nusd),
        "x_UnallocatedRequests": totals.unallocated_requests,
        **{counterfactual_column(a): _usd(n) for a, n in totals.counterfactual_nusd.items()},
    }


def focus_export(
    ledger: Ledger,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    account: str = "self-hosted",
) -> FocusExport:
    """FOCUS rows for [since, until): one per UTC day and key, one per day for idle time."""
    spec = focus_spec()
    names = {key.id: key.name for key in ledger.list_keys()}
    rows: list[dict[str, Any]] = []
    apis: set[str] = set()
    for day in _days(ledger, since, until):
        start = datetime.combine(day, time(), UTC)
        end = start + timedelta(days=1)
        lo, hi = max(start, since) if since else start, min(end, until) if until else end
        for totals in ledger.usage("key", lo, hi):
            apis.update(totals.counterfactual_nusd)
            rows.append(_row(totals, day, account, names))
    custom = ["x_Requests", "x_PromptTokens", "x_CompletionTokens", "x_IdleCost"]
    custom += ["x_UnallocatedRequests", *sorted({counterfactual_column(a) for a in apis})]
    if len(custom) - 5 != len(apis):
        raise LlmeconError("two compared APIs map to one FOCUS column name; rename one")
    zero = {c: Decimal(0) for c in custom[5:]}
    columns = tuple(c.id for c in spec.columns) + tuple(custom)
    full = tuple({c: {**zero, **row}.get(c) for c in columns} for row in rows)
    return FocusExport(columns, full, spec)


def _type_ok(kind: str, value: object) -> bool:
    if kind == "Decimal":
        return isinstance(value, Decimal | int) and not isinstance(value, bool)
    if kind == "Date/Time":
        return isinstance(value, datetime) and value.utcoffset() == timedelta(0)
    if kind == "JSON":
        return isinstance(value, dict)
    return isinstance(value, str)


def check_focus(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], spec: FocusSpec
) -> list[str]:
    """What in `rows` breaks the FOCUS column rules: missing mandatory columns, unknown columns
    without the `x_` prefix, custom columns before FOCUS ones, nulls where none are allowed,
    values of the wrong type or outside the allowed values."""
    known = {c.id: c for c in spec.columns}
    problems = [
        f"mandatory column {c.id} is missing"
        for c in spec.columns
        if c.level == "Mandatory" and c.id not in columns
    ]
    problems += [f"column {name} is not FOCUS and lacks the x_ prefix" for name in columns
                 if name not in known and not name.startswith("x_")]  # fmt: skip
    custom_at = [i for i, name in enumerate(columns) if name.startswith("x_")]
    if custom_at and any(name in known for name in columns[custom_at[0] :]):
        problems.append("custom x_ columns must follow all FOCUS columns")
    for n, row in enumerate(rows):
        for name in columns:
            column, value = known.get(name), row.get(name)
            if column is None:
                continue
            if value is None:
                if not column.nulls:
                    problems.append(f"row {n}: {name} is null")
            elif not _type_ok(column.type, value):
                problems.append(f"row {n}: {name} is not a {column.type}: {value!r}")
            elif name in spec.allowed_values and value not in spec.allowed_values[name]:
                problems.append(f"row {n}: {name} {value!r} is not an allowed value")
    return problems
