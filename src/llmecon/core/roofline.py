"""Roofline estimates of LLM inference: does a model fit on GPUs, and how fast does it serve.

A decode step reads every decode weight plus the batch's KV cache once and does two FLOPs per
weight per sequence, so its time is max(bytes / bandwidth, FLOPs / peak) at achieved (not peak)
rates. Prefill is the same sum over the prompt and is usually compute-bound. The achieved
fractions live in `Efficiency`; docs/roofline.md derives the formulas and checks them against
published measurements (benchmarks/roofline_calibration.py). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, TypeVar

Architecture = Literal["decoder", "encoder-decoder", "encoder"]
Bound = Literal["memory", "compute"]
ComputeKind = Literal["fp16", "fp8", "int8"]

Entry = TypeVar("Entry")

ARCHITECTURES: tuple[Architecture, ...] = ("decoder", "encoder-decoder", "encoder")
GB = 1e9
ACTIVATION_BYTES_PER_VALUE = 2.0
KV_CACHE_PRECISIONS: Mapping[str, float] = MappingProxyType({"fp16": 2.0, "fp8": 1.0})
"""Bytes per cached K or V value. The KV cache is fp16/bf16 unless an engine is told to
quantise it (vLLM --kv-cache-dtype fp8; NVIDIA's FP8 TensorRT-LLM checkpoints)."""


@dataclass(frozen=True)
class Precision:
    """How weights are stored (bytes per parameter) and which tensor-core rate does the math."""

    name: str
    bytes_per_param: float
    compute: ComputeKind
    description: str


PRECISIONS: Mapping[str, Precision] = MappingProxyType(
    {
        "fp16": Precision("fp16", 2.0, "fp16", "fp16/bf16 weights and math"),
        "fp8": Precision(
            "fp8", 1.0, "fp8", "fp8 weights; fp8 math where the GPU has it, else fp16 (W8A16)"
        ),
        "int8": Precision("int8", 1.0, "int8", "int8 weights and int8 math (W8A8)"),
        "int4": Precision("int4", 0.5, "fp16", "4-bit weights (GPTQ/AWQ), fp16 math (W4A16)"),
    }
)


@dataclass(frozen=True)
class ModelSpec:
    """A transformer's shape, from its published config.

    `layers` counts every block; for an encoder-decoder `decoder_layers` of them are decoder
    blocks and `decoder_parameters` the weights a decode step reads (decoder blocks with their
    cross-attention, and the LM head). Only the decoder caches K/V: cross-attention over the
    encoder output (one entry per input token) and self-attention over the generated tokens.
    """

    name: str
    architecture: Architecture
    parameters: int
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_context: int
    source: str
    decoder_parameters: int | None = None
    decoder_layers: int | None = None

    def __post_init__(self) -> None:
        dims = (self.parameters, self.layers, self.hidden_size, self.attention_heads, self.kv_heads)
        if (
            self.architecture not in ARCHITECTURES
            or min(self.head_dim, self.max_context, *dims) < 1
        ):
            raise ValueError(f"{self.name}: architecture must be one of {ARCHITECTURES}, sizes > 0")
        dp, dl = self.decoder_parameters or 0, self.decoder_layers or 0
        split = 0 < dp < self.parameters and 0 < dl < self.layers
        if (self.architecture == "encoder-decoder") != split or (not split and dp + dl > 0):
            raise ValueError(
                f"{self.name}: an encoder-decoder needs 0 < decoder_parameters < parameters and "
                "0 < decoder_layers < layers; other architectures take neither"
            )

    @property
    def attention_width(self) -> int:
        return self.attention_heads * self.head_dim

    @property
    def decode_layers(self) -> int:
        """Layers that hold a KV cache and run per generated token (0 for an encoder)."""
        if self.architecture == "encoder-decoder":
            return self.decoder_layers or 0
        return self.layers if self.architecture == "decoder" else 0

    @property
    def encoder_layers(self) -> int:
        return self.layers - self.decode_layers if self.architecture != "decoder" else 0

    @property
    def decode_parameters(self) -> int:
        """Weights read by one decode step."""
        if self.architecture == "encoder-decoder":
            return self.decoder_parameters or 0
        return self.parameters if self.architecture == "decoder" else 0

    @property
    def prefill_parameters(self) -> int:
        """Weights applied to every prompt token (for an encoder-decoder: the encoder plus the
        decoder's cross-attention K/V projections of the encoder output)."""
        if self.architecture != "encoder-decoder":
            return self.parameters
        cross_kv = self.decode_layers * 2 * self.hidden_size * self.kv_heads * self.head_dim
        return self.parameters - self.decode_parameters + cross_kv


@dataclass(frozen=True)
class GpuSpec:
    """One accelerator's datasheet numbers (dense tensor-core rates, no sparsity)."""

    name: str
    memory_gb: float
    bandwidth_gb_s: float
    fp16_tflops: float
    int8_tops: float
    source: str
    fp8_tflops: float | None = None

    def __post_init__(self) -> None:
        rates = (self.memory_gb, self.bandwidth_gb_s, self.fp16_tflops, self.int8_tops)
        if min(rates) <= 0 or (self.fp8_tflops is not None and self.fp8_tflops <= 0):
            raise ValueError(f"{self.name}: memory, bandwidth and peak rates must be positive")

    def peak_flops(self, precision: Precision) -> float:
        """Peak operations per second for the precision's math (fp8 falls back to fp16)."""
        if precision.compute == "int8":
            return self.int8_tops * 1e12
        if precision.compute == "fp8" and self.fp8_tflops is not None:
            return self.fp8_tflops * 1e12
        return self.fp16_tflops * 1e12


@dataclass(frozen=True)
class Efficiency:
    """Achieved fractions of the datasheet, and engine limits, that turn a roofline into an
    estimate. Defaults describe a current engine (vLLM >= 0.6, TGI >= 2, TensorRT-LLM, SGLang,
    LMDeploy); `ENGINES` holds named profiles. docs/roofline.md shows the calibration.

    memory_bandwidth: fraction of peak memory bandwidth a decode step achieves; single-stream
        decode measures 65-85% of the bandwidth roofline (facts section 7, rows 1 and 9).
    compute: model FLOPs utilisation (MFU) of prefill and of compute-bound decode steps.
    usable_memory: fraction of GPU memory the engine may claim (vLLM's
        gpu_memory_utilization defaults to 0.9); the rest is left to the driver and allocator.
    overhead_gb: memory per GPU taken by the CUDA context, activations, sampler and CUDA graphs
        before weights and KV cache.
    tensor_parallel: with more than one GPU, the fraction of linear scaling of bandwidth and
        FLOPs kept after all-reduce communication (NVLink ~0.85; PCIe and old engines less).
    step_overhead_ms: host time per decode step not hidden behind the GPU (kernel launches,
        scheduling, the gap between steps).
    sequence_overhead_ms: host time per sequence per decode step (sampling, detokenising,
        bookkeeping); what keeps large batches of old engines far below the roofline.
    prefill_stall: fraction of other requests' prefill time that pauses a running batch.
        1.0: each prefill's time adds to the timeline (true once the GPU is busy, chunked or
        not); 0.0: prefill hides entirely inside memory-bound decode steps (light load).
    max_batch: the engine's cap on concurrent sequences (vLLM max_num_seqs defaults to 256).
    """

    memory_bandwidth: float = 0.8
    compute: float = 0.5
    usable_memory: float = 0.90
    overhead_gb: float = 1.5
    tensor_parallel: float = 0.85
    step_overhead_ms: float = 2.0
    sequence_overhead_ms: float = 0.01
    prefill_stall: float = 1.0
    max_batch: int = 256

    def __post_init__(self) -> None:
        fractions = ("memory_bandwidth", "compute", "usable_memory", "tensor_parallel")
        for name in fractions:
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"Efficiency.{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 <= self.prefill_stall <= 1:
            raise ValueError(
                f"Efficiency.prefill_stall must be in [0, 1], got {self.prefill_stall}"
            )
        if min(self.overhead_gb, self.step_overhead_ms, self.sequence_overhead_ms) < 0:
            raise ValueError("Efficiency overheads (GB and ms) must be >= 0")
        if self.max_batch < 1:
            raise ValueError(f"Efficiency.max_batch must be >= 1, got {self.max_batch}")


DEFAULT_EFFICIENCY = Efficiency()

ENGINES: Mapping[str, Efficiency] = MappingProxyType(
    {
        "current": DEFAULT_EFFICIENCY,
        "legacy": Efficiency(
            memory_bandwidth=0.7,
            compute=0.2,
            tensor_parallel=0.7,
            step_overhead_ms=6.0,
            sequence_overhead_ms=0.2,
        ),
    }
)
"""Efficiency profiles by engine generation. "current": vLLM >= 0.6, TGI >= 2, TensorRT-LLM,
SGLang, LMDeploy. "legacy": 2023 to mid-2024 engines (HF Transformers generate, TGI 1.x,
vLLM <= 0.5) with no CUDA graphs, host work per sequence, and prefills that stop decoding."""


@dataclass(frozen=True)
class Estimate:
    """What one replica (a model on `gpus` tensor-parallel GPUs) can do for a request shape.

    Times are milliseconds, rates per second, memory in GB (1e9 bytes). `tpot_ms` is the
    decode step time at `concurrency`; `output_tokens_per_second` and `requests_per_second` are
    the steady state with every slot busy, prefill stalls included, so output = requests x
    output_tokens; `decode_tokens_per_second` is concurrency / tpot (decode alone).
    Encoder models generate nothing: tpot_ms and the token rates are 0, ttft_ms = prefill_ms is
    the latency of a forward pass at `concurrency`, and requests_per_second counts sequences
    encoded. When `fits` is False, `reason` says why and every performance field is 0.
    """

    model: str
    gpu: str
    gpus: int
    precision: str
    input_tokens: int
    output_tokens: int
    fits: bool
    reason: str
    weights_gb: float
    kv_cache_gb_per_sequence: float
    max_concurrency: int
    concurrency: int
    efficiency: Efficiency
    prefill_ms: float = 0.0
    ttft_ms: float = 0.0
    tpot_ms: float = 0.0
    decode_tokens_per_second: float = 0.0
    output_tokens_per_second: float = 0.0
    requests_per_second: float = 0.0
    bound: Bound = "memory"


@dataclass(frozen=True)
class _Replica:
    """Achieved rates of one replica: bytes/s and FLOP/s over all its GPUs, usable bytes/GPU."""

    bandwidth: float
    flops: float
    usable_per_gpu: float
    gpus: int


@dataclass(frozen=True)
class _Job:
    """One request shape on one model: token counts and the bytes it moves."""

    model: ModelSpec
    input_tokens: int
    output_tokens: int
    weight_bytes: float
    kv_bytes_per_token: float

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def memory_per_sequence(self) -> float:
        """Bytes one in-flight sequence holds: its KV cache, or an encoder's activations."""
        if self.model.architecture == "encoder":
            # One layer's hidden states and FFN intermediate (~6x hidden) plus its scores.
            hidden = self.input_tokens * self.model.hidden_size * 6
            scores = self.model.attention_heads * self.input_tokens**2
            return (hidden + scores) * ACTIVATION_BYTES_PER_VALUE
        return self.kv_bytes_per_token * self.tokens


def weights_gb(model: ModelSpec, precision: str = "fp16") -> float:
    """Memory for all weights (every GPU together) at `precision`."""
    return model.parameters * _lookup(PRECISIONS, precision, "precision").bytes_per_param / GB


def kv_cache_bytes_per_token(model: ModelSpec, kv_cache_precision: str = "fp16") -> float:
    """2 (K and V) x decode layers x KV heads x head dim x bytes per value; 0 for an encoder."""
    per_value = _lookup(KV_CACHE_PRECISIONS, kv_cache_precision, "kv_cache_precision")
    return 2 * model.decode_layers * model.kv_heads * model.head_dim * per_value


def estimate(
    model: ModelSpec,
    gpu: GpuSpec,
    gpus: int = 1,
    precision: str = "fp16",
    concurrency: int | None = None,
    *,
    input_tokens: int = 512,
    output_tokens: int = 128,
    efficiency: Efficiency = DEFAULT_EFFICIENCY,
    kv_cache_precision: str = "fp16",
) -> Estimate:
    """Estimate memory fit, latency and throughput of `model` on `gpus` x `gpu` (one replica,
    tensor parallel) for requests of `input_tokens` in and `output_tokens` out.

    `concurrency` is the number of sequences decoded together; None means as many as fit in
    memory, capped at `efficiency.max_batch`. Raises ValueError for impossible arguments; a
    model that does not fit is a result (fits=False with a reason), never an error.
    """
    prec = _validate(gpus, precision, concurrency, input_tokens, output_tokens)
    job = _Job(
        model=model,
        input_tokens=input_tokens,
        output_tokens=0 if model.architecture == "encoder" else output_tokens,
        weight_bytes=weights_gb(model, precision) * GB,
        kv_bytes_per_token=kv_cache_bytes_per_token(model, kv_cache_precision),
    )
    replica = _replica(gpu, gpus, prec, efficiency)
    most, used, reason = _plan(job, replica, concurrency, efficiency)
    base = Estimate(
        model=model.name,
        gpu=gpu.name,
        gpus=gpus,
        precision=prec.name,
        input_tokens=input_tokens,
        output_tokens=job.output_tokens,
        fits=not reason,
        reason=reason,
        weights_gb=job.weight_bytes / GB,
        kv_cache_gb_per_sequence=job.kv_bytes_per_token * job.tokens / GB,
        max_concurrency=most,
        concurrency=used,
        efficiency=efficiency,
    )
    if reason:
        return base
    if model.architecture == "encoder":
        return _encoder_performance(base, job, replica)
    return _generation_performance(base, job, replica)


def _lookup(table: Mapping[str, Entry], name: str, what: str) -> Entry:
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}: use one of {', '.join(table)}") from None


