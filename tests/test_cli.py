"""The CLI around the library: prices, help texts, plots."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from conftest import EXAMPLES, Run
from llmecon.cli import cli

ARTICLE = str(EXAMPLES / "article-2023.yaml")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found += _commands(command, path)
        else:
            found.append(path)
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_has_an_example(llmecon: Callable[..., Run], path: tuple[str, ...]) -> None:
    run = llmecon(*path, "--help")
    assert run.code == 0
    assert "Example:" in run.out
    assert "llmecon " + " ".join(path) in run.out


def test_prices_list_curated_entries(llmecon: Callable[..., Run]) -> None:
    run = llmecon("prices", "list", "--format", "json")
    names = {entry["name"] for entry in json.loads(run.out)}
    assert {"ml.g5.4xlarge", "aws-lambda-x86_64", "aws-api-gateway-http"} <= names
    assert "gpt-3.5-turbo" in names  # dated history is curated


def test_prices_list_filters(llmecon: Callable[..., Run]) -> None:
    run = llmecon("prices", "list", "--provider", "openai", "--search", "gpt-4o-mini")
    assert run.code == 0 and "gpt-4o-mini" in run.out
    data = json.loads(llmecon("prices", "list", "--kind", "instance", "--format", "json").out)
    assert data and all(entry["kind"] == "instance" for entry in data)


def test_prices_show_history(llmecon: Callable[..., Run]) -> None:
    data = json.loads(llmecon("prices", "show", "gpt-3.5-turbo", "--format", "json").out)
    dated = [e["effective_from"] for e in data if e["origin"] == "history"]
    assert dated[:2] == ["2023-03-01", "2023-06-13"]
    assert any(e["origin"] == "snapshot" for e in data)


def test_prices_show_unknown(llmecon: Callable[..., Run]) -> None:
    run = llmecon("prices", "show", "ml.g5.4xlarg")
    assert run.code == 2 and "did you mean ml.g5.4xlarge" in run.err


def test_plot_is_written(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    target = tmp_path / "cost.png"
    run = llmecon("compare", ARTICLE, "--plot", str(target), "--format", "json")
    assert run.code == 0, run.err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(run.out)["scenario"]  # stdout stays pure JSON
    assert f"plot written to {target}" in run.err
    assert [p.name for p in tmp_path.iterdir()] == ["cost.png"]  # no temporary left behind


def test_plot_folder_is_created(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    target = tmp_path / "new" / "folder" / "cost.svg"
    assert llmecon("compare", ARTICLE, "--plot", str(target)).code == 0
    assert target.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    ("name", "message"), [("a-file/cost.png", "cannot create folder"), ("cost.gif", "unsupported")]
)
def test_bad_plot_path(
    tmp_path: Path, llmecon: Callable[..., Run], name: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    run = llmecon("compare", ARTICLE, "--plot", str(tmp_path / name))
    assert run.code == 2 and message in run.err and run.out == ""


def test_keys_create_list_revoke(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    ledger = f"sqlite:///{tmp_path / 'l.db'}"
    created = llmecon(
        "keys", "create", "team", "--rpm", "5", "--budget-day", "2", "--ledger", ledger
    )
    secret = created.out.strip()
    assert created.code == 0 and secret.startswith("llmecon-")
    (key,) = json.loads(llmecon("keys", "list", "--ledger", ledger, "--format", "json").out)
    assert key["name"] == "team" and key["created_at"] and key["revoked_at"] is None
    assert key["limits"]["requests_per_minute"] == 5
    assert key["limits"]["budget_day_nusd"] == 2_000_000_000
    assert secret not in json.dumps(key)
    assert llmecon("keys", "revoke", key["id"], "--ledger", ledger).code == 0
    again = llmecon("keys", "revoke", key["id"], "--ledger", ledger)
    assert again.code == 2 and "no active key" in again.err
