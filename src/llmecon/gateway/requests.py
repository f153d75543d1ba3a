"""What the gateway reads from a request body: as little as it needs, checked strictly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmecon.gateway.errors import GatewayError

ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/completions": "completions"}


@dataclass(frozen=True)
class Call:
    """A parsed completion request and the body to forward."""

    endpoint: str
    model: str
    stream: bool
    wants_usage: bool  # the client asked for stream usage itself
    max_tokens: int | None
    prompt_text: str
    body: bytes  # what goes upstream (stream usage always requested)


def parse_call(path: str, raw: bytes) -> Call:
    endpoint = ENDPOINTS[path]
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(400, "the request body is not valid JSON", "invalid_json") from None
    if not isinstance(data, dict):
        raise GatewayError(400, "the request body must be a JSON object", "invalid_body")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "`model` is required and must be a string", "invalid_type", "model")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise GatewayError(400, "`stream` must be true or false", "invalid_type", "stream")
    max_tokens = data.get("max_tokens", data.get("max_completion_tokens"))
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise GatewayError(
            400, "`max_tokens` must be a positive integer", "invalid_type", "max_tokens"
        )
    text = _prompt_text(endpoint, data)
    options = data.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    if stream and not wants_usage:
        data["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
        raw = json.dumps(data).encode()
    return Call(endpoint, model, stream, wants_usage, max_tokens, text, raw)


def _prompt_text(endpoint: str, data: dict[str, Any]) -> str:
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
        return " ".join(_content_text(m.get("content")) for m in messages)
    prompt = data.get("prompt")
    if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        return " ".join(prompt)
    if not isinstance(prompt, str):
        raise GatewayError(400, "`prompt` must be a string", "invalid_type", "prompt")
    return prompt


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""