def _validate(
    gpus: int, precision: str, concurrency: int | None, input_tokens: int, output_tokens: int
) -> Precision:
    prec = _lookup(PRECISIONS, precision, "precision")
    if gpus < 1:
        raise ValueError(f"gpus must be >= 1, got {gpus}")
    if concurrency is not None and concurrency < 1:
        raise ValueError(f"concurrency must be >= 1 (None: as many as fit), got {concurrency}")
    if input_tokens < 1:
        raise ValueError(f"input_tokens must be >= 1 (a request has a prompt), got {input_tokens}")
    if output_tokens < 0:
        raise ValueError(f"output_tokens must be >= 0, got {output_tokens}")
    return prec


def _replica(gpu: GpuSpec, gpus: int, precision: Precision, eff: Efficiency) -> _Replica:
    scale = gpus * (eff.tensor_parallel if gpus > 1 else 1.0)
    return _Replica(
        bandwidth=gpu.bandwidth_gb_s * GB * eff.memory_bandwidth * scale,
        flops=gpu.peak_flops(precision) * eff.compute * scale,
        usable_per_gpu=(gpu.memory_gb * eff.usable_memory - eff.overhead_gb) * GB,
        gpus=gpus,
    )


def _plan(
    job: _Job, replica: _Replica, concurrency: int | None, eff: Efficiency
) -> tuple[int, int, str]:
    """How many sequences fit in memory, how many run, and why not ("" when they do)."""
    most, reason = _capacity(job, replica)
    used = concurrency if concurrency is not None else min(most, eff.max_batch)
    if not reason and used > most:
        reason = (
            f"concurrency {used} needs {used * job.memory_per_sequence / GB:.2f} GB for "
            f"sequences; there is room for {most}: lower concurrency or add GPUs"
        )
    return most, 0 if reason else used, reason


