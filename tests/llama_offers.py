"""The paid-or-free offers of one open model in the vendored API price snapshot, listed by hand
for the review tests that recompute hosted prices from the raw file (no llmecon import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Every offer of Llama-3.1-8B-Instruct in api_prices.json, found by reading the file (grep -iE
# 'llama.?3.?[.-]?1.?8b|3p1-8b'), fine-tunes and base models left out.
LLAMA_31_8B_OFFERS = [
    "cerebras/llama-3.1-8b", "cerebras/llama3.1-8b",
    "cloudflare/@cf/meta/llama-3.1-8b-instruct-fp8",
    "inferenceapis/llama-3.1-8b-instant", "lambda_ai/llama3.1-8b-instruct",
    "snowflake/llama3.1-8b", "us.meta.llama3-1-8b-instruct-v1:0",
    "vercel_ai_gateway/meta/llama-3.1-8b", "zerogpu/llama-3.1-8b-instruct-fast",
    "databricks/databricks-meta-llama-3-1-8b-instruct",
    "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct",
    "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
    "hyperbolic/meta-llama/Meta-Llama-3.1-8B-Instruct", "llamagate/llama-3.1-8b",
    "meta.llama3-1-8b-instruct-v1:0", "nebius/meta-llama/Meta-Llama-3.1-8B-Instruct",
    "novita/meta-llama/llama-3.1-8b-instruct", "nscale/meta-llama/Llama-3.1-8B-Instruct",
    "oci/meta.llama-3.1-8b-instruct", "ovhcloud/Llama-3.1-8B-Instruct",
    "perplexity/llama-3.1-8b-instruct",
    "together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    "vertex_ai/meta/llama-3.1-8b-instruct-maas", "wandb/meta-llama/Llama-3.1-8B-Instruct",
]  # fmt: skip


def paid_offers(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The offers with a price (`rows`: the snapshot's rows by name); $0 listings left out."""
    return [k for k in LLAMA_31_8B_OFFERS if rows[k]["input"]]
