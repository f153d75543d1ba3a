"""Every `$ llmecon ...` line in the README runs and succeeds (docs that cannot rot)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, Run

README = (ROOT / "README.md").read_text()
COMMANDS = [line[2:] for line in README.splitlines() if line.startswith("$ llmecon ")]


def test_readme_starts_with_the_two_commands() -> None:
    opening = README.split("```console", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in opening.strip().splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(
    command: str, tmp_path: Path, llmecon: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = shlex.split(command)[1:]
    monkeypatch.chdir(ROOT)
    args = [str(tmp_path / a) if a.startswith("out/") else a for a in args]
    run = llmecon(*args)
    assert run.code == 0, run.err
    assert run.out.strip()


def test_readme_documents_every_scenario_key() -> None:
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
    section = README.split("## Scenario format", 1)[1].split("\n## ", 1)[0]
    for spec in specs:
        for name, field in spec.model_fields.items():
            key = field.alias or name
            assert f"{key}:" in section, f"README does not document {spec.__name__}.{key}"


def test_examples_exist() -> None:
    assert (ROOT / "examples" / "article-2023.yaml").exists()
