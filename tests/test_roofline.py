"""Roofline estimator: memory fit, the KV formula, roofline behaviour, and calibration against
published measurements (benchmarks/roofline_calibration.py, docs/roofline.md)."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from benchmark_scripts import benchmark_script
from llmecon.core.accuracy import OUT_OF_SAMPLE, safety_factor
from llmecon.core.roofline import (
    DEFAULT_EFFICIENCY,
    ENGINES,
    PRECISIONS,
    Efficiency,
    Estimate,
    GpuSpec,
    ModelSpec,
    estimate,
    kv_cache_bytes_per_token,
    weights_gb,
)
from llmecon.errors import LlmeconError
from llmecon.pricebook.hardware import load_gpus, load_models, parse_gpus, parse_models

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "roofline.md"

BAND = 1.8
"""Every calibration estimate is within this factor of the published number, in sample and
leave-one-source-out (the issue's goal for the worst out-of-sample error)."""
MEAN_BAND = 1.25
"""...and the out-of-sample geometric-mean error stays under this factor."""
BIAS = 0.15
"""...with no systematic bias beyond +-15%."""

MODELS = load_models()
GPUS = load_gpus()


def _calibration() -> ModuleType:
    return benchmark_script("roofline_calibration")


# --- data files -------------------------------------------------------------------------------


def test_shipped_models_and_gpus_load_with_sources() -> None:
    for name in ("llama-2-7b", "llama-3.1-8b", "llama-3.1-70b", "mistral-7b", "qwen2.5-7b",
                 "flan-ul2", "smollm2-135m", "bert-base"):  # fmt: skip
        assert name in MODELS
    for name in ("t4", "a10g", "l4", "l40s", "a100-40gb", "a100-80gb", "h100", "h200"):
        assert name in GPUS
    for model in MODELS.values():
        assert len(model.source) > 3, model.name
    for gpu in GPUS.values():
        assert len(gpu.source) > 3, gpu.name


def test_published_config_values() -> None:
    llama = MODELS["llama-3.1-8b"]
    shape = (llama.layers, llama.hidden_size, llama.attention_heads, llama.kv_heads)
    assert shape == (32, 4096, 32, 8)
    assert (llama.head_dim, llama.max_context) == (128, 131072)
    assert round(llama.parameters / 1e9, 2) == 8.03
    qwen = MODELS["qwen2.5-7b"]
    assert (qwen.layers, qwen.hidden_size, qwen.kv_heads, qwen.max_context) == (28, 3584, 4, 32768)
    smol = MODELS["smollm2-135m"]
    assert (smol.layers, smol.hidden_size, smol.attention_heads, smol.kv_heads) == (30, 576, 9, 3)
    ul2 = MODELS["flan-ul2"]
    assert (ul2.architecture, ul2.layers, ul2.decoder_layers, ul2.head_dim) == (
        "encoder-decoder",
        64,
        32,
        256,
    )
    assert 19e9 < ul2.parameters < 20.5e9 and ul2.decode_parameters < ul2.parameters
    h100 = GPUS["h100"]
    assert (h100.memory_gb, h100.bandwidth_gb_s, h100.fp16_tflops) == (80, 3350, 989)
    assert GPUS["a100-40gb"].fp8_tflops is None and GPUS["l4"].fp8_tflops == 242


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("schema: 2\nentries: []\n", "schema"),
        ("schema: 1\nentries:\n  - {name: x, memory_gb: 1, bandwidth_gb_s: 1, fp16_tflops: 1, "
         "int8_tops: 1, source: abc, speed: 3}\n", "speed"),
        ("schema: 1\nentries:\n  - {name: X, memory_gb: 1, bandwidth_gb_s: 1, fp16_tflops: 1, "
         "int8_tops: 1, source: abc}\n  - {name: x, memory_gb: 1, bandwidth_gb_s: 1, "
         "fp16_tflops: 1, int8_tops: 1, source: abc}\n", "twice"),
        ("schema: 1\nentries: [", "YAML"),
    ],
)  # fmt: skip
def test_bad_gpu_files_are_errors_that_name_the_file(text: str, problem: str) -> None:
    with pytest.raises(LlmeconError, match=problem) as caught:
        parse_gpus(text, origin="my-gpus.yaml")
    assert "my-gpus.yaml" in str(caught.value)


def test_model_entry_checks_become_file_errors() -> None:
    text = (
        "schema: 1\nentries:\n  - {name: m, architecture: encoder-decoder, parameters: 10, "
        "layers: 2, hidden_size: 4, attention_heads: 1, kv_heads: 1, head_dim: 4, "
        "max_context: 8, source: abc}\n"
    )
    with pytest.raises(LlmeconError, match="decoder_parameters"):
        parse_models(text, origin="models.yaml")


# --- memory -----------------------------------------------------------------------------------


