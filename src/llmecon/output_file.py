"""Output files (plots, reports, bench results) written whole or not at all, with the
permissions any new file gets (0666 less the umask), like a shell redirection."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(temporary)` on a new file beside `path`, then move it onto `path`.

    The temporary file is created with mode 0666 masked by the umask (tempfile.mkstemp would
    make it 0600, and the move would keep that). Raises OSError; no temporary file remains.
    """
    temporary = path.with_name(f".llmecon-{secrets.token_hex(6)}{path.suffix}.tmp")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(temporary)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
