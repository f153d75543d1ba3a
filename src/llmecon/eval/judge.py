"""The LLM judge: a prompt with the rubric, the question, a reference and the answer; a verdict.

The judge model is asked to end with a line `VERDICT: PASS` or `VERDICT: FAIL`. The last such
line wins; a reply without one is not a verdict (the item counts as a judge failure, never as
correct). The judge's own tokens are counted apart from the graded endpoint's.
"""

from __future__ import annotations

import re

from llmecon.eval.graders import Verdict

JUDGE_SYSTEM = (
    "You grade answers. Apply the rubric strictly to the candidate answer. Explain in at most "
    "two sentences, then end with one line: VERDICT: PASS or VERDICT: FAIL."
)
_VERDICT = re.compile(r"VERDICT\s*:\s*\**\s*(PASS|FAIL)\b", re.IGNORECASE)


def judge_messages(
    rubric: str, question: str, reference: str | None, answer: str
) -> list[dict[str, str]]:
    parts = [f"Rubric:\n{rubric}", f"Question:\n{question}"]
    if reference is not None:
        parts.append(f"Reference answer:\n{reference}")
    parts.append(f"Candidate answer:\n{answer}")
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def parse_verdict(reply: str) -> Verdict | None:
    """PASS/FAIL from the judge's reply (the last VERDICT line), or None when it gives none."""
    found = _VERDICT.findall(reply)
    if not found:
        return None
    passed = found[-1].upper() == "PASS"
    return Verdict(passed, "" if passed else "the judge failed it")
