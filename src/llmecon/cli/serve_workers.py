"""`llmecon serve --workers N`: N gateway processes on one listening socket.

The parent binds the socket (serve_setup.bind), starts the embedded model if any, and forks N
workers that inherit the socket; the kernel hands each new connection to one of them. Each
worker is a gateway replica: its own ledger connections, its own journal file, its own meter
replica id (the ledger closes each slot once; see docs/ledger.md). The parent only supervises:

- SIGTERM or SIGINT to the parent is passed on to every worker as SIGTERM; each drains
  (`--drain`) and writes its last rows, and the parent exits when all have;
- a worker that dies on its own is started again, unless it died within `FLAPPING_S` of its
  start (then the others are stopped and serve exits 1: a crash loop is an error to see);
- a worker whose parent is gone (kill -9) stops itself.

Limits and budgets held in memory are per process, so with several workers they need `--redis`
(`check_shared_limits`); a key with its own limits that a multi-worker gateway without Redis
meets later is refused with 503 (`SharedOnly`), never allowed N times over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from llmecon.errors import LlmeconError
from llmecon.limits.protocol import LimiterBase

if TYPE_CHECKING:
    from llmecon.ledger.keys import KeyInfo
    from llmecon.limits import Admission, KeyPolicy, KeyUsage, Limiter, Rejection

log = logging.getLogger("llmecon.gateway")
FLAPPING_S = 10.0  # a worker that dies sooner after its start is not restarted
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def worker_journal(base: Path, index: int, count: int) -> Path:
    """Worker `index`'s journal: `base` itself for one worker, `NAME.workerI.jsonl` beside it
    otherwise (a journal is truncated by the process that owns it, so each has its own)."""
    if count == 1:
        return base
    return base.with_name(f"{base.stem}.worker{index}{base.suffix}")


def gather_journals(base: Path, count: int, owner: str) -> None:
    """Rows left in journals that no worker of this run owns (an earlier run with another
    `--workers`) move to the first worker's journal, which replays them at its start (the
    ledger ignores rows it already has). A journal of another ledger is refused."""
    from llmecon.gateway.journal import Journal  # noqa: PLC0415

    owned = {worker_journal(base, i, count) for i in range(count)}
    target = worker_journal(base, 0, count)
    for path in sorted({base, *base.parent.glob(f"{base.stem}.worker*{base.suffix}")} - owned):
        if not path.exists():
            continue
        source = Journal(path, owner)  # raises if it belongs to another ledger
        try:
            text = path.read_bytes()
        finally:
            source.close()
        if text:
            sink = Journal(target, owner)
            try:
                os.write(sink.fd, text if text.endswith(b"\n") else text + b"\n")
            finally:
                sink.close()
        path.unlink()
        path.with_name(path.name + ".owner").unlink(missing_ok=True)


def check_shared_limits(
    workers: int,
    flags: Iterable[object],
    redis_url: str | None,
    keys: Callable[[], Iterable[KeyInfo]],
) -> None:
    """With several workers, limits and budgets need Redis: a one-line error naming what is
    limited (a serve flag, or an active key with its own limits)."""
    if workers == 1 or redis_url:
        return
    if any(value is not None for value in flags):
        raise LlmeconError(
            f"--workers {workers} with --rpm/--tpm/--budget-*: limits held in memory would be "
            "per worker; add --redis URL to share them, or use --workers 1"
        )
    limited = [key.name for key in keys() if key.active and any(key.limits.values())]
    if limited:
        raise LlmeconError(
            f"--workers {workers}: the key {limited[0]!r} has its own limits, which memory "
            "would hold per worker; add --redis URL to share them, or use --workers 1"
        )


class SharedOnly(LimiterBase):
    """A process-local limiter for a multi-worker gateway: requests of keys without limits
    pass; a key with limits (created while it runs) is refused (503), never admitted once per
    worker."""

    def __init__(self, inner: Limiter) -> None:
        self.inner = inner
        self.warned = False

    async def admit(
        self, key_id: str, policy: KeyPolicy, reserve_tokens: int, reserve_nusd: int
    ) -> Admission | Rejection:
        from llmecon.limits import LimitsUnavailableError  # noqa: PLC0415

        limits = (policy.requests_per_minute, policy.tokens_per_minute,
                  policy.budget_per_day_nusd, policy.budget_per_month_nusd)  # fmt: skip
        if any(value is not None for value in limits):
            if not self.warned:
                self.warned = True
                log.error("a key with limits, and several workers without --redis: refused")
            raise LimitsUnavailableError("limits need --redis with --workers > 1")
        return await self.inner.admit(key_id, policy, reserve_tokens, reserve_nusd)

    async def settle(self, admission: Admission, actual_tokens: int, actual_nusd: int) -> None:
        await self.inner.settle(admission, actual_tokens, actual_nusd)

    async def usage(self, key_id: str) -> KeyUsage:
        return await self.inner.usage(key_id)  # this worker's own (no key here has limits)

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def aclose(self) -> None:
        await self.inner.aclose()


class Workers:
    """The parent: forks `count` workers running `serve_one(index)`, passes exit signals on,
    restarts a worker that died on its own, and waits for all of them."""

    def __init__(self, count: int, serve_one: Callable[[int], int]) -> None:
        self.count, self.serve_one = count, serve_one
        self.pids: dict[int, tuple[int, float]] = {}  # pid -> (index, started)
        self.stopping = False
        self.failed = False

    def run(self) -> int:
        """Serve until every worker has exited; 0 after a clean shutdown."""
        for index in range(self.count):
            self._fork(index)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in EXIT_SIGNALS}
        try:
            while self.pids:
                pid, status = os.waitpid(-1, 0)
                if pid in self.pids:
                    self._reap(pid, status)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self.failed else 0

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.stopping = True
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _reap(self, pid: int, status: int) -> None:
        index, started = self.pids.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if self.stopping:
            self.failed |= code != 0
            return
        lived = time.monotonic() - started
        why = f"exit status {code}" if code >= 0 else f"signal {-code}"
        if lived < FLAPPING_S:
            _say(f"gateway worker {index} ended ({why}) {lived:.1f} s after its start; "
                 "stopping the others")  # fmt: skip
            self.failed = True
            self._on_signal(signal.SIGTERM, None)
            return
        _say(f"gateway worker {index} ended ({why}); starting it again")
        self._fork(index)

    def _fork(self, index: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        with warnings.catch_warnings():  # the embedded model's watcher thread stays here
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid:
            self.pids[pid] = (index, time.monotonic())
            return
        code = 1
        try:
            for sig in EXIT_SIGNALS:  # uvicorn raises its signal again once it has stopped
                signal.signal(sig, exit_cleanly)
            _watch_parent(os.getppid())
            code = self.serve_one(index)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException as error:  # a worker never unwinds into the parent's code
            _say(f"gateway worker {index}: {error}")
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def exit_cleanly(sig: int, frame: FrameType | None) -> None:
    """The handler uvicorn restores and raises its exit signal to once it has stopped: exit 0
    through every `finally` (not the default SIGTERM death that skips them, leaving the
    embedded model running and the ledger open)."""
    raise SystemExit(0)


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _watch_parent(parent: int) -> None:
    """Stop this worker (as if sent SIGTERM) when its parent is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="llmecon-parent-watch", daemon=True).start()
