"""Quality next to a plan: the self-hosted model, the paid APIs and the same model hosted per
token, each with its accuracy and cost per correct answer at the plan's volume.

The open model's accuracy applies to every self-hosted configuration and to every provider
hosting the same model per token (same weights); a closed API has its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmecon.core.planning import Plan
from llmecon.core.quality import Accuracy, OptionQuality, quality_of


@dataclass(frozen=True)
class PlanQualityRow:
    kind: str  # self_hosted, api or hosted
    daily_cost: float
    quality: OptionQuality


@dataclass(frozen=True)
class PlanQuality:
    min_accuracy: float | None
    rows: tuple[PlanQualityRow, ...]  # the cheapest self-hosted plan first, then the offers

    @property
    def cheapest_good(self) -> PlanQualityRow | None:
        """The cheapest option meeting the bar (or measured, without a bar)."""
        good = [
            row
            for row in self.rows
            if row.quality.accuracy is not None and row.quality.meets_bar is not False
        ]
        return min(good, key=lambda row: row.daily_cost) if good else None


def rate_plan(
    plan: Plan, accuracy: Mapping[str, Accuracy], min_accuracy: float | None
) -> PlanQuality:
    """Each option of `plan` with its accuracy: the model's, or the closed API's own."""
    volume = plan.requests_per_day
    model = accuracy.get(plan.model.name)
    rows = []
    if plan.candidates:
        best = plan.candidates[0]
        rows.append(
            PlanQualityRow(
                "self_hosted",
                best.daily_cost,
                quality_of(best.option.name, best.daily_cost / volume, model, min_accuracy),
            )
        )
    for alt in plan.alternatives:
        name = alt.option.model or alt.option.name
        measured = model if alt.hosted else accuracy.get(name)
        cost = alt.bill.daily_cost
        rows.append(
            PlanQualityRow(
                "hosted" if alt.hosted else "api",
                cost,
                quality_of(name, cost / volume, measured, min_accuracy),
            )
        )
    return PlanQuality(min_accuracy, tuple(rows))