def test_kv_cache_bytes_formula() -> None:
    for model in MODELS.values():
        per_layer = model.kv_values_per_token_per_layer or 2 * model.kv_heads * model.head_dim
        expected = model.decode_layers * per_layer * 2
        assert kv_cache_bytes_per_token(model) == expected
    assert kv_cache_bytes_per_token(MODELS["llama-3.1-8b"]) == 2 * 32 * 8 * 128 * 2 == 131_072
    assert kv_cache_bytes_per_token(MODELS["llama-2-7b"]) == 2 * 32 * 32 * 128 * 2
    assert kv_cache_bytes_per_token(MODELS["flan-ul2"]) == 2 * 32 * 16 * 256 * 2  # decoder only
    assert kv_cache_bytes_per_token(MODELS["bert-base"]) == 0
    assert kv_cache_bytes_per_token(MODELS["llama-3.1-8b"], "fp8") == 65_536
    result = estimate(MODELS["llama-3.1-8b"], GPUS["h100"], input_tokens=1000, output_tokens=24)
    assert result.kv_cache_gb_per_sequence == pytest.approx(131_072 * 1024 / 1e9)


def test_weights_by_precision() -> None:
    llama = MODELS["llama-3.1-8b"]
    assert {name: p.bytes_per_param for name, p in PRECISIONS.items()} == {
        "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5
    }  # fmt: skip
    assert weights_gb(llama, "fp16") == pytest.approx(16.06, abs=0.01)
    assert weights_gb(llama, "int4") == pytest.approx(weights_gb(llama, "fp16") / 4)


def test_70b_fp16_does_not_fit_one_a10g_but_fits_8_a100_40gb() -> None:
    model = MODELS["llama-3.1-70b"]
    alone = estimate(model, GPUS["a10g"])
    assert not alone.fits
    assert "GB per GPU" in alone.reason and "more GPUs" in alone.reason
    assert alone.weights_gb == pytest.approx(141.1, abs=0.1)
    assert (alone.concurrency, alone.tpot_ms, alone.output_tokens_per_second) == (0, 0.0, 0.0)
    spread = estimate(model, GPUS["a100-40gb"], gpus=8)
    assert spread.fits and spread.reason == ""
    assert spread.max_concurrency >= 100 and spread.output_tokens_per_second > 0


def test_fits_is_the_memory_arithmetic() -> None:
    model, gpu, eff = MODELS["llama-2-7b"], GPUS["a10g"], DEFAULT_EFFICIENCY
    result = estimate(model, gpu, input_tokens=1000, output_tokens=200)
    free = (gpu.memory_gb * eff.usable_memory - eff.overhead_gb) - result.weights_gb
    assert result.max_concurrency == math.floor(free / result.kv_cache_gb_per_sequence)
    assert result.concurrency == min(result.max_concurrency, eff.max_batch)


def test_too_many_sequences_or_tokens_do_not_fit() -> None:
    model, gpu = MODELS["llama-2-7b"], GPUS["a10g"]
    most = estimate(model, gpu).max_concurrency
    crowded = estimate(model, gpu, concurrency=most + 1)
    assert not crowded.fits and f"room for {most}" in crowded.reason
    long = estimate(model, gpu, input_tokens=4000, output_tokens=200)
    assert not long.fits and "context of 4096" in long.reason
    assert not estimate(model, GPUS["t4"]).fits  # 13.5 GB of weights in a 16 GB card


def test_more_gpus_hold_more_and_decode_faster() -> None:
    model, gpu = MODELS["llama-2-70b"], GPUS["a100-80gb"]
    four = estimate(model, gpu, gpus=4, concurrency=1)
    eight = estimate(model, gpu, gpus=8, concurrency=1)
    assert eight.max_concurrency > 2 * four.max_concurrency
    assert eight.tpot_ms < four.tpot_ms
    assert four.tpot_ms / eight.tpot_ms < 2  # communication keeps it below linear


def test_every_shipped_combination_gives_a_result() -> None:
    for model, gpu, precision, gpus in itertools.product(
        MODELS.values(), GPUS.values(), PRECISIONS, (1, 2, 8)
    ):
        result = estimate(model, gpu, gpus=gpus, precision=precision, input_tokens=256)
        assert result.fits == (result.reason == "")
        assert result.fits == (result.requests_per_second > 0), (model.name, gpu.name)


# --- roofline behaviour -----------------------------------------------------------------------


