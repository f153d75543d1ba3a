"""Docs that cannot rot: every `$ llmecon ...` line of a console block in the README and in
docs/*.md runs (or, for the few that start servers or need the network, parses), every YAML
block that is a scenario or part of one validates, docs/library.md's Python runs, and every
relative link points to a file."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from conftest import EXAMPLES, ROOT, Run

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

# Commands that are only parsed (command, options and values checked), with the reason.
PARSE_ONLY = {
    r"^llmecon serve\b": "starts the gateway, which serves until stopped",
    r"^llmecon ui\b": "starts the calculator's web server",
    r"^llmecon mock-server\b": "starts the mock server, which serves until stopped",
    r"127\.0\.0\.1:8000": "talks to the mock server started on the line above",
    r"https://": "needs the network (and an API key)",
    r"^llmecon eval tasks\.jsonl": "tasks.jsonl stands for the reader's own task set",
    r"--from model_prices_and_context_window\.json": "a file the reader downloads first",
    r"out/bench-embedded\.json": "reads the bench result `make demo` writes first",
    r"out/demo-ledger\.db": "reads the ledger `make demo`'s serve step writes",
}
# Commands that start the embedded model (seconds): run, but marked slow.
SLOW = r"\bembedded\b"
# YAML blocks that are not scenarios: they must parse (first key: what it is).
OTHER_YAML = {"scrape_configs": "a Prometheus scrape configuration (docs/deploy.md)"}


def _blocks(kind: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for match in FENCE.finditer(page.read_text()):
            if match.group(1) == kind:
                line = page.read_text()[: match.start()].count("\n") + 1
                found.append((f"{page.relative_to(ROOT)}:{line}", match.group(2)))
    return found


def _commands() -> list[Any]:
    seen: dict[str, str] = {}
    for where, text in _blocks("console"):
        lines = iter(text.splitlines())
        for line in lines:
            if not line.startswith("$ llmecon "):
                continue
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + " " + next(lines).strip()
            seen.setdefault(" ".join(shlex.split(command, comments=True)), where)
    return [
        pytest.param(command, id=f"{where} {command[:60]}",
                     marks=[pytest.mark.slow] if re.search(SLOW, command) else [])
        for command, where in seen.items()
    ]  # fmt: skip


COMMANDS = _commands()


def _parse_only(command: str) -> str | None:
    for pattern, reason in PARSE_ONLY.items():
        if re.search(pattern, command):
            return reason
    return None


def _parse(args: list[str]) -> None:
    """Resolve the command and parse its options, as running it would, without running it."""
    from llmecon.cli import cli

    context = click.Context(cli, info_name="llmecon")
    command: click.Command = cli
    while isinstance(command, click.Group):
        name, args = args[0], args[1:]
        found = command.get_command(context, name)
        assert found is not None, f"no command {name!r}"
        command = found
        context = click.Context(command, info_name=name, parent=context)
    command.make_context(command.name, args, parent=context.parent)


def test_readme_starts_with_the_two_commands() -> None:
    opening = README.split("```console", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in opening.strip().splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]


def test_readme_reads_in_five_minutes() -> None:
    assert len(README.encode()) <= 8 * 1024


def test_every_command_is_collected() -> None:
    commands = [param.values[0] for param in COMMANDS]
    assert len(commands) >= 40
    assert any(command.startswith("llmecon plan") for command in commands)
    assert all(not command.endswith("\\") for command in commands)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the whole page set, as a reader's session: `out/` and LLMECON_HOME (keys,
    ledger) live here, so a command sees what the lines before it wrote."""
    return tmp_path_factory.mktemp("docs")


