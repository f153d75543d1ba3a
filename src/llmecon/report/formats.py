"""Output formats by name: the CLI picks a renderer from this registry, never by if/elif."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol, TextIO

from llmecon.core.comparison import Comparison
from llmecon.report.table import render_table
from llmecon.report.text_formats import render_csv, render_json, render_markdown


class Renderer(Protocol):
    def __call__(
        self, comparison: Comparison, out: TextIO, *, details: bool, price_book: str | None
    ) -> None: ...


COMPARISON_FORMATS: Mapping[str, Renderer] = MappingProxyType(
    {"table": render_table, "json": render_json, "csv": render_csv, "markdown": render_markdown}
)
