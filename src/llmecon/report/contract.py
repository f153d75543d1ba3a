"""The JSON contract of `llmecon compare` (see the README); later versions only add keys."""

from __future__ import annotations

from typing import Any

from llmecon.core.bill import Bill, LineItem
from llmecon.core.breakeven import Breakeven
from llmecon.core.comparison import Comparison
from llmecon.report.numbers import clean
from llmecon.report.pricing_view import commitment_to_dict
from llmecon.report.quality_view import quality_to_dict


def _optional(value: float | None) -> float | None:
    return None if value is None else clean(value)


def line_item_to_dict(item: LineItem) -> dict[str, Any]:
    return {
        "name": item.name,
        "quantity": clean(item.quantity),
        "unit": item.unit,
        "unit_price": clean(item.unit_price),
        "daily_cost": clean(item.daily_cost),
        "source": item.source,
        "as_of": item.as_of.isoformat() if item.as_of else None,
        "category": item.category,
    }


def bill_to_dict(bill: Bill, rank: int) -> dict[str, Any]:
    return {
        "name": bill.option,
        "kind": bill.kind,
        "rank": rank,
        "cheapest": rank == 1,
        "daily_cost": clean(bill.daily_cost),
        "compute_daily_cost": clean(bill.compute_daily_cost),
        "fixed_daily_cost": clean(bill.fixed_daily_cost),
        "monthly_cost": clean(bill.monthly_cost),
        "yearly_cost": clean(bill.yearly_cost),
        "cost_per_request": _optional(bill.cost_per_request),
        "cost_per_1m_tokens": _optional(bill.cost_per_1m_tokens),
        "replicas": bill.replicas,
        "capacity": capacity_to_dict(bill),
        "line_items": [line_item_to_dict(item) for item in bill.line_items],
        "commitment": None
        if bill.commitment is None or bill.replicas is None
        else commitment_to_dict(bill.commitment, bill.replicas),
    }


def capacity_to_dict(bill: Bill) -> dict[str, Any] | None:
    """Where the replica count came from; None for APIs and fixed fleets."""
    fleet = bill.fleet
    if fleet is None:
        return None
    return {
        "source": bill.capacity_source,
        "per_replica_requests_per_second": clean(fleet.per_replica_rps),
        "average_requests_per_second": clean(fleet.average_rps),
        "peak_requests_per_second": clean(fleet.peak_rps),
        "replicas_by_hour": list(fleet.replicas_by_hour),
        "instance_hours": fleet.instance_hours,
        "utilization": _optional(fleet.utilization),
        "fixed_fleet_daily_cost": _optional(bill.fixed_fleet_daily_cost),
    }


def breakeven_to_dict(breakeven: Breakeven) -> dict[str, Any]:
    return {
        "between": list(breakeven.between),
        "requests_per_day": [round(c.requests_per_day, 1) for c in breakeven.crossings],
        "crossings": [
            {
                "requests_per_day": round(c.requests_per_day, 1),
                "cheaper_below": c.cheaper_below,
                "cheaper_above": c.cheaper_above,
            }
            for c in breakeven.crossings
        ],
        "cheaper_throughout": breakeven.cheaper_throughout,
        "tied_somewhere": breakeven.tied_somewhere,
        "range": [clean(v) for v in breakeven.volume_range],
        "truncated": breakeven.truncated,
    }


def comparison_to_dict(comparison: Comparison, price_book: str | None = None) -> dict[str, Any]:
    """The stable JSON document for a comparison."""
    return {
        "scenario": comparison.scenario,
        "currency": comparison.currency,
        "price_book": price_book,
        "results": [
            {
                "requests_per_day": clean(result.requests_per_day),
                "cheapest": result.cheapest.option,
                "options": [
                    bill_to_dict(bill, rank) for rank, bill in enumerate(result.bills, start=1)
                ],
            }
            for result in comparison.results
        ],
        "breakeven": [breakeven_to_dict(b) for b in comparison.breakevens],
        "notes": list(comparison.notes),
        **_quality(comparison),
    }


def _quality(comparison: Comparison) -> dict[str, Any]:
    """The `quality` key, only when the scenario has a quality: block (issue 17)."""
    if comparison.quality is None:
        return {}
    return {"quality": quality_to_dict(comparison.quality, breakeven_to_dict)}
