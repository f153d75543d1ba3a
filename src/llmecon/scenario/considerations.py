"""The non-cost trade-offs a scenario can state (`considerations:`), as the user writes them."""

# No `from __future__ import annotations`: llmecon.records reads these annotations at run time.
from typing import Literal

from llmecon.records import FieldError, Record, field, fields_of


class ConsiderationsSpec(Record):
    """Each answer is optional; an unanswered one is shown as an open question in the report."""

    quality: Literal["frontier_required", "open_model_passes_eval", "unknown"] | None = None
    data_residency: Literal["none", "region", "no_third_party"] | None = None
    outage_tolerance: Literal["hours", "minutes", "none"] | None = None
    fine_tuning: Literal["none", "planned", "required"] | None = None
    ops_team: Literal["none", "part_time", "dedicated"] | None = None
    price_change_exposure: Literal["acceptable", "must_be_fixed"] | None = None
    comments: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        topics = [name for name in fields_of(type(self)) if name != "comments"]
        for key in self.comments:
            if key not in topics:
                raise FieldError(
                    f"comment on {key!r}: not a topic; topics are {', '.join(topics)}", "comments"
                )
