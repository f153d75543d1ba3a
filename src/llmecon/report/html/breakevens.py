"""Break-evens in words, as a list whose items carry each crossing's volume for the tests."""

from __future__ import annotations

from html import escape
from typing import Any

from llmecon.report.numbers import volume


def render_breakevens(breakevens: list[dict[str, Any]], heading: str = "Break-evens") -> str:
    """Each crossing (the first eight of a pair) and each pair that never crosses, in words."""
    items = []
    for breakeven in breakevens:
        first, second = breakeven["between"]
        for crossing in breakeven["crossings"][:8]:
            items.append(
                f"<li data-breakeven={crossing['requests_per_day']!r}>"
                f"{escape(crossing['cheaper_above'])} becomes cheaper than "
                f"{escape(crossing['cheaper_below'])} above "
                f"<strong>{volume(crossing['requests_per_day'])}</strong> requests/day</li>"
            )
        if not breakeven["crossings"] and breakeven["cheaper_throughout"]:
            other = second if breakeven["cheaper_throughout"] == first else first
            lo, hi = breakeven["range"]
            items.append(
                f"<li>{escape(breakeven['cheaper_throughout'])} is cheaper than {escape(other)} "
                f"at every volume from {volume(lo)} to {volume(hi)} requests/day</li>"
            )
    return f"<h3>{escape(heading)}</h3><ul class=breakevens>{''.join(items)}</ul>"
