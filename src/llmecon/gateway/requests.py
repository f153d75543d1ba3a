"""What the gateway reads from a request body: as little as it needs, checked strictly.

Fields the gateway does not need pass through untouched (the upstream decides: vLLM's
`chat_template_kwargs`, `guided_json`, OpenAI's `prompt_cache_key`, next month's field). The
fields that change what a request can cost (`max_tokens`, `max_completion_tokens`, `n`,
`best_of`, the prompt or messages) are read and validated for limits and accounting."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from llmecon.gateway.errors import GatewayError
from llmecon.ledger.model import check_name

ENDPOINTS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
    "/v1/responses": "responses",
}
LIMIT_FIELD = {"responses": "max_output_tokens"}  # where a written default limit goes
MAX_TOKENS_LIMIT = 1_000_000


@dataclass(frozen=True)
class Call:
    """A parsed completion request and the body to forward."""

    endpoint: str
    model: str
    stream: bool
    wants_usage: bool  # the client asked for stream usage itself
    max_tokens: int | None  # the larger of max_tokens and max_completion_tokens, if given
    prompt_text: str
    body: bytes  # what goes upstream (stream usage always requested)
    completions: int = 1  # answers generated: max(n, best_of) per prompt, times the prompts
    prompt_token_ids: int = 0  # prompt tokens given as token ids (completions)
    reserve_text: str = ""  # what the reservation counts (chat, responses, embeddings: the body)
    reserve_extra: int = 0  # tokens the text does not show (per message, per image)

    def most_completion_tokens(self, default: int) -> int:
        """The most completion tokens this call can produce (every answer at its limit)."""
        return self.completions * (self.max_tokens or default)

    def with_limit(self, default: int) -> Call:
        """The call with an explicit `max_tokens` when the client gave none, so the upstream
        cannot produce more than was reserved."""
        if self.max_tokens is not None or self.completions == 0:
            return self
        data = json.loads(self.body)
        data[LIMIT_FIELD.get(self.endpoint, "max_tokens")] = default
        return replace(self, max_tokens=default, body=json.dumps(data).encode())

    def for_model(self, model: str) -> Call:
        """The same call asking for another model (a fallback upstream's name for it)."""
        if model == self.model:
            return self
        data = json.loads(self.body)
        data["model"] = model
        return replace(self, model=model, body=json.dumps(data).encode())


def parse_call(path: str, raw: bytes) -> Call:
    endpoint = ENDPOINTS[path]
    data = _object(raw)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "`model` is required and must be a string", "invalid_type", "model")
    try:
        check_name("`model`", model)
    except ValueError as error:
        raise GatewayError(400, str(error), "invalid_value", "model") from None
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise GatewayError(400, "`stream` must be true or false", "invalid_type", "stream")
    if endpoint == "embeddings":  # reserve for the body, and each input's special tokens
        text, ids, inputs = _embedding_input(data)
        return Call(endpoint, model, False, False, None, text, raw, 0, ids,
                    _body_text(raw), PER_INPUT * inputs)  # fmt: skip
    if endpoint == "responses":
        limit = _check_max_tokens(data, "max_output_tokens")
        text = _responses_input(data)
        items = data.get("input")
        extra = _unseen_tokens(items if isinstance(items, list) else [])
        return Call(endpoint, model, stream, False, limit, text, raw,
                    reserve_text=_body_text(raw), reserve_extra=extra)  # fmt: skip
    limits = [_check_max_tokens(data, name) for name in ("max_tokens", "max_completion_tokens")]
    given = [limit for limit in limits if limit is not None]
    max_tokens = max(given) if given else None
    text, prompts, ids = _prompt_text(endpoint, data)
    answers = max(_count(data, "n"), _count(data, "best_of")) * prompts
    options = data.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    if stream and not wants_usage:
        data["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
        raw = json.dumps(data).encode()
    if endpoint == "chat":  # tools, schemas and templates count too: reserve for the body
        return Call(endpoint, model, stream, wants_usage, max_tokens, text, raw, answers, ids,
                    _body_text(raw), _unseen_tokens(data["messages"]))  # fmt: skip
    return Call(endpoint, model, stream, wants_usage, max_tokens, text, raw, answers, ids)


def _object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "the request body is not valid JSON", "invalid_json") from None
    except RecursionError:
        raise GatewayError(400, "the request body is nested too deeply", "invalid_json") from None
    if not isinstance(data, dict):
        raise GatewayError(400, "the request body must be a JSON object", "invalid_body")
    return data


