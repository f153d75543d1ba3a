"""Output formats by name: the CLI picks a renderer from this registry, never by if/elif.

Each renderer's module is imported when it runs: `--format json` starts without rich.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from llmecon.core.comparison import Comparison


class Renderer(Protocol):
    def __call__(
        self, comparison: Comparison, out: TextIO, *, details: bool, price_book: str | None
    ) -> None: ...


def _table(comparison: Comparison, out: TextIO, *, details: bool, price_book: str | None) -> None:
    from llmecon.report.table import render_table  # noqa: PLC0415 - rich, for this format only

    render_table(comparison, out, details=details, price_book=price_book)


def _text(name: str) -> Renderer:
    def render(
        comparison: Comparison, out: TextIO, *, details: bool, price_book: str | None
    ) -> None:
        from llmecon.report import text_formats  # noqa: PLC0415

        renderer: Renderer = getattr(text_formats, f"render_{name}")
        renderer(comparison, out, details=details, price_book=price_book)

    return render


COMPARISON_FORMATS: Mapping[str, Renderer] = MappingProxyType(
    {"table": _table, "json": _text("json"), "csv": _text("csv"), "markdown": _text("markdown")}
)
