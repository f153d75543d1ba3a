"""The non-cost trade-offs a scenario can state (`considerations:`), as the user writes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator


class ConsiderationsSpec(BaseModel):
    """Each answer is optional; an unanswered one is shown as an open question in the report."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    quality: Literal["frontier_required", "open_model_passes_eval", "unknown"] | None = None
    data_residency: Literal["none", "region", "no_third_party"] | None = None
    outage_tolerance: Literal["hours", "minutes", "none"] | None = None
    fine_tuning: Literal["none", "planned", "required"] | None = None
    ops_team: Literal["none", "part_time", "dedicated"] | None = None
    price_change_exposure: Literal["acceptable", "must_be_fixed"] | None = None
    comments: dict[str, str] = {}

    @field_validator("comments")
    @classmethod
    def _known_topics(cls, comments: dict[str, str]) -> dict[str, str]:
        topics = [name for name in cls.model_fields if name != "comments"]
        for key in comments:
            if key not in topics:
                raise ValueError(f"comment on {key!r}: not a topic; topics are {', '.join(topics)}")
        return comments
