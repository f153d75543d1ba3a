"""Latency against throughput over a bench sweep."""

from __future__ import annotations

from pathlib import Path

from llmecon.bench.session import BenchResult
from llmecon.report.figures import check_path, new_figure, save_figure

SERIES = (("ttft_ms", "p50", "TTFT p50"), ("ttft_ms", "p95", "TTFT p95"),
          ("itl_ms", "p50", "ITL p50"), ("e2e_ms", "p50", "E2E p50"))  # fmt: skip


def write_bench_plot(result: BenchResult, path: Path) -> None:
    check_path(path)
    figure = new_figure()
    axes = figure.add_subplot()
    runs = [run for run in result.runs if run.summary.completed]
    throughput = [run.summary.output_tokens_per_second for run in runs]
    for metric, quantile, label in SERIES:
        values = [getattr(getattr(run.summary, metric), quantile, None) for run in runs]
        if all(v is not None for v in values) and values:
            axes.plot(throughput, values, "o-", label=label)
    for run, x in zip(runs, throughput, strict=True):
        if run.summary.e2e_ms is not None:
            axes.annotate(run.load.describe(), (x, run.summary.e2e_ms.p50), fontsize=7,
                          xytext=(4, 4), textcoords="offset points")  # fmt: skip
    axes.set_yscale("log")
    axes.set_xlabel("output tokens per second")
    axes.set_ylabel("latency (ms)")
    axes.set_title(f"{result.spec.model} at {result.spec.base_url}", fontsize=11)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=9)
    save_figure(figure, path)
