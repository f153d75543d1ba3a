"""Any model: Hugging Face config.json files (dense, MoE, latent attention), engine settings
from the command line and a scenario, and accelerators the roofline cannot estimate."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Run
from llmecon.core.roofline import ENGINES, EngineSettings, configure, engine_profile, estimate
from llmecon.errors import LlmeconError
from llmecon.pricebook.hardware import load_gpus, load_model_file, load_models

QWEN3_MOE = {  # Qwen/Qwen3-30B-A3B config.json (shape keys)
    "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
    "num_hidden_layers": 48, "hidden_size": 2048, "num_attention_heads": 32,
    "num_key_value_heads": 4, "head_dim": 128, "intermediate_size": 6144,
    "moe_intermediate_size": 768, "num_experts": 128, "num_experts_per_tok": 8,
    "vocab_size": 151936, "max_position_embeddings": 40960, "tie_word_embeddings": False,
}  # fmt: skip
GPT_OSS_20B = {  # openai/gpt-oss-20b config.json (shape keys)
    "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "num_hidden_layers": 24,
    "hidden_size": 2880, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64,
    "intermediate_size": 2880, "num_local_experts": 32, "num_experts_per_tok": 4,
    "vocab_size": 201088, "max_position_embeddings": 131072, "tie_word_embeddings": False,
}  # fmt: skip
GPUS = load_gpus()


def _write(tmp_path: Path, name: str, config: dict[str, Any]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


def test_qwen3_moe_from_config_json_counts_total_and_active(tmp_path: Path) -> None:
    spec = load_model_file(_write(tmp_path, "Qwen3-30B-A3B-local", QWEN3_MOE))
    assert spec.name == "qwen3-30b-a3b-local" and spec.name not in load_models()
    assert 30.0e9 < spec.parameters < 31.0e9  # "30.5B total"
    assert 3.0e9 < (spec.active_parameters or 0) < 3.6e9  # "3.3B activated"
    assert (spec.experts, spec.active_experts) == (128, 8)


def test_gpt_oss_20b_from_config_json(tmp_path: Path) -> None:
    spec = load_model_file(_write(tmp_path, "gpt-oss-20b-local", GPT_OSS_20B))
    assert spec.name not in load_models()
    assert 20.5e9 < spec.parameters < 21.5e9  # "21B parameters"
    assert 3.5e9 < (spec.active_parameters or 0) < 4.5e9  # 3.6B active + embeddings
    result = estimate(spec, GPUS["h100"], precision="int4", input_tokens=1000, output_tokens=500)
    assert result.fits and result.output_tokens_per_second > 0


def test_moe_uses_active_weights_for_compute_and_all_for_memory(tmp_path: Path) -> None:
    moe = load_model_file(_write(tmp_path, "q", QWEN3_MOE))
    dense = replace(moe, experts=0, active_experts=0, active_parameters=None)
    separate = replace(ENGINES["vllm-0.6+"], chunked_prefill=False)  # pure decode steps
    kwargs: dict[str, Any] = {"input_tokens": 2000, "output_tokens": 200, "efficiency": separate}
    one_moe = estimate(moe, GPUS["h100"], concurrency=1, **kwargs)
    one_dense = estimate(dense, GPUS["h100"], concurrency=1, **kwargs)
    assert one_moe.weights_gb == one_dense.weights_gb  # memory holds every expert
    assert one_moe.prefill_ms < one_dense.prefill_ms / 4  # prefill: active weights only
    assert one_moe.tpot_ms < one_dense.tpot_ms / 2  # one token touches 8 of 128 experts
    full_moe = estimate(moe, GPUS["h100"], concurrency=32, **kwargs)
    assert full_moe.tpot_ms > one_moe.tpot_ms  # a big batch routes to most experts
    assert any("mixture of experts" in c for c in one_moe.caveats) and not one_dense.caveats


def test_catalog_knows_hugging_face_ids_and_the_2026_models() -> None:
    models = load_models()
    assert models["meta-llama/llama-3.1-8b-instruct"] is models["llama-3.1-8b"]
    for name in ("llama-3.2-1b", "llama-3.1-405b", "qwen3-30b-a3b", "mixtral-8x7b",
                 "gpt-oss-120b", "deepseek-v3"):  # fmt: skip
        assert name in models and len(models[name].source) > 3
    deepseek = models["deepseek-v3"]
    assert 660e9 < deepseek.parameters < 680e9 and 36e9 < (deepseek.active_parameters or 0) < 39e9


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"hidden_size": 8}, "num_attention_heads"),
        ({**GPT_OSS_20B, "num_experts_per_tok": 0}, "num_experts_per_tok"),
    ],
)
def test_bad_config_files_name_the_key(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(LlmeconError, match=message):
        load_model_file(_write(tmp_path, "bad", config))


def test_engine_settings_change_what_they_should() -> None:
    model, gpu = load_models()["llama-3.1-8b"], GPUS["h100"]
    base = engine_profile("vllm-0.6+")
    tuned = configure(base, EngineSettings(kv_cache_precision="fp8", gpu_memory_utilization=0.95,
                                           max_batch=8192))  # fmt: skip
    plain = estimate(model, gpu, precision="fp8", input_tokens=1000, output_tokens=1000)
    fast = estimate(model, gpu, precision="fp8", input_tokens=1000, output_tokens=1000,
                    efficiency=tuned)  # fmt: skip
    assert fast.kv_cache_gb_per_sequence == pytest.approx(plain.kv_cache_gb_per_sequence / 2)
    assert fast.max_concurrency > 2 * plain.max_concurrency
    assert fast.output_tokens_per_second > 1.3 * plain.output_tokens_per_second
    cached = configure(base, EngineSettings(prefix_cache_hit=0.9))
    long = {"concurrency": 1, "input_tokens": 4000}
    assert estimate(model, gpu, efficiency=cached, **long).prefill_ms < (
        estimate(model, gpu, **long).prefill_ms / 3
    )
    assert ENGINES["current"] is ENGINES["vllm-0.6+"] and ENGINES["legacy"] is ENGINES["tgi-1"]
    with pytest.raises(ValueError, match="unknown engine"):
        engine_profile("vllm-9")


def test_a10g_prefill_is_compute_bound_near_published_ttft() -> None:
    """Published: ~137-139 ms for 550 prompt tokens of Llama-3-8B (TGI 2.0.4, vLLM 0.4.3)."""
    model, gpu = load_models()["llama-3.1-8b"], GPUS["a10g"]
    for engine in ("tgi-2", "vllm-0.4"):
        result = estimate(model, gpu, concurrency=1, input_tokens=550, output_tokens=100,
                          efficiency=ENGINES[engine])  # fmt: skip
        assert 110 < result.ttft_ms < 180, engine


def test_fp8_kv_cache_from_the_command_line(llmecon: Callable[..., Run]) -> None:
    base = ("estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--precision", "fp8",
            "--format", "json")  # fmt: skip
    plain = json.loads(llmecon(*base).out)
    run = llmecon(*base, "--kv-cache-dtype", "fp8", "--gpu-memory-utilization", "0.95",
                  "--max-batch", "8192", "--engine", "trt-llm", "--explain")  # fmt: skip
    assert run.code == 0, run.err
    tuned = json.loads(run.out)
    assert tuned["efficiency"]["kv_cache_precision"] == "fp8"
    assert tuned["max_concurrency"] > 2 * plain["max_concurrency"]
    assert any(term["name"] == "step: all-reduce time" for term in tuned["terms"])
    assert tuned["out_of_sample"]["geometric_mean_error"] > 1


def test_estimate_from_a_config_file_and_explain(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    path = _write(tmp_path, "Qwen3-30B-A3B-local", QWEN3_MOE)
    run = llmecon("estimate", "--model-config", str(path), "--gpu", "L40S", "--precision", "fp8",
                  "--explain")  # fmt: skip
    assert run.code == 0, run.err
    for words in (
        "qwen3-30b-a3b-local",
        "prefill: compute time",
        "step: memory time",
        "out of sample",
    ):
        assert words in run.out


def test_unsupported_accelerators_point_to_bench(llmecon: Callable[..., Run]) -> None:
    run = llmecon("estimate", "--model", "llama-3.1-8b", "--instance", "ml.inf2.xlarge")
    assert run.code == 2 and "cannot be estimated" in run.err and "llmecon bench" in run.err
    run = llmecon("estimate", "--model", "meta-llama/Llama-9-1B")
    assert run.code == 2 and "--model-config" in run.err


def test_plan_confidence_p90_never_costs_less(llmecon: Callable[..., Run]) -> None:
    base = ("plan", "--model", "llama-3.1-8b", "--requests-per-day", "3000000",
            "--input-tokens", "500", "--output-tokens", "167", "--format", "json")  # fmt: skip
    plain = json.loads(llmecon(*base).out)["candidates"][0]
    safe_plan = json.loads(llmecon(*base, "--confidence", "p90").out)
    safe = safe_plan["candidates"][0]
    assert safe["daily_cost"] >= plain["daily_cost"]
    assert "derated" in safe["source"]
    assert safe_plan["estimate_accuracy"]["safety_factor"] > 1


def test_scenario_estimate_takes_engine_settings(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    config = _write(tmp_path, "gpt-oss-20b", GPT_OSS_20B)
    estimate_block = {"model_config": str(config), "gpu": "H100", "precision": "int4",
                      "engine": "vllm-0.6+", "kv_cache_dtype": "fp8",
                      "gpu_memory_utilization": 0.95}  # fmt: skip
    data = {
        "name": "engine settings",
        "workload": {"requests_per_day": [1e6], "input_tokens": 500, "output_tokens": 200},
        "options": [
            {"name": "api", "api": {"input_per_1m": 0.15, "output_per_1m": 0.6}},
            {"name": "hosted", "self_hosted": {"hourly_price": 4.0,
                                               "capacity": {"estimate": estimate_block}}},
        ],
    }  # fmt: skip
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    run = llmecon("compare", str(path), "--format", "json")
    assert run.code == 0, run.err
    assert "gpt-oss-20b" in run.out and "KV cache fp8, memory 0.95" in run.out
    data["options"][1]["self_hosted"]["capacity"]["estimate"]["kv_cache_dtype"] = "int3"
    path.write_text(yaml.safe_dump(data))
    bad = llmecon("compare", str(path))
    assert bad.code == 2 and "kv_cache_dtype" in bad.err


def test_plan_sizes_inferentia_from_a_bench_profile(
    tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    bench = tmp_path / "inf2.json"
    bench.write_text(json.dumps({"endpoint": "inf2", "runs": [{"summary": {
        "requests_per_second": 3.0}}]}))  # fmt: skip
    run = llmecon("plan", "--model", "llama-3.1-8b", "--requests-per-day", "100000",
                  "--input-tokens", "500", "--output-tokens", "167", "--format", "json",
                  "--measured", f"ml.inf2.xlarge={bench}")  # fmt: skip
    assert run.code == 0, run.err
    measured = [c for c in json.loads(run.out)["candidates"] if c["precision"] == "measured"]
    assert measured and measured[0]["gpu"] == "Inferentia2"


def test_every_engine_profile_and_alias_is_documented() -> None:
    from llmecon.core.engines import ALIASES, PROFILES

    doc = (Path(__file__).resolve().parent.parent / "docs" / "roofline.md").read_text()
    for name in (*PROFILES, *ALIASES):
        assert f"`{name}`" in doc, f"docs/roofline.md does not document engine {name!r}"
