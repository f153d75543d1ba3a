"""`llmecon keys`: API keys for the gateway, stored hashed; a secret is shown once."""

from __future__ import annotations

import json
from typing import Any

import click

from llmecon.cli.options import BUDGET

LEDGER_HELP = "sqlite:///PATH (default) or postgresql://... (the same as `llmecon serve`)."


@click.group()
def keys() -> None:
    """Create, list and revoke gateway API keys."""


def _open(url: str | None, *, create: bool = False):  # type: ignore[no-untyped-def]
    from llmecon.ledger import default_ledger_url, open_ledger  # noqa: PLC0415

    return open_ledger(url or default_ledger_url(), create=create)


@keys.command("create")
@click.argument("name")
@click.option("--ledger", "ledger_url", help=LEDGER_HELP)
@click.option("--rpm", type=click.IntRange(min=1), help="This key's requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), help="This key's tokens per minute.")
@click.option("--budget-day", type=BUDGET, help="USD per UTC day.")
@click.option("--budget-month", type=BUDGET, help="USD per UTC month.")
def create_key(name: str, ledger_url: str | None, rpm: int | None, tpm: int | None,
               budget_day: float | None, budget_month: float | None) -> None:  # fmt: skip
    """Create a key named NAME and print its secret (shown only this once).

    Limits given here override `llmecon serve`'s defaults for this key.

    \b
    Example:
      llmecon keys create my-team
      llmecon keys create batch-jobs --rpm 60 --budget-day 5
    """
    from llmecon.ledger.keys import KeyLimits  # noqa: PLC0415
    from llmecon.ledger.model import to_nano  # noqa: PLC0415

    limits = KeyLimits(rpm, tpm, to_nano(budget_day) if budget_day else None,
                       to_nano(budget_month) if budget_month else None)  # fmt: skip
    ledger = _open(ledger_url, create=True)
    try:
        info, secret = ledger.create_key(name, limits)
    finally:
        ledger.close()
    click.echo(secret)
    click.echo(
        f"key {info.id} ({name}) created; the secret above is not stored and will not "
        "be shown again",
        err=True,
    )


@keys.command("list")
@click.option("--ledger", "ledger_url", help=LEDGER_HELP)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def list_keys(ledger_url: str | None, output_format: str) -> None:
    """List keys (id, name, prefix, created, revoked, own limits); secrets are never shown.

    \b
    Example:
      llmecon keys list --format json
    """
    ledger = _open(ledger_url)
    try:
        infos = ledger.list_keys()
    finally:
        ledger.close()
    from llmecon.gateway.allowance import key_record  # noqa: PLC0415

    rows = [key_record(k) for k in infos]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row, info in zip(rows, infos, strict=True):
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        click.echo(
            f"{row['id']}  {row['name']}  {row['prefix']}...  {row['created_at']}  {state}"
            f"  {_limits_text(info.limits)}"
        )


def _limits_text(limits: Any) -> str:
    from llmecon.gateway.admission import usd  # noqa: PLC0415

    parts = [
        f"{label} {value:,}"
        for label, value in (("rpm", limits.requests_per_minute), ("tpm", limits.tokens_per_minute))
        if value
    ] + [
        f"{label} {usd(value)}"
        for label, value in (("day", limits.budget_day_nusd), ("month", limits.budget_month_nusd))
        if value
    ]
    return "limits: " + (", ".join(parts) if parts else "serve's defaults")


@keys.command("revoke")
@click.argument("key_id")
@click.option("--ledger", "ledger_url", help=LEDGER_HELP)
def revoke_key(key_id: str, ledger_url: str | None) -> None:
    """Revoke the key KEY_ID: the gateway refuses it from then on.

    \b
    Example:
      llmecon keys revoke k_3f9a2c
    """
    from llmecon.errors import LlmeconError  # noqa: PLC0415

    ledger = _open(ledger_url)
    try:
        done = ledger.revoke_key(key_id)
    finally:
        ledger.close()
    if not done:
        raise LlmeconError(f"no active key {key_id!r}; see `llmecon keys list`")
    click.echo(f"key {key_id} revoked", err=True)