@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command_runs(
    command: str, scratch: Path, llmecon: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [arg for arg in shlex.split(command)[1:] if arg != "&"]
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("LLMECON_HOME", str(scratch / "home"))
    args = [str(scratch / a) if a.startswith("out/") else a for a in args]
    if _parse_only(command) is not None:
        _parse(args)
        return
    run = llmecon(*args)
    assert run.code == 0, run.err
    assert (run.out + run.err).strip()  # `report -o FILE` says where it wrote, on stderr


def test_parse_only_catches_a_wrong_option() -> None:
    with pytest.raises(click.NoSuchOption):
        _parse(["serve", "--port", "8080", "--no-such-flag"])
    with pytest.raises(click.BadParameter):
        _parse(["mock-server", "--port", "eighty"])


def _yaml_blocks() -> list[Any]:
    return [pytest.param(text, id=where) for where, text in _blocks("yaml")]


@pytest.mark.parametrize("text", _yaml_blocks())
def test_documented_yaml_validates(text: str) -> None:
    from llmecon import records
    from llmecon.pricebook.loader import load_pricebook
    from llmecon.scenario import scenario_from_data
    from llmecon.scenario.schema import ScenarioSpec

    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    if set(data) <= set(OTHER_YAML):
        return
    keys = set(records.keys_of(ScenarioSpec))
    assert set(data) <= keys, f"not scenario keys: {sorted(set(data) - keys)}"
    if {"workload", "options"} <= set(data):  # a whole scenario: load it
        scenario_from_data(data, load_pricebook(), "docs", base=EXAMPLES)
        return
    workload = {"requests_per_day": 1000, "input_tokens": 500, "output_tokens": 100}
    base = {"name": "docs", "workload": workload,
            "options": [{"name": "a", "api": {"model": "gpt-4o-mini"}}]}  # fmt: skip
    records.read(ScenarioSpec, {**base, **data})


def test_library_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pandas")
    monkeypatch.chdir(ROOT)
    page = (ROOT / "docs" / "library.md").read_text()
    namespace: dict[str, Any] = {}
    blocks = [text for kind, text in FENCE.findall(page) if kind == "python"]
    assert len(blocks) >= 5
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/library.md block {number}", "exec"), namespace)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_point_to_files(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_scenario_reference_documents_every_key() -> None:
    from llmecon.records import keys_of
    from llmecon.scenario.schema import (
        ApiGatewaySpec,
        ApiSpec,
        CapacitySpec,
        EstimateSpec,
        LambdaSpec,
        OptionSpec,
        ScenarioSpec,
        SelfHostedSpec,
        WorkloadSpec,
    )

    specs = (ScenarioSpec, WorkloadSpec, OptionSpec, ApiSpec, SelfHostedSpec, LambdaSpec,
             ApiGatewaySpec, CapacitySpec, EstimateSpec)  # fmt: skip
    page = (ROOT / "docs" / "scenario.md").read_text()
    section = page.split("## Scenario format", 1)[1].split("\n## ", 1)[0]
    for spec in specs:
        for key in keys_of(spec):
            assert f"{key}:" in section, f"docs/scenario.md does not document {spec.__name__}.{key}"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_as_documented(shell: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "_LLMECON_COMPLETE": f"{shell}_source"}
    script = subprocess.run([sys.executable, "-m", "llmecon"], env=env, capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert "_LLMECON_COMPLETE" in script
    assert f"_LLMECON_COMPLETE={shell}_source" in (ROOT / "docs" / "install.md").read_text()


def test_names_complete_from_the_price_book() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "_LLMECON_COMPLETE": "bash_complete"}

    def complete(words: str) -> list[str]:
        found = subprocess.run(
            [sys.executable, "-m", "llmecon"], capture_output=True, text=True, check=True,
            env={**env, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)},
        ).stdout  # fmt: skip
        return [line.split(",", 1)[1] for line in found.splitlines()]

    assert "gpt-4o-mini" in complete("llmecon compare --api gpt-4o-m")
    assert "ml.g5.4xlarge" in complete("llmecon compare --self-hosted ml.g5.4")
    assert complete("llmecon plan --model llama-3.1-8") == ["llama-3.1-8b"]
    assert "A10G" in complete("llmecon estimate --gpu a10")


def test_examples_exist() -> None:
    assert (ROOT / "examples" / "article-2023.yaml").exists()