def test_single_stream_decode_is_weights_over_bandwidth() -> None:
    model, gpu = MODELS["llama-2-7b"], GPUS["a10g"]
    eff = replace(DEFAULT_EFFICIENCY, chunked_prefill=False)  # a pure decode step
    result = estimate(model, gpu, concurrency=1, input_tokens=100, output_tokens=100,
                      efficiency=eff)  # fmt: skip
    kv_gb = kv_cache_bytes_per_token(model) * 150 / 1e9 / eff.kv_read_efficiency
    seconds = (result.weights_gb + kv_gb) / (gpu.bandwidth_gb_s * eff.memory_bandwidth)
    overhead_ms = eff.step_overhead_ms + eff.sequence_overhead_ms
    assert result.bound == "memory"
    assert result.tpot_ms == pytest.approx(seconds * 1000 + overhead_ms)
    assert result.decode_tokens_per_second == pytest.approx(1000 / result.tpot_ms)


def test_decode_turns_compute_bound_as_the_batch_grows() -> None:
    model, gpu = MODELS["qwen2.5-7b"], GPUS["a100-80gb"]
    bounds = [
        estimate(model, gpu, concurrency=n, input_tokens=128, output_tokens=128).bound
        for n in (1, 2, 4, 8, 16, 32, 64, 128, 256)
    ]
    assert bounds[0] == "memory" and bounds[-1] == "compute"
    switch = bounds.index("compute")
    assert all(b == "compute" for b in bounds[switch:])


def test_throughput_never_falls_as_concurrency_rises() -> None:
    for name, gpu in (("llama-3.1-8b", "h100"), ("llama-2-7b", "a10g"), ("flan-ul2", "a100-80gb")):
        model = MODELS[name]
        most = estimate(model, GPUS[gpu], input_tokens=300, output_tokens=100).max_concurrency
        runs = [
            estimate(model, GPUS[gpu], concurrency=n, input_tokens=300, output_tokens=100)
            for n in range(1, min(most, 256) + 1)
        ]
        rates = [r.output_tokens_per_second for r in runs]
        assert all(b >= a * (1 - 1e-12) for a, b in itertools.pairwise(rates)), name
        steps = [r.tpot_ms for r in runs]
        assert all(b >= a for a, b in itertools.pairwise(steps)), name
        assert rates[-1] > 5 * rates[0]


def test_rates_agree_with_each_other() -> None:
    result = estimate(MODELS["mistral-7b"], GPUS["l40s"], concurrency=16, output_tokens=200)
    assert result.output_tokens_per_second == pytest.approx(result.requests_per_second * 200)
    # the first token comes out of prefill: 200 tokens per 199 steps
    assert result.output_tokens_per_second <= result.decode_tokens_per_second * 200 / 199
    assert result.ttft_ms == pytest.approx(result.prefill_ms + result.tpot_ms / 2)
    alone = estimate(MODELS["mistral-7b"], GPUS["l40s"], concurrency=1)
    assert alone.ttft_ms == alone.prefill_ms


def test_prefill_is_compute_bound_for_long_prompts() -> None:
    model, gpu, eff = MODELS["llama-3.1-8b"], GPUS["h100"], DEFAULT_EFFICIENCY
    result = estimate(model, gpu, concurrency=1, input_tokens=4096, output_tokens=1)
    flops = 2 * model.parameters * 4096 + 2 * model.layers * 4096**2 * model.attention_width
    rate = 989e12 * gpu.gemm_efficiency * eff.compute * 4096 / (4096 + eff.gemm_half_tokens)
    assert result.prefill_ms == pytest.approx(flops / rate * 1000)
    assert result.bound == "compute" and result.tpot_ms == 0.0


def test_encoder_decoder_decodes_only_through_the_decoder() -> None:
    ul2 = MODELS["flan-ul2"]
    as_decoder = replace(ul2, architecture="decoder", decoder_layers=None, decoder_parameters=None)

    def run(model: ModelSpec, gpu: str, efficiency: Efficiency = DEFAULT_EFFICIENCY) -> Estimate:
        return estimate(
            model, GPUS[gpu], precision="int8", concurrency=1, input_tokens=500,
            output_tokens=167, efficiency=efficiency,
        )  # fmt: skip

    split, whole = run(ul2, "a100-80gb"), run(as_decoder, "a100-80gb")
    assert split.fits and split.weights_gb == whole.weights_gb  # all weights stay in memory
    assert split.tpot_ms < 0.65 * whole.tpot_ms
    assert split.kv_cache_gb_per_sequence < whole.kv_cache_gb_per_sequence
    article = run(ul2, "a10g", ENGINES["legacy"])
    assert article.fits and article.max_concurrency == 1  # int8 UL2 just fits one A10G
    assert 4 < 1 / article.requests_per_second < 7  # seconds per request, 2023-style engine


