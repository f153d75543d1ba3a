"""The price book: every price sourced and dated, none negative, lookups by date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.entries import ApiModelPrice, InstancePrice
from llmecon.pricebook.loader import load_pricebook


def _prices(entry: object) -> list[object]:
    from llmecon.core.prices import Price

    return [value for value in vars(entry).values() if isinstance(value, Price)]


def test_every_price_has_a_source_and_a_date(book: PriceBook) -> None:
    for entry in book.entries():
        for price in _prices(entry):
            assert price.source.strip(), entry.name
            assert isinstance(price.as_of, date), entry.name
            assert price.amount >= 0, entry.name


def test_curated_files_cover_what_the_issue_names(book: PriceBook) -> None:
    for name in ("ml.g5.4xlarge", "ml.m5.xlarge", "g4dn.xlarge", "g5.xlarge", "g6.xlarge",
                 "g6e.xlarge", "p4d.24xlarge", "p5.48xlarge"):  # fmt: skip
        assert isinstance(book.instance(name), InstancePrice)
    assert book.instance("ml.g5.4xlarge").hourly.amount == 2.03
    assert book.instance("ml.g5.4xlarge").gpu == "A10G"
    assert book.lambda_price("aws-lambda-x86_64").per_gb_second.amount == 0.0000166667
    assert book.lambda_price("aws-lambda-arm64").per_million_requests.cost_of(1e6) == 0.20
    assert book.gateway("aws-api-gateway-http").per_million_requests.amount == 1.00
    assert book.gateway("aws-api-gateway-rest").per_million_requests.amount == 3.50


def test_api_snapshot_is_read_as_data(book: PriceBook) -> None:
    assert len(book.api_current) > 500
    mini = book.api_current["gpt-4o-mini"]
    assert (mini.input.amount, mini.output.amount) == (0.15, 0.60)  # no float noise
    assert "litellm 1.110.2" in mini.input.source.lower()
    assert mini.input.as_of == date(2026, 11, 25)
    assert "sample_spec" not in book.api_current


def test_litellm_is_not_imported() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from llmecon.pricebook.loader import load_pricebook; load_pricebook();"
        "print('litellm' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2023, 3, 1), (2.0, 2.0)),
        (date(2023, 4, 24), (2.0, 2.0)),
        (date(2023, 6, 13), (1.5, 2.0)),
        (date(2023, 12, 1), (1.5, 2.0)),  # the alias still pointed to 0613 (issue 12)
        (date(2023, 12, 11), (1.0, 2.0)),
        (date(2024, 2, 16), (0.5, 1.5)),
    ],
)
def test_history_picks_the_price_in_force(
    book: PriceBook, as_of: date, expected: tuple[float, float]
) -> None:
    price = book.api_model("gpt-3.5-turbo", as_of)
    assert (price.input.amount, price.output.amount) == expected


def test_current_price_without_a_date(book: PriceBook) -> None:
    price = book.api_model("gpt-3.5-turbo")
    assert isinstance(price, ApiModelPrice) and price.origin == "snapshot"


def test_no_price_before_the_first_entry(book: PriceBook) -> None:
    with pytest.raises(LlmeconError, match="no known price on 2023-01-01"):
        book.api_model("gpt-3.5-turbo", date(2023, 1, 1))


def test_history_dates_are_unique_per_model(book: PriceBook) -> None:
    for model, history in book.api_history.items():
        dates = [entry.effective_from for entry in history]
        assert len(dates) == len(set(dates)), model
        assert dates == sorted(dates), model


def test_version_names_the_data() -> None:
    assert load_pricebook().version.startswith("prices-")
    assert "+api-2026-11-25-" in load_pricebook().version


# Bad price files: each problem is one LlmeconError line naming the file, entry, field and fix.
_GOOD_INSTANCE = {
    "name": "ml.test.xlarge", "provider": "aws", "service": "sagemaker", "region": "us-east-1",
    "hourly": 1.5, "source": "a test", "as_of": date(2025, 1, 1),
}  # fmt: skip


def _load_instances(**changes: object) -> object:
    import yaml

    from llmecon.pricebook import schema
    from llmecon.pricebook.loader import validated

    entry = {key: value for key, value in (_GOOD_INSTANCE | changes).items() if value is not None}
    text = yaml.safe_dump({"schema": 1, "entries": [_GOOD_INSTANCE, entry]})
    data = {"aws_instances.yaml": yaml.safe_load(text)}
    return validated(schema.InstanceFile, data, "aws_instances.yaml")


def test_a_good_instance_file_reads() -> None:
    read = _load_instances()
    assert [entry.hourly for entry in read.entries] == [1.5, 1.5]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hourley": 2.0}, "entries[1] (ml.test.xlarge).hourley: unknown key; did you mean "
         "'hourly'?"),
        ({"hourly": "cheap"}, "entries[1] (ml.test.xlarge).hourly: expected a number, got "
         "'cheap' (text); write a number"),
        ({"hourly": -0.5}, "entries[1] (ml.test.xlarge).hourly: got -0.5 (float); must be at "
         "least 0"),
        ({"hourly": float("nan")}, "entries[1] (ml.test.xlarge).hourly: got nan; write a finite "
         "number"),
        ({"service": "lambda"}, "entries[1] (ml.test.xlarge).service: got 'lambda' (text); use "
         "'sagemaker', 'ec2', 'compute-engine', 'azure-vm' or 'gpu-cloud'"),
        ({"as_of": "2025-13-01"}, "entries[1] (ml.test.xlarge).as_of: expected a date "
         "(YYYY-MM-DD), got '2025-13-01' (text)"),
        ({"region": None}, "entries[1] (ml.test.xlarge).region: is missing; add this key"),
        ({"source": "x"}, "entries[1] (ml.test.xlarge).source: got 'x' (text); must be at least "
         "3 character(s) long"),
        ({"vcpus": 4.5}, "entries[1] (ml.test.xlarge).vcpus: expected a whole number, got 4.5"),
    ],
)  # fmt: skip
def test_a_bad_instance_file_is_one_line_naming_file_entry_field_and_fix(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(LlmeconError) as raised:
        _load_instances(**changes)
    text = str(raised.value)
    assert text.startswith(f"llmecon/data/prices/aws_instances.yaml: {message}"), text
    assert text.endswith("; fix that entry of aws_instances.yaml")
    assert "\n" not in text


def test_a_date_written_as_text_reads_and_a_wrong_schema_is_named() -> None:
    read = _load_instances(as_of="2025-02-03")
    assert read.entries[1].as_of == date(2025, 2, 3)  # type: ignore[attr-defined]
    from llmecon.pricebook import schema
    from llmecon.pricebook.loader import validated

    with pytest.raises(LlmeconError, match=r"aws_serverless.yaml: schema: got 2 \(int\); use 1;"):
        validated(schema.ServerlessFile, {"aws_serverless.yaml": {"schema": 2, "entries": []}},
                  "aws_serverless.yaml")  # fmt: skip


def test_a_lambda_price_without_its_gb_second_rate_is_named() -> None:
    from llmecon.pricebook import schema
    from llmecon.pricebook.loader import validated

    entry = {"name": "aws-lambda-x", "provider": "aws", "service": "lambda", "region": "us-east-1",
             "per_million_requests": 0.2, "source": "https://aws.amazon.com/lambda/pricing/",
             "as_of": "2026-11-25"}  # fmt: skip
    with pytest.raises(LlmeconError) as raised:
        validated(schema.ServerlessFile, {"f.yaml": {"schema": 1, "entries": [entry]}}, "f.yaml")
    text = str(raised.value)
    assert "entries[0] (aws-lambda-x).per_gb_second" in text and "per_gb_second rate" in text
    assert "\n" not in text


def test_an_unknown_commitment_key_is_named() -> None:
    import yaml

    from llmecon.pricebook import schema
    from llmecon.pricebook.loader import validated

    text = (
        "schema: 1\nentries:\n- {instance: g5.xlarge, region: us-east-1, on_demand_in_source: 1,"
        " as_of: 2025-01-01, source: abc, rates: {reserved_2y_no_upfront: 0.5}}\n"
    )
    data = {"aws_commitments.yaml": yaml.safe_load(text)}
    with pytest.raises(LlmeconError) as raised:
        validated(schema.CommitmentFile, data, "aws_commitments.yaml")
    assert "entries[0] (g5.xlarge).rates.reserved_2y_no_upfront: got 'reserved_2y_no_upfront'" in (
        str(raised.value)
    )


def test_the_parsed_price_files_are_cached_by_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: later runs read the validated YAML as JSON (~0.3 ms instead of ~15-25 ms)."""
    from llmecon.pricebook import loader

    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path))
    (tmp_path / f"prices-{'0' * 64}.json").write_text("{}")  # an older digest's: replaced
    first = load_pricebook()
    cached = list(tmp_path.glob("prices-*.json"))
    assert len(cached) == 1 and first.version.split("+")[0][7:] in cached[0].name

    def no_yaml(text: str) -> object:
        raise AssertionError("the YAML was parsed again")

    monkeypatch.setattr(loader, "_yaml", no_yaml)
    second = load_pricebook()
    assert second.version == first.version
    assert second.instances == first.instances and second.api_history == first.api_history
    assert second.lambdas == first.lambdas and second.gateways == first.gateways

    monkeypatch.undo()
    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path))
    cached[0].write_text('{"api_history.yaml": [')  # broken: ignored, the YAML is parsed
    assert load_pricebook().instances == first.instances
    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path / "file" / "x"))
    (tmp_path / "file").write_text("not a folder")  # cannot write there: no error
    assert load_pricebook().instances == first.instances
