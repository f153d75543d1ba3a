"""Model shapes, weight precisions and accelerator datasheets for the roofline estimator.

A `ModelSpec` is a transformer's published shape (dense or mixture-of-experts); a `GpuSpec` an
accelerator's datasheet. Pure: no I/O (llmecon.pricebook.hardware reads the data files and
Hugging Face config.json files into these).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeVar

Architecture = Literal["decoder", "encoder-decoder", "encoder"]
ComputeKind = Literal["fp16", "fp8", "int8"]
Entry = TypeVar("Entry")

ARCHITECTURES: tuple[Architecture, ...] = ("decoder", "encoder-decoder", "encoder")
GB = 1e9
MOE_EXPERT_GEMM_SHARE = 0.6
"""Routed experts' grouped matmuls run at this share of a dense matmul's rate: tokens are
permuted to their experts and back, each expert gets a small uneven slice of the batch, and
the busiest expert sets the pace (D: from TensorRT-LLM's Qwen3-235B-A22B rows)."""
EIGHT_BIT_MATH_SHARE = 0.7
"""8-bit matmuls sustain a smaller share of their doubled peak than fp16 ones: activations
are quantised and scaled on the fly, and attention, norms and sampling stay 16-bit."""
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
    read_share: float = 1.0
    """Achieved weight-read bandwidth relative to plain 16/8-bit weights: 4-bit kernels
    dequantise in the inner loop and reach about 0.7 of it."""
    math_share: float = 1.0
    """Matmul rate relative to plain fp16 weights: 4-bit kernels dequantise every tile before
    the tensor-core math (about 0.7)."""


PRECISIONS: Mapping[str, Precision] = MappingProxyType(
    {
        "fp16": Precision("fp16", 2.0, "fp16", "fp16/bf16 weights and math"),
        "fp8": Precision(
            "fp8", 1.0, "fp8", "fp8 weights; fp8 math where the GPU has it, else fp16 (W8A16)"
        ),
        "int8": Precision("int8", 1.0, "int8", "int8 weights and int8 math (W8A8)"),
        "int4": Precision(
            "int4", 0.5, "fp16", "4-bit weights (GPTQ/AWQ/MXFP4), fp16 math (W4A16)", 0.7, 0.7
        ),
    }
)


def lookup(table: Mapping[str, Entry], name: str, what: str) -> Entry:
    """`table[name]`, or a ValueError that lists the known names."""
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}: use one of {', '.join(table)}") from None


