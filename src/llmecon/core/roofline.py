"""Roofline estimates of LLM inference: does a model fit on GPUs, and how fast does it serve.

A decode step reads the weights it uses plus the batch's KV cache once and does two FLOPs per
active weight per token, so its time is max(bytes / bandwidth, FLOPs / rate) at achieved (not
peak) rates, plus tensor-parallel all-reduces and host time. Prefill is the same sum over the
prompt and is usually compute-bound. With chunked prefill, prompt chunks ride in decode steps
(one weight read serves both). Every term is kept in `Estimate.terms` (`estimate --explain`);
docs/roofline.md derives the formulas and checks them against published measurements
(benchmarks/roofline_calibration.py). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from llmecon.core.engines import (
    DEFAULT_EFFICIENCY,
    ENGINE_NAMES,
    ENGINES,
    Efficiency,
    EngineSettings,
    configure,
    engine_profile,
)
from llmecon.core.model_spec import (
    ARCHITECTURES,
    GB,
    KV_CACHE_PRECISIONS,
    PRECISIONS,
    Architecture,
    GpuSpec,
    ModelSpec,
    Precision,
    kv_cache_bytes_per_token,
    lookup,
    weights_gb,
)

__all__ = [
    "ARCHITECTURES", "DEFAULT_EFFICIENCY", "ENGINES", "ENGINE_NAMES", "GB",
    "KV_CACHE_PRECISIONS", "PRECISIONS", "Architecture", "Bound", "Efficiency",
    "EngineSettings", "Estimate", "GpuSpec", "ModelSpec", "Precision", "Term", "configure",
    "engine_profile", "estimate", "kv_cache_bytes_per_token", "weights_gb",
]  # fmt: skip

Bound = Literal["memory", "compute"]
ACTIVATION_BYTES_PER_VALUE = 2.0


@dataclass(frozen=True)
class Term:
    """One quantity of the estimate, with its unit and how it was computed."""

    name: str
    value: float
    unit: str
    formula: str


@dataclass(frozen=True)
class Estimate:
    """What one replica (a model on `gpus` tensor-parallel GPUs) can do for a request shape.

    Times are milliseconds, rates per second, memory in GB (1e9 bytes). `tpot_ms` is the
    decode step time at `concurrency` (with chunked prefill, prompt chunks ride in it);
    `output_tokens_per_second` and `requests_per_second` are the steady state with every slot
    busy, prefill included, so output = requests x output_tokens; `decode_tokens_per_second`
    is concurrency / tpot. Encoder models generate nothing: tpot_ms and the token rates are 0,
    ttft_ms = prefill_ms is a forward pass at `concurrency`, requests_per_second counts
    sequences encoded. When `fits` is False, `reason` says why and every rate is 0. `terms`
    lists every intermediate quantity (`llmecon estimate --explain`); `caveats` says where the
    model is known to be weaker than its stated error.
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
    terms: tuple[Term, ...] = ()
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Replica:
    """Achieved rates of one replica and the GPU's link, for all-reduce time."""

    bandwidth: float  # bytes/s over all GPUs
    flops: float  # sustained FLOP/s of a large pass over all GPUs
    usable_per_gpu: float  # bytes
    gpus: int
    link_bytes_per_s: float
    link_latency_s: float
    half_tokens: float

    def flops_at(self, tokens: float) -> float:
        """FLOP/s of a pass of `tokens` rows: small passes do not fill the tensor cores."""
        return self.flops * tokens / (tokens + self.half_tokens)


@dataclass(frozen=True)
class _Job:
    """One request shape on one model: token counts and the bytes it moves."""

    model: ModelSpec
    input_tokens: int
    output_tokens: int
    weight_bytes: float
    kv_bytes_per_token: float
    computed_tokens: int  # prompt tokens not served by the prefix cache
    read_share: float = 1.0  # weight-read bandwidth of the precision's kernels

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

    def read_bytes(self, tokens: float) -> float:
        """Weight bytes a pass of `tokens` tokens through the decoder reads."""
        share = self.model.decode_read_parameters(max(tokens, 1.0)) / self.model.parameters
        return self.weight_bytes * share / self.read_share


