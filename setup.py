"""Ships the self-contained example scenarios as package data (llmecon/data/examples).

Everything else is in pyproject.toml. The examples live in examples/ (where the README, docs
and tests use them); this copies those that stand alone (no `../` path) into the wheel, so an
installed `llmecon examples list|copy` finds them. A build without examples/ (the container
image) ships none.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

EXAMPLES = Path(__file__).resolve().parent / "examples"


class BuildWithExamples(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "llmecon" / "data" / "examples"
        for source in sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.json")):
            text = source.read_text(encoding="utf-8")
            if "../" not in text:
                target.mkdir(parents=True, exist_ok=True)
                (target / source.name).write_text(text, encoding="utf-8")


setup(cmdclass={"build_py": BuildWithExamples})
