"""The shape of the price data files, checked when they load (extra keys are errors).

Records read by `llmecon.records` (no pydantic: `llmecon compare` starts without it). The rules:
unknown keys are errors; prices are finite numbers >= 0; `source` has at least 3 characters;
dates are YYYY-MM-DD; `service`, the commitment keys and `schema` take the listed values only.
"""

# No `from __future__ import annotations`: llmecon.records reads these annotations at run time.
from datetime import date
from typing import Annotated, Literal

from llmecon.records import Bound, FieldError, Record, field

NonNegative = Annotated[float, Bound(ge=0)]
Source = Annotated[str, Bound(min_length=3)]


class _Sourced(Record):
    source: Source
    as_of: date
    note: str | None = None


class HistoryEntry(_Sourced):
    model: str
    provider: str
    effective_from: date
    until: date | None = None
    input_per_1m: NonNegative
    output_per_1m: NonNegative


class HistoryFile(Record):
    schema_: Literal[1] = field(key="schema")
    entries: list[HistoryEntry]


class InstanceEntry(_Sourced):
    name: str
    provider: str
    service: Literal["sagemaker", "ec2", "compute-engine", "azure-vm", "gpu-cloud"]
    region: str
    hourly: NonNegative
    spot_hourly: NonNegative | None = None
    gpu: str | None = None
    gpus: NonNegative = 0
    vcpus: int | None = None
    memory_gib: NonNegative | None = None
    effective_from: date | None = None


class InstanceFile(Record):
    schema_: Literal[1] = field(key="schema")
    entries: list[InstanceEntry]


CommitmentKey = Literal[
    "reserved_1y_no_upfront", "reserved_1y_partial_upfront", "reserved_1y_all_upfront",
    "reserved_3y_no_upfront", "reserved_3y_partial_upfront", "reserved_3y_all_upfront",
]  # fmt: skip


class CommitmentEntry(_Sourced):
    """Committed (Reserved Instance) rates of one catalog instance: effective USD per hour."""

    instance: str
    region: str
    on_demand_in_source: NonNegative
    rates: dict[CommitmentKey, NonNegative]


class CommitmentFile(Record):
    schema_: Literal[1] = field(key="schema")
    entries: list[CommitmentEntry]


class ServerlessEntry(_Sourced):
    name: str
    provider: str
    service: Literal["lambda", "api-gateway"]
    region: str
    per_million_requests: NonNegative
    per_gb_second: NonNegative | None = None

    def check(self) -> None:
        if self.service == "lambda" and self.per_gb_second is None:
            raise FieldError("a Lambda price needs its per_gb_second rate", "per_gb_second")


class ServerlessFile(Record):
    schema_: Literal[1] = field(key="schema")
    entries: list[ServerlessEntry]
