"""Committed prices: Reserved Instances bought for one or three years, paid whether used or not.

A commitment is priced by its *effective* hourly rate (what the price list states): the hourly
charge plus any upfront fee spread over the term's hours. How the fee is split depends on the
payment option: No Upfront has none, All Upfront is nothing but the fee (so the fee is the
effective rate x the term's hours), Partial Upfront mixes both in a split the price list's
effective rate does not give. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HOURS_PER_YEAR = 8760  # AWS spreads RI fees over 365 x 24 hours per year of term
Payment = Literal["no_upfront", "partial_upfront", "all_upfront"]

COMMITMENT_KEYS = (
    "reserved_1y_no_upfront",
    "reserved_1y_partial_upfront",
    "reserved_1y_all_upfront",
    "reserved_3y_no_upfront",
    "reserved_3y_partial_upfront",
    "reserved_3y_all_upfront",
)
PRICING_KEYS = ("on_demand", "spot", *COMMITMENT_KEYS)
# Named in issue 12 but without a dated per-instance source in the price book (yet).
UNSOURCED_KEYS = ("savings_plan_1y", "savings_plan_3y")


@dataclass(frozen=True)
class Commitment:
    """One commitment term: `years` of `payment`, at `effective_hourly` per machine."""

    key: str
    years: int
    payment: Payment
    effective_hourly: float

    @property
    def term_hours(self) -> int:
        return self.years * HOURS_PER_YEAR

    @property
    def upfront_per_machine(self) -> float | None:
        """The fee paid at purchase for one machine; None when the source does not split it."""
        if self.payment == "no_upfront":
            return 0.0
        if self.payment == "all_upfront":
            return self.effective_hourly * self.term_hours
        return None

    @property
    def recurring_hourly(self) -> float | None:
        """The hourly charge billed through the term; None when the split is unknown."""
        if self.payment == "no_upfront":
            return self.effective_hourly
        if self.payment == "all_upfront":
            return 0.0
        return None

    def term_total(self, machines: int) -> float:
        """What the fleet's commitment costs over the whole term, used or not."""
        return self.effective_hourly * self.term_hours * machines

    def lines(self, machines: int) -> list[tuple[str, float | None]]:
        """The bill's commitment lines for `machines` committed machines (label, amount)."""
        upfront = self.upfront_per_machine
        lines: list[tuple[str, float | None]] = []
        if upfront is None:
            lines.append(("upfront fee (share not stated by the source)", None))
        elif upfront > 0:
            lines.append((f"upfront fee, {machines} x ${upfront:,.2f}", upfront * machines))
            lines.append(
                (f"upfront amortized over {self.term_hours:,} h, per day",
                 upfront * machines / self.term_hours * 24)
            )  # fmt: skip
        recurring = self.recurring_hourly
        if recurring:
            lines.append((f"hourly charge, {machines} x ${recurring:g}/h, per day",
                          recurring * machines * 24))  # fmt: skip
        lines.append(
            (f"committed over {self.years} year(s), used or not", self.term_total(machines))
        )
        return lines


def commitment(key: str, effective_hourly: float) -> Commitment:
    """The commitment a pricing key names (e.g. reserved_3y_all_upfront) at a rate."""
    if key not in COMMITMENT_KEYS:
        raise ValueError(f"{key!r} is not a commitment; use one of {', '.join(COMMITMENT_KEYS)}")
    if effective_hourly < 0:
        raise ValueError(f"a commitment's hourly rate must be >= 0, got {effective_hourly}")
    _, term, payment = key.split("_", 2)
    payments: dict[str, Payment] = {
        "no_upfront": "no_upfront",
        "partial_upfront": "partial_upfront",
        "all_upfront": "all_upfront",
    }
    return Commitment(key, int(term.rstrip("y")), payments[payment], effective_hourly)


def is_commitment(key: str) -> bool:
    return key in COMMITMENT_KEYS


def commitment_risk(key: str) -> str:
    """The note every committed price carries."""
    years = 1 if "_1y_" in key else 3
    return (
        f"{key}: a {years}-year commitment is paid whether the machines are used or not; a "
        f"fleet sized for today's volume is a bet that the volume, the model and the hardware "
        f"stay for {years} year(s). Committed machines are billed 24 h a day (no autoscaling)."
    )
