"""Costs paid once (set-up, migration labour), as a scenario's `one_off_costs:` lists them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OneOffCost:
    """A cost paid once, before the first month, by the options named (empty: every
    self-hosted option)."""

    name: str
    amount: float
    applies_to: tuple[str, ...] = ()
