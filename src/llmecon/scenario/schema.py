"""Scenario file format v1, as a user writes it. Unknown keys and wrong types are errors.

Records read by `llmecon.records` (strictly: no text for numbers); each `check` runs once the
record's fields are valid, and its ValueError becomes the one-line error at that key path.
"""

# No `from __future__ import annotations`: llmecon.records reads these annotations at run time.
from datetime import date
from typing import Annotated, Any, Literal

from llmecon.core.commitments import PRICING_KEYS, UNSOURCED_KEYS
from llmecon.records import Before, Bound, Check, Record, field
from llmecon.scenario.considerations import ConsiderationsSpec

NonNegative = Annotated[float, Bound(ge=0)]
Positive = Annotated[float, Bound(gt=0)]
Name = Annotated[str, Bound(min_length=1)]
Fraction = Annotated[float, Bound(ge=0, le=1)]
Count = Annotated[int, Bound(ge=1)]


def _given(spec: object, *names: str) -> list[str]:
    return [name for name in names if getattr(spec, name) is not None]


HOURS_PER_DAY = 24


def _one_weight_per_hour(weights: list[float]) -> list[float]:
    if len(weights) != HOURS_PER_DAY:
        raise ValueError(
            f"daily_profile has {len(weights)} weights; give 24 (one per hour, 0 to 23)"
        )
    if not any(weights):
        raise ValueError("daily_profile weights are all 0; give the relative load per hour")
    return weights


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else value


class WorkloadSpec(Record):
    requests_per_day: Annotated[list[Positive], Before(_one_or_many)]
    tokens_per_request: Positive | None = None
    input_tokens: NonNegative | None = None
    output_tokens: NonNegative | None = None
    words_per_request: Positive | None = None
    daily_profile: Annotated[list[NonNegative] | None, Check(_one_weight_per_hour)] = None
    cached_fraction: Fraction = 0.0

    def check(self) -> None:
        if not self.requests_per_day:
            raise ValueError("requests_per_day is empty; give a number or a list of numbers")
        split = _given(self, "input_tokens", "output_tokens")
        forms = _given(self, "tokens_per_request", "words_per_request") + (
            ["split"] if split else []
        )
        if len(split) == 1:
            raise ValueError(
                f"{split[0]} needs its partner; give both input_tokens and output_tokens"
            )
        if len(forms) != 1:
            raise ValueError(
                "give exactly one of tokens_per_request, input_tokens + output_tokens, "
                "or words_per_request"
            )


class ApiSpec(Record):
    price_per_1k_tokens: NonNegative | None = None
    input_per_1m: NonNegative | None = None
    output_per_1m: NonNegative | None = None
    cached_input_per_1m: NonNegative | None = None
    model: Name | None = None
    batch: bool = False

    def check(self) -> None:
        split = _given(self, "input_per_1m", "output_per_1m")
        if len(split) == 1:
            raise ValueError(
                f"{split[0]} needs its partner; give both input_per_1m and output_per_1m"
            )
        forms = _given(self, "price_per_1k_tokens", "model") + (["split"] if split else [])
        if len(forms) != 1:
            raise ValueError(
                "give exactly one of price_per_1k_tokens, input_per_1m + output_per_1m, "
                "or model (a catalog name)"
            )
        if self.cached_input_per_1m is not None and not split:
            raise ValueError("cached_input_per_1m goes with input_per_1m and output_per_1m")
        if self.batch and self.model is None:
            raise ValueError("batch: true needs model (a catalog name with batch prices)")


class LambdaSpec(Record):
    memory_gb: Positive | None = None
    memory_mb: Positive | None = None
    seconds_per_request: NonNegative
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    price_per_gb_second: NonNegative | None = None
    price_per_million_requests: NonNegative | None = None

    def check(self) -> None:
        if len(_given(self, "memory_gb", "memory_mb")) != 1:
            raise ValueError("give exactly one of memory_gb or memory_mb")


class ApiGatewaySpec(Record):
    type: Literal["http", "rest"] = "http"
    price_per_million_requests: NonNegative | None = None


