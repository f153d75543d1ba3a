"""Options shared by `estimate` and `plan`: the model (catalog name or config file) and the
serving engine (profile and its settings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from llmecon.core.roofline import Efficiency, ModelSpec

ENGINE_CHOICES = (
    "vllm-0.6+", "vllm-0.4", "sglang", "tgi-2", "trt-llm", "llama.cpp", "tgi-1",
    "current", "legacy", "vllm", "tgi", "tensorrt-llm", "lmdeploy", "hf-2023",
)  # fmt: skip
F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--model-config", type=click.Path(dir_okay=False, path_type=Path),
                 help="A Hugging Face config.json (or a YAML model entry) instead of --model."),
    click.option("--engine", type=click.Choice(ENGINE_CHOICES, case_sensitive=False),
                 default="vllm-0.6+", show_default=True,
                 help="Engine profile (docs/roofline.md); current = vllm-0.6+, legacy = tgi-1."),
    click.option("--kv-cache-dtype", type=click.Choice(["fp16", "fp8"]),
                 help="KV cache precision (vLLM --kv-cache-dtype); default: the profile's."),
    click.option("--gpu-memory-utilization", type=click.FloatRange(0, 1, min_open=True),
                 help="Share of GPU memory the engine claims (default 0.9)."),
    click.option("--max-batch", "--max-num-seqs", "max_batch", type=click.IntRange(min=1),
                 help="Engine cap on concurrent sequences."),
    click.option("--max-batched-tokens", type=click.IntRange(min=1),
                 help="Engine cap on tokens per step (vLLM --max-num-batched-tokens)."),
    click.option("--chunked-prefill/--no-chunked-prefill", default=None,
                 help="Prompt chunks ride in decode steps; default: the profile's."),
    click.option("--prefix-cache-hit", type=click.FloatRange(0, 0.99),
                 help="Share of prompt tokens served from the prefix cache (0 to 0.99)."),
)  # fmt: skip


def engine_options(command: F) -> F:
    """Add the model-config and engine options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def engine_efficiency(options: dict[str, Any]) -> Efficiency:
    """The engine profile with the settings given on the command line."""
    from llmecon.core.roofline import EngineSettings, configure, engine_profile  # noqa: PLC0415

    settings = EngineSettings(
        kv_cache_precision=options.get("kv_cache_dtype"),
        gpu_memory_utilization=options.get("gpu_memory_utilization"),
        max_batch=options.get("max_batch"),
        max_batched_tokens=options.get("max_batched_tokens"),
        chunked_prefill=options.get("chunked_prefill"),
        prefix_cache_hit=options.get("prefix_cache_hit"),
    )
    try:
        return configure(engine_profile(str(options["engine"])), settings)
    except ValueError as error:
        raise LlmeconError(str(error)) from None


def resolve_model(name: str | None, config: Path | None) -> ModelSpec:
    """A catalog model (by name or Hugging Face id) or one read from a config file."""
    from llmecon.pricebook.hardware import load_model_file, load_models  # noqa: PLC0415

    if (name is None) == (config is None):
        raise LlmeconError("give --model NAME or --model-config FILE (one of them)")
    if config is not None:
        return load_model_file(config)
    models = load_models()
    found = models.get(str(name).lower())
    if found is None:
        hint = (
            "; for a Hugging Face model not in the catalog, download its config.json and give "
            "--model-config FILE"
        )
        names = ", ".join(sorted(key for key in models if "/" not in key))
        raise LlmeconError(f"unknown model {name!r}; use one of {names}{hint}")
    return found
