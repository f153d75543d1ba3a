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
    rest = json.loads(llmecon(*PLAN, "--cloud", "gcp,lambda,azure,fluidstack").out)
    everything = json.loads(llmecon(*PLAN, "--cloud", "all").out)
    assert len(everything["candidates"]) == len(aws["candidates"]) + len(rest["candidates"])


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


AZURE = {  # SkyPilot catalogs/v6/azure/vms.csv @ 098741e7, eastus Price column
    "azure-Standard_NC4as_T4_v3": (0.526, "T4", 1),
    "azure-Standard_NC64as_T4_v3": (4.352, "T4", 4),
    "azure-Standard_NC24ads_A100_v4": (3.673, "A100-80GB-PCIe", 1),
    "azure-Standard_NC48ads_A100_v4": (7.346, "A100-80GB-PCIe", 2),
    "azure-Standard_NC96ads_A100_v4": (14.692, "A100-80GB-PCIe", 4),
    "azure-Standard_ND96amsr_A100_v4": (32.77, "A100-80GB", 8),
    "azure-Standard_ND96isr_H100_v5": (98.32, "H100", 8),
}


@pytest.mark.parametrize("name", sorted(AZURE))
def test_azure_prices_are_sourced_and_marked_undated(book: PriceBook, name: str) -> None:
    price = book.instance(name)
    assert (price.hourly.amount, price.gpu, price.gpus) == AZURE[name]
    assert (price.provider, price.region) == ("azure", "eastus")
    assert "catalogs/v6/azure/vms.csv @ 098741e70562f65d7af1cceb81e33b284f742604" in (
        price.hourly.source
    )
    assert name.removeprefix("azure-") in price.hourly.source
    # the commit is undated: as_of is the reading date, and the entry says so
    assert price.hourly.as_of is not None and price.hourly.as_of.isoformat() == "2026-12-04"
    assert price.note is not None and "effective date unknown" in price.note


def test_fluidstack_price(book: PriceBook) -> None:
    price = book.instance("fluidstack-H100_NVLINK_80GB::8")
    assert (price.provider, price.hourly.amount, price.gpu, price.gpus) == (
        "fluidstack", 23.92, "H100", 8
    )  # fmt: skip
    assert "catalogs/v9/fluidstack/vms.csv @ 2c3d7ea7" in price.hourly.source
    assert price.hourly.as_of is not None and price.hourly.as_of.isoformat() == "2025-06-01"


def test_plan_cloud_filter_takes_azure_and_a_gpu_cloud(
    book: PriceBook, llmecon: Callable[..., Run]
) -> None:
    run = llmecon(*PLAN, "--cloud", "azure,fluidstack", "--top", "200")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    providers = {book.instance(c["instance"]).provider for c in data["candidates"]}
    assert providers == {"azure", "fluidstack"}
    every = json.loads(llmecon(*PLAN, "--cloud", "aws,gcp,azure,lambda,fluidstack").out)
    assert {book.instance(c["instance"]).provider for c in every["candidates"]} == {
        "aws", "gcp", "azure", "lambda", "fluidstack"
    }  # fmt: skip
