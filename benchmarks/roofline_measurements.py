"""Published measurements the roofline calibration compares against, and how each setting
is mapped onto `estimate()` (used by benchmarks/roofline_calibration.py; rows follow the
pricing facts, section 7, plus more rows of TensorRT-LLM's performance overview)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmecon.core.roofline import EngineSettings

Metric = Literal["output tok/s", "ms/token", "request ms", "ttft ms"]

SHAREGPT = "ShareGPT prompts, about 200 in / 200 out (vLLM benchmark_serving sampling)"
HF_BLOG = "TGI 1.0.3 on SageMaker, ShareGPT prompts (~150 tokens), 50 new tokens"
TRT = "trtllm-bench max load; FP8 weights and FP8 KV cache (NVIDIA ModelOpt checkpoint)"
# Engine settings the benchmarks state (not fitted): batch and memory limits, KV dtype.
TRT_SETTINGS = EngineSettings(kv_cache_precision="fp8", gpu_memory_utilization=0.95,
                              max_batch=8192, max_batched_tokens=8192)  # fmt: skip
LAMBDA_SETTINGS = EngineSettings(gpu_memory_utilization=0.95, max_batch=256)
STATIC_BATCH = EngineSettings(chunked_prefill=False)
NO_SETTINGS = EngineSettings()

SOURCES = {
    "lmdeploy-210": "InternLM/lmdeploy issue #210 (2023-08-08)",
    "hf-sagemaker": "huggingface/blog llama-sagemaker-benchmark.md @ 11a8ec1e (2023-09-26)",
    "mystic": "mystic.ai guide, quoted in ggml-org/llama.cpp issue #3479 (2023-10-04)",
    "musgrave": "johnmusgrave.com, vLLM throughput-latency sweep on A100",
    "lambda": "LambdaLabsML/vllm-benchmark benchmark_v0.md @ 0e8fc5d0; vLLM blog 2024-09-05",
    "trt-overview": "NVIDIA/TensorRT-LLM docs/source/performance/perf-overview.md @ 00f37686",
    "nemo": "docs.nvidia.com NeMo framework user guide, Llama performance",
}


@dataclass(frozen=True)
class Measurement:
    """One published number and the estimate() call that models its setting."""

    row: str
    source: str
    setting: str
    model: str
    gpu: str
    gpus: int
    precision: str
    concurrency: int | None
    input_tokens: int
    output_tokens: int
    metric: Metric
    published: float
    engine: str
    mapping: str
    settings: EngineSettings = NO_SETTINGS


def _hf(row: str, model: str, gpus: int, precision: str, *, conc: int, tok_s: float) -> Measurement:
    gpu_count = f"{gpus}x " if gpus > 1 else ""
    return Measurement(
        row=row, source="hf-sagemaker",
        setting=f"{model} {precision}, {gpu_count}A10G, TGI 1.0.3, {conc} concurrent",
        model=model, gpu="a10g", gpus=gpus, precision=precision, concurrency=conc,
        input_tokens=150, output_tokens=50, metric="output tok/s", published=tok_s,
        engine="tgi-1", mapping=HF_BLOG + ("; GPTQ 4-bit as int4" if precision == "int4" else ""),
    )  # fmt: skip


def measurements() -> tuple[Measurement, ...]:
    """Every modelled row of section 7 (rows 7, 16-20 lack a setting that can be modelled)."""
    return (
        *_single_stream(),
        _hf("2", "llama-2-7b", 1, "int4", conc=5, tok_s=120.09),
        _hf("3", "llama-2-13b", 1, "int4", conc=5, tok_s=71.71),
        _hf("4a", "llama-2-7b", 4, "fp16", conc=1, tok_s=61.46),
        _hf("4b", "llama-2-7b", 4, "fp16", conc=20, tok_s=449.94),
        _hf("5a", "llama-2-13b", 4, "fp16", conc=1, tok_s=47.16),
        _hf("5b", "llama-2-13b", 4, "fp16", conc=20, tok_s=295.64),
        *_p4d_70b(),
        *_mistral_2023(),
        *_vllm_054(),
        *_trt_llm(),
        *_nemo(),
    )


def _single_stream() -> tuple[Measurement, ...]:
    mapping = "A10 as A10G (same 600 GB/s); prompt 20 tokens, 267 generated (issue's script)"
    return (
        *(
            Measurement(row=row, source="lmdeploy-210",
                        setting=f"llama-2-7b fp16, A10, {engine_name}, batch 1",
                        model="llama-2-7b", gpu="a10g", gpus=1, precision="fp16",
                        concurrency=1, input_tokens=20, output_tokens=267, metric="ms/token",
                        published=ms, engine=profile, mapping=mapping)
            for row, engine_name, profile, ms in (
                ("1a", "HF Transformers", "tgi-1", 34.0),
                ("1b", "LMDeploy TurboMind", "trt-llm", 27.0),
            )
        ),
        Measurement(row="9a", source="musgrave",
                    setting="llama-3.1-8b bf16, A100-40GB, vLLM, concurrency 1",
                    model="llama-3.1-8b", gpu="a100-40gb", gpus=1, precision="fp16",
                    concurrency=1, input_tokens=1024, output_tokens=128, metric="output tok/s",
                    published=75.0, engine="vllm-0.6+", mapping="1024 in / 128 out as published"),
        Measurement(row="9b", source="musgrave",
                    setting="llama-3.1-8b bf16, A100-40GB, vLLM, concurrency 8",
                    model="llama-3.1-8b", gpu="a100-40gb", gpus=1, precision="fp16",
                    concurrency=8, input_tokens=1024, output_tokens=128, metric="output tok/s",
                    published=495.0, engine="vllm-0.6+",
                    mapping="6.6 x the C=1 rate, as published"),
    )  # fmt: skip


def _p4d_70b() -> tuple[Measurement, ...]:
    return tuple(
        Measurement(
            row=row, source="hf-sagemaker",
            setting=f"llama-2-70b fp16, 8x A100-40GB, TGI 1.0.3, {conc} concurrent",
            model="llama-2-70b", gpu="a100-40gb", gpus=8, precision="fp16", concurrency=conc,
            input_tokens=150, output_tokens=50, metric="output tok/s", published=tok_s,
            engine="tgi-1", mapping=HF_BLOG,
        )
        for row, conc, tok_s in (("6a", 1, 24.51), ("6b", 20, 321.54))
    )  # fmt: skip


def _mistral_2023() -> tuple[Measurement, ...]:
    return tuple(
        Measurement(
            row=row, source="mystic",
            setting=f"mistral-7b fp16, A100, vLLM (2023), batch {conc}",
            model="mistral-7b", gpu="a100-40gb", gpus=1, precision="fp16", concurrency=conc,
            input_tokens=128, output_tokens=256, metric="output tok/s", published=tok_s,
            engine="tgi-1",
            mapping="vLLM 0.2 (2023) ran eagerly (no CUDA graphs) like TGI 1.x; A100 variant "
            "not stated: 40GB assumed; lengths not published: 128/256",
        )
        for row, conc, tok_s in (("8a", 1, 46.0), ("8b", 10, 400.0), ("8c", 60, 1800.0))
    )  # fmt: skip


def _vllm_054() -> tuple[Measurement, ...]:
    cases = (
        ("10a", "llama-3.1-8b", "fp8", "a100-80gb", "A100-80GB", 1517.54),
        ("10b", "mistral-7b", "fp16", "a100-80gb", "A100-80GB", 1591.4),
        ("11a", "llama-3.1-8b", "fp8", "h100", "H100", 3400.4),
        ("11b", "mistral-7b", "fp16", "h100", "H100", 3281.19),
    )
    rows = [
        Measurement(
            row=row, source="lambda", setting=f"{model} {prec}, {label}, vLLM 0.5.4, 320 prompts",
            model=model, gpu=gpu, gpus=1, precision=prec, concurrency=None,
            input_tokens=200, output_tokens=200, metric="output tok/s", published=tok_s,
            engine="vllm-0.4", settings=LAMBDA_SETTINGS,
            mapping=f"{SHAREGPT}; max_num_seqs 256, gpu_memory_utilization 0.95"
            + ("; FP8 weights (1 byte), fp16 math on A100" if prec == "fp8" else "")
            + ("; Mistral-7B-v0.3 as v0.1 shape" if model == "mistral-7b" else ""),
        )
        for row, model, prec, gpu, label, tok_s in cases
    ]  # fmt: skip
    rows.append(
        Measurement(
            row="12", source="lambda",
            setting="llama-3.1-8b, H100, vLLM 0.6.0 (10 scheduler steps), 5000 prompts",
            model="llama-3.1-8b", gpu="h100", gpus=1, precision="fp16", concurrency=None,
            input_tokens=200, output_tokens=200, metric="output tok/s", published=8088.35,
            engine="vllm-0.6+", settings=LAMBDA_SETTINGS,
            mapping=f"{SHAREGPT}; precision not stated: bf16 assumed; max_num_seqs 256",
        )
    )  # fmt: skip
    return tuple(rows)


def _trt_llm() -> tuple[Measurement, ...]:
    cases = (
        ("13a", "llama-3.1-8b", "h100", 1, 128, 28312.0),
        ("13b", "llama-3.1-8b", "h100", 1, 1000, 15220.0),
        ("13c", "llama-3.1-8b", "h100", 1, 2048, 9305.0),
        ("13d", "llama-3.1-8b", "h200", 1, 128, 27911.0),
        ("13e", "llama-3.1-8b", "h200", 1, 1000, 17744.0),
        ("13f", "llama-3.1-8b", "h200", 1, 2048, 12194.0),
        ("14a", "llama-3.1-70b", "h100", 2, 1000, 4205.0),
        ("14b", "llama-3.1-70b", "h200", 1, 1000, 2909.0),
    )
    return (
        tuple(
            _trt_row(row, model, gpu, gpus, length, length, tok_s)
            for row, model, gpu, gpus, length, tok_s in cases
        )
        + _trt_more()
    )


def _trt_more() -> tuple[Measurement, ...]:
    """More rows of the same table: long outputs, long prompts, Llama-3.1-405B on 8 GPUs."""
    cases = (
        ("13g", "llama-3.1-8b", "h100", 1, 128, 2048, 22714.0),
        ("13h", "llama-3.1-8b", "h100", 1, 500, 2000, 17660.0),
        ("13i", "llama-3.1-8b", "h100", 1, 2048, 128, 3450.0),
        ("13j", "llama-3.1-8b", "h100", 1, 5000, 500, 3459.0),
        ("13k", "llama-3.1-8b", "h100", 1, 20000, 2000, 1351.0),
        ("13l", "llama-3.1-8b", "h200", 1, 128, 2048, 26221.0),
        ("13m", "llama-3.1-8b", "h200", 1, 500, 2000, 20770.0),
        ("13n", "llama-3.1-8b", "h200", 1, 2048, 128, 3538.0),
        ("13o", "llama-3.1-8b", "h200", 1, 5000, 500, 3902.0),
        ("13p", "llama-3.1-8b", "h200", 1, 20000, 2000, 1804.0),
        ("14c", "llama-3.1-70b", "h100", 2, 128, 128, 6378.0),
        ("14d", "llama-3.1-70b", "h100", 2, 2048, 2048, 3082.0),
        ("14e", "llama-3.1-70b", "h200", 1, 128, 2048, 4336.0),
        ("14f", "llama-3.1-70b", "h200", 1, 5000, 500, 566.0),
        ("14g", "llama-3.1-405b", "h100", 8, 1000, 1000, 2919.0),
        ("14h", "llama-3.1-405b", "h100", 8, 2048, 2048, 2296.0),
        ("14i", "llama-3.1-405b", "h200", 8, 1000, 1000, 3330.0),
        ("14j", "llama-3.1-405b", "h200", 8, 5000, 500, 650.0),
    )
    return tuple(_trt_row(*case) for case in cases)


TrtCase = tuple[str, str, str, int, int, int, float]


def _trt_row(*case: *TrtCase) -> Measurement:
    row, model, gpu, gpus, isl, osl, tok_s = case
    return Measurement(
        row=row, source="trt-overview",
        setting=f"{model} fp8, {gpus}x {gpu.upper()}, TensorRT-LLM, {isl}/{osl}",
        model=model, gpu=gpu, gpus=gpus, precision="fp8", concurrency=None,
        input_tokens=isl, output_tokens=osl, metric="output tok/s", published=tok_s,
        engine="trt-llm", settings=TRT_SETTINGS,
        mapping=TRT + "; batch and tokens per step up to 8192, 95% of memory"
        + ("; Llama-3.3-70B as 3.1-70B shape" if "70b" in model else ""),
    )  # fmt: skip


def moe_checks() -> tuple[Measurement, ...]:
    """Qwen3-235B-A22B rows of the TensorRT-LLM table, reported beside the calibration and
    not in it: TensorRT-LLM ran them with expert parallelism and attention data parallelism,
    which the model (tensor parallelism, uniform routing) does not describe."""
    cases = (
        ("M1", "h200", 128, 128, 30429.0),
        ("M2", "h200", 1000, 1000, 23789.0),
        ("M3", "h200", 2048, 2048, 16672.0),
        ("M4", "h200", 5000, 500, 3623.0),
        ("M5", "h100", 128, 2048, 19658.0),
        ("M6", "h100", 1000, 1000, 14898.0),
        ("M7", "h100", 2048, 2048, 9924.0),
        ("M8", "h100", 5000, 500, 3225.0),
    )
    return tuple(
        _trt_row(row, "qwen3-235b-a22b", gpu, 8, isl, osl, tok_s)
        for row, gpu, isl, osl, tok_s in cases
    )


def _nemo() -> tuple[Measurement, ...]:
    cases = (
        ("15a", "a100-80gb", 1, 234.0),
        ("15b", "a100-80gb", 8, 330.0),
        ("15c", "h100", 1, 154.0),
        ("15d", "h100", 8, 199.0),
    )
    return tuple(
        Measurement(
            row=row, source="nemo",
            setting=f"llama-2-7b, {gpu.upper()}, NeMo/TensorRT-LLM, batch {conc}",
            model="llama-2-7b", gpu=gpu, gpus=1, precision="fp16", concurrency=conc,
            input_tokens=128, output_tokens=20, metric="request ms", published=ms,
            engine="trt-llm", settings=STATIC_BATCH,
            mapping="128 in / 20 out; static batch = every prefill then every step",
        )
        for row, gpu, conc, ms in cases
    )  # fmt: skip
