"""Why requests failed, in words a user can act on ("connection refused at 127.0.0.1:9")."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmecon.bench.client import Endpoint
    from llmecon.bench.metrics import Record


def connect_failure(endpoint: Endpoint, error: BaseException, timeout: float) -> str:
    """One failed connection attempt, in words."""
    where = f"{endpoint.host}:{endpoint.port}"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused at {where}"
    if isinstance(error, TimeoutError):
        return f"no connection to {where} within {timeout:g} s"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host name {endpoint.host!r}"
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return f"cannot connect to {where}: {reason}"


def failure_cause(records: Sequence[Record], endpoint: Endpoint, path: str) -> str | None:
    """The most common failure of a run, in words, with how many requests it hit."""
    failed = [r for r in records if not r.ok]
    if not failed:
        return None
    kind, count = Counter(r.error or "no_content" for r in failed).most_common(1)[0]
    example = next(r for r in failed if (r.error or "no_content") == kind)
    return f"{_words(kind, example, endpoint, path)} ({count} of {len(records)} requests)"


# kind: what it means, with {url} (where the requests went) and {detail} (what was seen)
WORDS = {
    "no_content": "200 from {url} with no generated text in the answer",
    "timeout": "no complete answer from {url} ({detail})",
    "answer_error": "an error object in a 200 answer from {url}: {detail}",
    "malformed": "the answer from {url} is not what an OpenAI API sends ({detail})",
}


def _words(kind: str, record: Record, endpoint: Endpoint, path: str) -> str:
    url = f"{endpoint.prefix}{path}"
    if kind.startswith("http_"):
        status = kind.removeprefix("http_")
        if status == "404" and not endpoint.prefix.endswith("/v1"):
            base = f"{endpoint.scheme}://{endpoint.host}:{endpoint.port}{endpoint.prefix}/v1"
            return f"404 from {url}: did you mean {base}?"
        return f"{status} from {url}: {_message(record.detail)}"
    if kind in WORDS:
        return WORDS[kind].format(url=url, detail=record.detail)
    return record.detail or kind


def _message(body: str) -> str:
    """The error message of an OpenAI-style error body, else the body's start."""
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return body.strip()[:120] or "(empty body)"
    return str(message)[:200]