@dataclass(frozen=True)
class _Pass:
    """Seconds of one forward pass by component; the roofline takes the larger of the two."""

    memory_s: float
    compute_s: float
    comm_s: float = 0.0
    host_s: float = 0.0

    @property
    def bound(self) -> Bound:
        return "compute" if self.compute_s > self.memory_s else "memory"

    @property
    def seconds(self) -> float:
        return max(self.memory_s, self.compute_s) + self.comm_s + self.host_s


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
    kv_cache_precision: str | None = None,
) -> Estimate:
    """Estimate memory fit, latency and throughput of `model` on `gpus` x `gpu` (one replica,
    tensor parallel) for requests of `input_tokens` in and `output_tokens` out.

    `concurrency` is the number of sequences decoded together; None means as many as fit in
    memory, capped at `efficiency.max_batch`. `kv_cache_precision` overrides the profile's.
    Raises ValueError for impossible arguments; a model that does not fit is a result
    (fits=False with a reason), never an error.
    """
    if kv_cache_precision is not None:
        efficiency = replace(efficiency, kv_cache_precision=kv_cache_precision)
    prec = _validate(gpus, precision, concurrency, input_tokens, output_tokens)
    computed = max(1, round(input_tokens * (1 - efficiency.prefix_cache_hit)))
    job = _Job(
        model=model,
        input_tokens=input_tokens,
        output_tokens=0 if model.architecture == "encoder" else output_tokens,
        weight_bytes=weights_gb(model, precision) * GB,
        read_share=prec.read_share,
        kv_bytes_per_token=kv_cache_bytes_per_token(model, efficiency.kv_cache_precision),
        computed_tokens=computed,
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
        caveats=_caveats(model, efficiency),
    )
    memory_terms = _memory_terms(job, replica, most)
    if reason:
        return replace(base, terms=memory_terms)
    if model.architecture == "encoder":
        return _encoder_performance(base, job, replica, memory_terms)
    return _generation_performance(base, job, replica, memory_terms)


MOE_CAVEAT = (
    "mixture of experts: against TensorRT-LLM's Qwen3-235B-A22B runs these estimates were "
    "about x1.5 optimistic (expert parallelism and uneven routing are not modelled); measure "
    "before buying"
)


def _caveats(model: ModelSpec, eff: Efficiency) -> tuple[str, ...]:
    found = [MOE_CAVEAT] if model.is_moe else []
    if model.architecture == "encoder-decoder" and eff.chunked_prefill:
        found.append("encoder-decoder: the encoder runs once per request, so prefill is "
                     "modelled separately even with chunked prefill")  # fmt: skip
    return tuple(found)


def _validate(
    gpus: int, precision: str, concurrency: int | None, input_tokens: int, output_tokens: int
) -> Precision:
    prec = lookup(PRECISIONS, precision, "precision")
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
        flops=gpu.sustained_flops(precision) * eff.compute * scale,
        usable_per_gpu=(gpu.memory_gb * eff.usable_memory - eff.overhead_gb) * GB,
        gpus=gpus,
        link_bytes_per_s=gpu.link_gb_s * GB,
        link_latency_s=gpu.link_latency_us / 1e6,
        half_tokens=eff.gemm_half_tokens,
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
            "use more GPUs, a lower precision or a higher --gpu-memory-utilization"
        )
    free = (replica.usable_per_gpu - per_gpu) * replica.gpus
    most = math.floor(free / job.memory_per_sequence)
    if most < 1:
        return 0, (
            f"weights fit but one sequence needs {job.memory_per_sequence / GB:.2f} GB and "
            f"{free / GB:.2f} GB is left: use more GPUs, a lower precision, an fp8 KV cache "
            "or shorter requests"
        )
    return most, ""


def _allreduce_s(model: ModelSpec, replica: _Replica, tokens: float) -> float:
    """Two ring all-reduces of the hidden state per layer when the replica spans GPUs."""
    if replica.gpus < 2:
        return 0.0
    share = 2 * (replica.gpus - 1) / replica.gpus
    payload = tokens * model.hidden_size * ACTIVATION_BYTES_PER_VALUE
    return 2 * model.layers * (replica.link_latency_s + share * payload / replica.link_bytes_per_s)


