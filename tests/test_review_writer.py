"""Review of issue 19's catch-up thread: it shares the ledger writer's lock with the niced
writer, which takes a row off the queue before it takes that lock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmecon.gateway import accounting
from llmecon.gateway.accounting import LedgerWriter
from llmecon.gateway.journal import Journal
from llmecon.ledger import open_ledger
from timing import until
from usage_rows import usage_row


def test_a_row_the_writer_holds_stays_in_the_journal_while_the_catch_up_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The niced writer takes row 0 and lingers; meanwhile rows pile up and the catch-up
    thread writes them. It must not empty the journal: row 0 is in no ledger yet, and a crash
    (kill -9) then would lose it."""
    monkeypatch.setattr(accounting, "LINGER_S", 2.0)
    monkeypatch.setattr(accounting, "CATCH_UP_ROWS", 5)
    monkeypatch.setattr(accounting, "CATCH_UP_CHECK_S", 0.01)
    ledger = open_ledger(str(tmp_path / "l.db"))
    journal = Journal(tmp_path / "journal.jsonl")
    writer = LedgerWriter(ledger, {}, 60.0, journal=journal)
    writer.start()
    try:
        writer.submit(usage_row(0))
        assert until(lambda: writer.pending == 0)  # the writer holds row 0, lingering
        for n in range(1, 11):
            writer.submit(usage_row(n))
        assert until(lambda: writer.caught_up >= 1 and writer.pending == 0)
        written = {r.request_id for r in ledger.rows()}
        assert "r000000" not in written  # still in the writer's hands
        journaled = {r.request_id for r in journal.replay()}
        assert "r000000" in journaled, "the journal was emptied with row 0 unwritten"
        # the writer then writes row 0 and empties the journal itself
        assert until(lambda: len(ledger.rows()) == 11)
        assert until(lambda: journal.replay() == [])
    finally:
        writer.close()
        journal.close()


def test_a_retried_batch_of_more_than_500_ids_adds_each_row_once(tmp_path: Path) -> None:
    """SQLite `_store` looks stored ids up 500 at a time: a retry over several chunks, with
    repeats inside the batch and across chunk edges, adds the new rows only, each once."""
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.record([usage_row(n) for n in range(0, 1200, 2)])  # the even ids: 600 rows
    retry = [usage_row(n) for n in reversed(range(1300))] + [
        usage_row(499),
        usage_row(500),
        usage_row(1299),
    ]
    ledger.record(retry)
    rows = ledger.rows()
    assert sorted(r.request_id for r in rows) == [f"r{n:06d}" for n in range(1300)]
    assert sum(t.requests for t in ledger.usage("model")) == 1300
    assert all(r.counterfactual_nusd == {"api": 7} for r in rows)


class _Flaky:
    """A ledger that is unavailable while `down` is set (rows are journaled meanwhile)."""

    def __init__(self, inner: object) -> None:
        self.inner, self.down = inner, True

    def record(self, rows: object) -> None:
        from llmecon.ledger.protocol import LedgerUnavailableError

        if self.down:
            raise LedgerUnavailableError("down")
        self.inner.record(rows)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_close_while_the_catch_up_retries_keeps_every_row_for_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounting, "LINGER_S", 1.0)
    monkeypatch.setattr(accounting, "CATCH_UP_ROWS", 5)
    monkeypatch.setattr(accounting, "CATCH_UP_CHECK_S", 0.01)
    ledger = _Flaky(open_ledger(str(tmp_path / "l.db")))
    journal = Journal(tmp_path / "journal.jsonl")
    writer = LedgerWriter(ledger, {}, 60.0, journal=journal)  # type: ignore[arg-type]
    writer.start()
    writer.submit(usage_row(0))
    assert until(lambda: writer.pending == 0)  # the niced writer holds row 0
    for n in range(1, 11):
        writer.submit(usage_row(n))
    assert until(lambda: writer.failures >= 2)  # the catch-up thread retries, holding the lock
    began = time.monotonic()
    writer.close()
    assert time.monotonic() - began < 15
    assert not writer.thread.is_alive()
    assert sorted(r.request_id for r in journal.replay()) == [f"r{n:06d}" for n in range(11)]
    journal.close()

    ledger.down = False  # the next start replays the journal
    journal = Journal(tmp_path / "journal.jsonl")
    writer = LedgerWriter(ledger, {}, 60.0, journal=journal)  # type: ignore[arg-type]
    writer.start()
    writer.close()
    assert sorted(r.request_id for r in ledger.rows()) == [f"r{n:06d}" for n in range(11)]
    assert journal.replay() == []
    journal.close()