def _capacity(job: _Job, replica: _Replica) -> tuple[int, str]:
    model = job.model
    if job.tokens > model.max_context:
        return 0, (
            f"{job.input_tokens} + {job.output_tokens} tokens exceed {model.name}'s context "
            f"of {model.max_context}: shorten the request"
        )
    per_gpu = job.weight_bytes / replica.gpus
    if per_gpu > replica.usable_per_gpu:
        usable = max(replica.usable_per_gpu, 0.0) / GB
        return 0, (
            f"weights need {per_gpu / GB:.1f} GB per GPU but {usable:.1f} GB is usable: "
            "use more GPUs or a lower precision"
        )
    free = (replica.usable_per_gpu - per_gpu) * replica.gpus
    most = math.floor(free / job.memory_per_sequence)
    if most < 1:
        return 0, (
            f"weights fit but one sequence needs {job.memory_per_sequence / GB:.2f} GB and "
            f"{free / GB:.2f} GB is left: use more GPUs, a lower precision or shorter requests"
        )
    return most, ""


def _roofline(flops: float, read_bytes: float, replica: _Replica) -> tuple[float, Bound]:
    """Seconds for work that needs `flops` and reads `read_bytes`, and which limit binds."""
    compute_s = flops / replica.flops
    memory_s = read_bytes / replica.bandwidth
    return (compute_s, "compute") if compute_s > memory_s else (memory_s, "memory")


