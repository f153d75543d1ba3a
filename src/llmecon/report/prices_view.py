"""Price book entries as tables and JSON."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import date
from typing import Any, TextIO

from rich.table import Table

from llmecon.core.prices import Price
from llmecon.pricebook.entries import Entry, entry_kind, entry_price
from llmecon.report.table import wide_console


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    """An entry with its prices spelled out (amount, unit, source, as_of)."""
    data: dict[str, Any] = {"name": entry.name, "kind": entry_kind(entry)}
    assert is_dataclass(entry)
    for field in fields(entry):
        value = getattr(entry, field.name)
        if isinstance(value, Price):
            value = {
                "amount": value.amount,
                "unit": value.unit_label,
                "source": value.source,
                "as_of": value.as_of.isoformat() if value.as_of else None,
            }
        elif isinstance(value, date):
            value = value.isoformat()
        data[field.name] = value
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
        for key, value in entry_to_dict(entry).items():
            if key in {"name"} or value is None:
                continue
            shown = value
            if isinstance(value, dict):
                when = f", as of {value['as_of']}" if value["as_of"] else ""
                shown = f"${value['amount']:g} per {value['unit']} ({value['source']}{when})"
            console.print(f"  {key}: {shown}", markup=False)
