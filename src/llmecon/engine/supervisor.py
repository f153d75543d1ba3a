"""Keep the embedded model server running: start, health-check, restart on crash, stop."""

from __future__ import annotations

import logging
import subprocess
import threading

from llmecon.engine.embedded import EmbeddedModel, is_ready, wait_until_ready
from llmecon.processes import stop_process

log = logging.getLogger("llmecon.engine")


class Supervisor:
    """Runs `model` as a subprocess and restarts it when it exits, until `stop()`."""

    def __init__(self, model: EmbeddedModel, check_every_s: float = 1.0) -> None:
        self.model = model
        self.check_every_s = check_every_s
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="llmecon-supervisor", daemon=True)

    def start(self, timeout: float = 120.0) -> None:
        self.process = self._spawn()
        wait_until_ready(self.model, self.process, timeout)
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.model.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_every_s):
            process = self.process
            if process is not None and process.poll() is not None and not self._stopping.is_set():
                log.warning("embedded model exited (%s); restarting", process.returncode)
                self.restarts += 1
                self.process = self._spawn()

    @property
    def healthy(self) -> bool:
        return (
            self.process is not None
            and self.process.poll() is None
            and is_ready(self.model.base_url)
        )

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        process = self.process
        if process is not None:
            stop_process(process, timeout)
