"""Break-evens in words, as the table and the markdown show them."""

from __future__ import annotations

from collections.abc import Iterable

from llmecon.core.breakeven import Breakeven, Crossing
from llmecon.report.numbers import volume

MAX_LISTED = 4  # more crossings than this are summarized in words


def crossing_sentence(crossing: Crossing, kinds: dict[str, str]) -> str:
    """'self-hosting B becomes cheaper than A above 113,436 requests/day'."""
    above = crossing.cheaper_above
    subject = f"self-hosting {above}" if kinds.get(above) == "self_hosted" else above
    return (
        f"{subject} becomes cheaper than {crossing.cheaper_below} above "
        f"{volume(crossing.requests_per_day)} requests/day"
    )


def breakeven_sentences(breakeven: Breakeven, kinds: dict[str, str]) -> list[str]:
    """One sentence per crossing, or one saying there is none in range."""
    lo, hi = breakeven.volume_range
    span = f"from {volume(lo)} to {volume(hi)} requests/day"
    crossings = breakeven.crossings
    if len(crossings) > MAX_LISTED:  # a replica staircase hugging a line: summarize
        opening, closing = crossings[0], crossings[-1]
        stopped = " (search stopped there)" if breakeven.truncated else ""
        return [
            crossing_sentence(opening, kinds),
            f"{opening.cheaper_below} and {opening.cheaper_above} swap places {len(crossings)} "
            f"times up to {volume(closing.requests_per_day)} requests/day, as replicas are added"
            f"{stopped}; above that {closing.cheaper_above} stays cheaper (all crossings in JSON)",
        ]
    if crossings:
        return [crossing_sentence(c, kinds) for c in crossings]
    first, second = breakeven.between
    if breakeven.cheaper_throughout is not None:
        other = second if breakeven.cheaper_throughout == first else first
        if breakeven.tied_somewhere:
            return [f"{breakeven.cheaper_throughout} is never dearer than {other} {span}"]
        return [f"{breakeven.cheaper_throughout} is cheaper than {other} at every volume {span}"]
    return [f"{first} and {second} cost the same at every volume {span}"]


def summary_sentences(breakevens: Iterable[Breakeven], kinds: dict[str, str]) -> list[str]:
    """Crossings in words, then one line for all the pairs whose order never changes."""
    sentences, steady = [], []
    for breakeven in breakevens:
        if breakeven.crossings or breakeven.cheaper_throughout is None or breakeven.tied_somewhere:
            sentences += breakeven_sentences(breakeven, kinds)
            continue
        first, second = breakeven.between
        dearer = second if breakeven.cheaper_throughout == first else first
        steady.append(f"{breakeven.cheaper_throughout} < {dearer}")
        span = breakeven.volume_range
    if steady:
        sentences.append(
            f"no crossing from {volume(span[0])} to {volume(span[1])} requests/day "
            f"(cheaper < dearer): {'; '.join(steady)}"
        )
    return sentences
