"""The API price snapshot: a compact, pre-indexed copy of LiteLLM's model cost map.

LiteLLM's `model_prices_and_context_window_backup.json` (MIT, Berri AI) lists ~5,000 entries with
per-token prices. llmecon keeps only what it bills (chat models: input, output, cached-input,
batch input/output/cached-input and long-context tier prices per 1M tokens, context limits;
embedding models: input per 1M tokens, output 0) as one row per model with its mode (`chat` or
`embedding`), with the snapshot's own source and date. Schema 1 (no mode column, chat models
only) and schema 2 (no batch cached-input column) still read. `parse` reads either format;
`diff` says what an update changes.
Pure: text in, data out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeGuard

from llmecon.core.prices import Price
from llmecon.errors import LlmeconError
from llmecon.pricebook.entries import PER_MILLION, ApiModelPrice, ContextTier

FORMAT = "llmecon-api-prices"
COLUMNS = (
    "provider", "input", "output", "cached_input", "batch_input", "batch_output",
    "batch_cached_input", "max_input_tokens", "max_output_tokens", "tiers", "mode",
)  # fmt: skip
SCHEMA = 3
# Older schemas still read: a missing column is empty (None), a missing mode is "chat".
_OLDER = {
    1: tuple(c for c in COLUMNS if c not in {"batch_cached_input", "mode"}),  # before embeddings
    2: tuple(c for c in COLUMNS if c != "batch_cached_input"),  # before batch cached input
}
CHAT, EMBEDDING = "chat", "embedding"
# LiteLLM's modes -> ours: text generation of any API shape is "chat"
_MODES = {"chat": CHAT, "completion": CHAT, "responses": CHAT, "embedding": EMBEDDING}
_TIER_KEY = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
_SIGNIFICANT = 10  # per-1M prices keep 10 significant digits: no float noise such as 0.1999...


@dataclass(frozen=True)
class Snapshot:
    """Rows of API prices (per 1M tokens) with where and when they come from."""

    source: str
    as_of: date
    rows: Mapping[str, list[Any]]
    upstream: Mapping[str, str]

    def to_json(self) -> str:
        """Compact JSON with one model per line, so an update's git diff reads model by model."""
        head = {
            "format": FORMAT,
            "schema": SCHEMA,
            "source": self.source,
            "as_of": self.as_of.isoformat(),
            "license": "LiteLLM's model cost map is MIT-licensed (Copyright (c) 2023 Berri AI)",
            "upstream": dict(self.upstream),
            "columns": list(COLUMNS),
        }
        lines = [
            f"{json.dumps(model, ensure_ascii=False)}:{_compact(row)}"
            for model, row in sorted(self.rows.items())
        ]
        return _compact(head)[:-1] + ',"models":{\n' + ",\n".join(lines) + "\n}}\n"


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def per_million(cost_per_token: float) -> float:
    """A per-token cost as a per-1M price, without binary float noise."""
    return float(f"{cost_per_token * PER_MILLION:.{_SIGNIFICANT}g}")


def parse(
    text: str, origin: str, *, source: str | None = None, as_of: date | None = None
) -> Snapshot:
    """Our snapshot format, or LiteLLM's map (which needs `source` and `as_of` given)."""
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LlmeconError(f"{origin}: not valid JSON ({exc}); give a price map file") from None
    if not isinstance(raw, dict):
        raise LlmeconError(f"{origin}: expected a JSON object of models; give a price map file")
    if raw.get("format") == FORMAT:
        return _ours(raw, origin)
    rows = dict(_litellm_rows(raw))
    if not rows:
        raise LlmeconError(
            f"{origin}: no chat model or embedding model with input_cost_per_token (and "
            "output_cost_per_token for chat); "
            "give LiteLLM's model_prices_and_context_window.json or an llmecon snapshot"
        )
    return Snapshot(
        source=source or f"LiteLLM model cost map from {origin}",
        as_of=as_of or date.min,
        rows=rows,
        upstream={"file": origin},
    )