EngineName = Literal[
    "vllm-0.6+", "vllm-0.4", "sglang", "tgi-2", "trt-llm", "llama.cpp", "tgi-1",
    "current", "legacy", "vllm", "tgi", "tensorrt-llm", "lmdeploy", "hf-2023",
]  # fmt: skip


class EstimateSpec(Record):
    model: Name | None = None
    config_file: Name | None = field(key="model_config", default=None)
    gpu: Name | None = None
    gpus: Annotated[int, Bound(ge=1)] | None = None
    precision: Literal["fp16", "fp8", "int8", "int4"] = "fp16"
    concurrency: Annotated[int, Bound(ge=1)] | None = None
    engine: EngineName = "vllm-0.6+"
    kv_cache_dtype: Literal["fp16", "fp8"] | None = None
    gpu_memory_utilization: Annotated[float, Bound(gt=0, le=1)] | None = None
    max_batch: Annotated[int, Bound(ge=1)] | None = None
    max_batched_tokens: Annotated[int, Bound(ge=1)] | None = None
    chunked_prefill: bool | None = None
    prefix_cache_hit: Annotated[float, Bound(ge=0, le=0.99)] | None = None

    def check(self) -> None:
        if (self.model is None) == (self.config_file is None):
            raise ValueError("give model (a catalog name) or model_config (a config.json path)")


class CapacitySpec(Record):
    seconds_per_request: Positive | None = None
    concurrency: Annotated[int, Bound(ge=1)] | None = None
    requests_per_second: Positive | None = None
    output_tokens_per_second: Positive | None = None
    profile: Name | None = None
    estimate: EstimateSpec | None = None
    peak_factor: Annotated[float, Bound(ge=1)] | None = None
    target_utilization: Annotated[float, Bound(gt=0, le=1)] = 1.0
    min_replicas: Annotated[int, Bound(ge=0)] = 1
    autoscale: bool = False

    def check(self) -> None:
        sources = _given(
            self, "seconds_per_request", "requests_per_second", "output_tokens_per_second",
            "profile", "estimate",
        )  # fmt: skip
        if len(sources) != 1:
            raise ValueError(
                "give exactly one of seconds_per_request (with concurrency), requests_per_second, "
                "output_tokens_per_second, profile or estimate"
            )
        if self.concurrency is not None and self.seconds_per_request is None:
            raise ValueError("concurrency goes with seconds_per_request; add seconds_per_request")


class SelfHostedSpec(Record):
    hourly_price: NonNegative | None = None
    instance: Name | None = None
    pricing: str = "on_demand"  # on_demand, spot or a commitment key (core.commitments)
    replicas: Annotated[int, Bound(ge=1)] | None = None
    capacity: CapacitySpec | None = None
    lambda_: LambdaSpec | None = field(key="lambda", default=None)
    api_gateway: ApiGatewaySpec | None = None

    def check(self) -> None:
        if self.hourly_price is None and self.instance is None:
            raise ValueError("give hourly_price or instance (a catalog name) to price the machine")
        if self.replicas is not None and self.capacity is not None:
            raise ValueError(
                "give replicas (a fixed fleet) or capacity (replicas sized from throughput), "
                "not both"
            )
        if self.pricing in UNSOURCED_KEYS:
            raise ValueError(
                f"pricing: {self.pricing} has no dated per-instance rates in the price book; "
                "use a reserved_* key (EC2) or give hourly_price with pricing: on_demand"
            )
        if self.pricing not in PRICING_KEYS:
            raise ValueError(f"pricing: use one of {', '.join(PRICING_KEYS)}")
        if self.pricing != "on_demand" and self.instance is None:
            raise ValueError(
                f"pricing: {self.pricing} needs instance (a catalog name priced that way)"
            )


class LabourSpec(Record):
    fte: NonNegative
    loaded_salary_per_year: NonNegative


class StorageSpec(Record):
    gb: NonNegative
    price_per_gb_month: NonNegative


class DataTransferSpec(Record):
    price_per_gb: NonNegative
    bytes_per_token: Positive = 4.0


class FixedCostsSpec(Record):
    """Costs of ownership beyond compute, each "your figure" (a line item with that source)."""

    labour: LabourSpec | None = None
    on_call_per_month: NonNegative | None = None
    monitoring_per_month: NonNegative | None = None
    storage: StorageSpec | None = None
    data_transfer: DataTransferSpec | None = None
    load_balancer_per_month: NonNegative | None = None
    applies_to: list[Name] | None = None


