"""A key's rate window in compact form: each admitted request still in the window is three
array slots (24 bytes), not dict entries with an int and a float object each.

Measured (issue 18): the dict form held ~215 bytes per request in the window, ~10 MB at
800 requests/s over a 60 s window, which the soak benchmark read as growth; this form holds
24 bytes per request (~1.2 MB at that rate).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator
from itertools import islice

COMPACT_AFTER = 1024  # entries dropped at the front before the arrays are shifted down


class RateLog:
    """Admissions in the window, oldest first: (sequence number, admitted at, tokens).

    Sequence numbers come from a counter, so they increase with the admission time and a
    settle finds its entry by bisection. Entries leave from the front as the window slides;
    the arrays are shifted once at least half of them (and `COMPACT_AFTER`) are gone, so each
    entry is moved O(1) times on average.
    """

    __slots__ = ("_head", "_seqs", "_times", "_tokens", "token_sum")

    def __init__(self) -> None:
        self._seqs = array("q")
        self._times = array("d")
        self._tokens = array("q")
        self._head = 0  # entries before this index have left the window
        self.token_sum = 0  # tokens of the entries in the window

    def __len__(self) -> int:
        return len(self._seqs) - self._head

    def add(self, seq: int, admitted_at: float, tokens: int) -> None:
        if self._seqs and seq <= self._seqs[-1]:
            raise ValueError(f"admission {seq} is not after {self._seqs[-1]}")
        self._seqs.append(seq)
        self._times.append(admitted_at)
        self._tokens.append(tokens)
        self.token_sum += tokens

    def prune(self, cutoff: float) -> None:
        """Drop the entries admitted at or before `cutoff`."""
        head, times, end = self._head, self._times, len(self._times)
        while head < end and times[head] <= cutoff:
            self.token_sum -= self._tokens[head]
            head += 1
        self._head = head
        if head and (head == end or (head >= COMPACT_AFTER and 2 * head >= end)):
            del self._seqs[:head], self._times[:head], self._tokens[:head]
            self._head = 0

    def settle(self, seq: int, tokens: int) -> None:
        """The request `seq` used `tokens`, not what it reserved (if it is still in the
        window)."""
        at = bisect_left(self._seqs, seq, self._head)
        if at < len(self._seqs) and self._seqs[at] == seq:
            self.token_sum += tokens - self._tokens[at]
            self._tokens[at] = tokens

    def requests(self) -> Iterator[tuple[float, int]]:
        """(admitted at, 1) for each request in the window, oldest first."""
        return ((at, 1) for at in islice(self._times, self._head, None))

    def spends(self) -> Iterator[tuple[float, int]]:
        """(admitted at, tokens) for each request in the window, oldest first."""
        head = self._head
        return zip(islice(self._times, head, None), islice(self._tokens, head, None), strict=True)
