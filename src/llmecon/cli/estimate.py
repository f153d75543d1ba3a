"""`llmecon estimate`: what one replica of an open model serves on a GPU (roofline model)."""

from __future__ import annotations

import sys
from typing import Any, TypeVar

import click

from llmecon.cli.engine_options import engine_efficiency, engine_options, resolve_model
from llmecon.cli.options import completer
from llmecon.errors import LlmeconError

PRECISION_NAMES = ("fp16", "fp8", "int8", "int4")
T = TypeVar("T")


@click.command()
@click.option(
    "--model", shell_complete=completer("model"),
    help="Catalog model or Hugging Face id (or give --model-config).",
)  # fmt: skip
@click.option(
    "--gpu", shell_complete=completer("gpu"),
    help="GPU type, e.g. A10G, L4, H100 (or give --instance).",
)  # fmt: skip
@click.option(
    "--instance", shell_complete=completer("instance"),
    help="A catalog instance: takes its GPU type and count.",
)  # fmt: skip
@click.option("--gpus", type=click.IntRange(min=1), help="GPUs (tensor parallel); default 1.")
@click.option("--precision", type=click.Choice(PRECISION_NAMES), default="fp16", show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), help="Default: as many as fit.")
@click.option("--input-tokens", type=click.IntRange(min=1), default=512, show_default=True)
@click.option("--output-tokens", type=click.IntRange(min=0), default=128, show_default=True)
@engine_options
@click.option("--explain", is_flag=True, help="Print every term of the estimate.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
def estimate(
    model: str | None,
    gpu: str | None,
    instance: str | None,
    gpus: int | None,
    precision: str,
    concurrency: int | None,
    input_tokens: int,
    output_tokens: int,
    explain: bool,
    output_format: str,
    **engine: Any,
) -> None:
    """Estimate memory fit, latency and throughput of one replica (roofline model).

    A model that does not fit is an answer (fits: no), not an error.

    \b
    Example:
      llmecon estimate --model llama-3.1-8b --gpu A10G --input-tokens 500 --output-tokens 167
      llmecon estimate --model flan-ul2 --instance ml.g5.4xlarge --precision int8 --format json
      llmecon estimate --model-config config.json --gpu H100 --precision fp8 \\
          --kv-cache-dtype fp8 --gpu-memory-utilization 0.95 --explain
    """
    from llmecon.core.roofline import estimate as estimate_replica  # noqa: PLC0415
    from llmecon.pricebook.hardware import load_gpus  # noqa: PLC0415
    from llmecon.report.estimate_view import (  # noqa: PLC0415
        render_estimate_json,
        render_estimate_table,
    )

    spec = resolve_model(model, engine.pop("model_config"))
    efficiency = engine_efficiency(engine)
    gpu_name, count = _hardware(gpu, instance, gpus)
    try:
        result = estimate_replica(
            spec, _pick(load_gpus(), gpu_name, "GPU"), count, precision, concurrency,
            input_tokens=input_tokens, output_tokens=output_tokens, efficiency=efficiency,
        )  # fmt: skip
    except ValueError as error:
        raise LlmeconError(str(error)) from None
    render = render_estimate_json if output_format == "json" else render_estimate_table
    render(result, str(engine["engine"]).lower(), sys.stdout, explain=explain)


def _pick(table: dict[str, T], name: str, what: str) -> T:
    found = table.get(name.lower())
    if found is None and what == "GPU":
        from llmecon.pricebook.hardware import unsupported_accelerators  # noqa: PLC0415

        why = unsupported_accelerators().get(name.lower())
        if why is not None:
            raise LlmeconError(
                f"{name} cannot be estimated by the roofline model ({why}); measure it with "
                "`llmecon bench` and use the result as a profile (`plan --measured "
                "INSTANCE=FILE` or `capacity: {profile: FILE}` in a scenario)"
            )
    if found is None:
        raise LlmeconError(f"unknown {what} {name!r}; use one of {', '.join(table)}")
    return found


def _hardware(gpu: str | None, instance: str | None, gpus: int | None) -> tuple[str, int]:
    if (gpu is None) == (instance is None):
        raise LlmeconError("give --gpu TYPE or --instance NAME (one of them)")
    if gpu is not None:
        return gpu, gpus or 1
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415

    entry = load_pricebook().instance(str(instance))
    if not entry.gpu or entry.gpus < 1:
        raise LlmeconError(f"{entry.name} has no whole GPU; pick a GPU instance or give --gpu")
    return entry.gpu, gpus or int(entry.gpus)