def _attention_flops(model: ModelSpec, computed: float, context: int) -> float:
    """QK^T and AV for `computed` new prompt tokens over a `context`-token prompt: 4 d per
    query-key pair, keys limited by the causal mask (bidirectional in an encoder)."""
    width = model.attention_width
    causal_layers = model.layers if model.architecture == "decoder" else 0
    bidirectional = 4 * model.encoder_layers * context * context * width
    return bidirectional + 4 * causal_layers * width * computed * (context - computed / 2)


def _prefill(job: _Job, replica: _Replica, eff: Efficiency) -> _Pass:
    """One prompt on its own: 2 FLOPs per applied weight per computed token plus attention."""
    model, tokens = job.model, job.computed_tokens
    flops = 2.0 * model.prefill_parameters * tokens + _attention_flops(
        model, tokens, job.input_tokens
    )
    if model.architecture == "encoder-decoder":
        read = job.weight_bytes * model.prefill_parameters / model.parameters
    else:
        read = job.read_bytes(tokens)
    return _Pass(
        memory_s=read / replica.bandwidth,
        compute_s=flops * model.compute_slowdown / replica.flops_at(tokens),
        comm_s=_allreduce_s(model, replica, tokens),
        host_s=_launch_s(model.layers, eff),
    )


def _step(job: _Job, replica: _Replica, eff: Efficiency, batch: float, prompt: float) -> _Pass:
    """One engine step: a decode token for each of `batch` sequences (mean context: prompt
    plus half the output), and `prompt` prompt tokens riding along (chunked prefill). Paged
    attention reads the KV cache at `kv_read_efficiency` of the weights' achieved bandwidth."""
    model = job.model
    context = job.input_tokens + job.output_tokens / 2
    rows = batch + prompt
    kv_read = batch * job.kv_bytes_per_token * context / eff.kv_read_efficiency
    attention = 4 * model.decode_layers * context * model.attention_width
    flops = batch * (2 * model.compute_parameters + attention)
    if prompt:
        per_prompt = job.computed_tokens
        flops += 2 * model.prefill_parameters * prompt
        flops += _attention_flops(model, per_prompt, job.input_tokens) * prompt / per_prompt
    return _Pass(
        memory_s=(job.read_bytes(rows) + kv_read) / replica.bandwidth,
        compute_s=flops * model.compute_slowdown / replica.flops_at(rows),
        comm_s=_allreduce_s(model, replica, rows),
        host_s=(eff.step_overhead_ms + eff.sequence_overhead_ms * batch) / 1000
        + _launch_s(model.decode_layers, eff),
    )


def _launch_s(layers: int, eff: Efficiency) -> float:
    """Kernel launches of one forward pass when not captured in a CUDA graph."""
    return layers * eff.layer_overhead_us / 1e6


@dataclass(frozen=True)
class _Cycle:
    """Every slot refilled once: `steps` engine steps of `step`, plus separate prefills."""

    steps: float
    step: _Pass
    prefill_s: float

    @property
    def seconds(self) -> float:
        return self.steps * self.step.seconds + self.prefill_s


def _cycle(job: _Job, replica: _Replica, eff: Efficiency, batch: int, alone: _Pass) -> _Cycle:
    decode_steps = max(job.output_tokens - 1, 0)  # the first token comes out of prefill
    chunked = eff.chunked_prefill and job.model.architecture == "decoder"
    if not chunked:
        stalls = alone.seconds * (1 + eff.prefill_stall * (batch - 1))
        return _Cycle(decode_steps, _step(job, replica, eff, float(batch), 0.0), stalls)
    tokens = batch * (job.computed_tokens + decode_steps)
    steps = max(decode_steps, tokens / eff.max_batched_tokens, 1.0)
    # When the token budget binds, each step decodes only part of the batch.
    decoding = batch * decode_steps / steps
    prompt_per_step = batch * job.computed_tokens / steps
    return _Cycle(steps, _step(job, replica, eff, decoding, prompt_per_step), 0.0)


