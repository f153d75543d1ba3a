"""The article's architecture, running (`make demo`): the embedded model behind the gateway with
keys and its web console, a short load through it with llmecon's own client, then the usage
report from the ledger.

While the gateway runs, its console is at http://127.0.0.1:PORT/ui (printed, with the admin
key: $LLMECON_ADMIN_KEY when set, else a fresh one). The script checks that /ui and its JSON API
answer with that key, and that a client key is refused there. In a terminal it keeps the gateway
up until Enter is pressed; otherwise (or with --hold 0) it goes straight on.

Run: .venv/bin/python examples/serve_demo.py [--requests 12] [--hold SECONDS]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from llmecon.processes import free_port

OUT = Path(__file__).resolve().parent.parent / "out"
ADMIN_ENV = "LLMECON_ADMIN_KEY"


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


def status(url: str, key: str) -> int:
    """The HTTP status of GET `url` with `key` as bearer."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def check_console(port: int, admin: str, client: str) -> None:
    """The console answers with the admin key, and refuses the client's key."""
    base = f"http://127.0.0.1:{port}"
    found = {
        "/ui": status(f"{base}/ui", admin),
        "/ui/api/summary": status(f"{base}/ui/api/summary", admin),
        "/ui/api/keys": status(f"{base}/ui/api/keys", admin),
        "/ui/api/summary with a client key": status(f"{base}/ui/api/summary", client),
    }
    expected = {name: 401 if "client" in name else 200 for name in found}
    if found != expected:
        sys.exit(f"the console did not answer as it should: {found}")
    print(f"console checked: {', '.join(f'{k} {v}' for k, v in found.items())}", file=sys.stderr)


def hold(seconds: float | None) -> None:
    """Keep the gateway up: `seconds`, or until Enter in a terminal (None)."""
    if seconds is None:
        if not sys.stdin.isatty():
            return
        try:
            input("the gateway keeps running: press Enter to stop it and see the usage report\n")
        except EOFError:
            return
        return
    if seconds > 0:
        print(f"the gateway keeps running for {seconds:g} s", file=sys.stderr)
        time.sleep(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--hold", type=float, help="seconds to keep the gateway up afterwards")
    options = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    ledger = OUT / "demo-ledger.db"
    ledger.unlink(missing_ok=True)
    url, port = f"sqlite:///{ledger}", free_port()
    created = subprocess.run(llmecon("keys", "create", "demo", "--ledger", url, "--budget-day",
                                     "1"), check=True, capture_output=True, text=True)  # fmt: skip
    client = created.stdout.strip()
    given = os.environ.get(ADMIN_ENV)
    admin = given or secrets.token_urlsafe(24)
    serve = subprocess.Popen(llmecon(
        "serve", "--port", str(port), "--ledger", url, "--interval", "5",
        "--admin-key-env", ADMIN_ENV,
        "--compare-with", "gpt-4o-mini", "--compare-with", "claude-haiku-4-5",
    ), env={**os.environ, ADMIN_ENV: admin})  # fmt: skip
    try:
        wait_healthy(port, serve)
        shown = f"${ADMIN_ENV}" if given else admin
        print(f"console: http://127.0.0.1:{port}/ui  (admin key: {shown}; serve reads it from "
              f"--admin-key-env {ADMIN_ENV})", file=sys.stderr)  # fmt: skip
        subprocess.run(llmecon(
            "bench", f"http://127.0.0.1:{port}/v1", "--model", "smollm2-135m", "--requests",
            str(options.requests), "--concurrency", "2", "--input-tokens", "48",
            "--output-tokens", "24", "--api-key", client,
        ), check=True)  # fmt: skip
        check_console(port, admin, client)
        print(f"console: http://127.0.0.1:{port}/ui", file=sys.stderr)
        hold(options.hold)
    finally:
        serve.send_signal(signal.SIGTERM)  # a clean shutdown drains and allocates the ledger
        serve.wait(60)
    subprocess.run(llmecon("usage", "--ledger", url, "--by", "model"), check=True)
    print(f"ledger: {ledger}", file=sys.stderr)


if __name__ == "__main__":
    main()
