"""The article's architecture, running (`make demo`): the embedded model behind the gateway,
a short load through it with llmecon's own client, then the usage report from the ledger.

Run: .venv/bin/python examples/serve_demo.py [--requests 12]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from llmecon.processes import free_port

OUT = Path(__file__).resolve().parent.parent / "out"


def llmecon(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmecon", *args]


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"llmecon serve exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("llmecon serve did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=12)
    requests = parser.parse_args().requests
    OUT.mkdir(exist_ok=True)
    ledger = OUT / "demo-ledger.db"
    ledger.unlink(missing_ok=True)
    url, port = f"sqlite:///{ledger}", free_port()
    serve = subprocess.Popen(llmecon(
        "serve", "--no-auth", "--port", str(port), "--ledger", url, "--interval", "5",
        "--compare-with", "gpt-4o-mini", "--compare-with", "claude-haiku-4-5",
    ))  # fmt: skip
    try:
        wait_healthy(port, serve)
        subprocess.run(llmecon(
            "bench", f"http://127.0.0.1:{port}/v1", "--model", "smollm2-135m", "--requests",
            str(requests), "--concurrency", "2", "--input-tokens", "48", "--output-tokens", "24",
        ), check=True)  # fmt: skip
    finally:
        serve.send_signal(signal.SIGINT)  # a clean shutdown drains and allocates the ledger
        serve.wait(60)
    subprocess.run(llmecon("usage", "--ledger", url, "--by", "model"), check=True)
    print(f"ledger: {ledger}", file=sys.stderr)


if __name__ == "__main__":
    main()
