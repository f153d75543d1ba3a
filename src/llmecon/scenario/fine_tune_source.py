"""A scenario's `fine_tune:` block: each named option carries its amortized training run."""

from __future__ import annotations

from dataclasses import replace

from llmecon.core.fine_tune import TrainingRun, training_instance_hours, training_tokens
from llmecon.core.options import ApiOption, Option, SelfHostedOption
from llmecon.core.prices import Price
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.scenario.schema import FineTuneRunSpec, FineTuneSpec


def with_fine_tuning(
    options: tuple[Option, ...], spec: FineTuneSpec, book: PriceBook, label: str
) -> tuple[tuple[Option, ...], list[str]]:
    """Options with their training run added as an overhead, and a note per run."""
    names = [option.name for option in options]
    for name in spec.options:
        if name not in names:
            raise LlmeconError(
                f"{label}: fine_tune.options.{name}: no option has that name; use one of "
                f"{', '.join(names)}"
            )
    result: list[Option] = []
    notes = []
    for option in options:
        run_spec = spec.options.get(option.name)
        if run_spec is None or not isinstance(option, ApiOption | SelfHostedOption):
            result.append(option)
            continue
        run, how = _run(option.name, run_spec, spec, book, label)
        result.append(replace(option, overheads=(*option.overheads, run)))
        notes.append(
            f"{option.name}: fine-tuning {how} = ${run.total_cost:,.2f} once, amortized over "
            f"{spec.amortize_days:g} days: ${run.total_cost / spec.amortize_days:,.4g}/day."
        )
    return tuple(result), notes


def _run(
    name: str, run: FineTuneRunSpec, spec: FineTuneSpec, book: PriceBook, label: str
) -> tuple[TrainingRun, str]:
    source = f"given in {label}"
    tokens = training_tokens(spec.training_tokens, spec.epochs)
    shape = f"{spec.training_tokens:,.0f} tokens x {spec.epochs:g} epochs"
    if run.price_per_1m_training_tokens is not None:
        price = Price(run.price_per_1m_training_tokens, "training tokens", source, per=1e6)
        how = f"{shape} at ${price.amount:g}/1M training tokens"
        return TrainingRun("fine-tuning (amortized)", tokens, price, spec.amortize_days), how
    assert run.training_tokens_per_second is not None
    hourly = _hourly(name, run, book, label)
    hours = training_instance_hours(
        spec.training_tokens, spec.epochs, run.training_tokens_per_second, run.instances
    )
    how = (
        f"{shape} at {run.training_tokens_per_second:g} tokens/s on {run.instances} "
        f"instance(s) = {hours:,.2f} instance-hours at ${hourly.amount:g}/h"
    )
    return TrainingRun("fine-tuning (amortized)", hours, hourly, spec.amortize_days), how


def _hourly(name: str, run: FineTuneRunSpec, book: PriceBook, label: str) -> Price:
    if run.hourly_price is not None:
        return Price(run.hourly_price, "instance-hour", f"given in {label}")
    assert run.instance is not None
    try:
        return book.instance(run.instance).hourly
    except LlmeconError as error:
        raise LlmeconError(f"{label}: fine_tune.options.{name}.instance: {error}") from None
