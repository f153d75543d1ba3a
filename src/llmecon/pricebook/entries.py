"""What the price book holds: one frozen record per priced thing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from llmecon.core.prices import ContextTier, Price

PER_MILLION = 1e6

__all__ = [
    "PER_MILLION", "ApiModelPrice", "ContextTier", "Entry", "GatewayPrice", "InstancePrice",
    "LambdaPrice", "entry_kind", "entry_price",
]  # fmt: skip


@dataclass(frozen=True)
class ApiModelPrice:
    """A paid API model's token prices (per 1M tokens) from `effective_from` (None: current).

    `until` is the last day it was sold (None: still sold). Cached-input, batch and long-context
    prices, and the context limits, come from the snapshot of LiteLLM's map where it has them.
    """

    model: str
    provider: str
    input: Price
    output: Price
    effective_from: date | None = None
    origin: str = "history"  # "history" (our dated file) or "snapshot" (current price map)
    note: str | None = None
    until: date | None = None
    cached_input: Price | None = None
    batch_input: Price | None = None
    batch_output: Price | None = None
    batch_cached_input: Price | None = None  # cached input tokens in a batch request
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    tiers: tuple[ContextTier, ...] = ()
    mode: str = "chat"  # "chat" (text generation) or "embedding" (priced per input token only)

    @property
    def name(self) -> str:
        return self.model

    def summary(self) -> str:
        if self.mode == "embedding":
            return f"${self.input.amount:g} per 1M input tokens (embedding; output n/a)"
        return f"${self.input.amount:g} in / ${self.output.amount:g} out per 1M tokens"


@dataclass(frozen=True)
class InstancePrice:
    """An hourly-billed machine (SageMaker endpoint instance or EC2 instance)."""

    name: str
    provider: str
    service: str
    region: str
    hourly: Price
    spot_hourly: Price | None = None
    gpu: str | None = None
    gpus: float = 0
    vcpus: int | None = None
    memory_gib: float | None = None
    note: str | None = None
    effective_from: date | None = None
    commitments: Mapping[str, Price] = field(default_factory=dict)  # key -> effective rate

    def summary(self) -> str:
        hardware = f"{self.gpus:g}x {self.gpu}" if self.gpu else "CPU"
        spot = f", spot ${self.spot_hourly.amount:g}/h" if self.spot_hourly else ""
        return f"${self.hourly.amount:g}/h ({hardware}{spot})"


@dataclass(frozen=True)
class LambdaPrice:
    """AWS Lambda: duration per GB-second and a charge per 1M requests."""

    name: str
    provider: str
    service: str
    region: str
    per_gb_second: Price
    per_million_requests: Price
    note: str | None = None

    def summary(self) -> str:
        return (
            f"${self.per_gb_second.amount:g}/GB-s + "
            f"${self.per_million_requests.amount:g} per 1M requests"
        )


@dataclass(frozen=True)
class GatewayPrice:
    """Amazon API Gateway: a charge per 1M requests."""

    name: str
    provider: str
    service: str
    region: str
    per_million_requests: Price
    note: str | None = None

    def summary(self) -> str:
        return f"${self.per_million_requests.amount:g} per 1M requests"


Entry = ApiModelPrice | InstancePrice | LambdaPrice | GatewayPrice


def entry_kind(entry: Entry) -> str:
    """A short word for an entry's kind, as `llmecon prices list --kind` takes it."""
    if isinstance(entry, ApiModelPrice):
        return "api"
    if isinstance(entry, InstancePrice):
        return "instance"
    return "serverless"


def entry_price(entry: Entry) -> Price:
    """The entry's headline price, whose source and date describe the entry."""
    if isinstance(entry, ApiModelPrice):
        return entry.input
    if isinstance(entry, InstancePrice):
        return entry.hourly
    return entry.per_million_requests
