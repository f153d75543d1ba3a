"""How long `llmecon compare` takes, end to end and by stage (median of N runs, this machine).

Run: .venv/bin/python benchmarks/cli_latency.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from llmecon.core.comparison import compare
from llmecon.pricebook.loader import load_pricebook
from llmecon.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "examples" / "article-2023.yaml"
CORRECTED = ROOT / "examples" / "article-corrected.yaml"


def _median_ms(action: object, runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def _command(*args: str) -> object:
    argv = [sys.executable, "-m", "llmecon", *args]
    return lambda: subprocess.run(argv, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    book = load_pricebook()
    scenario = load_scenario(CORRECTED, book)
    rows = [
        ("python -c pass (interpreter floor)", _median_ms(
            lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), runs)),
        ("llmecon --help", _median_ms(_command("--help"), runs)),
        ("llmecon compare article-2023.yaml --format json",
         _median_ms(_command("compare", str(ARTICLE), "--format", "json"), runs)),
        ("llmecon compare article-corrected.yaml (table)",
         _median_ms(_command("compare", str(CORRECTED)), runs)),
        ("llmecon plan llama-3.1-8b (286 configurations + 4 APIs)",
         _median_ms(_command("plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000",
                             "--input-tokens", "500", "--output-tokens", "167", "--ttft-p95",
                             "1000", "--tpot", "50", "--format", "json"), runs)),
        ("in-process: load_pricebook()", _median_ms(load_pricebook, runs)),
        ("in-process: compare(6 options, 3 volumes, 15 break-evens)",
         _median_ms(lambda: compare(scenario), runs)),
    ]  # fmt: skip
    print(f"| step | median ms ({runs} runs) |")
    print("|---|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
