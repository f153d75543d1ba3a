"""Running the mock: `serve` in this process, or `running` in a subprocess with its own core."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from llmecon.mock.app import create_app
from llmecon.mock.settings import MockSettings
from llmecon.processes import free_port, stop_process

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def serve(settings: MockSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the mock until interrupted (uvicorn with uvloop and httptools, no access log)."""
    import uvicorn  # noqa: PLC0415 - a server dependency, not needed to import the package

    uvicorn.run(
        create_app(settings), host=host, port=port, loop="uvloop", http="httptools",
        access_log=False, log_level="warning", lifespan="off", server_header=False,
        date_header=False, timeout_graceful_shutdown=1,
        timeout_keep_alive=settings.keep_alive_s,  # type: ignore[arg-type]  # a float works
    )  # fmt: skip


def settings_args(settings: MockSettings) -> list[str]:
    """Command-line flags of `python -m llmecon.mock` that reproduce these settings."""
    args = [
        "--model", settings.model, "--ttft-ms", repr(settings.ttft_ms),
        "--itl-ms", repr(settings.itl_ms), "--output-tokens", str(settings.output_tokens),
        "--tokens-per-chunk", str(settings.tokens_per_chunk),
        "--fault-every", str(settings.fault_every), "--line-ending", settings.line_ending,
        "--keep-alive-s", repr(settings.keep_alive_s),
    ]  # fmt: skip
    if not settings.role_delta:
        args.append("--no-role-delta")
    if not settings.usage:
        args.append("--no-usage")
    if settings.fault is not None:
        args += ["--fault", settings.fault]
    return args


@contextlib.contextmanager
def running(settings: MockSettings, port: int | None = None) -> Iterator[str]:
    """Run the mock in a subprocess; yields its base URL, e.g. "http://127.0.0.1:8123/v1".

    Waits up to 10 s for GET /healthz; on exit, stops the server (SIGTERM, then SIGKILL
    after 5 s).
    """
    port = free_port() if port is None else port
    command = [sys.executable, "-m", "llmecon.mock", "--port", str(port), *settings_args(settings)]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        _wait_ready(process, port)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(process, STOP_TIMEOUT_S)


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the mock server exited with status {process.returncode} before it was ready "
                f"(its stderr is above; is port {port} taken?)"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.02)
    raise TimeoutError(f"the mock server did not answer {url} within {READY_TIMEOUT_S:g} s")
