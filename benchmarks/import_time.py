"""Start-up: `import llmecon`, `import llmecon; llmecon.compare` (the library's first call
loads its modules), and `llmecon --help`, against `python -c pass` from the same interpreter.

Goal (issue 16): `import llmecon` and `llmecon --help` under 150 ms. Each round runs every
step once in a rotated order, so all share the same moments of a possibly busy machine; the
medians and ranges over the rounds are printed, and the median minus the floor. The sources
are those of this checkout (PYTHONPATH=src), run by this interpreter.

Run: .venv/bin/python benchmarks/import_time.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 150.0
STEPS = [
    ("python -c pass (the floor)", ["-c", "pass"]),
    ("import llmecon", ["-c", "import llmecon"]),
    ("import llmecon; llmecon.compare (first use loads the library)",
     ["-c", "import llmecon; llmecon.compare"]),
    ("llmecon --help", ["-m", "llmecon", "--help"]),
]  # fmt: skip


def measure(runs: int) -> dict[str, list[float]]:
    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "COLUMNS": "100"}
    timings: dict[str, list[float]] = {name: [] for name, _ in STEPS}
    for round_ in range(runs):
        shift = round_ % len(STEPS)
        for name, args in STEPS[shift:] + STEPS[:shift]:
            start = time.perf_counter()
            subprocess.run([sys.executable, *args], check=True, capture_output=True, env=env)
            timings[name].append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    timings = measure(runs)
    floor = statistics.median(timings[STEPS[0][0]])
    print(f"{runs} rounds, wall-clock ms: median (min-max), median - floor; goal < {GOAL_MS:g}")
    for name, values in timings.items():
        median = statistics.median(values)
        verdict = "" if name == STEPS[0][0] else ("  ok" if median < GOAL_MS else "  OVER")
        print(f"  {name:<62} {median:6.1f} ({min(values):.1f}-{max(values):.1f})"
              f"  +{median - floor:.1f}{verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
