"""A scenario's `workload: {traffic: FILE}`: observed traffic read, profiled and applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmecon.errors import LlmeconError

if TYPE_CHECKING:  # numpy and the traffic readers load only for a scenario with traffic
    from llmecon.core.traffic_workload import ObservedTraffic
    from llmecon.pricebook.book import PriceBook
    from llmecon.traffic import Traffic

TRAFFIC_KEYS = frozenset({"traffic", "format"})


@dataclass(frozen=True)
class TrafficWorkload:
    """Observed traffic ready to price, with its period and what was paid for it."""

    observed: ObservedTraffic
    start: datetime
    end: datetime
    peak_rps: float
    paid: tuple[tuple[str, float | None], ...]  # (model, cost over the period; None: unpriced)
    growth_per_month: float | None = None  # the fitted trend (None: under 14 whole days)


def load_traffic_workload(
    source: str, format_name: str | None, book: PriceBook, base: Path | None = None
) -> TrafficWorkload:
    """Read `source` (relative to `base` when a scenario names it) and fit it as a workload."""
    from llmecon.core.traffic_workload import ObservedTraffic  # noqa: PLC0415
    from llmecon.traffic import profile_traffic, read_traffic  # noqa: PLC0415

    path = source
    if base is not None and "://" not in source and not Path(source).is_absolute():
        path = str(base / source)
    traffic = read_traffic(path, format_name)
    profile = profile_traffic(traffic)
    observed = ObservedTraffic(
        requests=traffic.requests, prompt=traffic.prompt, completion=traffic.completion,
        cached=traffic.cached, days=profile.days, peak_factor=profile.peak_factor,
        hour_of_day=profile.hour_of_day, label=f"traffic from {source}",
    )  # fmt: skip
    if observed.total_requests == 0:
        raise LlmeconError(f"{source}: the traffic has no requests; export a busier period")
    return TrafficWorkload(
        observed, profile.start, profile.end, profile.peak_rps, _paid(traffic, observed, book),
        profile.growth_per_month,
    )  # fmt: skip


def _paid(
    traffic: Traffic, observed: ObservedTraffic, book: PriceBook
) -> tuple[tuple[str, float | None], ...]:
    """Each model's cost over the period at its catalog price (None when not in the book)."""
    from llmecon.core.traffic_workload import ApiOption, ObservedTraffic, observed_items  # noqa: PLC0415
    from llmecon.scenario import scenario_from_data  # noqa: PLC0415 - avoids an import cycle

    paid: list[tuple[str, float | None]] = []
    for code, model in enumerate(traffic.models):
        data = {
            "name": model,
            "workload": {"requests_per_day": 1, "input_tokens": 1, "output_tokens": 1},
            "options": [{"name": model, "api": {"model": model}}],
        }
        try:
            option = scenario_from_data(data, book, model).options[0]
        except LlmeconError:
            paid.append((model, None))
            continue
        assert isinstance(option, ApiOption)
        mask = traffic.model == code
        subset = ObservedTraffic(
            traffic.requests[mask], traffic.prompt[mask], traffic.completion[mask],
            traffic.cached[mask], observed.days, observed.peak_factor, observed.hour_of_day,
        )  # fmt: skip
        daily = sum(item.daily_cost for item in observed_items(option, subset))
        paid.append((model, daily * observed.days))
    return tuple(paid)


def split_traffic(data: Any, label: str) -> tuple[Any, tuple[str, str | None] | None]:
    """Scenario data without `workload.traffic` (replaced by placeholders that the observed
    traffic overrides), and the (file, format) it named."""
    if not isinstance(data, dict) or not isinstance(data.get("workload"), dict):
        return data, None
    workload = data["workload"]
    if "traffic" not in workload:
        return data, None
    others = sorted(set(workload) - TRAFFIC_KEYS)
    if others:
        raise LlmeconError(
            f"{label}: workload.{others[0]}: workload.traffic gives the volume and tokens; "
            "remove the other workload keys (allowed with traffic: traffic, format)"
        )
    source, format_name = workload["traffic"], workload.get("format")
    if not isinstance(source, str) or not source:
        raise LlmeconError(f"{label}: workload.traffic: give a file path or ledger URL")
    if format_name is not None and not isinstance(format_name, str):
        raise LlmeconError(f"{label}: workload.format: give a format name")
    placeholder = {"requests_per_day": 1, "input_tokens": 1, "output_tokens": 1}
    return {**data, "workload": placeholder}, (source, format_name)


def workload_data(found: TrafficWorkload) -> dict[str, Any]:
    """The scenario workload that the observed traffic stands for (volume, mean tokens)."""
    import numpy as np  # noqa: PLC0415

    observed = found.observed
    total = observed.total_requests
    return {
        "requests_per_day": observed.requests_per_day,
        "input_tokens": float(np.sum(observed.prompt)) / total,
        "output_tokens": float(np.sum(observed.completion)) / total,
    }


def named_traffic(data: Any) -> tuple[str, str | None] | None:
    """The (file, format) a scenario's `workload.traffic` names, if any (unchecked)."""
    workload = data.get("workload") if isinstance(data, dict) else None
    if isinstance(workload, dict) and isinstance(workload.get("traffic"), str):
        return workload["traffic"], workload.get("format")
    return None


def traffic_for(
    scenario: Path | None, flag: str | None, format_name: str | None, book: PriceBook
) -> TrafficWorkload | None:
    """The observed traffic a command works on: `--traffic FILE` (relative to the current
    folder), else the scenario's own `workload.traffic` (relative to the scenario), else None."""
    if flag is not None:
        return load_traffic_workload(flag, format_name, book)
    if scenario is None:
        return None
    from llmecon.scenario.yaml_source import parse_yaml, read_text  # noqa: PLC0415

    data = parse_yaml(read_text(scenario), str(scenario))
    named = named_traffic(data)
    if named is None:
        return None
    split_traffic(data, str(scenario))  # the one-line errors for other workload keys
    return load_traffic_workload(*named, book, scenario.parent)