def _ours(raw: dict[str, Any], origin: str) -> Snapshot:
    try:
        columns = tuple(raw["columns"])
        models = raw["models"]
        snapshot = Snapshot(
            source=str(raw["source"]),
            as_of=date.fromisoformat(raw["as_of"]),
            rows=models,
            upstream={str(k): str(v) for k, v in raw.get("upstream", {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LlmeconError(f"{origin}: broken llmecon snapshot ({exc}); fetch it again") from None
    schema = raw.get("schema")
    if schema != SCHEMA and isinstance(schema, int) and _OLDER.get(schema) == columns:
        rows = {model: _upgraded(columns, row) for model, row in snapshot.rows.items()}
        return Snapshot(snapshot.source, snapshot.as_of, rows, snapshot.upstream)
    if columns != COLUMNS or schema != SCHEMA:
        raise LlmeconError(f"{origin}: snapshot schema not understood; upgrade llmecon")
    return snapshot


def _upgraded(columns: tuple[str, ...], row: list[Any]) -> list[Any]:
    """An older row in today's columns: what it lacks is unknown (None), its mode chat."""
    held = dict(zip(columns, row, strict=True))
    held.setdefault("mode", CHAT)
    return [held.get(column) for column in COLUMNS]


def _litellm_rows(raw: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    for model, fields in raw.items():
        if model == "sample_spec" or not isinstance(fields, dict):
            continue
        mode = _MODES.get(str(fields.get("mode")))
        if mode is None:
            continue
        cost_in, cost_out = fields.get("input_cost_per_token"), fields.get("output_cost_per_token")
        if mode == EMBEDDING and cost_out is None:
            cost_out = 0.0  # an embedding's answer is a vector: nothing billed per output token
        if not _is_cost(cost_in) or not _is_cost(cost_out):
            continue
        yield (
            model,
            [
                str(fields.get("litellm_provider", "unknown")),
                per_million(cost_in),
                per_million(cost_out),
                _optional(fields.get("cache_read_input_token_cost")),
                _optional(fields.get("input_cost_per_token_batches")),
                _optional(fields.get("output_cost_per_token_batches")),
                _optional(fields.get("cache_read_input_token_cost_batches")),
                _count(fields.get("max_input_tokens")),
                _count(fields.get("max_output_tokens")),
                list(_tiers(fields)),
                mode,
            ],
        )


def _tiers(fields: dict[str, Any]) -> Iterator[list[float]]:
    found = []
    for key, value in fields.items():
        match = _TIER_KEY.match(key)
        output = fields.get(key.replace("input_cost", "output_cost"))
        if match and _is_cost(value) and _is_cost(output):
            found.append([int(match.group(1)) * 1000, per_million(value), per_million(output)])
    yield from sorted(found)


def _optional(value: object) -> float | None:
    return per_million(value) if _is_cost(value) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _is_cost(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


class SnapshotPrices(Mapping[str, ApiModelPrice]):
    """The snapshot's rows as ApiModelPrice, built when first looked up (start-up stays fast)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._built: dict[str, ApiModelPrice] = {}

    def __getitem__(self, model: str) -> ApiModelPrice:
        price = self._built.get(model)
        if price is None:
            price = self._built[model] = build_price(model, self._snapshot)
        return price

    def __iter__(self) -> Iterator[str]:
        return iter(self._snapshot.rows)

    def __len__(self) -> int:
        return len(self._snapshot.rows)

    def __contains__(self, model: object) -> bool:
        return model in self._snapshot.rows


def build_price(model: str, snapshot: Snapshot) -> ApiModelPrice:
    """One row as an ApiModelPrice citing the snapshot."""
    row = snapshot.rows[model]
    (
        provider, cost_in, cost_out, cached, batch_in, batch_out, batch_cached,
        max_in, max_out, tiers, mode,
    ) = row  # fmt: skip

    def price(amount: float | None) -> Price | None:
        if amount is None:
            return None
        return Price(amount, "tokens", snapshot.source, snapshot.as_of, PER_MILLION)

    def required(amount: float) -> Price:
        return Price(amount, "tokens", snapshot.source, snapshot.as_of, PER_MILLION)

    return ApiModelPrice(
        model=model,
        provider=provider,
        input=required(cost_in),
        output=required(cost_out),
        origin="snapshot",
        mode=str(mode),
        cached_input=price(cached),
        batch_input=price(batch_in),
        batch_output=price(batch_out),
        batch_cached_input=price(batch_cached),
        max_input_tokens=max_in,
        max_output_tokens=max_out,
        tiers=tuple(
            ContextTier(int(above), required(tier_in), required(tier_out))
            for above, tier_in, tier_out in tiers
        ),
    )


@dataclass(frozen=True)
class Change:
    model: str
    old: tuple[float, float] | None
    new: tuple[float, float] | None


def diff(old: Snapshot, new: Snapshot) -> list[Change]:
    """Models added, removed, or whose input/output price changed (old -> new)."""
    changes = []
    for model in sorted(set(old.rows) | set(new.rows)):
        before, after = _headline(old.rows.get(model)), _headline(new.rows.get(model))
        if before != after:
            changes.append(Change(model, before, after))
    return changes


def _headline(row: list[Any] | None) -> tuple[float, float] | None:
    return None if row is None else (float(row[1]), float(row[2]))
