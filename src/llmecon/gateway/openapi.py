"""The gateway's OpenAPI document (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from llmecon.gateway.requests import MAX_CHOICES, MAX_TOKENS_LIMIT

_ERROR = {"$ref": "#/components/schemas/Error"}
_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {"role": {"type": "string"}, "content": {"type": "string"}},
}


SUMMARIES = {
    "chat": "Create a chat completion",
    "completions": "Create a completion",
    "embeddings": "Create embeddings",
    "responses": "Create a response (OpenAI's Responses API)",
}


def _completion(kind: str, models: list[str]) -> dict[str, Any]:
    body_props: dict[str, Any] = {
        "model": {"type": "string", "enum": models} if models else {"type": "string"},
        "stream": {"type": "boolean"},
        "max_tokens": {"type": "integer", "minimum": 1, "maximum": MAX_TOKENS_LIMIT},
        "max_completion_tokens": {"type": "integer", "minimum": 1, "maximum": MAX_TOKENS_LIMIT},
        "n": {"type": "integer", "minimum": 1, "maximum": MAX_CHOICES},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    }
    required = ["model"]
    if kind == "embeddings":
        for name in ("stream", "max_tokens", "max_completion_tokens", "n", "temperature"):
            body_props.pop(name)
        text_list = {"type": "array", "minItems": 1, "items": {"type": "string"}}
        body_props["input"] = {"oneOf": [{"type": "string"}, text_list]}
        required.append("input")
    elif kind == "responses":
        for name in ("max_tokens", "max_completion_tokens", "n"):
            body_props.pop(name)
        body_props["max_output_tokens"] = {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_TOKENS_LIMIT,
        }
        body_props["input"] = {"type": "string", "minLength": 1}
        body_props["instructions"] = {"type": "string"}
        required.append("input")
    elif kind == "chat":
        body_props["messages"] = {"type": "array", "minItems": 1, "items": _MESSAGE}
        required.append("messages")
    else:
        ids = {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}
        body_props["prompt"] = {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "minItems": 1, "items": {"type": "string"}},
                ids,
                {"type": "array", "minItems": 1, "items": ids},
            ]
        }
        body_props["best_of"] = {"type": "integer", "minimum": 1, "maximum": MAX_CHOICES}
        required.append("prompt")
    return {
        "post": {
            "summary": SUMMARIES[kind],
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": required,
                            "properties": body_props,
                            "additionalProperties": True,  # passed to the upstream
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "a completion, or a text/event-stream when stream is true"},
                **{
                    str(code): {
                        "description": text,
                        "content": {"application/json": {"schema": _ERROR}},
                    }
                    for code, text in (
                        (400, "bad request"),
                        (401, "missing or unknown key"),
                        (404, "unknown model"),
                        (413, "body too large"),
                        (502, "upstream failed"),
                        (503, "unavailable"),
                        (504, "upstream timed out"),
                    )
                },
            },
        }
    }


def openapi_document(version: str, models: list[str]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "llmecon gateway", "version": version},
        "paths": {
            "/v1/chat/completions": _completion("chat", models),
            "/v1/completions": _completion("completions", models),
            "/v1/embeddings": _completion("embeddings", models),
            "/v1/responses": _completion("responses", models),
            "/v1/models": {
                "get": {
                    "summary": "Models served",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "model list"}},
                }
            },
            "/healthz": {"get": {"summary": "Health", "responses": {"200": {"description": "ok"}}}},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "metrics"}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object"}}}},
        },
    }
