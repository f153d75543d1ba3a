"""`llmecon prices update`: read a newer API price map, diff it, and install it for this user.

Only this module reaches the network, and only when the user gives a URL.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from llmecon.errors import LlmeconError
from llmecon.pricebook import snapshot
from llmecon.pricebook.loader import load_snapshot, user_snapshot_path

_TIMEOUT_S = 60


@dataclass(frozen=True)
class Update:
    """What installing a map would change, and where it goes."""

    old: snapshot.Snapshot
    new: snapshot.Snapshot
    changes: list[snapshot.Change]
    path: Path


def read_source(where: str) -> str:
    """The text of a local file or an http(s) URL."""
    if where.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(where, timeout=_TIMEOUT_S) as response:
                return str(response.read().decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, UnicodeDecodeError) as exc:
            raise LlmeconError(f"--from {where}: could not download it ({exc})") from None
    path = Path(where)
    if not path.is_file():
        raise LlmeconError(f"--from {where}: no such file; give a JSON file or an https URL")
    return path.read_text(encoding="utf-8")


def prepare(where: str, today: date, home: Path | None = None) -> Update:
    """Parse the map at `where` (dated `today` unless it carries its own date) and diff it."""
    text = read_source(where)
    new = snapshot.parse(text, where, source=f"LiteLLM model cost map from {where}", as_of=today)
    old, _ = load_snapshot(home)
    return Update(old, new, snapshot.diff(old, new), user_snapshot_path(home))


def install(update: Update) -> None:
    """Write the new snapshot where `load_pricebook` looks first."""
    update.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = update.path.with_suffix(".tmp")
    temporary.write_text(update.new.to_json(), encoding="utf-8")
    temporary.replace(update.path)
