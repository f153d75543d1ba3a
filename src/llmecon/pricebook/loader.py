"""Build the PriceBook from the package's data files and the litellm wheel's cost map.

Nothing is fetched from the network: the YAML files ship with llmecon, and LiteLLM's map is read
as a JSON file from the installed (pinned) wheel without importing litellm.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from collections import defaultdict
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeGuard

import yaml

from llmecon.core.prices import Price
from llmecon.errors import LlmeconError
from llmecon.pricebook import schema
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.entries import (
    PER_MILLION,
    ApiModelPrice,
    GatewayPrice,
    InstancePrice,
    LambdaPrice,
)

DATA_FILES = ("api_history.yaml", "aws_instances.yaml", "aws_serverless.yaml", "litellm.yaml")
_LITELLM_MODES = frozenset({"chat", "completion", "responses"})


def load_pricebook() -> PriceBook:
    """The price book from the shipped data files and the installed litellm cost map."""
    texts = {name: _data_text(name) for name in DATA_FILES}
    history = schema.HistoryFile.model_validate(_yaml(texts["api_history.yaml"]))
    instances = schema.InstanceFile.model_validate(_yaml(texts["aws_instances.yaml"]))
    serverless = schema.ServerlessFile.model_validate(_yaml(texts["aws_serverless.yaml"]))
    litellm = schema.LitellmFile.model_validate(_yaml(texts["litellm.yaml"]))
    digest = hashlib.sha256("".join(texts.values()).encode()).hexdigest()[:10]
    current, litellm_version = _litellm_prices(litellm)
    return PriceBook(
        api_history=_history(history),
        api_current=current,
        instances={entry.name: _instance(entry) for entry in instances.entries},
        lambdas={e.name: _lambda(e) for e in serverless.entries if e.service == "lambda"},
        gateways={e.name: _gateway(e) for e in serverless.entries if e.service == "api-gateway"},
        version=f"prices-{digest}+litellm-{litellm_version}",
    )


def _data_text(name: str) -> str:
    return (files("llmecon") / "data" / "prices" / name).read_text(encoding="utf-8")


def _yaml(text: str) -> Any:
    return yaml.safe_load(text)


def _history(data: schema.HistoryFile) -> dict[str, tuple[ApiModelPrice, ...]]:
    grouped: defaultdict[str, list[ApiModelPrice]] = defaultdict(list)
    for e in data.entries:
        grouped[e.model].append(
            ApiModelPrice(
                model=e.model,
                provider=e.provider,
                input=Price(e.input_per_1m, "tokens", e.source, e.as_of, PER_MILLION),
                output=Price(e.output_per_1m, "tokens", e.source, e.as_of, PER_MILLION),
                effective_from=e.effective_from,
                origin="history",
                note=e.note,
            )
        )
    return {
        model: tuple(sorted(prices, key=lambda p: p.effective_from or date.min))
        for model, prices in grouped.items()
    }


def _instance(e: schema.InstanceEntry) -> InstancePrice:
    spot = None
    if e.spot_hourly is not None:
        spot = Price(e.spot_hourly, "instance-hour", f"{e.source} (spot)", e.as_of)
    return InstancePrice(
        name=e.name,
        provider=e.provider,
        service=e.service,
        region=e.region,
        hourly=Price(e.hourly, "instance-hour", e.source, e.as_of),
        spot_hourly=spot,
        gpu=e.gpu,
        gpus=e.gpus,
        vcpus=e.vcpus,
        memory_gib=e.memory_gib,
        note=e.note,
    )


def _lambda(e: schema.ServerlessEntry) -> LambdaPrice:
    assert e.per_gb_second is not None
    return LambdaPrice(
        name=e.name,
        provider=e.provider,
        service=e.service,
        region=e.region,
        per_gb_second=Price(e.per_gb_second, "GB-second", e.source, e.as_of),
        per_million_requests=Price(
            e.per_million_requests, "requests", e.source, e.as_of, PER_MILLION
        ),
        note=e.note,
    )


def _gateway(e: schema.ServerlessEntry) -> GatewayPrice:
    return GatewayPrice(
        name=e.name,
        provider=e.provider,
        service=e.service,
        region=e.region,
        per_million_requests=Price(
            e.per_million_requests, "requests", e.source, e.as_of, PER_MILLION
        ),
        note=e.note,
    )


def litellm_map_path(package: str = "litellm", filename: str = "") -> Path:
    """Where the installed litellm wheel keeps its cost map (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LlmeconError(
            f"the {package} package is not installed; its price map is needed for API prices "
            "(run `make venv` or `pip install llmecon`)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / filename


def _litellm_prices(meta: schema.LitellmFile) -> tuple[dict[str, ApiModelPrice], str]:
    path = litellm_map_path(meta.package, meta.file)
    installed = importlib.metadata.version(meta.package)
    if installed == meta.version:
        source, as_of = meta.source, meta.as_of
    else:  # a different wheel than the one the data file describes: say so in every source
        source = f"LiteLLM model cost map in the installed {meta.package} {installed} wheel"
        as_of = date.fromtimestamp(path.stat().st_mtime)
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    prices = {}
    for model, fields in raw.items():
        price = _litellm_entry(model, fields, source, as_of)
        if price is not None:
            prices[model] = price
    return prices, installed


def _litellm_entry(model: str, fields: Any, source: str, as_of: date) -> ApiModelPrice | None:
    if model == "sample_spec" or not isinstance(fields, dict):
        return None
    if fields.get("mode") not in _LITELLM_MODES:
        return None
    cost_in, cost_out = fields.get("input_cost_per_token"), fields.get("output_cost_per_token")
    if not _is_price(cost_in) or not _is_price(cost_out):
        return None
    return ApiModelPrice(
        model=model,
        provider=str(fields.get("litellm_provider", "unknown")),
        input=Price(cost_in * PER_MILLION, "tokens", source, as_of, PER_MILLION),
        output=Price(cost_out * PER_MILLION, "tokens", source, as_of, PER_MILLION),
        origin="litellm",
    )


def _is_price(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
