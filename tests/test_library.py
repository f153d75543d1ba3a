"""The library API (`from llmecon import ...`): everything public is exported and documented,
results match the commands' JSON, and the paper cuts of issue 16 stay fixed."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import llmecon
import llmecon.library
from conftest import EXAMPLES, ROOT, Run
from llmecon.errors import LlmeconError

api = importlib.import_module("llmecon")  # the tests' `llmecon` fixture runs the command


def test_every_public_name_of_the_library_is_exported() -> None:
    for info in pkgutil.iter_modules(llmecon.library.__path__, "llmecon.library."):
        module = importlib.import_module(info.name)
        for name in module.__all__:
            if not name.isupper():  # constants stay in their module
                assert name in llmecon.__all__, f"{info.name}.{name} is not exported"
    assert set(llmecon.library.__all__) <= set(llmecon.__all__)


@pytest.mark.parametrize("name", sorted(set(llmecon.__all__) - {"__version__"}))
def test_each_export_resolves_and_has_a_docstring(name: str) -> None:
    value = getattr(llmecon, name)
    assert value.__doc__ and value.__doc__.strip(), f"llmecon.{name} has no docstring"
    assert name in dir(llmecon)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = llmecon.nope  # type: ignore[attr-defined]


def test_import_llmecon_loads_no_heavy_module() -> None:
    code = "import sys, llmecon; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
        "{'pydantic', 'yaml', 'numpy', 'rich', 'click', 'matplotlib'}))"  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    ).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_compare_matches_the_json_contract(llmecon: Callable[..., Run]) -> None:
    path = str(EXAMPLES / "article-2023.yaml")
    result = api.compare(path)
    run = llmecon("compare", path, "--format", "json")
    assert run.code == 0, run.err
    assert result.to_dict() == json.loads(run.out)
    assert result.cheapest == {1000.0: "chatgpt", 1000000.0: "flan-ul2-sagemaker"}


def test_compare_takes_a_dict_or_a_loaded_scenario() -> None:
    data = {
        "name": "dict",
        "workload": {"requests_per_day": [1000, 2000], "input_tokens": 500, "output_tokens": 100},
        "options": [{"name": "mini", "api": {"model": "gpt-4o-mini"}},
                    {"name": "box", "self_hosted": {"instance": "g6e.xlarge"}}],
    }  # fmt: skip
    from_dict = llmecon.compare(data)
    from_scenario = llmecon.compare(llmecon.load_scenario(data))
    assert from_dict.to_dict() == from_scenario.to_dict()
    rows = from_dict.to_records()
    assert [(r["requests_per_day"], r["option"]) for r in rows if r["rank"] == 1] == [
        (1000.0, "mini"), (2000.0, "mini")
    ]  # fmt: skip
    # 1000 x (500 x 0.15 + 100 x 0.60) / 1e6 = $0.135/day at gpt-4o-mini's catalog price
    assert rows[0]["daily_cost"] == pytest.approx(0.135)


def test_records_become_a_dataframe() -> None:
    pandas = pytest.importorskip("pandas")
    frame = llmecon.compare(EXAMPLES / "article-2023.yaml").to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns[:3]) == ["requests_per_day", "option", "kind"]
    cheapest = frame[frame["cheapest"]].set_index("requests_per_day")["option"].to_dict()
    assert cheapest == {1000.0: "chatgpt", 1000000.0: "flan-ul2-sagemaker"}


def test_plan_and_estimate_match_the_commands(llmecon: Callable[..., Run]) -> None:
    result = api.plan(
        "mistral-7b", requests_per_day=50000, input_tokens=1000, output_tokens=200,
        ttft_p95_ms=1000, tpot_ms=50,
    )  # fmt: skip
    run = llmecon("plan", "--model", "mistral-7b", "--requests-per-day", "50000",
                  "--input-tokens", "1000", "--output-tokens", "200", "--ttft-p95", "1000",
                  "--tpot", "50", "--format", "json")  # fmt: skip
    assert run.code == 0, run.err
    assert result.to_dict() == json.loads(run.out)
    assert result.recommendation == json.loads(run.out)["recommendation"]
    estimate = api.estimate("flan-ul2", instance="ml.g5.4xlarge", precision="int8", engine="legacy")
    run = llmecon("estimate", "--model", "flan-ul2", "--instance", "ml.g5.4xlarge",
                  "--precision", "int8", "--engine", "legacy", "--format", "json")  # fmt: skip
    assert estimate.to_dict() == json.loads(run.out)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: llmecon.estimate("llama-3.1-8b"), "give gpu= or instance="),
        (lambda: llmecon.estimate("no-such-model", gpu="A10G"), "unknown model 'no-such-model'"),
        (lambda: llmecon.plan("llama-3.1-8b", requests_per_day=0, input_tokens=1,
                              output_tokens=1), "requests_per_day must be > 0"),
        (lambda: llmecon.compare(EXAMPLES / "article-2023.yaml", as_of="2023-13-01"),
         "write YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_bad_arguments_raise_one_line_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(LlmeconError, match=message):
        call()


def test_future_as_of_is_refused(llmecon: Callable[..., Run], tmp_path: Path) -> None:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    with pytest.raises(LlmeconError, match="is in the future"):
        api.compare(EXAMPLES / "article-2023.yaml", as_of=tomorrow)
    run = llmecon("compare", str(EXAMPLES / "article-2023.yaml"), "--as-of", tomorrow)
    assert run.code == 2
    assert "is in the future" in run.err
    assert len(run.err.strip().splitlines()) == 1
    run = llmecon("compare", str(EXAMPLES / "article-2023.yaml"), "--as-of", "2023-04-24")
    assert run.code == 0, run.err
    scenario = tmp_path / "future.yaml"
    text = (EXAMPLES / "article-2023.yaml").read_text()
    scenario.write_text(f"as_of: {tomorrow}\n{text}")
    run = llmecon("compare", str(scenario))
    assert run.code == 2
    assert run.err.strip() == (
        f"llmecon: error: {scenario}: as_of: {tomorrow} is in the future; prices are known up "
        f"to today ({datetime.now(UTC).date()}): give a past date, or leave it out for current "
        "prices"
    )


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_output_files_get_the_umask_permissions(
    umask: int, tmp_path: Path, llmecon: Callable[..., Run]
) -> None:
    previous = os.umask(umask)
    try:
        plot = tmp_path / "article.png"
        html = tmp_path / "report.html"
        assert (
            llmecon("compare", str(EXAMPLES / "article-2023.yaml"), "--plot", str(plot)).code == 0
        )
        run = llmecon("report", str(EXAMPLES / "article-2023.yaml"), "-o", str(html))
        assert run.code == 0, run.err
    finally:
        os.umask(previous)
    for path in (plot, html):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["article.png", "report.html"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    from llmecon.output_file import write_atomically

    def fail(path: Path) -> None:
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(tmp_path / "out.json", fail)
    assert list(tmp_path.iterdir()) == []
    assert ROOT.exists()


@pytest.mark.parametrize(
    "args",
    [("prices", "list"), ("prices", "list", "--format", "json"),
     ("compare", str(EXAMPLES / "article-2023.yaml"), "--details")],
    ids=["rich table", "json", "compare"],
)  # fmt: skip
def test_piping_into_head_exits_0(args: tuple[str, ...]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)  # fmt: skip
    assert reader.stdin is not None
    writer = subprocess.run([sys.executable, "-m", "llmecon", *args], stdout=reader.stdin,
                            stderr=subprocess.PIPE, env=env, check=False, text=True)  # fmt: skip
    reader.stdin.close()
    reader.wait()
    assert (writer.returncode, writer.stderr) == (0, "")
