"""The example scenarios shipped with llmecon (`llmecon examples list|copy`).

An installed wheel carries them as package data (llmecon/data/examples, copied from the
repository's examples/ by setup.py); a source checkout reads examples/ itself.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from llmecon.errors import LlmeconError

__all__ = ["Example", "bundled_examples", "copy_examples"]


@dataclass(frozen=True)
class Example:
    """One bundled scenario: its file and its `name:`."""

    path: Path
    title: str

    @property
    def name(self) -> str:
        return self.path.stem


def _directory() -> Path | None:
    shipped = Path(str(resources.files("llmecon") / "data" / "examples"))
    if shipped.is_dir():
        return shipped
    checkout = Path(__file__).resolve().parents[3] / "examples"
    return checkout if checkout.is_dir() else None


def _stands_alone(path: Path) -> bool:
    return "../" not in path.read_text(encoding="utf-8")  # the rule setup.py applies


def bundled_examples() -> dict[str, Example]:
    """The example scenarios by name (file name without .yaml), in name order."""
    folder = _directory()
    if folder is None:
        return {}
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        if not _stands_alone(path):
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        title = str(data.get("name", path.stem)) if isinstance(data, dict) else path.stem
        found[path.stem] = Example(path, title)
    return found


def copy_examples(names: tuple[str, ...], to: Path, *, force: bool = False) -> list[Path]:
    """Copy the named examples (all when none are named), with the files they read, into `to`.

    Refuses to overwrite an existing file unless `force`. Returns the files written.
    """
    examples = bundled_examples()
    if not examples:
        raise LlmeconError("this installation carries no example scenarios; reinstall llmecon")
    unknown = [name for name in names if name.removesuffix(".yaml") not in examples]
    if unknown:
        raise LlmeconError(
            f"no example {unknown[0]!r}; `llmecon examples list` shows {', '.join(examples)}"
        )
    chosen = [examples[n.removesuffix(".yaml")] for n in names] if names else examples.values()
    files = {example.path for example in chosen}
    for example in chosen:  # the data files a scenario names (quality: from: eval.json)
        text = example.path.read_text(encoding="utf-8")
        files |= {p for p in example.path.parent.glob("*.json") if p.name in text}
    targets = [to / path.name for path in sorted(files)]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise LlmeconError(f"{existing[0]} exists; add --force to overwrite or choose --to DIR")
    try:
        to.mkdir(parents=True, exist_ok=True)
        for source, target in zip(sorted(files), targets, strict=True):
            shutil.copyfile(source, target)
    except OSError as error:
        raise LlmeconError(f"--to {to}: cannot write ({error.strerror})") from None
    return targets
