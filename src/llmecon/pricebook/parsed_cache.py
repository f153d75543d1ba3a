"""The price files' parsed YAML, kept as JSON under the digest of their text.

Parsing the five YAML price files takes ~15-25 ms of every `llmecon compare`; reading the same
data as JSON takes ~0.3 ms. The YAML files stay the only source: a cache file is named by the
SHA-256 of their text, is written only after that data validated, and is safe to delete
(`$LLMECON_CACHE`, else ~/.cache/llmecon: `prices-<digest>.json`). Dates are kept as
YYYY-MM-DD text, which the price schema reads back as dates. Any problem reading or writing
it is no error: the YAML is parsed instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

from llmecon.places import cache_dir

PREFIX = "prices-"
_DIGEST_NAME = re.compile(rf"{PREFIX}[0-9a-f]{{64}}\.json")


def cache_path(digest: str, folder: Path | None = None) -> Path:
    return (folder or cache_dir()) / f"{PREFIX}{digest}.json"


def read(digest: str, folder: Path | None = None) -> dict[str, Any] | None:
    """The parsed files cached under `digest`, or None (also when someone else could have
    written the file: its name is the digest of the shipped YAML, which anyone can compute)."""
    try:
        with cache_path(digest, folder).open("rb") as file:
            if not _ours(os.fstat(file.fileno())):
                return None
            data = json.loads(file.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deep
        return None
    return data if isinstance(data, dict) else None


def _ours(stat: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (where files have owners)."""
    getuid = getattr(os, "getuid", None)
    return getuid is None or (stat.st_uid == getuid() and not stat.st_mode & 0o022)


def write(digest: str, data: dict[str, Any], folder: Path | None = None) -> None:
    """Keep `data` under `digest` (replacing older digests' files); failures are ignored."""
    target = cache_path(digest, folder)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError, TypeError, ValueError):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)  # written afresh, for its owner only
        with os.fdopen(
            os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8"
        ) as out:
            out.write(json.dumps(data, default=_iso))
        partial.replace(target)
        for old in target.parent.glob(f"{PREFIX}*.json"):
            if old != target and _DIGEST_NAME.fullmatch(old.name):  # not a user's own file
                old.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        partial.unlink(missing_ok=True)


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
