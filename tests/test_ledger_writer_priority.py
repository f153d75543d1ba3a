"""The ledger writer yields the core to the event loop, without falling behind (issue 19)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from llmecon.gateway import accounting
from llmecon.gateway.accounting import CATCH_UP_ROWS, LedgerWriter
from llmecon.ledger import open_ledger
from timing import until
from usage_rows import usage_row


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priority is Linux's")
def test_the_writer_thread_is_niced_and_the_catch_up_thread_is_not(tmp_path: Path) -> None:
    writer = LedgerWriter(open_ledger(str(tmp_path / "l.db")), {}, 60.0)
    writer.start()
    try:
        tid = writer.thread.native_id
        assert tid is not None and writer.catch_up.native_id is not None
        until(lambda: os.getpriority(os.PRIO_PROCESS, tid) == accounting.WRITER_NICE)
        assert os.getpriority(os.PRIO_PROCESS, tid) == accounting.WRITER_NICE == 19
        assert os.getpriority(os.PRIO_PROCESS, writer.catch_up.native_id) == os.getpriority(
            os.PRIO_PROCESS, 0
        )
    finally:
        writer.close()


def test_rows_piling_up_are_written_by_the_catch_up_thread_in_order(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    writer = LedgerWriter(ledger, {}, 60.0)
    writer.catch_up.start()  # the niced writer never runs: a core the event loop keeps busy
    try:
        for n in range(CATCH_UP_ROWS + 500):
            writer.submit(usage_row(n))
        until(lambda: writer.pending == 0)
        rows = ledger.rows()
        assert [r.request_id for r in rows] == [f"r{n:06d}" for n in range(CATCH_UP_ROWS + 500)]
        assert writer.caught_up >= 1 and rows[0].counterfactual_nusd == {"api": 7}
        for n in range(CATCH_UP_ROWS + 500, CATCH_UP_ROWS + 600):  # a short queue waits
            writer.submit(usage_row(n))
        time.sleep(3 * accounting.CATCH_UP_CHECK_S)
        assert writer.pending == 100 and len(ledger.rows()) == CATCH_UP_ROWS + 500
    finally:
        writer.closing.set()
        writer.catch_up.join(5)


def test_a_retried_batch_adds_no_row_twice(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.record([usage_row(1), usage_row(2)])
    ledger.record(
        [usage_row(2), usage_row(3), usage_row(3), usage_row(4)]
    )  # a retry, with a repeat inside
    rows = ledger.rows()
    assert [r.request_id for r in rows] == ["r000001", "r000002", "r000003", "r000004"]
    assert [r.counterfactual_nusd for r in rows] == [{"api": 7}] * 4
    assert sum(t.requests for t in ledger.usage("model")) == 4