def _check_max_tokens(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GatewayError(400, f"`{name}` must be a positive integer", "invalid_type", name)
    if value > MAX_TOKENS_LIMIT:
        raise GatewayError(400, f"`{name}` {value:,} is over {MAX_TOKENS_LIMIT:,}",
                           "invalid_value", name)  # fmt: skip
    return value


MAX_CHOICES = 128


def _count(data: dict[str, Any], name: str) -> int:
    """`n` or `best_of`: how many answers are generated (1 when absent)."""
    value = data.get(name)
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CHOICES:
        raise GatewayError(400, f"`{name}` must be an integer from 1 to {MAX_CHOICES}",
                           "invalid_value", name)  # fmt: skip
    return value


def _prompt_text(endpoint: str, data: dict[str, Any]) -> tuple[str, int, int]:
    """The prompt's text (for counting its tokens), how many prompts it holds, and how many
    tokens it gives as token ids."""
    if endpoint == "chat":
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise GatewayError(
                400, "`messages` must be a non-empty list", "invalid_type", "messages"
            )
        for message in messages:
            if not isinstance(message, dict) or not isinstance(message.get("role"), str):
                raise GatewayError(
                    400, "each message needs a `role` string", "invalid_type", "messages"
                )
        return " ".join(_content_text(m.get("content")) for m in messages), 1, 0
    prompt = data.get("prompt")
    if isinstance(prompt, str):
        return prompt, 1, 0
    if isinstance(prompt, list) and prompt:
        if all(isinstance(p, str) for p in prompt):
            return " ".join(prompt), len(prompt), 0
        if _token_ids(prompt):
            return "", 1, len(prompt)
        if all(isinstance(p, list) and p and _token_ids(p) for p in prompt):
            return "", len(prompt), sum(len(p) for p in prompt)
    raise GatewayError(400, "`prompt` must be a string, a list of strings, a list of token ids "
                       "or a list of such lists", "invalid_type", "prompt")  # fmt: skip


def _token_ids(items: list[Any]) -> bool:
    return all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _embedding_input(data: dict[str, Any]) -> tuple[str, int, int]:
    """An embeddings request's input: its text, how many tokens it gives as ids, and how many
    inputs it holds."""
    value = data.get("input")
    if isinstance(value, str):
        return value, 0, 1
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return " ".join(value), 0, len(value)
        if _token_ids(value):
            return "", len(value), 1
        if all(isinstance(v, list) and v and _token_ids(v) for v in value):
            return "", sum(len(v) for v in value), len(value)
    raise GatewayError(400, "`input` must be a string, a list of strings, a list of token ids "
                       "or a list of such lists", "invalid_type", "input")  # fmt: skip


def _responses_input(data: dict[str, Any]) -> str:
    """A Responses request's input text (instructions included), for counting its tokens."""
    value, instructions = data.get("input"), data.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise GatewayError(400, "`instructions` must be a string", "invalid_type", "instructions")
    parts = [instructions or ""]
    if isinstance(value, str):
        return " ".join([*parts, value])
    if not isinstance(value, list) or not value:
        raise GatewayError(400, "`input` must be a string or a non-empty list of items",
                           "invalid_type", "input")  # fmt: skip
    for item in value:
        if not isinstance(item, dict):
            raise GatewayError(400, "each `input` item must be an object", "invalid_type", "input")
        parts.append(_content_text(item.get("content")))
    return " ".join(parts)


PER_MESSAGE = 4  # chat templates add a few tokens per message
PER_INPUT = 2  # an embedding model's special tokens around each input ([CLS] and [SEP])
PER_MEDIA = 1600  # an image or audio part: more than a high-detail image costs at OpenAI
MEDIA = {"image_url", "input_image", "input_audio", "image", "audio", "file", "input_file"}


def _body_text(raw: bytes) -> str:
    """The request body as text: counting its tokens bounds what the upstream can bill for the
    prompt (messages, tools, function schemas, response formats), JSON punctuation included."""
    return raw.decode("utf-8", errors="replace")


def _unseen_tokens(items: list[Any]) -> int:
    """Tokens the body's text does not show: per message, and per image, audio or file part."""
    unseen = 0
    for item in items:
        if not isinstance(item, dict):
            continue
        unseen += PER_MESSAGE
        content = item.get("content")
        if isinstance(content, list):
            unseen += PER_MEDIA * sum(
                1 for part in content if isinstance(part, dict) and part.get("type") in MEDIA
            )
    return unseen
