"""Every bad scenario gets one line on stderr naming the file, the key path and the fix: exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import EXAMPLES, Run

VALID = (EXAMPLES / "article-2023.yaml").read_text()


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _assert_one_line_error(run: Run, *needles: str) -> None:
    assert run.code == 2
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("llmecon: error: ")
    assert "Traceback" not in run.err
    for needle in needles:
        assert needle in lines[0], lines[0]


# (description, change to the valid article scenario, fragments the error must contain)
CASES = [
    ("typo in a key", ("memory_gb:", "memry_gb:"),
     ["options[1].self_hosted.lambda.memry_gb", "unknown key", "memory_gb, memory_mb"]),
    ("typo at top level", ("workload:", "workloads:"), ["workloads", "unknown key"]),
    ("text where a number goes", ("hourly_price: 6.25", "hourly_price: six"),
     ["options[1].self_hosted.hourly_price", "expected a number", "'six'"]),
    ("negative price", ("hourly_price: 6.25", "hourly_price: -6.25"),
     ["hourly_price", "must be at least 0"]),
    ("NaN", ("tokens_per_request: 667", "tokens_per_request: .nan"),
     ["workload.tokens_per_request", "finite number"]),
    ("infinity", ("price_per_1k_tokens: 0.002", "price_per_1k_tokens: .inf"),
     ["options[0].api.price_per_1k_tokens", "finite number"]),
    ("zero volume", ("[1000, 1000000]", "[0, 1000000]"),
     ["workload.requests_per_day[0]", "greater than 0"]),
    ("zero replicas", ("replicas: 1", "replicas: 0"),
     ["options[1].self_hosted.replicas", "at least 1"]),
    ("fractional replicas", ("replicas: 1", "replicas: 1.5"),
     ["options[1].self_hosted.replicas", "whole number"]),
    ("boolean as number", ("replicas: 1", "replicas: true"), ["replicas", "whole number"]),
    ("duplicate option names", ("name: flan-ul2-sagemaker", "name: chatgpt"),
     ["options", "'chatgpt' is used twice"]),
    ("both api and self_hosted", ("    api:\n      price_per_1k_tokens: 0.002",
                                  "    api:\n      price_per_1k_tokens: 0.002\n    self_hosted:\n"
                                  "      hourly_price: 1"),
     ["options[0]", "exactly one of api or self_hosted"]),
    ("split prices with a token total", ("price_per_1k_tokens: 0.002",
                                         "input_per_1m: 1.5\n      output_per_1m: 2.0"),
     ["options[0].api", "input_tokens and output_tokens"]),
    ("only half a price split", ("price_per_1k_tokens: 0.002", "input_per_1m: 1.5"),
     ["options[0].api", "input_per_1m needs its partner"]),
    ("two token forms",
     ("tokens_per_request: 667", "tokens_per_request: 667\n  words_per_request: 500"),
     ["workload", "exactly one of tokens_per_request"]),
    ("both memory forms", ("memory_gb: 0.128", "memory_gb: 0.128\n        memory_mb: 128"),
     ["lambda", "exactly one of memory_gb or memory_mb"]),
    ("a missing key", ("        seconds_per_request: 5\n", ""),
     ["lambda.seconds_per_request", "is missing"]),
    ("unknown catalog instance", ("hourly_price: 6.25", "instance: ml.g5.4xlarg"),
     ["options[1].self_hosted.instance", "unknown instance", "ml.g5.4xlarge"]),
    ("unknown catalog model", ("price_per_1k_tokens: 0.002", "model: gpt-4o-mimi"),
     ["options[0].api.model", "unknown API model", "gpt-4o-mini"]),
    ("catalog model with split prices and a token total", ("price_per_1k_tokens: 0.002",
                                                          "model: gpt-4o-mini"),
     ["options[0].api.model", "prices input and output tokens differently", "input_tokens"]),
    ("duplicate key",
     ("  tokens_per_request: 667", "  tokens_per_request: 667\n  tokens_per_request: 1"),
     ["duplicate key 'tokens_per_request'", "line 7"]),
    ("YAML syntax error",
     ("requests_per_day: [1000, 1000000]", "requests_per_day: [1000, 1000000"),
     ["YAML error at line", "fix the YAML"]),
]  # fmt: skip


@pytest.mark.parametrize(("change", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_scenario(
    tmp_path: Path, llmecon: Callable[..., Run], change: tuple[str, str], needles: list[str]
) -> None:
    old, new = change
    assert old in VALID
    path = _write(tmp_path, VALID.replace(old, new, 1))
    _assert_one_line_error(llmecon("compare", str(path)), str(path), *needles)


def test_no_options(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = _write(
        tmp_path, "name: x\nworkload: {requests_per_day: 1, tokens_per_request: 1}\noptions: []\n"
    )
    _assert_one_line_error(llmecon("compare", str(path)), "options", "at least one")


def test_empty_file(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = _write(tmp_path, "  \n")
    _assert_one_line_error(llmecon("compare", str(path)), str(path), "empty")


def test_missing_file(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    _assert_one_line_error(llmecon("compare", str(tmp_path / "nope.yaml")), "no such file")


def test_directory(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    _assert_one_line_error(llmecon("compare", str(tmp_path)), "is a directory")


def test_unreadable_file(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = _write(tmp_path, VALID)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: use a file that even root cannot read
        path = Path("/proc/self/mem")
    _assert_one_line_error(llmecon("compare", str(path)), str(path), "cannot be read")


def test_unreadable_bytes(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    _assert_one_line_error(llmecon("compare", str(path)), "not UTF-8")


def test_top_level_not_a_mapping(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = _write(tmp_path, "- just\n- a list\n")
    _assert_one_line_error(llmecon("compare", str(path)), "top level", "mapping")


def test_exponent_numbers_read_as_numbers(tmp_path: Path, llmecon: Callable[..., Run]) -> None:
    path = _write(tmp_path, VALID.replace("[1000, 1000000]", "[1e3, 1e6]"))
    run = llmecon("compare", str(path), "--format", "csv")
    assert run.code == 0, run.err
    assert "1000000.0,1,flan-ul2-sagemaker" in run.out


def test_bad_flag_value_is_one_line(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", str(EXAMPLES / "article-2023.yaml"), "--format", "xml")
    _assert_one_line_error(run, "--format", "xml", "--help")


def test_bad_as_of_date(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", str(EXAMPLES / "article-2023.yaml"), "--as-of", "April 2023")
    _assert_one_line_error(run, "YYYY-MM-DD")


def test_scenario_and_quick_flags_together(llmecon: Callable[..., Run]) -> None:
    run = llmecon("compare", str(EXAMPLES / "article-2023.yaml"), "--api", "gpt-4o-mini")
    _assert_one_line_error(run, "not both", "--api")


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("replicas: 1", "replicas: 0"))
    done = subprocess.run(
        [sys.executable, "-m", "llmecon", "compare", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
