"""Notes that point out what a scenario assumes, so a reader can judge its numbers."""

from __future__ import annotations

import math
from collections.abc import Iterator

from llmecon.core.options import (
    ApiOption,
    FixedFleet,
    LambdaFront,
    Option,
    SelfHostedOption,
    requests_in_flight,
    serial_capacity_per_day,
)
from llmecon.core.quality import MeasuredTokens
from llmecon.core.workload import TOKENS_PER_WORD, Workload

_LAMBDA_MEMORY_MB = range(128, 10_241)


def audit(workload: Workload, options: tuple[Option, ...]) -> tuple[str, ...]:
    """Plain-language notes on the assumptions in a workload and its options."""
    options = tuple(_unwrapped(option) for option in options)
    notes = [*_workload_notes(workload)]
    notes += [note for option in options for note in _option_notes(option, workload)]
    if any(isinstance(option, SelfHostedOption) for option in options):
        notes.append(
            "free tiers (Lambda, API Gateway, SageMaker) are not applied: costs are list prices."
        )
    return tuple(dict.fromkeys(notes))


def _unwrapped(option: Option) -> Option:
    """The option itself when it is billed at measured tokens (quality: tokens: measured)."""
    return option.option if isinstance(option, MeasuredTokens) else option


def _workload_notes(workload: Workload) -> Iterator[str]:
    tokens = workload.tokens
    if tokens.words is not None:
        yield (
            f"words_per_request {tokens.words:g} converted at {TOKENS_PER_WORD:.4g} tokens per "
            f"word (the article's rule): {tokens.total:,.1f} tokens per request."
        )


def _option_notes(option: Option, workload: Workload) -> Iterator[str]:
    if isinstance(option, ApiOption):
        yield from _api_notes(option, workload)
    if isinstance(option, SelfHostedOption) and option.lambda_front is not None:
        yield from _lambda_notes(option, option.lambda_front, workload)


def _api_notes(option: ApiOption, workload: Workload) -> Iterator[str]:
    tokens, pricing = workload.tokens, option.pricing
    if not tokens.is_split:
        yield (
            f"{option.name}: all {tokens.total:,.0f} tokens per request are priced at one "
            "rate (prompt + completion together, as the article did); give input_tokens and "
            "output_tokens to price them separately."
        )
    rates = [p for p in (pricing.total, pricing.input, pricing.output) if p is not None]
    if any(price.amount == 0 for price in rates):
        yield (
            f"{option.name}: a $0 token price (free tier or missing data; check with "
            f"`llmecon prices show {option.model or option.name}`)."
        )
    if tokens.input is not None and pricing.is_split:
        yield from _tier_notes(option, tokens.input)
    if option.cached_fraction > 0 and pricing.cached_input is None:
        yield (
            f"{option.name}: no cached-input price is known; the cached "
            f"{option.cached_fraction:.0%} of each prompt is billed at the full input price."
        )
    if option.batch:
        yield (
            f"{option.name}: batch prices: requests are answered asynchronously (within 24 hours),"
            " so this option suits offline work, not interactive traffic."
        )
    responses = pricing.output_requests(tokens)
    if responses > 1:
        yield (
            f"{option.name}: {tokens.output:,.0f} output tokens exceed the model's "
            f"{pricing.max_output_tokens:,}-token output limit: each request implies "
            f"{responses} responses (the prompt is re-sent each time; not billed here)."
        )


def _tier_notes(option: ApiOption, prompt: float) -> Iterator[str]:
    tier = option.pricing.rates(prompt).tier
    if tier is not None:
        yield (
            f"{option.name}: prompts of {prompt:,.0f} tokens exceed {tier.above:,}, so the "
            f"long-context rates apply to the whole request (${tier.input.amount:g} in / "
            f"${tier.output.amount:g} out per 1M)."
        )


def _lambda_notes(
    option: SelfHostedOption, front: LambdaFront, workload: Workload
) -> Iterator[str]:
    megabytes = front.memory_gb * 1000
    decimal_megabytes = math.isclose(megabytes, round(megabytes))
    binary_megabytes = math.isclose(front.memory_gb * 1024, round(front.memory_gb * 1024))
    if round(megabytes) in _LAMBDA_MEMORY_MB and decimal_megabytes and not binary_megabytes:
        yield (
            f"{option.name}: Lambda memory_gb {front.memory_gb:g} looks like "
            f"{round(megabytes)} MB divided by 1000; AWS bills {round(megabytes)} MB as "
            f"{round(megabytes) / 1024:g} GB (write memory_mb: {round(megabytes)})."
        )
    if front.per_million_requests.amount == 0:
        yield (
            f"{option.name}: the Lambda request charge is 0 here; AWS also bills each request "
            "(see `llmecon prices show aws-lambda-x86_64`)."
        )
    yield from _serial_capacity_notes(option, front.seconds_per_request, workload)


def _serial_capacity_notes(
    option: SelfHostedOption, seconds: float, workload: Workload
) -> Iterator[str]:
    if seconds <= 0:
        return
    if not isinstance(option.fleet, FixedFleet):
        return  # sized from capacity: the fleet already grows with the volume
    per_replica = serial_capacity_per_day(seconds)
    for volume in workload.volumes:
        replicas = option.fleet.count
        in_flight = requests_in_flight(volume, seconds)
        if in_flight > replicas:
            yield (
                f"{option.name}: at {volume:,.0f} requests/day and {seconds:g} s per request, "
                f"{in_flight:,.1f} requests are in flight on average; {replicas} "
                f"{'replica' if replicas == 1 else 'replicas'} serving one request at a time "
                f"{'handles' if replicas == 1 else 'handle'} at most {per_replica * replicas:,} "
                f"requests/day, so this cost assumes capacity it does not pay for "
                f"(about {math.ceil(in_flight):,} replicas would be needed)."
            )
