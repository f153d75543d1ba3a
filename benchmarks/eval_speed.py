"""How fast is `llmecon eval`? A 10,000-item eval against the mock server, next to the bench
client's own speed on the same requests.

Both runs send OpenAI chat completions, not streamed, 8 output tokens, to
`llmecon mock-server --ttft-ms 0 --itl-ms 0` (a subprocess), closed loop at the same
concurrency, through the same client (`llmecon.bench.client`). The eval also reads and
validates the task set (timed apart), builds each request from the item, parses each answer,
grades it (`contains` and `regex`, alternating) and summarizes. The figure is items/s of the
eval over requests/s of `llmecon bench` (median of --rounds).

Run: .venv/bin/python benchmarks/eval_speed.py [--items 10000] [--concurrency 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from llmecon.bench.runner import Load
from llmecon.bench.session import BenchSpec, run_bench
from llmecon.eval import EvalSpec, Target, read_dataset, run_eval
from llmecon.eval.result import eval_document
from llmecon.mock import MockSettings, running


def write_tasks(path: Path, items: int) -> None:
    graders = ({"kind": "contains"}, {"kind": "regex", "pattern": r"^(tok ?)+$"})
    with path.open("w") as out:
        for i in range(items):
            row = {"id": i, "prompt": f"item {i}: say tok eight times", "expected": "tok",
                   "grader": graders[i % 2]}  # fmt: skip
            out.write(json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tasks = Path(folder) / "tasks.jsonl"
        write_tasks(tasks, args.items)
        started = time.perf_counter()
        items = read_dataset(tasks)
        read_s = time.perf_counter() - started
        settings = MockSettings(ttft_ms=0, itl_ms=0, output_tokens=8)
        bench_rates, eval_rates, accuracies = [], [], []
        with running(settings) as url:
            for _ in range(args.rounds):
                load = Load(concurrency=args.concurrency, requests=args.items)
                spec = BenchSpec(base_url=url, model="mock", loads=(load,), stream=False,
                                 input_tokens=8, output_tokens=8, ignore_eos="off")  # fmt: skip
                bench_rates.append(run_bench(spec).runs[0].summary.requests_per_second)
                target = Target("mock", url, "mock")
                runs = run_eval(EvalSpec(items, (target,), None, args.concurrency, 60.0, 8))
                entry = eval_document(str(tasks), runs)["endpoints"][0]
                eval_rates.append(args.items / runs[0].wall_s)
                accuracies.append((entry["correct"], entry["items"], entry["errors"]))
    bench, evaluated = statistics.median(bench_rates), statistics.median(eval_rates)
    print(f"task set: {args.items:,} items read and validated in {read_s * 1e3:.0f} ms")
    print(f"bench client: {bench:,.0f} requests/s (rounds: {[round(r) for r in bench_rates]})")
    print(f"llmecon eval: {evaluated:,.0f} items/s (rounds: {[round(r) for r in eval_rates]}), "
          f"{args.items / evaluated:.2f} s for {args.items:,} items")  # fmt: skip
    print(f"eval / bench: {evaluated / bench:.2f}; graded (correct, items, errors): {accuracies}")


if __name__ == "__main__":
    main()
