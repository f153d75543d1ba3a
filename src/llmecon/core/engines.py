"""Serving-engine profiles and settings: what turns a roofline into an estimate.

An `Efficiency` holds the achieved fractions of the datasheet (bandwidth, compute) and the
engine's limits and scheduling (memory share, batch caps, chunked prefill, host overheads).
`ENGINES` names one profile per engine generation; docs/roofline.md lists the measurements
each comes from. `EngineSettings` are the knobs a user sets on the engine's command line
(KV-cache dtype, gpu_memory_utilization, max_num_seqs, max_num_batched_tokens, chunked
prefill, prefix-cache hit rate); `configure()` applies them to a profile. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from llmecon.core.model_spec import KV_CACHE_PRECISIONS, lookup


@dataclass(frozen=True)
class Efficiency:
    """Achieved fractions and engine limits (see docs/roofline.md, "Engine profiles").

    memory_bandwidth: fraction of peak memory bandwidth a decode step achieves.
    compute: fraction of the GPU's sustained matmul rate (datasheet peak x the GPU's
        `gemm_efficiency`) a large forward pass achieves; small passes get less
        (tokens / (tokens + `gemm_half_tokens`)).
    usable_memory: fraction of GPU memory the engine claims (vLLM gpu_memory_utilization).
    overhead_gb: memory per GPU for CUDA context, activations, sampler and CUDA graphs.
    tensor_parallel: with G > 1 GPUs, fraction of linear scaling kept by the sharded matmuls
        (the all-reduces are charged separately from the GPU's link bandwidth and latency).
    step_overhead_ms: host time per engine step not hidden behind the GPU.
    sequence_overhead_ms: host time per sequence per step (sampling, detokenising).
    prefill_stall: without chunked prefill, the share of other requests' prefill time that
        pauses a running batch (1.0 once the GPU is busy).
    max_batch: cap on concurrent sequences (vLLM max_num_seqs).
    max_batched_tokens: cap on tokens one step processes (vLLM max_num_batched_tokens).
    chunked_prefill: prompts are split into chunks that ride in decode steps (mixed batches)
        instead of steps of their own.
    prefix_cache_hit: share of prompt tokens found in the prefix cache (not recomputed).
    kv_cache_precision: "fp16" or "fp8" (vLLM --kv-cache-dtype).
    gemm_half_tokens: tokens per pass at which matmuls reach half their sustained rate.
    layer_overhead_us: host time per layer per forward pass where kernels are launched one by
        one from Python (no CUDA graphs): about 0.25 ms per layer in 2023 engines.
    kv_read_efficiency: paged attention's KV-cache reads relative to the weights' achieved
        bandwidth (scattered blocks, per-head loops, dequantising an fp8 cache).
    """

    memory_bandwidth: float = 0.8
    compute: float = 0.9
    usable_memory: float = 0.90
    overhead_gb: float = 1.5
    tensor_parallel: float = 0.95
    step_overhead_ms: float = 1.0
    sequence_overhead_ms: float = 0.01
    prefill_stall: float = 1.0
    max_batch: int = 256
    max_batched_tokens: int = 8192
    chunked_prefill: bool = True
    prefix_cache_hit: float = 0.0
    kv_cache_precision: str = "fp16"
    gemm_half_tokens: float = 16.0
    kv_read_efficiency: float = 0.75
    layer_overhead_us: float = 0.0

    def __post_init__(self) -> None:
        fractions = (
            "memory_bandwidth", "compute", "usable_memory", "tensor_parallel", "kv_read_efficiency"
        )  # fmt: skip
        for name in fractions:
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"Efficiency.{name} must be in (0, 1], got {getattr(self, name)}")
        for name in ("prefill_stall", "prefix_cache_hit"):
            if not 0 <= getattr(self, name) <= (1 if name == "prefill_stall" else 0.99):
                raise ValueError(f"Efficiency.{name} must be in [0, 1), got {getattr(self, name)}")
        overheads = (self.overhead_gb, self.step_overhead_ms, self.sequence_overhead_ms)
        if min(*overheads, self.layer_overhead_us) < 0:
            raise ValueError("Efficiency overheads (GB and ms) must be >= 0")
        if self.max_batch < 1:
            raise ValueError(f"Efficiency.max_batch must be >= 1, got {self.max_batch}")
        if self.max_batched_tokens < 1 or self.gemm_half_tokens < 0:
            raise ValueError("Efficiency.max_batched_tokens must be >= 1")
        lookup(KV_CACHE_PRECISIONS, self.kv_cache_precision, "kv_cache_precision")


@dataclass(frozen=True)
class EngineSettings:
    """Engine flags a user sets; None keeps the profile's value."""

    kv_cache_precision: str | None = None
    gpu_memory_utilization: float | None = None
    max_batch: int | None = None
    max_batched_tokens: int | None = None
    chunked_prefill: bool | None = None
    prefix_cache_hit: float | None = None


def configure(profile: Efficiency, settings: EngineSettings) -> Efficiency:
    """The profile with the user's settings applied (ValueError names a bad one)."""
    changes: dict[str, object] = {
        "kv_cache_precision": settings.kv_cache_precision,
        "usable_memory": settings.gpu_memory_utilization,
        "max_batch": settings.max_batch,
        "max_batched_tokens": settings.max_batched_tokens,
        "chunked_prefill": settings.chunked_prefill,
        "prefix_cache_hit": settings.prefix_cache_hit,
    }
    given = {name: value for name, value in changes.items() if value is not None}
    return replace(profile, **given) if given else profile  # type: ignore[arg-type]


VLLM_06 = Efficiency()
"""vLLM >= 0.6 (V1 engine): CUDA graphs, chunked prefill, async scheduling."""

PROFILES: Mapping[str, Efficiency] = MappingProxyType(
    {
        "vllm-0.6+": replace(VLLM_06, sequence_overhead_ms=0.05),
        "sglang": replace(VLLM_06, step_overhead_ms=0.8, sequence_overhead_ms=0.03),
        "trt-llm": replace(VLLM_06, step_overhead_ms=2.0, sequence_overhead_ms=0.005,
                           max_batch=2048),
        "tgi-2": replace(VLLM_06, chunked_prefill=False, step_overhead_ms=2.0,
                         sequence_overhead_ms=0.1, max_batched_tokens=4096),
        "vllm-0.4": replace(VLLM_06, chunked_prefill=False, step_overhead_ms=3.0,
                            sequence_overhead_ms=0.25, kv_read_efficiency=0.5,
                            max_batched_tokens=2048),
        "llama.cpp": replace(VLLM_06, memory_bandwidth=0.7, compute=0.4, chunked_prefill=False,
                             step_overhead_ms=3.0, sequence_overhead_ms=0.5, max_batch=1,
                             max_batched_tokens=2048, usable_memory=0.95),
        "tgi-1": replace(VLLM_06, compute=0.4, tensor_parallel=0.9, chunked_prefill=False,
                         step_overhead_ms=1.0, sequence_overhead_ms=0.2, layer_overhead_us=250,
                         max_batched_tokens=4096),
    }
)  # fmt: skip
"""Profiles by engine; docs/roofline.md gives each one's settings and measurements."""

ALIASES: Mapping[str, str] = MappingProxyType(
    {"current": "vllm-0.6+", "legacy": "tgi-1", "vllm": "vllm-0.6+", "tgi": "tgi-2",
     "tensorrt-llm": "trt-llm", "lmdeploy": "trt-llm", "hf-2023": "tgi-1"}
)  # fmt: skip
"""Older and shorter names: "current" was the 2024+ profile, "legacy" the 2023 one."""

ENGINES: Mapping[str, Efficiency] = MappingProxyType(
    {**PROFILES, **{alias: PROFILES[target] for alias, target in ALIASES.items()}}
)
"""Every profile under its name and its aliases."""

ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)
DEFAULT_ENGINE = "vllm-0.6+"
DEFAULT_EFFICIENCY = ENGINES[DEFAULT_ENGINE]


def engine_profile(name: str) -> Efficiency:
    """The profile named `name` (or an alias of it)."""
    return lookup(ENGINES, name.lower(), "engine")


def canonical_engine(name: str) -> str:
    key = name.lower()
    return ALIASES.get(key, key)
