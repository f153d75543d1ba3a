"""Review cases (issue 12 review R1): API pricing rules checked against the raw price data.

Expected figures are worked out here from `src/llmecon/data/prices/api_prices.json` read as plain
JSON (and, for the batch cached rates, from the upstream LiteLLM fields named in the comments);
llmecon runs as a user runs it, in a subprocess, and only its JSON output is compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llama_offers import paid_offers

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT / "src" / "llmecon" / "data" / "prices" / "api_prices.json"

pytestmark = pytest.mark.slow


def _rows() -> dict[str, dict[str, Any]]:
    doc = json.loads(PRICES.read_text())
    return {
        name: dict(zip(doc["columns"], row, strict=True)) for name, row in doc["models"].items()
    }


def _compare(*args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("LLMECON_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "llmecon", "compare", "--requests-per-day", "1000",
         *args, "--format", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _cheapest_llama(tokens_in: int, tokens_out: int) -> tuple[float, str]:
    rows = _rows()
    fitting = [
        (1000 * (tokens_in * rows[k]["input"] + tokens_out * rows[k]["output"]) / 1e6, k)
        for k in paid_offers(rows)
        if rows[k]["max_input_tokens"] is None or tokens_in <= rows[k]["max_input_tokens"]
    ]
    return min(fitting)


def test_hosted_model_by_name_is_the_cheapest_for_the_workload() -> None:
    # Output-heavy requests: $0.03/$0.03 (nscale) beats $0.02/$0.04 (DeepInfra Turbo), whose
    # input + output rates tie; the option must be the cheapest host for these tokens.
    daily, key = _cheapest_llama(10, 2000)
    assert key == "nscale/meta-llama/Llama-3.1-8B-Instruct"
    assert daily == pytest.approx(0.0603)
    doc = _compare("--input-tokens", "10", "--output-tokens", "2000", "--api", "llama-3.1-8b")
    (option,) = doc["results"][0]["options"]
    assert option["daily_cost"] == pytest.approx(daily)


@pytest.mark.parametrize("prompt", [140_000, 210_000])
def test_hosted_model_by_name_skips_hosts_whose_context_is_too_short(prompt: int) -> None:
    # DeepInfra (131,072 tokens) cannot take either prompt; hosts that can exist.
    daily, key = _cheapest_llama(prompt, 100)
    doc = _compare("--input-tokens", str(prompt), "--output-tokens", "100", "--api", "llama-3.1-8b")
    (option,) = doc["results"][0]["options"]
    assert option["daily_cost"] == pytest.approx(daily)
    # When the host taken lists no window and none that lists one takes the prompt, say so.
    # Databricks lists 200,000 tokens: it takes 140,000 (no note) but not 210,000 (note).
    rows = _rows()
    listed = [rows[k]["max_input_tokens"] for k in paid_offers(rows)
              if rows[k]["max_input_tokens"] is not None]  # fmt: skip
    assert max(listed) == 200_000
    expected = rows[key]["max_input_tokens"] is None and prompt > max(listed)
    assert expected == (prompt == 210_000)
    assert any("lists no context window" in note for note in doc["notes"]) == expected


def test_hosted_provider_by_name_is_still_that_provider() -> None:
    doc = _compare("--input-tokens", "10", "--output-tokens", "2000",
                   "--api", "deepinfra/llama-3.1-8b")  # fmt: skip
    (option,) = doc["results"][0]["options"]
    assert option["daily_cost"] == pytest.approx(1000 * (10 * 0.02 + 2000 * 0.04) / 1e6)


@pytest.mark.parametrize(
    ("model", "rates"),
    [
        # Upstream LiteLLM (the snapshot's source, litellm 1.110.2): claude-sonnet-4-5
        # input_cost_per_token_batches 1.5e-06, output_cost_per_token_batches 7.5e-06,
        # cache_read_input_token_cost_batches 1.5e-07 ($0.15/1M; interactive cache read $0.30)
        ("claude-sonnet-4-5", (1.5, 0.15, 7.5)),
        # gpt-5.4: batches 1.25e-06 / 7.5e-06, cache_read_input_token_cost_batches 1.3e-07
        # ($0.13/1M; interactive cache read $0.25)
        ("gpt-5.4", (1.25, 0.13, 7.5)),
    ],
)
def test_batch_bills_cached_tokens_at_the_batch_cached_rate(
    model: str, rates: tuple[float, float, float]
) -> None:
    doc = _compare("--input-tokens", "1000", "--output-tokens", "100", "--api",
                   model, "--batch", "--cached-fraction", "0.5",
                   "--requests-per-day", "1000000")  # fmt: skip
    option = next(o for r in doc["results"] if r["requests_per_day"] == 1_000_000
                  for o in r["options"])  # fmt: skip
    rate_in, rate_cached, rate_out = rates
    expected = 1_000_000 * (500 * rate_in + 500 * rate_cached + 100 * rate_out) / 1e6
    # by hand: claude-sonnet-4-5 $750 + $75 + $750 = $1,575/day; gpt-5.4 $625 + $65 + $750
    assert expected == pytest.approx({"claude-sonnet-4-5": 1575, "gpt-5.4": 1440}[model])
    assert option["daily_cost"] == pytest.approx(expected)
    cached = next(i for i in option["line_items"] if "cached" in i["name"])
    assert cached["unit_price"] == rate_cached
    assert not any("interactive cached rate" in note for note in doc["notes"])


def test_batch_without_a_batch_cached_rate_uses_the_interactive_one_and_says_so() -> None:
    # gpt-4o-mini upstream: batch 7.5e-08 / 3e-07, cache read 7.5e-08, no batch cache read
    row = _rows()["gpt-4o-mini"]
    assert (row["batch_input"], row["batch_cached_input"], row["cached_input"]) == (
        0.075, None, 0.075)  # fmt: skip
    doc = _compare("--input-tokens", "1000", "--output-tokens", "100", "--api",
                   "gpt-4o-mini", "--batch", "--cached-fraction", "0.5")  # fmt: skip
    (option,) = doc["results"][0]["options"]
    assert option["daily_cost"] == pytest.approx(
        1000 * (500 * 0.075 + 500 * 0.075 + 100 * 0.3) / 1e6
    )
    assert any("interactive cached rate" in note and "gpt-4o-mini" in note
               for note in doc["notes"])  # fmt: skip
