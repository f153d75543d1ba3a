"""Issue 18, CI-sized: one million rows generated in PostgreSQL (benchmarks/ledger_scale.py's
generator, roll-ups computed once), and `usage` from the roll-ups equals the raw rows' sums;
after a prune (whole days dropped) it still does. No timing here: the timings are the
benchmark's (docs/fleet.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from benchmark_scripts import benchmark_script
from conftest import postgres_schema
from llmecon.ledger import open_ledger

ROWS = 1_000_000
BYS = ("key", "model", "day", "upstream")


@pytest.mark.slow
def test_a_million_generated_rows_sum_the_same_from_rollups() -> None:
    scale = benchmark_script("ledger_scale")
    for backend in postgres_schema():
        open_ledger(backend.url).close()
        scale.generate(backend.url, ROWS, 30.0, analyze=False)
        end = scale.END
        windows = [(None, None), (end - timedelta(days=9), end - timedelta(days=2))]
        ragged = (end - timedelta(days=5, minutes=17), end - timedelta(days=4, minutes=41))
        with open_ledger(backend.url) as ledger:
            found = {}
            for by in BYS:
                for since, until in [*windows, ragged]:
                    rolled = ledger.usage(by, since, until)
                    assert rolled == ledger.usage(by, since, until, source="raw"), (by, since)
                    found[by, since] = rolled
            assert sum(t.requests for t in found["model", None]) == ROWS
            assert any(t.unallocated_requests for t in found["model", None])
            pruned = ledger.prune(end - timedelta(days=10, hours=3))
            assert pruned.rows > ROWS // 2
            assert pruned.before == datetime(2026, 11, 19, 21, tzinfo=UTC)
            for by in BYS:
                for since, until in windows:
                    assert ledger.usage(by, since, until) == found[by, since]
