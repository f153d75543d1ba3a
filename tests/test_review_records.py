"""Review of issue 19 (records instead of pydantic; the price-file JSON cache): inputs a user or a
broken cache can give, each answered with a one-line error (exit 2) or ignored, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmecon import records
from llmecon.errors import LlmeconError
from llmecon.pricebook import loader
from llmecon.pricebook.loader import load_pricebook
from llmecon.scenario.schema import ScenarioSpec
from llmecon.scenario.yaml_source import parse_yaml

SCENARIO = """\
name: huge
workload:
  requests_per_day: [1000]
  tokens_per_request: {tokens}
options:
  - name: api
    api: {{price_per_1k_tokens: 0.002}}
"""


def test_a_number_too_large_for_a_float_is_a_problem_not_a_crash() -> None:
    """pydantic said "expected a number"; float(10**400) raised OverflowError (a traceback)."""
    data = parse_yaml(SCENARIO.format(tokens="1" + "0" * 400), "s.yaml")
    with pytest.raises(records.RecordError) as raised:
        records.read(ScenarioSpec, data)
    message = str(raised.value)
    assert message.startswith("workload.tokens_per_request: ")
    assert "finite number" in message and "\n" not in message
    assert len(message) < 200  # the 401 digits are not all repeated


def test_a_number_with_too_many_digits_for_python_is_a_yaml_error() -> None:
    """Python refuses to convert more than 4300 digits (ValueError, not a YAMLError)."""
    with pytest.raises(LlmeconError, match=r"^s\.yaml: .*; fix") as raised:
        parse_yaml(SCENARIO.format(tokens="1" + "0" * 5000), "s.yaml")
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 300


@pytest.mark.parametrize("digits", [400, 5000])
def test_compare_exits_2_without_a_traceback_for_a_huge_number(tmp_path: Path, digits: int) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(tokens="1" + "0" * digits), encoding="utf-8")
    env = {"LLMECON_CACHE": str(tmp_path / "cache"), "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "llmecon", "compare", str(path), "--format", "json"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_huge_number_in_a_model_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    from llmecon.pricebook.hardware import load_model_file

    path = tmp_path / "model.yaml"
    path.write_text(
        "name: m\narchitecture: dense\nparameters: 7000000000\nlayers: 32\nhidden_size: 4096\n"
        "attention_heads: 32\nkv_heads: 8\nhead_dim: 128\nmax_context: 8192\nsource: mine\n"
        f"note: x\nactive_parameters: 1{'0' * 5000}\n",
        encoding="utf-8",
    )
    with pytest.raises(LlmeconError, match=str(path)):
        load_model_file(path)


def _cache_file(folder: Path) -> Path:
    (found,) = folder.glob("prices-*.json")
    return found


def _edit_cache(folder: Path, change: object) -> None:
    path = _cache_file(folder)
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update({"api_history.yaml": {}}),  # valid JSON, not valid price data
        lambda d: d["aws_instances.yaml"]["entries"][0].update({"hourly": "NaN"}),
        lambda d: d["aws_instances.yaml"]["entries"][0].update({"hourly": -1}),
        lambda d: d["aws_instances.yaml"]["entries"][0].update({"as_of": "yesterday"}),
        lambda d: d.update({"aws_serverless.yaml": [1, 2]}),
    ],
)
def test_a_cache_file_that_does_not_validate_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: object
) -> None:
    """The YAML is the source: a cache that parses but does not validate is not an error that
    blames the shipped price files (it made every compare fail until the cache was deleted)."""
    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path))
    first = load_pricebook()
    _edit_cache(tmp_path, change)
    again = load_pricebook()
    assert again.instances == first.instances and again.api_history == first.api_history
    assert again.lambdas == first.lambdas
    # and the bad file is replaced by a good one
    assert json.loads(_cache_file(tmp_path).read_text(encoding="utf-8")) == json.loads(
        json.dumps({n: loader._yaml(loader._data_text(n)) for n in loader.DATA_FILES},
                   default=str)
    )  # fmt: skip


def test_a_deeply_nested_cache_file_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path))
    first = load_pricebook()
    _cache_file(tmp_path).write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    assert load_pricebook().instances == first.instances


@pytest.mark.parametrize(
    "change",
    [
        # valid entries that do not fit together: the cache is still not the source
        lambda d: d["aws_commitments.yaml"]["entries"][0].update({"instance": "no-such"}),
        lambda d: d["aws_serverless.yaml"]["entries"][0].pop("per_gb_second"),
    ],
)
def test_a_cache_file_whose_entries_do_not_fit_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: object
) -> None:
    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path))
    first = load_pricebook()
    _edit_cache(tmp_path, change)
    again = load_pricebook()
    assert again.instances == first.instances and again.lambdas == first.lambdas


def test_an_impossible_date_is_a_yaml_error_not_a_crash() -> None:
    """YAML's timestamp constructor raises ValueError for 2024-02-30 (not a YAMLError)."""
    with pytest.raises(LlmeconError, match=r"^s\.yaml: .*day is out of range.*; fix"):
        parse_yaml("as_of: 2024-02-30\n", "s.yaml")


