"""`llmecon eval`: a task set against endpoints; accuracy with a Wilson interval, tokens, latency.

The library does the work (read a JSONL task set, grade answers, summarize); the CLI wraps it.
"""

from __future__ import annotations

from llmecon.eval.dataset import Item, read_dataset
from llmecon.eval.graders import GRADERS, Grader, Verdict, build_grader
from llmecon.eval.result import eval_document, target_summary
from llmecon.eval.runner import EvalSpec, Target, TargetRun, run_eval

__all__ = [
    "GRADERS",
    "EvalSpec",
    "Grader",
    "Item",
    "Target",
    "TargetRun",
    "Verdict",
    "build_grader",
    "eval_document",
    "read_dataset",
    "run_eval",
    "target_summary",
]
