"""How long the installed `llmecon` command takes, against `python -c pass` from the same venv.

Each round runs every command once, in a rotated order, so the interpreter floor and the
commands share the same moments of a (possibly busy) machine; medians and ranges over the
rounds are printed, with the median minus the floor. The command is the console script next to
this interpreter (`VENV/bin/llmecon`), as a user runs it. In-process timings of the library
calls under `compare` follow.

With `--baseline-src DIR` (another tree's `src`, e.g. from `git archive`), each command also
runs with PYTHONPATH=DIR in the same rounds, and this tree's with PYTHONPATH=this tree's src: the
table gives both medians and their ratio (this tree / baseline), measured side by side.

Run: .venv/bin/python benchmarks/cli_latency.py [--runs 15] [--baseline-src DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = " [baseline]"
ARTICLE = ROOT / "examples" / "article-2023.yaml"
CORRECTED = ROOT / "examples" / "article-corrected.yaml"
PLAN = ["plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000", "--input-tokens",
        "500", "--output-tokens", "167", "--ttft-p95", "1000", "--tpot", "50", "--format",
        "json"]  # fmt: skip


def installed_command() -> str:
    """The `llmecon` console script of this interpreter's venv (else the one on PATH)."""
    beside = Path(sys.executable).parent / "llmecon"
    if beside.exists():
        return str(beside)
    found = shutil.which("llmecon")
    if found is None:
        sys.exit("no installed `llmecon` command: pip install -e . in this venv first")
    return found


def commands(llmecon: str) -> list[tuple[str, list[str]]]:
    return [
        ("python -c pass (same venv: the floor)", [sys.executable, "-c", "pass"]),
        ("llmecon --help", [llmecon, "--help"]),
        ("llmecon compare article-2023.yaml (table)", [llmecon, "compare", str(ARTICLE)]),
        ("llmecon compare article-2023.yaml --format json",
         [llmecon, "compare", str(ARTICLE), "--format", "json"]),
        ("llmecon plan llama-3.1-8b (286 configurations + 4 APIs)", [llmecon, *PLAN]),
    ]  # fmt: skip


Row = tuple[str, list[str], dict[str, str]]


def interleaved(rows: list[Row], runs: int) -> dict[str, list[float]]:
    """Wall-clock ms of each command, one of each per round, the order rotated each round."""
    timings: dict[str, list[float]] = {name: [] for name, _, _ in rows}
    for round_ in range(runs):
        shift = round_ % len(rows)
        for name, argv, env in rows[shift:] + rows[:shift]:
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            timings[name].append((time.perf_counter() - start) * 1000)
    return timings


def with_trees(rows: list[tuple[str, list[str]]], baseline: str | None) -> list[Row]:
    """Each command under this environment, or (with a baseline) under both trees' src."""
    env = os.environ | {"COLUMNS": "120"}
    if baseline is None:
        return [(name, argv, env) for name, argv in rows]
    trees = {"": str(ROOT / "src"), BASELINE: baseline}
    return [(name + suffix, argv, env | {"PYTHONPATH": src})
            for name, argv in rows for suffix, src in trees.items()]  # fmt: skip


def in_process(runs: int) -> list[tuple[str, list[float]]]:
    from llmecon.core.comparison import compare
    from llmecon.pricebook.loader import load_pricebook
    from llmecon.scenario import load_scenario

    def timed(action: Callable[[], object]) -> list[float]:
        values = []
        for _ in range(runs):
            start = time.perf_counter()
            action()
            values.append((time.perf_counter() - start) * 1000)
        return values

    book = load_pricebook()
    scenario = load_scenario(CORRECTED, book)
    return [
        ("in-process: load_pricebook()", timed(load_pricebook)),
        ("in-process: compare(article-corrected)", timed(lambda: compare(scenario))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline-src", metavar="DIR", help="another tree's src to compare")
    args = parser.parse_args()
    llmecon = installed_command()
    rows = with_trees(commands(llmecon), args.baseline_src)
    timings = interleaved(rows, args.runs)
    floor = statistics.median(timings[rows[0][0]])
    load = os.getloadavg()
    against = f"; baseline src {args.baseline_src}" if args.baseline_src else ""
    print(f"{llmecon}; {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}; {args.runs} interleaved rounds{against}\n")  # fmt: skip
    print("| command | median ms | range ms | median - floor ms | / baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, values in timings.items():
        middle = statistics.median(values)
        above = "-" if name == rows[0][0] else f"{middle - floor:.0f}"
        base = timings.get(name + BASELINE)
        ratio = f"{middle / statistics.median(base):.2f}" if base else "-"
        print(
            f"| {name} | {middle:.0f} | {min(values):.0f}-{max(values):.0f} | {above} | {ratio} |"
        )
    if args.baseline_src is None:
        for name, values in in_process(args.runs):
            middle = statistics.median(values)
            print(f"| {name} | {middle:.1f} | {min(values):.1f}-{max(values):.1f} | - | - |")


if __name__ == "__main__":
    main()
