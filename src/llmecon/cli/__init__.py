"""The `llmecon` command: parse, validate, call one library function, render.

Each command group lives in its own module; errors from the library become one line on stderr
and exit status 2.
"""

from __future__ import annotations

import sys

import click

from llmecon import __version__
from llmecon.cli.bench import bench
from llmecon.cli.compare import compare
from llmecon.cli.estimate import estimate
from llmecon.cli.keys import keys
from llmecon.cli.mock_server import mock_server
from llmecon.cli.plan import plan
from llmecon.cli.prices import prices
from llmecon.cli.report import report
from llmecon.cli.serve import serve
from llmecon.cli.ui import ui
from llmecon.cli.usage import usage
from llmecon.errors import LlmeconError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="llmecon")
def cli() -> None:
    """Paid LLM API or self-hosted open model: costs, capacity and break-even, with sources.

    \b
    Example:
      llmecon compare examples/article-2023.yaml --details
      llmecon prices list --provider openai
    """


cli.add_command(compare)
cli.add_command(prices)
cli.add_command(estimate)
cli.add_command(plan)
cli.add_command(bench)
cli.add_command(mock_server)
cli.add_command(serve)
cli.add_command(keys)
cli.add_command(usage)
cli.add_command(report)
cli.add_command(ui)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print one line and exit 2, never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="llmecon", standalone_mode=False)
    except LlmeconError as error:
        _fail(str(error))
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "llmecon"
        _fail(f"{error.format_message()} (see `{command} --help`)")
    except click.ClickException as error:
        _fail(error.format_message())
    except click.Abort:
        _fail("aborted")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str) -> None:
    click.echo(f"llmecon: error: {message}", err=True)
    sys.exit(2)
