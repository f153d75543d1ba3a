"""Where llmecon keeps files it can rebuild: the cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$LLMECON_CACHE, else $XDG_CACHE_HOME/llmecon, else ~/.cache/llmecon."""
    if os.environ.get("LLMECON_CACHE"):
        return Path(os.environ["LLMECON_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmecon"