def test_a_date_in_a_model_file_is_an_error_naming_the_file_not_a_crash(tmp_path: Path) -> None:
    """The model entry is re-read through JSON, which had no way to write a YAML date."""
    from llmecon.pricebook.hardware import load_model_file

    path = tmp_path / "model.yaml"
    path.write_text("name: m\nlayers: 2\nparameters: 2024-01-01\n", encoding="utf-8")
    with pytest.raises(LlmeconError, match=r"model\.yaml: does not match schema 1: "):
        load_model_file(path)


@pytest.mark.skipif(not hasattr(__import__("os"), "getuid"), reason="POSIX owners and modes")
def test_a_cache_file_others_could_have_written_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache's name is the digest of the shipped YAML, which anyone can compute: in a
    shared folder ($LLMECON_CACHE=/tmp/...) another user could plant valid JSON with other
    prices. A file writable by group or others (or not ours) is ignored and rewritten."""
    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path))
    first = load_pricebook()
    path = _cache_file(tmp_path)
    assert path.stat().st_mode & 0o077 == 0  # written for its owner only, whatever the umask
    _edit_cache(tmp_path, lambda d: d["aws_instances.yaml"]["entries"][0].update({"hourly": 0}))
    path.chmod(0o666)
    again = load_pricebook()
    assert again.instances == first.instances
    assert _cache_file(tmp_path).stat().st_mode & 0o077 == 0


def test_the_cache_removes_only_its_own_older_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$LLMECON_CACHE may name a folder that holds other files: only prices-<sha256>.json
    files are llmecon's to replace."""
    monkeypatch.setenv("LLMECON_CACHE", str(tmp_path))
    mine = tmp_path / "prices-2024.json"
    mine.write_text("{}", encoding="utf-8")
    older = tmp_path / f"prices-{'0' * 64}.json"
    older.write_text("{}", encoding="utf-8")
    load_pricebook()
    assert mine.exists() and not older.exists()


def test_an_unknown_key_with_a_line_break_still_gives_one_line() -> None:
    data = parse_yaml('"bad\\nkey": 1\nname: x\n', "s.yaml")
    with pytest.raises(records.RecordError) as raised:
        records.read(ScenarioSpec, data)
    assert "\n" not in str(raised.value) and str(raised.value).startswith("'bad\\nkey': unknown")


def test_lax_reading_takes_whole_numbers_written_as_text_as_pydantic_did(tmp_path: Path) -> None:
    """The module says strict=False takes numbers written as text: floats did, ints did not
    (a user's model file with parameters: "7000000000" loaded under pydantic, then failed)."""
    from llmecon.pricebook.hardware import load_model_file

    path = tmp_path / "model.yaml"
    path.write_text(
        "name: m\narchitecture: decoder\nparameters: '7000000000'\nlayers: 32\nhidden_size: 4096\n"
        "attention_heads: 32\nkv_heads: 8\nhead_dim: 128\nmax_context: 8192\nsource: mine\n",
        encoding="utf-8",
    )
    assert load_model_file(path).parameters == 7_000_000_000
    path.write_text(path.read_text(encoding="utf-8").replace("'7000000000'", "'7.5e9'"))
    with pytest.raises(LlmeconError, match=r"parameters: expected a whole number, got '7\.5e9'"):
        load_model_file(path)