class OneOffCostSpec(Record):
    """A cost paid once (set-up, migration labour), for projections and payback."""

    name: Name
    amount: NonNegative
    applies_to: list[Name] | None = None


class OptionSpec(Record):
    name: Name
    api: ApiSpec | None = None
    self_hosted: SelfHostedSpec | None = None

    def check(self) -> None:
        kinds = _given(self, "api", "self_hosted")
        if len(kinds) != 1:
            raise ValueError("give exactly one of api or self_hosted in each option")


class MeasuredAccuracySpec(Record):
    correct: Annotated[int, Bound(ge=0)]
    total: Annotated[int, Bound(ge=1)]

    def check(self) -> None:
        if self.correct > self.total:
            raise ValueError(f"correct ({self.correct}) is more than total ({self.total})")


class QualitySpec(Record):
    """Accuracy per option: from a `llmecon eval` result and/or given (issue 17, docs/eval.md)."""

    from_: Name | None = field(key="from", default=None)
    endpoints: dict[Name, Name] = field(
        default_factory=dict
    )  # option name -> endpoint name in the eval result
    accuracy: dict[Name, MeasuredAccuracySpec] = field(
        default_factory=dict
    )  # option name -> correct of total
    min_accuracy: Annotated[float, Bound(ge=0, le=1)] | None = None
    tokens: Literal["workload", "measured"] = "workload"  # measured: each option's eval means

    def check(self) -> None:
        if self.tokens == "measured" and self.from_ is None:
            raise ValueError("tokens: measured takes the tokens of `from`; add from")
        if self.from_ is None and not self.accuracy:
            raise ValueError("give from (a `llmecon eval --output` file) and/or accuracy")
        if self.endpoints and self.from_ is None:
            raise ValueError("endpoints maps options to the endpoints of `from`; add from")


class FineTuneRunSpec(Record):
    """How one option's fine-tuning run is priced: a paid API's training price, or GPU-hours."""

    price_per_1m_training_tokens: NonNegative | None = None
    training_tokens_per_second: Positive | None = None
    hourly_price: NonNegative | None = None
    instance: Name | None = None
    instances: Annotated[int, Bound(ge=1)] = 1

    def check(self) -> None:
        if len(_given(self, "price_per_1m_training_tokens", "training_tokens_per_second")) != 1:
            raise ValueError(
                "give price_per_1m_training_tokens (a paid fine-tuning API) or "
                "training_tokens_per_second with hourly_price or instance (a run you host)"
            )
        hosted = _given(self, "hourly_price", "instance")
        if self.training_tokens_per_second is not None and not hosted:
            raise ValueError("training_tokens_per_second needs hourly_price or instance")
        if self.price_per_1m_training_tokens is not None and (hosted or self.instances != 1):
            raise ValueError("a paid fine-tuning API takes no hourly_price, instance or instances")


class FineTuneSpec(Record):
    """A one-off fine-tuning run per option, amortized over `amortize_days` (issue 17)."""

    training_tokens: Positive
    epochs: Positive = 1.0
    amortize_days: Positive
    options: Annotated[dict[Name, FineTuneRunSpec], Bound(min_length=1)]


def _unique_names(options: list[OptionSpec]) -> list[OptionSpec]:
    seen: set[str] = set()
    for option in options:
        if option.name in seen:
            raise ValueError(f"option name {option.name!r} is used twice; names must be unique")
        seen.add(option.name)
    return options


class ScenarioSpec(Record):
    version: Literal[1] = 1
    name: Name
    as_of: date | None = None
    workload: WorkloadSpec
    options: Annotated[list[OptionSpec], Bound(min_length=1), Check(_unique_names)]
    fixed_costs: FixedCostsSpec | None = None
    one_off_costs: list[OneOffCostSpec] = field(default_factory=list)
    quality: QualitySpec | None = None
    fine_tune: FineTuneSpec | None = None
    considerations: ConsiderationsSpec | None = None  # non-cost trade-offs (issue 15)
    notes: list[str] = field(default_factory=list)
