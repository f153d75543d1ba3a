"""The library behind the commands: `from llmecon import compare, plan, ...` (docs/library.md).

Sits above the core, price book, scenario and report layers and below the CLI.
"""

from llmecon.library.calls import compare, estimate, load_scenario, plan
from llmecon.library.results import ComparisonResult, EstimateResult, PlanResult

__all__ = [
    "ComparisonResult",
    "EstimateResult",
    "PlanResult",
    "compare",
    "estimate",
    "load_scenario",
    "plan",
]
