"""A local append-only journal of ledger rows: written before the client's last byte, so a
killed gateway loses no row for a response it delivered; replayed into the ledger at start-up.

The ledger's `record` is idempotent on request_id, so replaying rows that did reach the ledger
is harmless. The journal is truncated whenever the writer has emptied its queue.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.ledger.model import UsageRow

TIMES = ("started_at", "finished_at")
FIELDS = tuple(field.name for field in fields(UsageRow))


def row_to_json(row: UsageRow) -> str:
    # not dataclasses.asdict: it deep-copies every field (a datetime through copyreg), about
    # 5% of the gateway's time per request under py-spy
    data: dict[str, Any] = {name: getattr(row, name) for name in FIELDS}
    data["counterfactual_nusd"] = dict(row.counterfactual_nusd)
    for name in TIMES:
        data[name] = data[name].isoformat()
    return json.dumps(data, separators=(",", ":"))


def row_from_json(line: str) -> UsageRow:
    data: dict[str, Any] = json.loads(line)
    for name in TIMES:
        data[name] = datetime.fromisoformat(data[name])
    return UsageRow(**data)


class Journal:
    """The journal at `path`, belonging to the ledger named `owner` (recorded beside it in
    `<path>.owner`): rows journaled for one ledger are never replayed into another."""

    def __init__(self, path: Path, owner: str | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            _claim(path, owner)
        self.lock = threading.Lock()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, row: UsageRow) -> None:
        """Append one row; it is in the OS's hands when this returns (survives kill -9)."""
        os.write(self.fd, (row_to_json(row) + "\n").encode())

    def replay(self) -> list[UsageRow]:
        """Rows left by a previous run (a torn last line is skipped)."""
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(row_from_json(line))
            except (ValueError, TypeError, KeyError):
                continue
        return rows

    def truncate(self) -> None:
        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        os.close(self.fd)


def _claim(path: Path, owner: str) -> None:
    marker = path.with_name(path.name + ".owner")
    holds_rows = path.exists() and path.stat().st_size > 0
    if marker.exists() and holds_rows:
        found = marker.read_text(encoding="utf-8").strip()
        if found != owner:
            raise LlmeconError(
                f"the journal {path} holds rows for the ledger {found}, not {owner}: start with "
                f"--ledger {found} to replay them, or give --journal another file"
            )
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(owner + "\n")
