"""`llmecon --help` imports no command module and lists each command as the command would."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from llmecon.cli import COMMANDS, cli


def test_listed_help_is_each_commands_own() -> None:
    commands = cli.commands  # imports them all
    assert set(commands) == set(COMMANDS)
    for name, (_, _, short) in COMMANDS.items():
        real = commands[name].get_short_help_str(1000)
        assert real == short, f"update COMMANDS[{name!r}] in llmecon/cli/__init__.py to {real!r}"


def test_help_is_what_an_eager_group_prints() -> None:
    eager = click.Group(
        "llmecon", help=cli.help, params=cli.params, context_settings=cli.context_settings
    )
    for name, command in cli.commands.items():
        eager.add_command(command, name)
    runner = CliRunner()
    lazy_help = runner.invoke(cli, ["--help"], prog_name="llmecon").output
    assert lazy_help == runner.invoke(eager, ["--help"], prog_name="llmecon").output
    assert "bench        Measure an OpenAI-compatible endpoint" in lazy_help


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from llmecon.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('llmecon.cli.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_compare_without_traffic_loads_no_numpy() -> None:
    """Found re-measuring start-up (issue 19): every `compare` imported numpy and the traffic
    readers (~0.1-0.3 s) for the scenarios that observe traffic."""
    from pathlib import Path

    article = Path(__file__).resolve().parent.parent / "examples" / "article-2023.yaml"
    code = (
        "import sys\n"
        "from llmecon.cli import main\n"
        f"try:\n    main(['compare', {str(article)!r}])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m == 'numpy' or m.startswith('llmecon.traffic')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def _compare_imports(*args: str) -> list[str]:
    from pathlib import Path

    article = Path(__file__).resolve().parent.parent / "examples" / "article-2023.yaml"
    heavy = ("pydantic", "pydantic_core", "rich", "numpy", "llmecon.core.roofline",
             "llmecon.pricebook.hardware", "llmecon.core.projection")  # fmt: skip
    code = (
        "import sys\n"
        "from llmecon.cli import main\n"
        f"try:\n    main(['compare', {str(article)!r}, *{args!r}])\nexcept SystemExit:\n    pass\n"
        f"print('imported:', *sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return out.strip().splitlines()[-1].split()[1:]


def test_compare_starts_without_pydantic_or_the_estimator() -> None:
    """Issue 19: pydantic (~0.15 s with its model building), the roofline estimator and the
    projection are imported by no plain `compare`; rich only by the table format."""
    assert _compare_imports() == ["rich"]
    assert _compare_imports("--format", "json") == []