def _generation_performance(
    base: Estimate, job: _Job, replica: _Replica, memory_terms: tuple[Term, ...]
) -> Estimate:
    eff, batch, out = base.efficiency, base.concurrency, base.output_tokens
    alone = _prefill(job, replica, eff)
    cycle = _cycle(job, replica, eff, batch, alone)
    decodes = out > 1
    step_s = cycle.step.seconds if decodes else 0.0
    requests = batch / cycle.seconds
    terms = (
        *memory_terms,
        *_rate_terms(replica),
        *_pass_terms("prefill", alone),
        *_pass_terms("step", cycle.step),
        Term("steps per cycle", cycle.steps, "", "max(out - 1, batch x tokens / max_batched)"),
        Term("separate prefill per cycle", cycle.prefill_s * 1000, "ms",
             "prefill x (1 + prefill_stall x (B - 1)) without chunked prefill"),
        Term("cycle", cycle.seconds * 1000, "ms", "steps x step + separate prefill"),
    )  # fmt: skip
    return replace(
        base,
        prefill_ms=alone.seconds * 1000,
        ttft_ms=(alone.seconds + (step_s / 2 if batch > 1 else 0.0)) * 1000,
        tpot_ms=step_s * 1000,
        decode_tokens_per_second=batch / step_s if decodes else 0.0,
        output_tokens_per_second=requests * out,
        requests_per_second=requests,
        bound=cycle.step.bound if decodes else alone.bound,
        terms=terms,
    )


def _encoder_performance(
    base: Estimate, job: _Job, replica: _Replica, memory_terms: tuple[Term, ...]
) -> Estimate:
    model, tokens, batch = job.model, job.input_tokens, base.concurrency
    flops = batch * (2 * model.parameters * tokens + _attention_flops(model, tokens, tokens))
    forward = _Pass(job.weight_bytes / replica.bandwidth, flops / replica.flops_at(batch * tokens))
    return replace(
        base,
        prefill_ms=forward.seconds * 1000,
        ttft_ms=forward.seconds * 1000,
        requests_per_second=batch / forward.seconds,
        bound=forward.bound,
        terms=memory_terms + _rate_terms(replica) + _pass_terms("forward pass", forward),
    )


def _memory_terms(job: _Job, replica: _Replica, most: int) -> tuple[Term, ...]:
    return (
        Term("weights", job.weight_bytes / GB, "GB", "parameters x bytes per weight"),
        Term("KV cache per token", job.kv_bytes_per_token / 1e6, "MB",
             "2 x layers x kv_heads x head_dim x bytes per value"),
        Term("usable memory per GPU", replica.usable_per_gpu / GB, "GB",
             "memory x usable_memory - overhead_gb"),
        Term("sequences that fit", most, "", "(usable x GPUs - weights) / KV per sequence"),
        Term("prompt tokens computed", job.computed_tokens, "",
             "input x (1 - prefix_cache_hit)"),
    )  # fmt: skip


def _rate_terms(replica: _Replica) -> tuple[Term, ...]:
    return (
        Term("achieved bandwidth", replica.bandwidth / GB, "GB/s",
             "GPUs x bandwidth x memory_bandwidth (x tensor_parallel)"),
        Term("sustained matmul rate", replica.flops / 1e12, "TFLOP/s",
             "GPUs x peak x gemm_efficiency (x 0.7 for 8-bit math) x compute (x "
             "tensor_parallel); x n/(n + gemm_half_tokens) for a pass of n tokens"),
    )  # fmt: skip


def _pass_terms(name: str, part: _Pass) -> tuple[Term, ...]:
    return (
        Term(f"{name}: memory time", part.memory_s * 1000, "ms", "bytes read / bandwidth"),
        Term(f"{name}: compute time", part.compute_s * 1000, "ms", "FLOPs / matmul rate"),
        Term(f"{name}: all-reduce time", part.comm_s * 1000, "ms",
             "2 x layers x (link latency + 2(G-1)/G x tokens x hidden x 2 B / link bandwidth)"),
        Term(f"{name}: host time", part.host_s * 1000, "ms",
             "step_overhead + sequences x sequence_overhead + layers x layer_overhead"),
        Term(f"{name}: total", part.seconds * 1000, "ms", "max(memory, compute) + rest"),
    )  # fmt: skip
