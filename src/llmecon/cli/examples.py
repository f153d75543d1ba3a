"""`llmecon examples`: list and copy the example scenarios shipped with llmecon."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def examples() -> None:
    """List and copy the example scenarios shipped with llmecon.

    \b
    Example:
      llmecon examples list
      llmecon examples copy article-2023 --to scenarios
      llmecon compare scenarios/article-2023.yaml
    """


@examples.command("list")
def list_examples() -> None:
    """Each example's name and what it compares.

    \b
    Example:
      llmecon examples list
    """
    from llmecon.scenario.bundled import bundled_examples  # noqa: PLC0415

    found = bundled_examples()
    if not found:
        click.echo("no example scenarios in this installation")
        return
    width = max(len(name) for name in found)
    for name, example in found.items():
        click.echo(f"{name:<{width}}  {example.title}")
    click.echo("\ncopy one with `llmecon examples copy NAME`, then `llmecon compare NAME.yaml`")


@examples.command("copy")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--to", "to", type=Path, default=Path(), show_default=True, help="Folder to copy into."
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def copy(names: tuple[str, ...], to: Path, force: bool) -> None:
    """Copy the named examples (default: all) and the files they read into --to.

    \b
    Example:
      llmecon examples copy
      llmecon examples copy article-2023 quality --to scenarios
    """
    from llmecon.scenario.bundled import copy_examples  # noqa: PLC0415

    for path in copy_examples(names, to, force=force):
        click.echo(str(path))
