"""Where a self-hosted option's per-replica throughput comes from: given, measured or estimated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmecon.core.capacity import Throughput
from llmecon.core.workload import Tokens
from llmecon.errors import LlmeconError
from llmecon.pricebook.entries import InstancePrice
from llmecon.scenario.schema import CapacitySpec, EstimateSpec

if TYPE_CHECKING:
    from llmecon.core.model_spec import ModelSpec

Fail = Callable[[str, str], LlmeconError]


def throughput(
    spec: CapacitySpec,
    path: str,
    tokens: Tokens,
    *,
    instance: InstancePrice | None,
    base: Path,
    fail: Fail,
) -> Throughput:
    """The per-replica throughput `spec` describes; errors name the key path and the fix."""
    if spec.seconds_per_request is not None:
        concurrency = spec.concurrency or 1
        return Throughput(
            f"{concurrency} concurrent request(s) x {spec.seconds_per_request:g} s each (given)",
            requests_per_second=concurrency / spec.seconds_per_request,
        )
    if spec.requests_per_second is not None:
        return Throughput("requests/s per replica (given)", spec.requests_per_second)
    if spec.output_tokens_per_second is not None:
        if tokens.output is None or tokens.output <= 0:
            raise fail(
                f"{path}.output_tokens_per_second",
                "needs the workload's output_tokens (with input_tokens) to turn tokens/s into "
                "requests/s",
            )
        return Throughput(
            "output tokens/s per replica (given)",
            output_tokens_per_second=spec.output_tokens_per_second,
        )
    if spec.profile is not None:
        return read_profile(base / spec.profile, f"{path}.profile", fail)
    assert spec.estimate is not None
    return roofline(spec.estimate, f"{path}.estimate", tokens, instance, fail, base=base)


def roofline(
    spec: EstimateSpec,
    path: str,
    tokens: Tokens,
    instance: InstancePrice | None,
    fail: Fail,
    *,
    base: Path = Path(),
) -> Throughput:
    """Requests/s per replica from the roofline model for the workload's request shape."""
    # the estimator and its data files are imported by the scenarios that ask for an estimate
    from llmecon.core.roofline import (  # noqa: PLC0415
        EngineSettings,
        configure,
        engine_profile,
        estimate,
    )
    from llmecon.pricebook.hardware import load_gpus  # noqa: PLC0415

    if tokens.input is None or tokens.output is None:
        raise fail(path, "needs the workload's input_tokens and output_tokens (the request shape)")
    model = _model(spec, path, base, fail)
    gpus = load_gpus()
    gpu_name = spec.gpu or (instance.gpu if instance else None)
    gpu = gpus.get(gpu_name.lower()) if gpu_name else None
    if gpu is None:
        known = ", ".join(gpus)
        raise fail(f"{path}.gpu", f"unknown or missing GPU {gpu_name!r}; use one of {known}")
    count = spec.gpus or (int(instance.gpus) if instance and instance.gpus >= 1 else 1)
    settings = EngineSettings(
        kv_cache_precision=spec.kv_cache_dtype,
        gpu_memory_utilization=spec.gpu_memory_utilization,
        max_batch=spec.max_batch,
        max_batched_tokens=spec.max_batched_tokens,
        chunked_prefill=spec.chunked_prefill,
        prefix_cache_hit=spec.prefix_cache_hit,
    )
    result = estimate(
        model, gpu, count, spec.precision, spec.concurrency,
        input_tokens=round(tokens.input), output_tokens=round(tokens.output),
        efficiency=configure(engine_profile(spec.engine), settings),
    )  # fmt: skip
    if not result.fits or result.requests_per_second <= 0:
        raise fail(path, f"{model.name} does not fit on {count}x {gpu.name}: {result.reason}")
    return Throughput(
        f"roofline estimate: {model.name} {spec.precision} on {count}x {gpu.name}, "
        f"concurrency {result.concurrency} (TTFT {result.ttft_ms:,.0f} ms, "
        f"TPOT {result.tpot_ms:,.1f} ms, {spec.engine} engine, KV cache "
        f"{result.efficiency.kv_cache_precision}, memory {result.efficiency.usable_memory:g})",
        requests_per_second=result.requests_per_second,
    )


def _model(spec: EstimateSpec, path: str, base: Path, fail: Fail) -> ModelSpec:
    from llmecon.pricebook.hardware import load_model_file, load_models  # noqa: PLC0415

    if spec.config_file is not None:
        try:
            return load_model_file(base / spec.config_file)
        except LlmeconError as error:
            raise fail(f"{path}.model_config", str(error)) from None
    models = load_models()
    model = models.get(str(spec.model).lower())
    if model is None:
        known = ", ".join(sorted(key for key in models if "/" not in key))
        raise fail(
            f"{path}.model",
            f"unknown model {spec.model!r}; use one of {known}, or model_config: config.json",
        )
    return model


def read_profile(path: Path, key: str, fail: Fail) -> Throughput:
    """Per-replica capacity from a `llmecon bench` result: its best valid run at the SLOs.

    Each run's `summary` gives `requests_per_second` and, when SLOs were set,
    `goodput_requests_per_second`; runs whose `health.valid` is false are skipped.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail(key, f"no such file {path}; run `llmecon bench ... --output {path}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(key, f"cannot read {path} as JSON ({error}); give a bench result") from None
    run = best_profile_run(data)
    best = 0.0 if run is None else run_rate(run)
    if best <= 0:
        raise fail(key, f"{path} has no valid run with a positive throughput; rerun the bench")
    return Throughput(f"measured: {path.name} ({data.get('endpoint', 'bench')})", best)


def best_profile_run(data: Any) -> dict[str, Any] | None:
    """The run of a bench result that `capacity: {profile: FILE}` takes: the valid one with the
    highest goodput (requests/s meeting the SLOs), else requests/s; None if none is positive."""
    best = max(_runs(data), key=run_rate, default=None)
    return best if best is not None and run_rate(best) > 0 else None


def _runs(data: Any) -> list[dict[str, Any]]:
    runs = data.get("runs") if isinstance(data, dict) else None
    return [run for run in runs or [] if isinstance(run, dict)]


def run_rate(run: dict[str, Any]) -> float:
    """A bench run's capacity: its goodput at the SLOs when set, else requests/s; 0 if invalid."""
    if isinstance(run.get("health"), dict) and run["health"].get("valid") is False:
        return 0.0
    summary = run.get("summary") if isinstance(run.get("summary"), dict) else {}
    assert isinstance(summary, dict)
    for key in ("goodput_requests_per_second", "requests_per_second"):
        rate = summary.get(key)
        if isinstance(rate, int | float) and not isinstance(rate, bool):
            return float(rate)
    return 0.0
