"""The shape of the price data files, checked when they load (extra keys are errors)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Sourced(_Strict):
    source: Annotated[str, Field(min_length=3)]
    as_of: date
    note: str | None = None


class HistoryEntry(_Sourced):
    model: str
    provider: str
    effective_from: date
    until: date | None = None
    input_per_1m: NonNegative
    output_per_1m: NonNegative


class HistoryFile(_Strict):
    schema_: Literal[1] = Field(alias="schema")
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


class InstanceFile(_Strict):
    schema_: Literal[1] = Field(alias="schema")
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


class CommitmentFile(_Strict):
    schema_: Literal[1] = Field(alias="schema")
    entries: list[CommitmentEntry]


class ServerlessEntry(_Sourced):
    name: str
    provider: str
    service: Literal["lambda", "api-gateway"]
    region: str
    per_million_requests: NonNegative
    per_gb_second: NonNegative | None = None


class ServerlessFile(_Strict):
    schema_: Literal[1] = Field(alias="schema")
    entries: list[ServerlessEntry]
