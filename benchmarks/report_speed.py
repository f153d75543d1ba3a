"""How long the HTML report and the calculator take, and how big the report files are.

Median of N runs on this machine. `llmecon report` is timed end to end (a new process each
time); the calculator's `api/compare` in-process (what one keystroke costs the server).

Run: .venv/bin/python benchmarks/report_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from llmecon.pricebook.loader import load_pricebook
from llmecon.report.html.calculator import calculator_response

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("article-2023", "article-corrected", "article-capacity", "llama-tco")
QUERIES = {
    "1 API, fixed fleet, 2 volumes": "requests_per_day=1000,1000000&api=gpt-4o-mini"
    "&self_hosted=ml.g5.4xlarge&model=",
    "1 API, llama-3.1-8b roofline on g6e.xlarge, 3 volumes": "requests_per_day=1000,100000,"
    "1000000&api=gpt-4o-mini&self_hosted=g6e.xlarge&model=llama-3.1-8b",
}


def _median_ms(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        for name in SCENARIOS:
            out = Path(folder) / f"{name}.html"
            command = [sys.executable, "-m", "llmecon", "report",
                       str(ROOT / "examples" / f"{name}.yaml"), "-o", str(out)]  # fmt: skip
            ms = _median_ms(
                lambda c=command: subprocess.run(c, check=True, capture_output=True), runs
            )
            print(f"llmecon report {name}: {ms:.0f} ms, {out.stat().st_size / 1024:.0f} KiB")
    book = load_pricebook()
    for label, query in QUERIES.items():
        params = parse_qs(query, keep_blank_values=True)
        calculator_response("/api/compare", params, book)  # warm caches
        ms = _median_ms(lambda p=params: calculator_response("/api/compare", p, book), runs)
        print(f"calculator api/compare ({label}): {ms:.0f} ms")


if __name__ == "__main__":
    main()