def _prompt_attention_flops(model: ModelSpec, tokens: int) -> float:
    """QK^T and AV over a prompt: 4 n^2 d per bidirectional layer, half that when causal."""
    causal_layers = model.layers if model.architecture == "decoder" else 0
    return (4 * model.encoder_layers + 2 * causal_layers) * tokens**2 * model.attention_width


def _prefill(job: _Job, replica: _Replica) -> tuple[float, Bound]:
    """One prompt through the prefill weights: 2 FLOPs per weight per token plus attention."""
    model, tokens = job.model, job.input_tokens
    flops = 2 * model.prefill_parameters * tokens + _prompt_attention_flops(model, tokens)
    read = job.weight_bytes * model.prefill_parameters / model.parameters
    return _roofline(flops, read, replica)


def _decode_step(job: _Job, replica: _Replica, batch: int) -> tuple[float, Bound]:
    """One decode step of `batch` sequences, each with its mean context cached (the prompt,
    or the encoder output, plus half the output)."""
    model = job.model
    context = job.input_tokens + job.output_tokens / 2
    read = job.weight_bytes * model.decode_parameters / model.parameters
    read += batch * job.kv_bytes_per_token * context
    attention = 4 * model.decode_layers * context * model.attention_width
    flops = batch * (2 * model.decode_parameters + attention)
    return _roofline(flops, read, replica)


