"""`plan --pricing a,b,c`: the cheapest configuration of each pricing kind, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from llmecon.core.commitments import commitment_risk

if TYPE_CHECKING:
    from llmecon.core.commitments import Commitment
    from llmecon.core.pricing_compare import PricingRow

__all__ = ["commitment_to_dict", "render_pricing_json", "render_pricing_table"]


def commitment_to_dict(terms: Commitment, machines: int) -> dict[str, object]:
    """A commitment's lines for `machines` machines, as `plan --pricing` and `compare` show them:
    the upfront fee, its amortization per day, the hourly charge, the term's total."""
    return {
        "pricing": terms.key, "years": terms.years, "payment": terms.payment,
        "machines": machines,
        "lines": [{"item": label, "usd": None if a is None else round(a, 6)}
                  for label, a in terms.lines(machines)],
        "note": commitment_risk(terms.key),
    }  # fmt: skip


def render_pricing_table(rows: tuple[PricingRow, ...], out: TextIO) -> None:
    from rich.console import Console  # noqa: PLC0415 - the JSON formats start without rich
    from rich.table import Table  # noqa: PLC0415

    console = Console(file=out, width=140, highlight=False)
    table = Table(title="Pricing side by side (cheapest configuration of each kind)")
    for column in ("Pricing", "Configuration", "Machines", "$/day", "vs on-demand", "Rate"):
        table.add_column(
            column, justify="left" if column in {"Pricing", "Configuration"} else "right"
        )
    for row in rows:
        c = row.candidate
        if c is None:
            table.add_row(row.pricing, "no machine priced this way", "-", "-", "-", "-")
            continue
        saving = "-" if row.saving_vs_on_demand is None else f"{0.0 - row.saving_vs_on_demand:+.1%}"
        if row.pricing == "on_demand":
            saving = "baseline"
        table.add_row(
            row.pricing, f"{c.machine.name} {c.precision} tp{c.tensor_parallel}", str(c.replicas),
            f"{c.daily_cost:,.2f}", saving, f"${c.machine.hourly.amount:g}/h",
        )  # fmt: skip
    console.print(table)
    for row in rows:
        if row.commitment is None:
            continue
        console.print(f"{row.pricing}:")
        for label, amount in row.lines:
            shown = "not stated" if amount is None else f"${amount:,.2f}"
            console.print(f"  {label}: {shown}")
        assert row.candidate is not None
        console.print(f"  rate: {row.candidate.machine.hourly.cited()}")
        console.print(f"  note: {commitment_risk(row.pricing)}")


def render_pricing_json(rows: tuple[PricingRow, ...]) -> list[dict[str, object]]:
    """Plain data for the plan's JSON (a `pricing` list)."""
    found: list[dict[str, object]] = []
    for row in rows:
        c = row.candidate
        item: dict[str, object] = {"pricing": row.pricing, "available": c is not None}
        if c is not None:
            item |= {
                "instance": c.machine.name, "precision": c.precision,
                "tensor_parallel": c.tensor_parallel, "machines": c.replicas,
                "daily_cost": round(c.daily_cost, 6), "hourly_rate": c.machine.hourly.amount,
                "saving_vs_on_demand": None if row.saving_vs_on_demand is None
                else round(row.saving_vs_on_demand, 6),
                "source": c.machine.hourly.source, "as_of": c.machine.hourly.as_of.isoformat()
                if c.machine.hourly.as_of else None,
            }  # fmt: skip
        if row.commitment is not None and c is not None:
            item["commitment"] = commitment_to_dict(row.commitment, c.replicas)
        found.append(item)
    return found
