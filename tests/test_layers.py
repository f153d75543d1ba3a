"""Imports point inward: the core imports no outer layer, and nothing imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "llmecon"
OUTER = ("llmecon.cli", "llmecon.report", "llmecon.scenario", "llmecon.pricebook")
# what each layer may not import
FORBIDDEN = {
    "core": OUTER,
    "pricebook": ("llmecon.cli", "llmecon.report", "llmecon.scenario"),
    "scenario": ("llmecon.cli", "llmecon.report"),
    "report": ("llmecon.cli",),
    "bench": ("llmecon.cli", "llmecon.report", "llmecon.scenario", "llmecon.mock"),
    "mock": (
        "llmecon.cli",
        "llmecon.report",
        "llmecon.scenario",
        "llmecon.bench",
        "llmecon.pricebook",
        "llmecon.core",
    ),
    "gateway": (
        "llmecon.cli",
        "llmecon.report",
        "llmecon.scenario",
        "llmecon.bench",
        "llmecon.mock",
        "llmecon.pricebook",
    ),
    "ledger": (
        "llmecon.cli",
        "llmecon.report",
        "llmecon.gateway",
        "llmecon.bench",
        "llmecon.limits",
        "llmecon.engine",
    ),
    "limits": (
        "llmecon.cli",
        "llmecon.report",
        "llmecon.gateway",
        "llmecon.ledger",
        "llmecon.bench",
    ),
    "engine": ("llmecon.cli", "llmecon.report", "llmecon.gateway", "llmecon.ledger"),
    "library": ("llmecon.cli",),
    "traffic": ("llmecon.cli", "llmecon.report", "llmecon.scenario", "llmecon.gateway"),
    "eval": (
        "llmecon.cli",
        "llmecon.report",
        "llmecon.scenario",
        "llmecon.mock",
        "llmecon.gateway",
        "llmecon.ledger",
    ),
}
IMPURE = ("sqlite3", "socket", "http", "urllib", "requests", "httpx", "time", "random", "os")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_inward(layer: str) -> None:
    for path in _modules(layer):
        for name in _imports(path):
            assert not name.startswith(FORBIDDEN[layer]), f"{path.name} imports {name}"


def test_core_does_no_io() -> None:
    for path in _modules("core"):
        for name in _imports(path):
            assert name.split(".")[0] not in IMPURE, f"{path.name} imports {name}"
            assert name.split(".")[0] not in {"yaml", "json", "pydantic", "rich", "click"}


def test_no_utils_module() -> None:
    assert not [p for p in PACKAGE.rglob("*.py") if p.stem in {"utils", "helpers", "misc"}]


def test_modules_stay_small() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert len(path.read_text().splitlines()) < 500, path
