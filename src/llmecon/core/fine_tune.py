"""Fine-tuning economics: a one-off training run, amortized per day as its own line item.

A paid fine-tuning API bills training tokens (dataset tokens x epochs) at a price per 1M; a
self-hosted run takes instance-hours = instances x dataset tokens x epochs / (job throughput in
tokens/s x 3,600), at an hourly price. Either total is spread evenly over `amortize_days` and
billed daily like any other cost (category `fine_tune`), whatever the volume.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmecon.core.bill import LineItem
from llmecon.core.prices import Price
from llmecon.core.workload import Tokens

FINE_TUNE = "fine_tune"
SECONDS_PER_HOUR = 3600


def training_tokens(dataset_tokens: float, epochs: float) -> float:
    """Tokens a fine-tuning run processes (and a paid API bills): dataset x epochs."""
    return dataset_tokens * epochs


def training_instance_hours(
    dataset_tokens: float, epochs: float, tokens_per_second: float, instances: int = 1
) -> float:
    """Instance-hours of a self-hosted run whose whole job trains `tokens_per_second`."""
    if tokens_per_second <= 0:
        raise ValueError("training throughput must be > 0 tokens/s")
    hours = training_tokens(dataset_tokens, epochs) / tokens_per_second / SECONDS_PER_HOUR
    return hours * instances


@dataclass(frozen=True)
class TrainingRun:
    """`quantity` base units of `price` (training tokens, or instance-hours) once, spread over
    `amortize_days` days: an overhead (see core.fixed_costs) billed the same every day."""

    name: str
    quantity: float
    price: Price
    amortize_days: float

    @property
    def total_cost(self) -> float:
        return self.quantity / self.price.per * self.price.amount

    def item(self, requests_per_day: float, tokens: Tokens) -> LineItem:
        item = LineItem.priced(self.name, self.quantity / self.amortize_days, self.price)
        return LineItem(
            item.name, item.quantity, item.unit, item.unit_price, item.source, item.as_of,
            FINE_TUNE,
        )  # fmt: skip
