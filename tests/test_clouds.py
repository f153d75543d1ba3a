"""Issue 12: GPU machines on other clouds, sourced and dated, searched by plan --cloud."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from conftest import Run
from llmecon.pricebook.book import PriceBook

PLAN = ("plan", "--model", "llama-3.1-8b", "--requests-per-day", "1000000", "--input-tokens",
        "500", "--output-tokens", "167", "--ttft-p95", "1000", "--tpot", "50", "--no-hosted",
        "--format", "json")  # fmt: skip


def test_other_cloud_prices_are_sourced_sums(book: PriceBook) -> None:
    l4 = book.instance("g2-standard-4")
    assert l4.provider == "gcp" and l4.gpu == "L4" and l4.gpus == 1
    assert l4.hourly.amount == pytest.approx(0.14679 + 0.56004)  # host + GPU rows
    assert book.instance("a2-highgpu-1g").hourly.amount == pytest.approx(0.73948 + 2.93391)
    h100 = book.instance("lambda-gpu_1x_h100_sxm5")
    assert (h100.provider, h100.hourly.amount, h100.gpu) == ("lambda", 4.29, "H100")
    for name in ("g2-standard-4", "lambda-gpu_8x_a100"):
        assert "SkyPilot catalog" in book.instance(name).hourly.source


def test_plan_searches_the_clouds_asked(book: PriceBook, llmecon: Callable[..., Run]) -> None:
    aws = json.loads(llmecon(*PLAN).out)
    assert {book.instance(c["instance"]).provider for c in aws["candidates"]} == {"aws"}
    other = json.loads(llmecon(*PLAN, "--cloud", "gcp,lambda").out)
    providers = {book.instance(c["instance"]).provider for c in other["candidates"]}
    assert providers == {"gcp", "lambda"}
    for c in other["candidates"][:5]:
        hourly = book.instance(c["instance"]).hourly.amount
        assert c["daily_cost"] == pytest.approx(hourly * 24 * c["replicas"])
    everything = json.loads(llmecon(*PLAN, "--cloud", "all").out)
    assert len(everything["candidates"]) == len(aws["candidates"]) + len(other["candidates"])


def test_unknown_cloud_is_an_error(llmecon: Callable[..., Run]) -> None:
    run = llmecon(*PLAN, "--cloud", "aws,oracle")
    assert run.code == 2 and "unknown cloud oracle" in run.err and "gcp" in run.err


def test_missing_aws_sizes_added(book: PriceBook) -> None:
    """g6e.12xlarge: the same 4x L40S as g6e.24xlarge at 30% less (issue 12)."""
    small, large = book.instance("g6e.12xlarge"), book.instance("g6e.24xlarge")
    assert (small.gpu, small.gpus) == (large.gpu, large.gpus) == ("L40S", 4)
    assert small.hourly.amount / large.hourly.amount == pytest.approx(0.70, abs=0.01)
    assert (book.instance("g6.12xlarge").gpus, book.instance("g6.12xlarge").hourly.amount) == (
        4,
        4.6016,
    )
