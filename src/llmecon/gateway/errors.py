"""Errors in OpenAI's format: {"error": {"message", "type", "param", "code"}}."""

from __future__ import annotations

import json

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "timeout",
    413: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout",
}


class GatewayError(Exception):
    """A request that ends with an OpenAI-style error response."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        *,
        retryable: bool = False,
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.retryable = retryable  # another upstream may succeed (nothing reached the client)
        self.headers: list[tuple[bytes, bytes]] = []

    def body(self) -> bytes:
        error = {
            "message": self.message,
            "type": TYPES.get(self.status, "api_error"),
            "param": self.param,
            "code": self.code,
        }
        return json.dumps({"error": error}).encode()