@dataclass(frozen=True)
class ModelSpec:
    """A transformer's shape, from its published config.

    `layers` counts every block; for an encoder-decoder `decoder_layers` of them are decoder
    blocks and `decoder_parameters` the weights a decode step reads (decoder blocks with their
    cross-attention, and the LM head). Only the decoder caches K/V: cross-attention over the
    encoder output (one entry per input token) and self-attention over the generated tokens.
    A mixture-of-experts decoder has `experts` routed experts per layer of which
    `active_experts` run per token; `active_parameters` are the weights one token uses (dense
    part plus its experts): compute follows them, memory holds all `parameters`.
    `kv_bytes_per_token_override` replaces the K/V formula for caches that are not
    2 x layers x kv_heads x head_dim values (DeepSeek's compressed latent attention).
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
    experts: int = 0
    active_experts: int = 0
    active_parameters: int | None = None
    kv_values_per_token_per_layer: int | None = None

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
        self._check_experts()

    def _check_experts(self) -> None:
        moe = self.experts > 0
        active = self.active_parameters
        if moe != (self.active_experts > 0) or moe != (active is not None):
            raise ValueError(
                f"{self.name}: a mixture of experts needs experts, active_experts and "
                "active_parameters together (a dense model takes none)"
            )
        if moe and (
            self.architecture != "decoder"
            or not 0 < self.active_experts < self.experts
            or not 0 < (active or 0) < self.parameters
        ):
            raise ValueError(
                f"{self.name}: a mixture of experts is a decoder with 0 < active_experts < "
                "experts and 0 < active_parameters < parameters"
            )

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

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
        """Weights held for decoding (all experts of a MoE)."""
        if self.architecture == "encoder-decoder":
            return self.decoder_parameters or 0
        return self.parameters if self.architecture == "decoder" else 0

    @property
    def compute_parameters(self) -> int:
        """Weights one token is multiplied through when decoding (a MoE's active ones)."""
        return self.active_parameters or self.decode_parameters

    @property
    def expert_parameters(self) -> int:
        """All routed experts' weights together (0 for a dense model)."""
        if not self.is_moe or self.active_parameters is None:
            return 0
        per_expert = (self.parameters - self.active_parameters) / (
            self.experts - self.active_experts
        )
        return round(per_expert * self.experts)

    @property
    def compute_slowdown(self) -> float:
        """How much longer a token's matmuls take than its active weights suggest (1 for a
        dense model): the active experts' share runs at MOE_EXPERT_GEMM_SHARE."""
        if not self.is_moe or not self.active_parameters:
            return 1.0
        experts = self.expert_parameters * self.active_experts / self.experts
        dense = self.active_parameters - experts
        return (dense + experts / MOE_EXPERT_GEMM_SHARE) / self.active_parameters

    def decode_read_parameters(self, batch: float) -> float:
        """Weights one decode step of `batch` tokens reads: the dense part, plus the experts
        the batch routes to (expected distinct experts with uniform routing:
        E x (1 - (1 - k/E)^batch))."""
        if not self.is_moe:
            return float(self.decode_parameters)
        touched: float = 1 - math.pow(1 - self.active_experts / self.experts, batch)
        dense = self.parameters - self.expert_parameters
        return dense + self.expert_parameters * touched

    @property
    def prefill_parameters(self) -> int:
        """Weights applied to every prompt token (for an encoder-decoder: the encoder plus the
        decoder's cross-attention K/V projections of the encoder output; for a MoE: the
        active weights)."""
        if self.architecture != "encoder-decoder":
            return self.active_parameters or self.parameters
        cross_kv = self.decode_layers * 2 * self.hidden_size * self.kv_heads * self.head_dim
        return self.parameters - self.decode_parameters + cross_kv


@dataclass(frozen=True)
class GpuSpec:
    """One accelerator's datasheet numbers (dense tensor-core rates, no sparsity).

    `gemm_efficiency` is the share of the listed fp16 peak that large matrix multiplies
    sustain on the card (1.0 where the listed figure is itself a measured matmul rate; lower
    where power or clocks keep datasheet peaks out of reach). `link_gb_s` and
    `link_latency_us` describe the GPU-to-GPU path tensor-parallel all-reduces take (NVLink
    or PCIe): per-direction bandwidth and the latency of one small all-reduce.
    """

    name: str
    memory_gb: float
    bandwidth_gb_s: float
    fp16_tflops: float
    int8_tops: float
    source: str
    fp8_tflops: float | None = None
    gemm_efficiency: float = 1.0
    link_gb_s: float = 25.0
    link_latency_us: float = 30.0

    def __post_init__(self) -> None:
        rates = (self.memory_gb, self.bandwidth_gb_s, self.fp16_tflops, self.int8_tops)
        if min(rates) <= 0 or (self.fp8_tflops is not None and self.fp8_tflops <= 0):
            raise ValueError(f"{self.name}: memory, bandwidth and peak rates must be positive")
        if not 0 < self.gemm_efficiency <= 1:
            raise ValueError(f"{self.name}: gemm_efficiency must be in (0, 1]")
        if self.link_gb_s <= 0 or self.link_latency_us < 0:
            raise ValueError(f"{self.name}: link_gb_s must be > 0, link_latency_us >= 0")

    def peak_flops(self, precision: Precision) -> float:
        """Peak operations per second for the precision's math (fp8 falls back to fp16)."""
        if precision.compute == "int8":
            return self.int8_tops * 1e12
        if precision.compute == "fp8" and self.fp8_tflops is not None:
            return self.fp8_tflops * 1e12
        return self.fp16_tflops * 1e12

    def sustained_flops(self, precision: Precision) -> float:
        """What large matmuls of the precision's math sustain: peak x gemm_efficiency, x
        EIGHT_BIT_MATH_SHARE where the card has a native 8-bit rate for it, else x the
        precision's math_share."""
        peak = self.peak_flops(precision)
        native_8bit = peak > self.fp16_tflops * 1e12
        share = EIGHT_BIT_MATH_SHARE if native_8bit else precision.math_share
        return peak * self.gemm_efficiency * share


def weights_gb(model: ModelSpec, precision: str = "fp16") -> float:
    """Memory for all weights (every GPU together) at `precision`."""
    return model.parameters * lookup(PRECISIONS, precision, "precision").bytes_per_param / GB


def kv_cache_bytes_per_token(model: ModelSpec, kv_cache_precision: str = "fp16") -> float:
    """2 (K and V) x decode layers x KV heads x head dim x bytes per value; 0 for an encoder.
    A model with its own cache layout (`kv_values_per_token_per_layer`) uses that count."""
    per_value = lookup(KV_CACHE_PRECISIONS, kv_cache_precision, "kv_cache_precision")
    values = model.kv_values_per_token_per_layer or 2 * model.kv_heads * model.head_dim
    return model.decode_layers * values * per_value