def test_encoder_reports_forward_passes() -> None:
    bert, t4 = MODELS["bert-base"], GPUS["t4"]
    one = estimate(bert, t4, concurrency=1, input_tokens=16, output_tokens=50)
    many = estimate(bert, t4, concurrency=64, input_tokens=16)
    assert one.fits and one.output_tokens == 0 and one.kv_cache_gb_per_sequence == 0
    assert (one.tpot_ms, one.output_tokens_per_second, one.decode_tokens_per_second) == (0, 0, 0)
    assert one.ttft_ms == one.prefill_ms > 0
    assert one.requests_per_second == pytest.approx(1000 / one.prefill_ms)
    assert (one.bound, many.bound) == ("memory", "compute")  # weights read once per batch
    assert many.requests_per_second > 5 * one.requests_per_second
    assert not estimate(bert, t4, input_tokens=600).fits  # 512-token context


# --- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"precision": "fp32"}, "unknown precision 'fp32'"),
        ({"gpus": 0}, "gpus must be >= 1"),
        ({"input_tokens": -5}, "input_tokens must be >= 1"),
        ({"output_tokens": -1}, "output_tokens must be >= 0"),
        ({"concurrency": 0}, "concurrency must be >= 1"),
        ({"kv_cache_precision": "int2"}, "unknown kv_cache_precision"),
    ],
)
def test_invalid_arguments_raise(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate(MODELS["llama-2-7b"], GPUS["a10g"], **changes)  # type: ignore[arg-type]


def test_invalid_specs_and_efficiencies_raise() -> None:
    with pytest.raises(ValueError, match="memory_bandwidth"):
        Efficiency(memory_bandwidth=0)
    with pytest.raises(ValueError, match="prefill_stall"):
        Efficiency(prefill_stall=1.5)
    with pytest.raises(ValueError, match="max_batch"):
        Efficiency(max_batch=0)
    with pytest.raises(ValueError, match="positive"):
        GpuSpec("x", 0, 1, 1, 1, "src")
    with pytest.raises(ValueError, match="architecture"):
        ModelSpec("x", "rnn", 1, 1, 1, 1, 1, 1, 1, "src")  # type: ignore[arg-type]
    assert ENGINES["current"] is DEFAULT_EFFICIENCY
    assert estimate(MODELS["llama-2-7b"], GPUS["a10g"]).efficiency is DEFAULT_EFFICIENCY


# --- calibration against published measurements ------------------------------------------------


@pytest.mark.parametrize("row", [m.row for m in _calibration().measurements()])
def test_estimate_is_within_the_band_of_the_published_number(row: str) -> None:
    module = _calibration()
    measurement = next(m for m in module.measurements() if m.row == row)
    comparison = module.compare(measurement)
    assert 1 / BAND <= comparison.ratio <= BAND, (row, comparison.estimated, measurement.published)


def test_out_of_sample_error_meets_the_goals_and_matches_the_shipped_figures() -> None:
    module = _calibration()
    held_out = module.leave_one_source_out()
    rows = {c.measurement.row.rstrip("abcdef") for c in held_out}
    assert {"1", "2", "4", "8", "9", "10", "11", "13", "15"} <= rows
    errors = module.errors(held_out)
    assert errors.geo_mean <= MEAN_BAND and errors.worst <= BAND and abs(errors.bias) <= BIAS
    assert len({c.measurement.source for c in held_out}) == OUT_OF_SAMPLE.sources
    shipped = (OUT_OF_SAMPLE.rows, OUT_OF_SAMPLE.geo_mean, OUT_OF_SAMPLE.worst, OUT_OF_SAMPLE.bias)
    figures = (errors.count, *(round(x, 2) for x in (errors.geo_mean, errors.worst, errors.bias)))
    assert shipped == figures, "update llmecon.core.accuracy.OUT_OF_SAMPLE"
    assert dict(OUT_OF_SAMPLE.ratio_quantiles) == module.ratio_quantiles(held_out)
    in_sample = module.errors(module.calibrate())
    assert in_sample.geo_mean <= errors.geo_mean  # refitting without a source cannot help it


def test_safety_factor_follows_the_out_of_sample_quantiles() -> None:
    assert safety_factor(None) == 1.0
    assert safety_factor("p90") == max(1.0, OUT_OF_SAMPLE.ratio_quantiles["p90"]) > 1
    assert safety_factor("p50") >= 1.0
    with pytest.raises(ValueError, match="unknown confidence"):
        safety_factor("p99")


def test_doc_table_matches_the_calibration_script() -> None:
    module = _calibration()
    comparisons = module.calibrate()
    held_out = module.leave_one_source_out()
    generated = module.markdown(comparisons, held_out) + "\n\n" + module.mappings(comparisons)
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- calibration:start -->\n", "\n<!-- calibration:end -->"
    assert start in text and end in text, "docs/roofline.md lost its calibration markers"
    block = text.split(start, 1)[1].split(end, 1)[0]
    assert block.strip() == generated.strip(), (
        "docs/roofline.md is stale: paste `python benchmarks/roofline_calibration.py --markdown`"
    )
