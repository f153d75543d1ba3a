"""Task sets: one JSON object per line, read and checked before any request is sent.

A line holds `prompt` (a string) or `messages` (OpenAI chat messages), the `expected` answer
where the grader needs one, and `grader`: a name ("exact") or an object with `kind` and the
grader's parameters ({"kind": "numeric", "tolerance": 0.01}). Optional: `id` (default: the
line number), `max_tokens`, `system` (prepended to a prompt). Every problem is one line naming
the file, the line and the fix.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmecon.errors import LlmeconError
from llmecon.eval.graders import GRADERS, Grader, build_grader

KEYS = frozenset({"id", "prompt", "messages", "system", "expected", "grader", "max_tokens"})
ROLES = frozenset({"system", "user", "assistant", "developer"})


@dataclass(frozen=True)
class Item:
    id: str
    messages: tuple[dict[str, Any], ...]
    grader: Grader
    max_tokens: int | None = None

    @property
    def question(self) -> str:
        """The last user message: what a judge is shown as the question."""
        users = [m for m in self.messages if m.get("role") == "user"]
        return str((users or list(self.messages))[-1].get("content", ""))


def read_dataset(path: Path, default_grader: str | None = None) -> tuple[Item, ...]:
    """Every item of the task set at `path` (LlmeconError on the first bad line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LlmeconError(f"{path}: no such file; give a JSONL task set") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LlmeconError(f"{path}: cannot read it ({error})") from None
    items = []
    ids: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item = parse_item(line, f"{path}:{number}", number, default_grader)
        if item.id in ids:
            raise LlmeconError(f"{path}:{number}: id {item.id!r} is used twice; ids must be unique")
        ids.add(item.id)
        items.append(item)
    if not items:
        raise LlmeconError(
            f"{path}: empty dataset; give one JSON object per line, e.g. "
            '{"prompt": "2+2=?", "expected": "4", "grader": "numeric"}'
        )
    return tuple(items)


def parse_item(line: str, where: str, number: int, default_grader: str | None) -> Item:
    try:
        data = json.loads(line)
    except ValueError as error:
        raise LlmeconError(f"{where}: not valid JSON ({error}); give one object per line") from None
    if not isinstance(data, dict):
        raise LlmeconError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise LlmeconError(f"{where}: unknown key {unknown[0]!r}{_hint(unknown[0], KEYS)}")
    messages = _messages(data, where)
    grader = _grader(data, where, default_grader)
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise LlmeconError(f"{where}: max_tokens must be a whole number >= 1")
    item_id = data.get("id", number)
    if not isinstance(item_id, str | int) or isinstance(item_id, bool):
        raise LlmeconError(f"{where}: id must be a string or a number")
    return Item(str(item_id), messages, grader, max_tokens)


def _messages(data: dict[str, Any], where: str) -> tuple[dict[str, Any], ...]:
    prompt, messages, system = data.get("prompt"), data.get("messages"), data.get("system")
    if (prompt is None) == (messages is None):
        raise LlmeconError(
            f"{where}: missing the task; give 'prompt' (a string) or 'messages' (chat messages), "
            "exactly one"
        )
    if prompt is not None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise LlmeconError(f"{where}: 'prompt' must be a non-empty string")
        if system is not None and not isinstance(system, str):
            raise LlmeconError(f"{where}: 'system' must be a string")
        head = [{"role": "system", "content": system}] if system else []
        return (*head, {"role": "user", "content": prompt})
    if system is not None:
        raise LlmeconError(f"{where}: 'system' goes with 'prompt'; put it in 'messages' instead")
    if not isinstance(messages, list) or not messages:
        raise LlmeconError(f"{where}: 'messages' must be a non-empty list of chat messages")
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str | list)
        ):
            raise LlmeconError(
                f"{where}: messages[{index}] must be an object with a role "
                f"({', '.join(sorted(ROLES))}) and a content"
            )
    return tuple(messages)


def _grader(data: dict[str, Any], where: str, default_grader: str | None) -> Grader:
    spec = data.get("grader", default_grader)
    if spec is None:
        raise LlmeconError(
            f"{where}: missing 'grader'; give one of {', '.join(GRADERS)} (or --grader for all)"
        )
    params: dict[str, Any] = {"kind": spec} if isinstance(spec, str) else spec
    kind = params.get("kind") if isinstance(params, dict) else None
    if not isinstance(kind, str):
        raise LlmeconError(
            f"{where}: 'grader' must be a name or an object with 'kind' "
            f"(one of {', '.join(GRADERS)})"
        )
    try:
        return build_grader(kind, params, data.get("expected"))
    except KeyError:
        raise LlmeconError(
            f"{where}: unknown grader {kind!r}{_hint(kind, GRADERS)}; known graders: "
            f"{', '.join(GRADERS)}"
        ) from None
    except ValueError as error:
        raise LlmeconError(f"{where}: {error}") from None


def _hint(word: str, known: Any) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
