"""A scenario's `one_off_costs:` (set-up, migration labour) checked against its options."""

from __future__ import annotations

from dataclasses import replace

from llmecon.core.comparison import Scenario
from llmecon.core.one_off import OneOffCost
from llmecon.errors import LlmeconError
from llmecon.scenario.schema import ScenarioSpec


def with_one_off_costs(scenario: Scenario, spec: ScenarioSpec, label: str) -> Scenario:
    names = {option.name for option in scenario.options}
    costs = []
    for index, cost in enumerate(spec.one_off_costs):
        for name in cost.applies_to or ():
            if name not in names:
                raise LlmeconError(
                    f"{label}: one_off_costs[{index}].applies_to: no option {name!r}; "
                    f"use one of {', '.join(sorted(names))}"
                )
        costs.append(OneOffCost(cost.name, cost.amount, tuple(cost.applies_to or ())))
    return replace(scenario, one_off_costs=tuple(costs)) if costs else scenario
