"""From a validated scenario spec and the price book to the core's Scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from llmecon.core.capacity import CapacityFleet
from llmecon.core.commitments import commitment, commitment_risk, is_commitment
from llmecon.core.comparison import Scenario
from llmecon.core.options import (
    ApiGatewayFront,
    ApiOption,
    FixedFleet,
    Fleet,
    LambdaFront,
    Option,
    SelfHostedOption,
    TokenPricing,
)
from llmecon.core.prices import Price
from llmecon.core.workload import Tokens, Workload
from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook, api_pricing, lacks_batch_cached_rate
from llmecon.pricebook.entries import ApiModelPrice, InstancePrice
from llmecon.pricebook.hosted import resolve_hosted
from llmecon.scenario.capacity_source import throughput
from llmecon.scenario.fine_tune_source import with_fine_tuning
from llmecon.scenario.ownership import with_fixed_costs
from llmecon.scenario.quality_source import build_quality, with_measured_tokens
from llmecon.scenario.schema import (
    ApiGatewaySpec,
    ApiSpec,
    LambdaSpec,
    OptionSpec,
    ScenarioSpec,
    SelfHostedSpec,
    WorkloadSpec,
)

MB_PER_GB = 1024  # AWS's rule for Lambda memory


@dataclass
class _Context:
    """What building one scenario needs, and the notes it gathers on the way."""

    book: PriceBook
    label: str
    as_of: date | None
    tokens: Tokens
    daily_profile: tuple[float, ...] | None = None
    cached_fraction: float = 0.0
    base: Path = Path()
    notes: list[str] = field(default_factory=list)

    def given(self, amount: float, unit: str, per: float = 1.0) -> Price:
        return Price(amount, unit, f"given in {self.label}", per=per)

    def fail(self, path: str, problem: str) -> LlmeconError:
        return LlmeconError(f"{self.label}: {path}: {problem}")


def build_scenario(
    spec: ScenarioSpec,
    book: PriceBook,
    label: str,
    as_of: date | None = None,
    base: Path | None = None,
) -> Scenario:
    """The core Scenario for `spec`, resolving catalog names in `book` at `as_of`.

    Files the scenario names (bench profiles) are found relative to `base`.
    """
    workload = _workload(spec.workload)
    profile = spec.workload.daily_profile
    when = as_of if as_of is not None else spec.as_of
    today = datetime.now(UTC).date()
    if when is not None and when > today:
        raise LlmeconError(
            f"{label}: as_of: {when.isoformat()} is in the future; prices are known up to today "
            f"({today.isoformat()}): give a past date, or leave it out for current prices"
        )
    context = _Context(
        book,
        label,
        when,
        workload.tokens,
        tuple(profile) if profile is not None else None,
        spec.workload.cached_fraction,
        base if base is not None else Path(),
    )
    options = tuple(
        _option(option, index, workload.tokens, context)
        for index, option in enumerate(spec.options)
    )
    if spec.fixed_costs is not None:
        options = with_fixed_costs(options, spec.fixed_costs, label)
    if spec.fine_tune is not None:
        options, tune_notes = with_fine_tuning(options, spec.fine_tune, book, label)
        context.notes.extend(tune_notes)
    quality = None
    if spec.quality is not None:
        names = [option.name for option in spec.options]
        quality, quality_notes = build_quality(spec.quality, names, label, context.base)
        options, token_notes = with_measured_tokens(options, spec.quality, label, context.base)
        context.notes.extend(quality_notes + token_notes)
    notes = tuple(context.notes) + tuple(spec.notes)
    return Scenario(spec.name, workload, options, notes, quality=quality)


def _workload(spec: WorkloadSpec) -> Workload:
    if spec.tokens_per_request is not None:
        tokens = Tokens.of_total(spec.tokens_per_request)
    elif spec.words_per_request is not None:
        tokens = Tokens.of_words(spec.words_per_request)
    else:
        assert spec.input_tokens is not None and spec.output_tokens is not None
        tokens = Tokens.of_split(spec.input_tokens, spec.output_tokens)
    return Workload(tuple(spec.requests_per_day), tokens)


def _option(spec: OptionSpec, index: int, tokens: Tokens, context: _Context) -> Option:
    path = f"options[{index}]"
    if spec.api is not None:
        return _api(spec.name, spec.api, f"{path}.api", tokens, context)
    assert spec.self_hosted is not None
    return _self_hosted(spec.name, spec.self_hosted, f"{path}.self_hosted", context)


def _api(name: str, spec: ApiSpec, path: str, tokens: Tokens, context: _Context) -> ApiOption:
    if spec.price_per_1k_tokens is not None:
        return ApiOption(
            name, TokenPricing(total=context.given(spec.price_per_1k_tokens, "tokens", 1e3))
        )
    if spec.model is None:
        assert spec.input_per_1m is not None and spec.output_per_1m is not None
        if not tokens.is_split:
            raise context.fail(
                path,
                "input_per_1m/output_per_1m need the workload's input_tokens and output_tokens "
                "(it gives only a token total); split the workload's tokens or use "
                "price_per_1k_tokens",
            )
        cached = spec.cached_input_per_1m
        pricing = TokenPricing(
            input=context.given(spec.input_per_1m, "tokens", 1e6),
            output=context.given(spec.output_per_1m, "tokens", 1e6),
            cached_input=context.given(cached, "tokens", 1e6) if cached is not None else None,
        )
        return ApiOption(name, pricing, cached_fraction=context.cached_fraction)
    return _catalog_api(name, spec, f"{path}.model", tokens, context)


def _catalog_api(
    name: str, spec: ApiSpec, path: str, tokens: Tokens, context: _Context
) -> ApiOption:
    model = spec.model
    assert model is not None
    try:
        price = _api_price(name, model, tokens, context)
        pricing = api_pricing(price, batch=spec.batch)
    except LlmeconError as error:
        raise context.fail(path, str(error)) from None
    problem = pricing.context_problem(tokens)
    if problem is not None:
        raise context.fail(path, f"{model}: {problem}")
    if not tokens.is_split and not pricing.is_flat:
        raise context.fail(
            path,
            f"{model} prices input and output tokens differently ({price.summary()}) but the "
            "workload gives only a token total; give workload.input_tokens and output_tokens",
        )
    when = f", effective from {price.effective_from}" if price.effective_from else ""
    assert pricing.input is not None and pricing.output is not None
    rates = f"${pricing.input.amount:g} in / ${pricing.output.amount:g} out per 1M tokens"
    batch = " batch" if spec.batch else ""
    context.notes.append(f"{name}: {model}{batch} at {rates}{when} ({pricing.input.cited()}).")
    if spec.batch and context.cached_fraction > 0 and lacks_batch_cached_rate(price):
        assert pricing.cached_input is not None
        context.notes.append(
            f"{name}: no batch cached-input rate is known for {model}; its cached tokens are "
            f"billed at the interactive cached rate (${pricing.cached_input.amount:g} per 1M), "
            "not discounted further."
        )
    if context.as_of is not None and price.origin == "snapshot":
        context.notes.append(
            f"{name}: no dated history for {model}; its current price is used for "
            f"{context.as_of.isoformat()}."
        )
    return ApiOption(
        name, pricing, model=model, cached_fraction=context.cached_fraction, batch=spec.batch
    )


def _api_price(name: str, model: str, tokens: Tokens, context: _Context) -> ApiModelPrice:
    """A catalog model, or an open model by its plain name: its cheapest host for `tokens`."""
    try:
        return context.book.api_model(model, context.as_of)
    except LlmeconError:
        known = model in context.book.api_history or model in context.book.api_current
        hosted = None if known else resolve_hosted(context.book, model, tokens)
        if hosted is None:
            raise
    price, offers = hosted
    context.notes.append(
        f"{name}: {model} is hosted per token by {len(offers.offers)} provider(s) in the price "
        f"map; the cheapest matching offer, {price.model}, is used (name another, e.g. "
        f"{offers.offers[-1].model}, to choose)."
    )
    listed = [o.max_input_tokens for o in offers.offers if o.max_input_tokens is not None]
    prompt = tokens.input if tokens.input is not None else tokens.total
    if price.max_input_tokens is None and listed and prompt > max(listed):
        context.notes.append(
            f"{name}: {price.model} lists no context window, and no host of {model} lists one "
            f"that takes a {prompt:,.0f}-token prompt (the longest is {max(listed):,}); check "
            "that the model accepts it."
        )
    return price


def _self_hosted(name: str, spec: SelfHostedSpec, path: str, context: _Context) -> SelfHostedOption:
    hourly = _hourly(name, spec, path, context)
    return SelfHostedOption(
        name=name,
        hourly=hourly,
        fleet=_fleet(spec, path, context),
        instance=spec.instance,
        lambda_front=_lambda(spec.lambda_, context) if spec.lambda_ else None,
        api_gateway=_gateway(spec.api_gateway, context) if spec.api_gateway else None,
        commitment=commitment(spec.pricing, hourly.amount) if is_commitment(spec.pricing) else None,
    )


def _fleet(spec: SelfHostedSpec, path: str, context: _Context) -> Fleet:
    if spec.capacity is None:
        return FixedFleet(spec.replicas or 1)
    capacity = spec.capacity
    if capacity.autoscale and is_commitment(spec.pricing):
        raise context.fail(
            f"{path}.capacity.autoscale",
            f"pricing: {spec.pricing} bills committed machines 24 h a day; remove autoscale",
        )
    if capacity.peak_factor is not None and context.daily_profile is not None:
        raise context.fail(
            f"{path}.capacity.peak_factor",
            "the workload's daily_profile already gives the peak; remove peak_factor",
        )
    rate = throughput(
        capacity, f"{path}.capacity", context.tokens,
        instance=_instance(spec, path, context), base=context.base, fail=context.fail,
    )  # fmt: skip
    return CapacityFleet(
        rate,
        peak_factor=capacity.peak_factor or 1.0,
        target_utilization=capacity.target_utilization,
        min_replicas=capacity.min_replicas,
        daily_profile=context.daily_profile,
        autoscale=capacity.autoscale,
    )


def _instance(spec: SelfHostedSpec, path: str, context: _Context) -> InstancePrice | None:
    if spec.instance is None:
        return None
    try:
        return context.book.instance(spec.instance)
    except LlmeconError as error:
        raise context.fail(f"{path}.instance", str(error)) from None


def _hourly(name: str, spec: SelfHostedSpec, path: str, context: _Context) -> Price:
    catalog = _instance(spec, path, context)
    if spec.pricing == "spot":
        assert catalog is not None
        if catalog.spot_hourly is None:
            raise context.fail(
                f"{path}.pricing",
                f"no spot price is known for {catalog.name}; use pricing: on_demand "
                "or give hourly_price",
            )
        if spec.hourly_price is None:
            context.notes.append(
                f"{name}: {catalog.name} spot at ${catalog.spot_hourly.amount:g}/h "
                f"({catalog.spot_hourly.cited()}); spot capacity can be reclaimed."
            )
            return catalog.spot_hourly
    if is_commitment(spec.pricing):
        assert catalog is not None
        return _committed(name, catalog, spec, path, context)
    if spec.hourly_price is None:
        assert catalog is not None
        context.notes.append(
            f"{name}: {catalog.name} at ${catalog.hourly.amount:g}/h ({catalog.hourly.cited()})."
        )
        return catalog.hourly
    if catalog is not None and catalog.hourly.amount != spec.hourly_price:
        context.notes.append(
            f"{name}: hourly_price ${spec.hourly_price:g}/h overrides the catalog's "
            f"{catalog.name} price ${catalog.hourly.amount:g}/h ({catalog.hourly.cited()})."
        )
    return context.given(spec.hourly_price, "instance-hour")


def _committed(
    name: str, catalog: InstancePrice, spec: SelfHostedSpec, path: str, context: _Context
) -> Price:
    """A commitment's effective hourly rate, with its upfront and term lines as notes."""
    rate = catalog.commitments.get(spec.pricing)
    if rate is None:
        known = ", ".join(catalog.commitments) or "none"
        raise context.fail(
            f"{path}.pricing",
            f"no {spec.pricing} rate is known for {catalog.name} (known: {known}); "
            "use pricing: on_demand or give hourly_price",
        )
    if spec.hourly_price is not None:
        raise context.fail(
            f"{path}.hourly_price", f"pricing: {spec.pricing} takes the catalog's rate; remove one"
        )
    terms = commitment(spec.pricing, rate.amount)
    machines = spec.replicas or 1
    parts = "; ".join(
        f"{label}: {'not stated' if amount is None else f'${amount:,.2f}'}"
        for label, amount in terms.lines(machines)
    )
    fleet = (
        "per machine (capacity sizes the fleet per volume; each machine is its own commitment)"
        if spec.capacity is not None
        else f"for {machines} machine(s)"
    )
    context.notes.append(
        f"{name}: {catalog.name} {spec.pricing} at ${rate.amount:g}/h effective "
        f"({rate.cited()}); {fleet}: {parts}."
    )
    context.notes.append(f"{name}: {commitment_risk(spec.pricing)}")
    return rate


def _lambda(spec: LambdaSpec, context: _Context) -> LambdaFront:
    catalog = context.book.lambda_price(f"aws-lambda-{spec.architecture}")
    memory_gb = spec.memory_gb if spec.memory_gb is not None else (spec.memory_mb or 0) / MB_PER_GB
    per_gb_second = catalog.per_gb_second
    if spec.price_per_gb_second is not None:
        per_gb_second = context.given(spec.price_per_gb_second, "GB-second")
    per_request = catalog.per_million_requests
    if spec.price_per_million_requests is not None:
        per_request = context.given(spec.price_per_million_requests, "requests", 1e6)
    return LambdaFront(memory_gb, spec.seconds_per_request, per_gb_second, per_request)


def _gateway(spec: ApiGatewaySpec, context: _Context) -> ApiGatewayFront:
    if spec.price_per_million_requests is not None:
        return ApiGatewayFront(context.given(spec.price_per_million_requests, "requests", 1e6))
    return ApiGatewayFront(
        context.book.gateway(f"aws-api-gateway-{spec.type}").per_million_requests
    )
