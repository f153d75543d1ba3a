"""`llmecon serve --config serve.yaml`: every flag as a key, flags over the file over defaults.

Keys are the flags' long names with underscores (`--upstream-price` -> `upstream_price`,
`--no-auth` -> `no_auth`); a repeatable flag takes a list. Environment variables, between
flags and the file: LLMECON_CONFIG, LLMECON_HOST, LLMECON_PORT, LLMECON_LEDGER, LLMECON_REDIS,
LLMECON_LOG_LEVEL, LLMECON_OTEL, LLMECON_COMPARE_EMBEDDINGS. `--print-config` prints the
resolved settings in this format and exits (a file it prints reads back to the same settings).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import click
import yaml

from llmecon.errors import LlmeconError

ENV = {
    "config": "LLMECON_CONFIG",
    "host": "LLMECON_HOST",
    "port": "LLMECON_PORT",
    "ledger": "LLMECON_LEDGER",
    "redis": "LLMECON_REDIS",
    "log_level": "LLMECON_LOG_LEVEL",
    "otel": "LLMECON_OTEL",
    "compare_embeddings": "LLMECON_COMPARE_EMBEDDINGS",
}
DEFAULT_COMPARE_EMBEDDINGS = ("text-embedding-3-small",)
SKIP = {"config", "print_config", "help"}


def key_of(option: click.Parameter) -> str:
    """The config key of an option: its long flag, without dashes, with underscores."""
    longest = max(option.opts, key=len)
    return longest.lstrip("-").replace("-", "_")


def options(command: click.Command) -> dict[str, click.Option]:
    return {
        key_of(p): p
        for p in command.params
        if isinstance(p, click.Option) and key_of(p) not in SKIP
    }


def load(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Eager callback of --config: the file's settings become the command's defaults."""
    if value is None:
        return
    path = Path(value)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LlmeconError(f"cannot read the serve config {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise LlmeconError(f"{path}{where}: not valid YAML; fix the file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LlmeconError(f"{path}: the serve config must be a mapping of flag names to values")
    assert ctx.command is not None
    known = options(ctx.command)
    defaults: dict[str, Any] = {}
    for key, raw in data.items():
        option = known.get(str(key))
        if option is None:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LlmeconError(f"{path}: unknown key {key!r}{hint}; keys are serve's flags")
        defaults[option.name or str(key)] = _value(path, str(key), option, raw)
    ctx.default_map = {**(ctx.default_map or {}), **defaults}


def _value(path: Path, key: str, option: click.Option, raw: Any) -> Any:
    if raw is None:
        return None  # the flag's own default
    if option.multiple:
        items = raw if isinstance(raw, list) else [raw]
        return [_scalar(path, key, option, item) for item in items]
    return _scalar(path, key, option, raw)


def _scalar(path: Path, key: str, option: click.Option, raw: Any) -> Any:
    if raw is None:
        return None  # `key: null` (or empty): the flag's own default
    if isinstance(raw, dict | list):
        raise LlmeconError(f"{path}: {key} must be a single value, not {type(raw).__name__}")
    try:
        return option.type.convert(raw, option, None)
    except click.BadParameter as error:
        raise LlmeconError(f"{path}: {key}: {error.format_message()}") from None


def dump(command: click.Command, values: dict[str, Any]) -> str:
    """The resolved settings as a config file (keys as in `--config`)."""
    settings: dict[str, Any] = {}
    for key, option in options(command).items():
        value = values.get(option.name or key)
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, Path):
            value = str(value)
        settings[key] = value
    return yaml.safe_dump(settings, sort_keys=True)


config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False),
    is_eager=True,
    expose_value=False,
    callback=load,
    envvar=ENV["config"],
    help="A YAML file of serve's flags (keys with underscores); flags override it.",
)


def _names(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated or comma-separated model names, as one tuple."""
    return tuple(name.strip() for item in value for name in item.split(",") if name.strip())


compare_embeddings_option = click.option(
    "--compare-embeddings",
    multiple=True,
    default=DEFAULT_COMPARE_EMBEDDINGS,
    show_default=True,
    metavar="MODEL[,MODEL]",
    envvar=ENV["compare_embeddings"],
    callback=_names,
    help="Paid embedding APIs priced for every /v1/embeddings request (by input tokens).",
)
print_config_option = click.option(
    "--print-config", is_flag=True, help="Print the resolved settings as a config file and exit."
)
