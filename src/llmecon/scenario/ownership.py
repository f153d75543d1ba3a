"""A scenario's `fixed_costs:` block as overheads on the options it applies to."""

from __future__ import annotations

from dataclasses import replace

from llmecon.core.fixed_costs import DataTransfer, Overhead, Recurring
from llmecon.core.options import ApiOption, Option, SelfHostedOption
from llmecon.core.prices import Price
from llmecon.errors import LlmeconError
from llmecon.scenario.schema import FixedCostsSpec


def overheads(spec: FixedCostsSpec, label: str) -> tuple[Overhead, ...]:
    """One overhead per figure given, each citing the scenario as its source."""
    source = f"your figure (fixed_costs in {label})"

    def monthly(name: str, amount: float | None) -> list[Overhead]:
        if amount is None:
            return []
        return [Recurring(name, 1.0, Price(amount, "month", source), "month")]

    found: list[Overhead] = []
    if spec.labour is not None:
        salary = Price(spec.labour.loaded_salary_per_year, "FTE-year", source)
        found.append(Recurring("engineering labour", spec.labour.fte, salary, "year"))
    found += monthly("on-call", spec.on_call_per_month)
    found += monthly("monitoring", spec.monitoring_per_month)
    if spec.storage is not None:
        per_gb = Price(spec.storage.price_per_gb_month, "GB-month", source)
        found.append(Recurring("storage for weights", spec.storage.gb, per_gb, "month"))
    if spec.data_transfer is not None:
        per_gb = Price(spec.data_transfer.price_per_gb, "GB", source)
        found.append(DataTransfer(per_gb, spec.data_transfer.bytes_per_token))
    found += monthly("load balancer", spec.load_balancer_per_month)
    return tuple(found)


def with_fixed_costs(
    options: tuple[Option, ...], spec: FixedCostsSpec, label: str
) -> tuple[Option, ...]:
    """Options with the fixed costs added (default: to every self-hosted option)."""
    names = {option.name for option in options}
    unknown = sorted(set(spec.applies_to or ()) - names)
    if unknown:
        raise LlmeconError(
            f"{label}: fixed_costs.applies_to names no option {', '.join(unknown)}; "
            f"use one of {', '.join(sorted(names))}"
        )
    items = overheads(spec, label)
    chosen = set(spec.applies_to) if spec.applies_to is not None else {
        option.name for option in options if isinstance(option, SelfHostedOption)
    }  # fmt: skip
    return tuple(
        replace(option, overheads=option.overheads + items)
        if option.name in chosen and isinstance(option, ApiOption | SelfHostedOption)
        else option
        for option in options
    )
