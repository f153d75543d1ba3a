"""llmecon: paid LLM API or self-hosted open model, with measured, sourced numbers.

The library behind the `llmecon` command (docs/library.md)::

    import llmecon

    result = llmecon.compare("examples/article-2023.yaml")
    result.cheapest            # {1000.0: 'chatgpt', 1000000.0: 'flan-ul2-sagemaker'}
    result.to_dict()           # the JSON contract of `llmecon compare --format json`
    result.to_dataframe()      # one row per volume and option (needs pandas)

Names are imported when first used, so `import llmecon` stays fast (benchmarks/import_time.py).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from llmecon.bench.runner import Load
    from llmecon.bench.session import BenchResult, BenchSpec, run_bench
    from llmecon.core.comparison import Comparison, Scenario
    from llmecon.errors import LlmeconError
    from llmecon.library.calls import compare, estimate, load_scenario, plan
    from llmecon.library.results import ComparisonResult, EstimateResult, PlanResult
    from llmecon.pricebook.book import PriceBook
    from llmecon.pricebook.loader import load_pricebook

__version__ = "0.1.0"

# public name: the module that defines it (imported on first use)
_EXPORTS = {
    "BenchResult": "llmecon.bench.session",
    "BenchSpec": "llmecon.bench.session",
    "Comparison": "llmecon.core.comparison",
    "ComparisonResult": "llmecon.library.results",
    "EstimateResult": "llmecon.library.results",
    "LlmeconError": "llmecon.errors",
    "Load": "llmecon.bench.runner",
    "PlanResult": "llmecon.library.results",
    "PriceBook": "llmecon.pricebook.book",
    "Scenario": "llmecon.core.comparison",
    "compare": "llmecon.library.calls",
    "estimate": "llmecon.library.calls",
    "load_pricebook": "llmecon.pricebook.loader",
    "load_scenario": "llmecon.library.calls",
    "plan": "llmecon.library.calls",
    "run_bench": "llmecon.bench.session",
}

__all__ = [
    "BenchResult",
    "BenchSpec",
    "Comparison",
    "ComparisonResult",
    "EstimateResult",
    "LlmeconError",
    "Load",
    "PlanResult",
    "PriceBook",
    "Scenario",
    "__version__",
    "compare",
    "estimate",
    "load_pricebook",
    "load_scenario",
    "plan",
    "run_bench",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llmecon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