def _generation_performance(base: Estimate, job: _Job, replica: _Replica) -> Estimate:
    eff, batch, out = base.efficiency, base.concurrency, base.output_tokens
    prefill_s, prefill_bound = _prefill(job, replica)
    step_s, step_bound = _decode_step(job, replica, batch)
    step_s += (eff.step_overhead_ms + eff.sequence_overhead_ms * batch) / 1000
    decodes = out > 1  # the first output token comes out of prefill
    # A cycle refills every slot once: one own prefill, others' prefills, out - 1 steps.
    cycle_s = prefill_s * (1 + eff.prefill_stall * (batch - 1)) + max(out - 1, 0) * step_s
    requests = batch / cycle_s
    return replace(
        base,
        prefill_ms=prefill_s * 1000,
        ttft_ms=(prefill_s + (step_s / 2 if batch > 1 else 0.0)) * 1000,
        tpot_ms=step_s * 1000 if decodes else 0.0,
        decode_tokens_per_second=batch / step_s if decodes else 0.0,
        output_tokens_per_second=requests * out,
        requests_per_second=requests,
        bound=step_bound if decodes else prefill_bound,
    )


def _encoder_performance(base: Estimate, job: _Job, replica: _Replica) -> Estimate:
    model, tokens, batch = job.model, job.input_tokens, base.concurrency
    flops = batch * (2 * model.parameters * tokens + _prompt_attention_flops(model, tokens))
    forward_s, bound = _roofline(flops, job.weight_bytes, replica)
    return replace(
        base,
        prefill_ms=forward_s * 1000,
        ttft_ms=forward_s * 1000,
        requests_per_second=batch / forward_s,
        bound=bound,
    )
