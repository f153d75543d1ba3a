"""Model shapes and GPU datasheets for the roofline estimator, from the package data files.

`data/models.yaml` and `data/gpus.yaml` are validated here (extra keys are errors) and turned
into the core's frozen `ModelSpec` / `GpuSpec`, keyed by lower-case name (and each model's
Hugging Face ids). `load_model_file` reads a model a user describes: a Hugging Face
`config.json` or a YAML entry in the models.yaml format.
"""

# No `from __future__ import annotations`: llmecon.records reads these annotations at run time.
import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml

from llmecon import records
from llmecon.core.model_config import spec_from_hf_config
from llmecon.core.model_spec import Architecture, GpuSpec, ModelSpec
from llmecon.errors import LlmeconError
from llmecon.records import Bound, Record, field

MODELS_FILE = "models.yaml"
GPUS_FILE = "gpus.yaml"

PositiveInt = Annotated[int, Bound(gt=0)]
Positive = Annotated[float, Bound(gt=0)]
Text = Annotated[str, Bound(min_length=1)]
Source = Annotated[str, Bound(min_length=3)]


class ModelEntry(Record):
    name: Text
    architecture: Architecture
    parameters: PositiveInt
    layers: PositiveInt
    hidden_size: PositiveInt
    attention_heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    max_context: PositiveInt
    decoder_layers: PositiveInt | None = None
    decoder_parameters: PositiveInt | None = None
    experts: Annotated[int, Bound(ge=0)] = 0
    active_experts: Annotated[int, Bound(ge=0)] = 0
    active_parameters: PositiveInt | None = None
    kv_values_per_token_per_layer: PositiveInt | None = None
    aliases: list[Text] = field(default_factory=list)
    source: Source
    note: str | None = None


class GpuEntry(Record):
    name: Text
    memory_gb: Positive
    bandwidth_gb_s: Positive
    fp16_tflops: Positive
    int8_tops: Positive
    fp8_tflops: Positive | None = None
    gemm_efficiency: Annotated[float, Bound(gt=0, le=1)] = 1.0
    link_gb_s: Positive = 25.0
    link_latency_us: Annotated[float, Bound(ge=0)] = 30.0
    source: Source
    note: str | None = None


class UnsupportedEntry(Record):
    name: Text
    reason: Text


class ModelFile(Record):
    schema_: Literal[1] = field(key="schema")
    entries: list[ModelEntry]


class GpuFile(Record):
    schema_: Literal[1] = field(key="schema")
    entries: list[GpuEntry]
    unsupported: list[UnsupportedEntry] = field(default_factory=list)


Spec = TypeVar("Spec", ModelSpec, GpuSpec)


def load_models() -> dict[str, ModelSpec]:
    """The shipped model shapes, keyed by lower-case name (e.g. "llama-3.1-8b")."""
    return parse_models(_data_text(MODELS_FILE), origin=f"llmecon/data/{MODELS_FILE}")


def load_gpus() -> dict[str, GpuSpec]:
    """The shipped GPU datasheets, keyed by lower-case name (e.g. "a100-40gb")."""
    return parse_gpus(_data_text(GPUS_FILE), origin=f"llmecon/data/{GPUS_FILE}")


def unsupported_accelerators() -> dict[str, str]:
    """Accelerators the roofline cannot estimate (lower-case name -> why)."""
    data = _validated(GpuFile, _data_text(GPUS_FILE), f"llmecon/data/{GPUS_FILE}")
    return {entry.name.lower(): entry.reason for entry in data.unsupported}


def parse_models(text: str, origin: str = "<models>") -> dict[str, ModelSpec]:
    """Validate a models YAML document (schema 1) into specs keyed by lower-case name; each
    model is also found under its lower-case Hugging Face ids (`aliases`)."""
    data = _validated(ModelFile, text, origin)
    specs = _keyed(origin, [(e.name, _model_builder(e)) for e in data.entries])
    for entry in data.entries:
        for alias in entry.aliases:
            specs.setdefault(alias.lower(), specs[entry.name.lower()])
    return specs


