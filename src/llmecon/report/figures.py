"""Creating and saving matplotlib figures: lazy import, Agg backend, atomic writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.output_file import write_atomically

FORMATS = frozenset({"png", "svg", "pdf"})


def check_path(path: Path) -> str:
    """The file format for `path`, after making sure its folder exists (one-line errors)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise LlmeconError(f"--plot {path}: unsupported file type; use a .png, .svg or .pdf name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LlmeconError(
            f"--plot {path}: cannot create folder {path.parent} ({error.strerror}); "
            "choose another path"
        ) from None
    return suffix


def new_figure() -> Any:
    """A matplotlib Figure on the Agg backend (matplotlib is imported only when plotting)."""
    import matplotlib  # noqa: PLC0415 - slow import, only when plotting

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415

    return Figure(figsize=(10, 6.2), layout="constrained")


def save_figure(figure: Any, path: Path) -> None:
    """Write `figure` to `path` through a temporary file, so no half-written plot remains."""
    suffix = check_path(path)
    try:
        write_atomically(path, lambda temporary: figure.savefig(temporary, format=suffix, dpi=120))
    except OSError as error:
        raise LlmeconError(f"--plot {path}: cannot write ({error.strerror})") from None
