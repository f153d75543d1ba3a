"""A `ModelSpec` from a Hugging Face `config.json` (already parsed into a mapping).

Counts parameters from the shapes: embeddings (and an untied LM head), attention projections
(grouped-query or DeepSeek's multi-head latent attention), gated or plain FFNs, and for a
mixture of experts the router, routed experts and shared experts, with total and active
(per-token) counts. Biases and norms are left out (well under 1%). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmecon.core.model_spec import ModelSpec

PLAIN_FFN_TYPES = frozenset({"gpt2", "gpt_neox", "bert", "opt", "falcon", "gpt_bigcode"})
EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")


@dataclass(frozen=True)
class _Shape:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    intermediate: int


def spec_from_hf_config(config: Mapping[str, Any], name: str, source: str) -> ModelSpec:
    """The shape and parameter counts a Hugging Face config.json describes.

    Raises ValueError naming the missing or bad key."""
    text = config.get("text_config")
    if isinstance(text, Mapping) and "num_hidden_layers" not in config:
        config = text  # multimodal wrappers keep the language model here
    shape = _shape(config)
    attention = _attention_parameters(config, shape)
    dense_ffn = _ffn(config, shape.hidden, shape.intermediate)
    experts, active_experts = _experts(config)
    embeddings = shape.vocab * shape.hidden
    head = 0 if config.get("tie_word_embeddings", False) else embeddings
    total = active = embeddings + head + shape.layers * attention
    if experts:
        moe_layers = _moe_layers(config, shape.layers)
        expert = _ffn(
            config, shape.hidden, _int(config, "moe_intermediate_size", shape.intermediate)
        )
        shared = _shared_experts(config, shape.hidden, expert)
        router = shape.hidden * experts
        total += (shape.layers - moe_layers) * dense_ffn
        active = total
        total += moe_layers * (router + shared + experts * expert)
        active += moe_layers * (router + shared + active_experts * expert)
    else:
        total += shape.layers * dense_ffn
        active = total
    mla = _mla_cache_values(config)
    return ModelSpec(
        name=name, architecture="decoder", parameters=total, layers=shape.layers,
        hidden_size=shape.hidden, attention_heads=shape.heads, kv_heads=shape.kv_heads,
        head_dim=shape.head_dim, max_context=_int(config, "max_position_embeddings", 4096),
        source=source, experts=experts, active_experts=active_experts if experts else 0,
        active_parameters=active if experts else None, kv_values_per_token_per_layer=mla,
    )  # fmt: skip


def _int(config: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        if value is None:
            raise ValueError(f"config.json has no {key!r}; is it a transformer decoder config?")
        raise ValueError(f"config.json: {key!r} must be a non-negative integer, got {value!r}")
    return value


def _shape(config: Mapping[str, Any]) -> _Shape:
    hidden = _int(config, "hidden_size")
    heads = _int(config, "num_attention_heads")
    if heads < 1 or hidden < 1:
        raise ValueError("config.json: hidden_size and num_attention_heads must be >= 1")
    head_dim = config.get("head_dim") or hidden // heads
    return _Shape(
        layers=_int(config, "num_hidden_layers"),
        hidden=hidden,
        heads=heads,
        kv_heads=_int(config, "num_key_value_heads", heads) or heads,
        head_dim=int(head_dim),
        vocab=_int(config, "vocab_size"),
        intermediate=_int(config, "intermediate_size", 4 * hidden),
    )


def _attention_parameters(config: Mapping[str, Any], shape: _Shape) -> int:
    if config.get("kv_lora_rank"):  # DeepSeek-V2/V3 multi-head latent attention
        rope, nope = _int(config, "qk_rope_head_dim"), _int(config, "qk_nope_head_dim")
        v_dim, kv_rank = _int(config, "v_head_dim"), _int(config, "kv_lora_rank")
        q_rank = config.get("q_lora_rank") or 0
        q_out = shape.heads * (nope + rope)
        query = shape.hidden * q_rank + q_rank * q_out if q_rank else shape.hidden * q_out
        kv = shape.hidden * (kv_rank + rope) + kv_rank * shape.heads * (nope + v_dim)
        return query + kv + shape.heads * v_dim * shape.hidden
    q_and_o = 2 * shape.hidden * shape.heads * shape.head_dim
    return q_and_o + 2 * shape.hidden * shape.kv_heads * shape.head_dim


def _mla_cache_values(config: Mapping[str, Any]) -> int | None:
    """Values cached per token per layer with latent attention: the compressed KV plus the
    rotary key (DeepSeek-V3: 512 + 64), instead of 2 x kv_heads x head_dim."""
    if not config.get("kv_lora_rank"):
        return None
    return _int(config, "kv_lora_rank") + _int(config, "qk_rope_head_dim")


def _ffn(config: Mapping[str, Any], hidden: int, intermediate: int) -> int:
    plain = str(config.get("model_type", "")) in PLAIN_FFN_TYPES
    return (2 if plain else 3) * hidden * intermediate


def _experts(config: Mapping[str, Any]) -> tuple[int, int]:
    experts = next((_int(config, key) for key in EXPERT_KEYS if config.get(key)), 0)
    if not experts:
        return 0, 0
    active = _int(config, "num_experts_per_tok", 0) or _int(config, "experts_per_token", 0)
    if not 0 < active < experts:
        raise ValueError(
            f"config.json: {experts} experts need 0 < num_experts_per_tok < {experts}, got {active}"
        )
    return experts, active


def _moe_layers(config: Mapping[str, Any], layers: int) -> int:
    """Layers with routed experts: DeepSeek keeps the first `first_k_dense_replace` dense,
    Qwen lists dense ones in `mlp_only_layers` and may use every `decoder_sparse_step`-th."""
    dense = _int(config, "first_k_dense_replace", 0)
    dense += len(config.get("mlp_only_layers") or [])
    step = _int(config, "decoder_sparse_step", 1) or 1
    return max(0, (layers - dense) // step)


def _shared_experts(config: Mapping[str, Any], hidden: int, expert: int) -> int:
    shared_size = config.get("shared_expert_intermediate_size")
    if shared_size:
        return _ffn(config, hidden, int(shared_size)) + hidden  # plus its gate
    return _int(config, "n_shared_experts", 0) * expert
