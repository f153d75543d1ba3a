"""Price book entries as tables and JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

from rich.table import Table

from llmecon.core.prices import Price
from llmecon.pricebook.entries import ContextTier, Entry, entry_kind, entry_price
from llmecon.report.numbers import clean
from llmecon.report.table import wide_console

if TYPE_CHECKING:
    from llmecon.pricebook.update import Update


def _price(value: Price) -> dict[str, Any]:
    return {
        "amount": clean(value.amount),
        "unit": value.unit_label,
        "source": value.source,
        "as_of": value.as_of.isoformat() if value.as_of else None,
    }


def _value(value: object) -> object:
    if isinstance(value, Price):
        return _price(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, ContextTier):
        tier = {"above_tokens": value.above}
        return tier | {"input": _price(value.input), "output": _price(value.output)}
    if isinstance(value, tuple):
        return [_value(item) for item in value]
    if isinstance(value, float):
        return clean(value)
    return value


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    """An entry with its prices spelled out (amount, unit, source, as_of)."""
    data: dict[str, Any] = {"name": entry.name, "kind": entry_kind(entry)}
    assert is_dataclass(entry)
    for field in fields(entry):
        value = getattr(entry, field.name)
        if isinstance(value, Mapping):  # an instance's committed rates, by pricing key
            data[field.name] = {key: _value(item) for key, item in value.items()}
        else:
            data[field.name] = _value(value)
    return data


def render_entries_json(entries: list[Entry], out: TextIO) -> None:
    json.dump([entry_to_dict(entry) for entry in entries], out, indent=2)
    out.write("\n")


def render_entries_table(entries: list[Entry], out: TextIO, *, footer: str = "") -> None:
    console = wide_console(out)
    table = Table(show_lines=False)
    for header in ("name", "kind", "provider", "price", "effective", "as of", "source"):
        table.add_column(header, overflow="fold")
    for entry in entries:
        price = entry_price(entry)
        effective = getattr(entry, "effective_from", None)
        table.add_row(
            entry.name,
            entry_kind(entry),
            entry.provider,
            entry.summary(),
            effective.isoformat()
            if effective
            else ("current" if effective is None and entry_kind(entry) == "api" else "-"),
            price.as_of.isoformat() if price.as_of else "-",
            price.source,
        )
    console.print(table)
    if footer:
        console.print(f"[dim]{footer}[/dim]")


def render_entry_details(entries: list[Entry], out: TextIO) -> None:
    console = wide_console(out)
    for entry in entries:
        console.print(f"[bold]{entry.name}[/bold]  {entry.summary()}")
        embedding = getattr(entry, "mode", "") == "embedding"
        for key, value in entry_to_dict(entry).items():
            if key in {"name", "commitments"} or value is None:
                continue
            shown = value
            if embedding and key in {"output", "batch_output"}:
                shown = "n/a (an embedding bills input tokens only)"
            elif isinstance(value, dict):
                shown = _price_text(value)
            elif isinstance(value, list):
                if not value:
                    continue
                shown = "; ".join(
                    f"prompt > {tier['above_tokens']:,} tokens: {_price_text(tier['input'])} in, "
                    f"${tier['output']['amount']:g} out"
                    for tier in value
                )
            console.print(f"  {key}: {shown}", markup=False)
        for term, price in (entry_to_dict(entry).get("commitments") or {}).items():
            console.print(f"  commitments.{term}: {_price_text(price)}", markup=False)


def _price_text(value: dict[str, Any]) -> str:
    when = f", as of {value['as_of']}" if value["as_of"] else ""
    return f"${value['amount']:g} per {value['unit']} ({value['source']}{when})"


def _pair(prices: tuple[float, float] | None) -> str:
    return "-" if prices is None else f"${prices[0]:g} / ${prices[1]:g}"


def render_update(update: Update, out: TextIO, *, output_format: str, installed: bool) -> None:
    """What `prices update` changes: models added, removed, and prices old -> new."""
    changes = update.changes
    added = [c for c in changes if c.old is None]
    removed = [c for c in changes if c.new is None]
    changed = [c for c in changes if c.old is not None and c.new is not None]
    if output_format == "json":
        old, new = update.old, update.new
        data = {
            "from": {"source": old.source, "as_of": old.as_of.isoformat()},
            "to": {"source": new.source, "as_of": new.as_of.isoformat(), "models": len(new.rows)},
            "installed": str(update.path) if installed else None,
            "added": [{"model": c.model, "new": c.new} for c in added],
            "removed": [{"model": c.model, "old": c.old} for c in removed],
            "changed": [{"model": c.model, "old": c.old, "new": c.new} for c in changed],
        }
        json.dump(data, out, indent=2)
        out.write("\n")
        return
    console = wide_console(out)
    table = Table(title="API prices per 1M tokens (input / output)")
    for header in ("change", "model", "old", "new"):
        table.add_column(header, overflow="fold")
    for kind, group in (("added", added), ("removed", removed), ("changed", changed)):
        for c in group:
            table.add_row(kind, c.model, _pair(c.old), _pair(c.new))
    console.print(table)
    console.print(
        f"{len(added):,} added, {len(removed):,} removed, {len(changed):,} changed "
        f"({len(update.old.rows):,} -> {len(update.new.rows):,} models)",
        markup=False,
    )
    where = f"installed in {update.path}" if installed else "dry run: nothing installed"
    console.print(
        f"{update.new.source}, as of {update.new.as_of.isoformat()}; {where}", markup=False
    )
