"""The library's calls: what `compare`, `plan` and `estimate` do, without the command line.

Each takes plain values (paths, dicts, names, numbers) and returns a result object whose
`to_dict()` is the command's JSON document. Errors raise `LlmeconError` with the same one-line
message the command prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmecon.errors import LlmeconError
from llmecon.library.results import ComparisonResult, EstimateResult, PlanResult

if TYPE_CHECKING:
    from llmecon.core.comparison import Scenario
    from llmecon.core.roofline import Efficiency, ModelSpec
    from llmecon.pricebook.book import PriceBook

__all__ = ["DEFAULT_APIS", "PRECISIONS", "compare", "estimate", "load_scenario", "plan"]

DEFAULT_APIS = ("gpt-4o-mini", "gpt-5-nano", "claude-haiku-4-5", "gemini-2.5-flash")
PRECISIONS = ("fp16", "fp8", "int8", "int4")


def _book(book: PriceBook | None) -> PriceBook:
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415

    return book if book is not None else load_pricebook()


def past_date(value: date | str | None, what: str = "as_of") -> date | None:
    """`value` as a date no later than today (UTC); prices are not known in advance."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise LlmeconError(f"{what} {value!r}: write YYYY-MM-DD, e.g. 2023-04-24") from None
    from datetime import UTC, datetime  # noqa: PLC0415

    today = datetime.now(UTC).date()
    if value > today:
        raise LlmeconError(
            f"{what} {value.isoformat()} is in the future; prices are known up to today "
            f"({today.isoformat()}): give a past date or leave it out for current prices"
        )
    return value


def load_scenario(
    source: str | Path | Mapping[str, Any],
    *,
    book: PriceBook | None = None,
    as_of: date | str | None = None,
) -> Scenario:
    """Read, validate and resolve a scenario: a YAML file's path, or a dict in the same format
    (docs/scenario.md). Catalog prices come from `book` (default: the shipped price book),
    API prices as of `as_of` when given."""
    from llmecon import scenario  # noqa: PLC0415

    when = past_date(as_of)
    if isinstance(source, Mapping):
        return scenario.scenario_from_data(dict(source), _book(book), "scenario", when)
    return scenario.load_scenario(Path(source), _book(book), when)


def compare(
    source: Scenario | str | Path | Mapping[str, Any],
    *,
    book: PriceBook | None = None,
    as_of: date | str | None = None,
) -> ComparisonResult:
    """Every option's cost at each volume of a scenario, and every break-even between them.

    `source` is a Scenario (from `load_scenario`), a YAML file's path, or a dict in the
    scenario format.
    """
    from llmecon.core.comparison import Scenario  # noqa: PLC0415
    from llmecon.core.comparison import compare as compare_scenario  # noqa: PLC0415

    found = _book(book)
    scenario = (
        source if isinstance(source, Scenario)
        else load_scenario(source, book=found, as_of=as_of)
    )  # fmt: skip
    return ComparisonResult(compare_scenario(scenario), found.version)


def _model(name: str | ModelSpec) -> ModelSpec:
    from llmecon.core.roofline import ModelSpec  # noqa: PLC0415
    from llmecon.pricebook.hardware import load_models  # noqa: PLC0415

    if isinstance(name, ModelSpec):
        return name
    models = load_models()
    found = models.get(name.lower())
    if found is None:
        names = ", ".join(sorted(key for key in models if "/" not in key))
        raise LlmeconError(f"unknown model {name!r}; use one of {names}")
    return found


def _efficiency(engine: str) -> Efficiency:
    from llmecon.core.roofline import engine_profile  # noqa: PLC0415

    try:
        return engine_profile(engine)
    except ValueError as error:
        raise LlmeconError(str(error)) from None


def plan(
    model: str | ModelSpec,
    *,
    requests_per_day: float,
    input_tokens: int,
    output_tokens: int,
    ttft_p95_ms: float | None = None,
    tpot_ms: float | None = None,
    apis: Iterable[str] = DEFAULT_APIS,
    hosted: bool = True,
    precisions: Iterable[str] = PRECISIONS,
    service: str = "all",
    clouds: Iterable[str] = ("aws",),
    pricing: str | Iterable[str] = "on_demand",
    peak_factor: float = 1.0,
    target_utilization: float = 1.0,
    ha: bool = False,
    engine: str = "vllm-0.6+",
    book: PriceBook | None = None,
) -> PlanResult:
    """The cheapest ways to self-host `model` at a volume under latency targets, next to paid
    APIs and the same model hosted per token (`llmecon plan`, docs/capacity.md)."""
    from llmecon.core.planning import FleetRules, Targets, make_plan  # noqa: PLC0415
    from llmecon.core.workload import Tokens  # noqa: PLC0415
    from llmecon.pricebook.catalog import (  # noqa: PLC0415
        api_options,
        hosted_options,
        machines,
        pricing_kinds,
    )
    from llmecon.pricebook.hardware import load_gpus  # noqa: PLC0415

    if requests_per_day <= 0 or input_tokens < 1 or output_tokens < 0:
        raise LlmeconError(
            "plan: requests_per_day must be > 0, input_tokens >= 1 and output_tokens >= 0"
        )
    spec, found = _model(model), _book(book)
    result = make_plan(
        spec,
        machines(found, load_gpus(), service, pricing, frozenset(clouds)),
        tuple(precisions),
        Tokens.of_split(input_tokens, output_tokens),
        requests_per_day,
        apis=api_options(found, apis),
        targets=Targets(ttft_p95_ms, tpot_ms),
        rules=FleetRules(peak_factor, target_utilization, 2 if ha else 1, spare=1 if ha else 0),
        efficiency=_efficiency(engine),
        hosted=hosted_options(found, spec.name) if hosted else [],
    )
    return PlanResult(result, found.version, pricing_kinds(pricing))


def estimate(
    model: str | ModelSpec,
    *,
    gpu: str | None = None,
    instance: str | None = None,
    gpus: int | None = None,
    precision: str = "fp16",
    concurrency: int | None = None,
    input_tokens: int = 512,
    output_tokens: int = 128,
    engine: str = "vllm-0.6+",
    explain: bool = False,
    book: PriceBook | None = None,
) -> EstimateResult:
    """Memory fit, TTFT, time per output token and throughput of one replica of `model` on
    `gpu` (or a catalog `instance`'s GPUs): the roofline model (docs/roofline.md)."""
    from llmecon.core.roofline import estimate as estimate_replica  # noqa: PLC0415
    from llmecon.pricebook.hardware import load_gpus  # noqa: PLC0415

    if (gpu is None) == (instance is None):
        raise LlmeconError("estimate: give gpu= or instance= (one of them)")
    if instance is not None:
        entry = _book(book).instance(instance)
        if not entry.gpu or entry.gpus < 1:
            raise LlmeconError(f"{entry.name} has no whole GPU; pick a GPU instance or give gpu=")
        gpu, gpus = entry.gpu, gpus or int(entry.gpus)
    table = load_gpus()
    spec = table.get(str(gpu).lower())
    if spec is None:
        raise LlmeconError(f"unknown GPU {gpu!r}; use one of {', '.join(table)}")
    try:
        result = estimate_replica(
            _model(model), spec, gpus or 1, precision, concurrency,
            input_tokens=input_tokens, output_tokens=output_tokens,
            efficiency=_efficiency(engine),
        )  # fmt: skip
    except ValueError as error:
        raise LlmeconError(str(error)) from None
    return EstimateResult(result, engine.lower(), explain)
