"""Waking at absolute deadlines with sub-millisecond precision, without spinning.

Event-loop timers are too coarse for the mock's 1 ms promise: uvloop rounds every delay to
whole milliseconds on a millisecond clock (up to 1 ms early or late) and asyncio's epoll wait
rounds up to the next millisecond. On Linux a timerfd armed at an absolute CLOCK_MONOTONIC
deadline (the clock of `time.monotonic()`) and watched by the loop wakes it within ~0.1 ms.
Elsewhere the alarm falls back to loop timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import sys
import time

CLOCK_MONOTONIC = 1
TFD_TIMER_ABSTIME = 1
EARLY_S = 0.0002  # wake this early, then yield until due: waking an idle CPU takes ~0.1 ms


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


def load_timerfd() -> ctypes.CDLL | None:
    """The C library when it offers timerfd (Linux), else None (use loop timers)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "timerfd_create") else None


class Alarm:
    """One response's timer: `await alarm.wait_until(deadline)`, then `close()` it.

    Deadlines are `time.monotonic()` values. The timerfd is opened on the first wait that
    needs it, so responses whose deadlines have all passed make no system call.
    """

    def __init__(self, libc: ctypes.CDLL | None) -> None:
        self._libc = libc
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: asyncio.Future[None] | None = None

    async def wait_until(self, deadline: float) -> None:
        while (delay := deadline - time.monotonic()) > 0:
            if self._libc is None:
                await asyncio.sleep(delay)
            elif delay > EARLY_S:
                await self._ring_at(self._libc, deadline - EARLY_S)
            else:
                await asyncio.sleep(0)  # let others run while the last fraction passes

    def close(self) -> None:
        if self._fd >= 0 and self._loop is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    async def _ring_at(self, libc: ctypes.CDLL, deadline: float) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._fd < 0:
            fd = int(libc.timerfd_create(CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC))
            if fd < 0:
                raise OSError(ctypes.get_errno(), "timerfd_create failed")
            self._fd = fd
            self._loop.add_reader(fd, self._ring)
        seconds = int(deadline)
        when = _Itimerspec(_Timespec(0, 0), _Timespec(seconds, int((deadline - seconds) * 1e9)))
        if libc.timerfd_settime(self._fd, TFD_TIMER_ABSTIME, ctypes.byref(when), None):
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")
        self._waiter = self._loop.create_future()
        await self._waiter

    def _ring(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._fd, 8)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
