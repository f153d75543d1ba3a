"""Scenario file format v1, as a user writes it. Unknown keys and wrong types are errors."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


def _given(model: BaseModel, *names: str) -> list[str]:
    return [name for name in names if getattr(model, name) is not None]


class WorkloadSpec(_Strict):
    requests_per_day: list[Positive]
    tokens_per_request: Positive | None = None
    input_tokens: NonNegative | None = None
    output_tokens: NonNegative | None = None
    words_per_request: Positive | None = None

    @field_validator("requests_per_day", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int | float) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_token_form(self) -> WorkloadSpec:
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
        return self


class ApiSpec(_Strict):
    price_per_1k_tokens: NonNegative | None = None
    input_per_1m: NonNegative | None = None
    output_per_1m: NonNegative | None = None
    model: Name | None = None

    @model_validator(mode="after")
    def _one_price_form(self) -> ApiSpec:
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
        return self


class LambdaSpec(_Strict):
    memory_gb: Positive | None = None
    memory_mb: Positive | None = None
    seconds_per_request: NonNegative
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    price_per_gb_second: NonNegative | None = None
    price_per_million_requests: NonNegative | None = None

    @model_validator(mode="after")
    def _one_memory(self) -> LambdaSpec:
        if len(_given(self, "memory_gb", "memory_mb")) != 1:
            raise ValueError("give exactly one of memory_gb or memory_mb")
        return self


class ApiGatewaySpec(_Strict):
    type: Literal["http", "rest"] = "http"
    price_per_million_requests: NonNegative | None = None


class SelfHostedSpec(_Strict):
    hourly_price: NonNegative | None = None
    instance: Name | None = None
    replicas: Annotated[int, Field(ge=1)] = 1
    lambda_: LambdaSpec | None = Field(default=None, alias="lambda")
    api_gateway: ApiGatewaySpec | None = None

    @model_validator(mode="after")
    def _priced(self) -> SelfHostedSpec:
        if self.hourly_price is None and self.instance is None:
            raise ValueError("give hourly_price or instance (a catalog name) to price the machine")
        return self


class OptionSpec(_Strict):
    name: Name
    api: ApiSpec | None = None
    self_hosted: SelfHostedSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> OptionSpec:
        kinds = _given(self, "api", "self_hosted")
        if len(kinds) != 1:
            raise ValueError("give exactly one of api or self_hosted in each option")
        return self


class ScenarioSpec(_Strict):
    version: Literal[1] = 1
    name: Name
    as_of: date | None = None
    workload: WorkloadSpec
    options: Annotated[list[OptionSpec], Field(min_length=1)]
    notes: list[str] = []

    @field_validator("options")
    @classmethod
    def _unique_names(cls, options: list[OptionSpec]) -> list[OptionSpec]:
        seen: set[str] = set()
        for option in options:
            if option.name in seen:
                raise ValueError(f"option name {option.name!r} is used twice; names must be unique")
            seen.add(option.name)
        return options
