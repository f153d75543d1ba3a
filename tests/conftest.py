"""Shared fixtures: the real price book, and a CLI runner that captures output and exit status."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmecon.cli import main
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.loader import load_pricebook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="session")
def book() -> PriceBook:
    return load_pricebook()


@pytest.fixture
def llmecon() -> Callable[..., Run]:
    """Run `llmecon ARGS...` in-process; returns exit status, stdout and stderr."""

    def run(*args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            else:
                code = 0
        return Run(code, out.getvalue(), err.getvalue())

    return run