def load_model_file(path: Path) -> ModelSpec:
    """A model from a Hugging Face config.json, or a YAML/JSON entry in the models.yaml
    format (name, architecture, parameters, layers, ...). Errors name the file and the fix."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LlmeconError(f"no such model config {path}; give a config.json path") from None
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: 2024-02-30, 10**5000
        raise LlmeconError(f"{path}: cannot read it as JSON or YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise LlmeconError(f"{path}: expected a JSON/YAML object (a config.json)")
    if "layers" in raw:
        text = json.dumps({"schema": 1, "entries": [raw]}, default=str)  # a YAML date: text
        return next(iter(parse_models(text, origin=str(path)).values()))
    fallback = path.parent.name if path.stem == "config" and path.parent.name else path.stem
    name = str(raw.get("name") or raw.get("_name_or_path") or fallback)
    try:
        return spec_from_hf_config(raw, name.lower(), f"{path.name} (Hugging Face config)")
    except ValueError as exc:
        raise LlmeconError(f"{path}: {exc}") from None


def parse_gpus(text: str, origin: str = "<gpus>") -> dict[str, GpuSpec]:
    """Validate a GPUs YAML document (schema 1) into specs keyed by lower-case name."""
    data = _validated(GpuFile, text, origin)
    return _keyed(origin, [(e.name, _gpu_builder(e)) for e in data.entries])


def _data_text(name: str) -> str:
    return (files("llmecon") / "data" / name).read_text(encoding="utf-8")


Document = TypeVar("Document", ModelFile, GpuFile)


def _validated(kind: type[Document], text: str, origin: str) -> Document:
    try:
        raw: Any = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return records.read(kind, raw, strict=False)
    except yaml.YAMLError as exc:
        raise LlmeconError(f"{origin}: not valid YAML ({exc}); fix the file") from exc
    except records.RecordError as exc:
        raise LlmeconError(f"{origin}: does not match schema 1: {exc}; fix the file") from exc
    except ValueError as exc:  # YAML's own: a date like 2024-02-30, an int over 4300 digits
        raise LlmeconError(f"{origin}: a value cannot be read ({exc}); fix the file") from exc


def _model_builder(e: ModelEntry) -> Callable[[], ModelSpec]:
    return lambda: ModelSpec(
        name=e.name.lower(),
        architecture=e.architecture,
        parameters=e.parameters,
        layers=e.layers,
        hidden_size=e.hidden_size,
        attention_heads=e.attention_heads,
        kv_heads=e.kv_heads,
        head_dim=e.head_dim,
        max_context=e.max_context,
        source=e.source,
        decoder_parameters=e.decoder_parameters,
        decoder_layers=e.decoder_layers,
        experts=e.experts,
        active_experts=e.active_experts,
        active_parameters=e.active_parameters,
        kv_values_per_token_per_layer=e.kv_values_per_token_per_layer,
    )


def _gpu_builder(e: GpuEntry) -> Callable[[], GpuSpec]:
    return lambda: GpuSpec(
        name=e.name,
        memory_gb=e.memory_gb,
        bandwidth_gb_s=e.bandwidth_gb_s,
        fp16_tflops=e.fp16_tflops,
        int8_tops=e.int8_tops,
        fp8_tflops=e.fp8_tflops,
        source=e.source,
        gemm_efficiency=e.gemm_efficiency,
        link_gb_s=e.link_gb_s,
        link_latency_us=e.link_latency_us,
    )


def _keyed(origin: str, builders: list[tuple[str, Callable[[], Spec]]]) -> dict[str, Spec]:
    """Build each spec (its own checks become errors naming the file) under a unique key."""
    specs: dict[str, Spec] = {}
    for name, build in builders:
        key = name.lower()
        if key in specs:
            raise LlmeconError(f"{origin}: {name!r} is listed twice; keep one entry")
        try:
            specs[key] = build()
        except ValueError as exc:
            raise LlmeconError(f"{origin}: {exc}; fix the entry") from exc
    return specs
