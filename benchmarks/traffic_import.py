"""Import speed and memory of `llmecon traffic import` on a generated generic CSV.

    PYTHONPATH=src python benchmarks/traffic_import.py --rows 10000000

Writes the file in a temporary folder (streamed, so generating it costs little memory), then in
a fresh process reads and profiles it, reporting rows/s and the peak resident memory
(ru_maxrss). Targets (issue 14): >= 200,000 rows/s and <= 2 GB for 10 million rows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

_CHUNK = 100_000
_MODELS = ("gpt-4o-mini", "gpt-4o", "claude-haiku-4-5")


def generate(path: Path, rows: int) -> None:
    """`rows` requests spread evenly over October 2026 (UTC), three models."""
    with path.open("w") as out:
        out.write("timestamp,model,prompt_tokens,completion_tokens,cached_tokens\n")
        for first in range(0, rows, _CHUNK):
            lines = []
            for i in range(first, min(rows, first + _CHUNK)):
                day, rest = divmod(i * 31 * 86_400 // rows, 86_400)
                clock = f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
                prompt = 50 + i * 7919 % 4000
                tokens = f"{prompt},{10 + i * 31 % 700},{prompt // 4 * (i % 2)}"
                lines.append(f"2026-10-{day + 1:02d}T{clock}Z,{_MODELS[i % 3]},{tokens}\n")
            out.write("".join(lines))


_MEASURE = """
import os, resource, sys, time
from llmecon.traffic import profile_traffic, read_traffic
began, cpu = time.perf_counter(), time.process_time()
traffic = read_traffic(sys.argv[1])
read, read_cpu = time.perf_counter() - began, time.process_time() - cpu
profile = profile_traffic(traffic)
total, total_cpu = time.perf_counter() - began, time.process_time() - cpu
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = len(traffic)
print(f"rows {rows:,}: read {read:.1f} s wall ({rows / read:,.0f} rows/s; "
      f"{rows / read_cpu:,.0f} rows per CPU-second), read + profile {total:.1f} s "
      f"({rows / total:,.0f} rows/s; {rows / total_cpu:,.0f} per CPU-second), "
      f"peak RSS {rss:,.0f} MB, load average {os.getloadavg()[0]:.1f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "traffic.csv"
        generate(path, args.rows)
        print(f"generated {path.stat().st_size / 1e6:,.0f} MB", flush=True)
        subprocess.run([sys.executable, "-c", _MEASURE, str(path)], check=True)


if __name__ == "__main__":
    main()
