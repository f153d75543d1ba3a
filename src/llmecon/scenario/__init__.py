"""Scenario files (format v1): read, validate, and resolve against the price book."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmecon import records
from llmecon.core.comparison import Scenario
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.scenario.build import build_scenario
from llmecon.scenario.one_off import with_one_off_costs
from llmecon.scenario.schema import ScenarioSpec
from llmecon.scenario.yaml_source import parse_yaml, read_text

if TYPE_CHECKING:
    from llmecon.scenario.traffic_source import TrafficWorkload

__all__ = ["load_scenario", "scenario_from_data"]


def load_scenario(
    path: Path, book: PriceBook, as_of: date | None = None,
    traffic: TrafficWorkload | None = None,
) -> Scenario:  # fmt: skip
    """Read, validate and resolve the scenario file at `path`; `traffic` (observed traffic)
    replaces its workload."""
    data = parse_yaml(read_text(path), str(path))
    return scenario_from_data(data, book, str(path), as_of, base=path.parent, traffic=traffic)


def scenario_from_data(
    data: Any, book: PriceBook, label: str, as_of: date | None = None, base: Path | None = None,
    *, traffic: TrafficWorkload | None = None,
) -> Scenario:  # fmt: skip
    """Validate plain data (as parsed from YAML or built from flags) into a Scenario."""
    if not isinstance(data, dict):
        raise LlmeconError(
            f"{label}: top level: expected a mapping with name, workload and options; "
            "see the README's scenario format"
        )
    workload = data.get("workload")
    if traffic is not None or (isinstance(workload, dict) and "traffic" in workload):
        # observed traffic (numpy) is imported only by the scenarios that use it: the others
        # start ~0.1 s sooner
        from llmecon.scenario.traffic_source import (  # noqa: PLC0415
            load_traffic_workload,
            split_traffic,
            workload_data,
        )

        data, named = split_traffic(data, label)
        if named is not None and traffic is None:
            traffic = load_traffic_workload(*named, book, base)
        assert traffic is not None
        # the observed volume and mean tokens (capacity estimates use them)
        data = {**data, "workload": workload_data(traffic)}
    try:
        spec = records.read(ScenarioSpec, data)
    except records.RecordError as error:
        raise LlmeconError(records.describe(error.problems, label)) from None
    scenario = with_one_off_costs(build_scenario(spec, book, label, as_of, base), spec, label)
    if traffic is None:
        return scenario
    from llmecon.core.traffic_workload import apply_traffic  # noqa: PLC0415

    return apply_traffic(scenario, traffic.observed)
