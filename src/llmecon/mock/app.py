"""The mock OpenAI-compatible server as a pure ASGI application.

Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /healthz.
Every completion request is numbered per app (from 1); `settings.fault_every` picks the ones
that fail. Timings run from the moment the request body has been received, on absolute
deadlines (see `alarm`); events already due are coalesced into one send, so with zero
timings a whole stream leaves in one `http.response.body` message.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from types import MappingProxyType
from typing import Any

from llmecon.mock.alarm import Alarm, load_timerfd
from llmecon.mock.payload import (
    CHAT,
    TEXT,
    Event,
    Plan,
    Request,
    RequestError,
    Shape,
    cut,
    error_body,
    error_event,
    malform,
    parse_request,
    plan_body,
    plan_stream,
    with_line_ending,
)
from llmecon.mock.settings import Fault, MockSettings

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[Receive, Send], Awaitable[None]]
FaultHandler = Callable[[Request, Receive, Send], Awaitable[None]]

JSON_TYPE = (b"content-type", b"application/json")
SSE_HEADERS = ((b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"))
ENDINGS = MappingProxyType({"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"})
ROUTES = "POST /v1/chat/completions, POST /v1/completions, GET /v1/models and GET /healthz"
HEALTHY = b'{"status":"ok"}'


def create_app(settings: MockSettings) -> MockApp:
    """The mock server as an ASGI callable (serve it with `llmecon.mock.serve`)."""
    return MockApp(settings)


class MockApp:
    """ASGI application; `requests` counts the completion requests received so far."""

    def __init__(self, settings: MockSettings) -> None:
        self.settings = settings
        self.requests = 0
        self._timerfd = load_timerfd()
        model = {"id": settings.model, "object": "model", "created": 0, "owned_by": "llmecon"}
        self._models = json.dumps({"object": "list", "data": [model]}).encode()
        self._routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): functools.partial(self._complete, CHAT),
            ("POST", "/v1/completions"): functools.partial(self._complete, TEXT),
            ("GET", "/v1/models"): functools.partial(_send_json, status=200, body=self._models),
            ("GET", "/healthz"): functools.partial(_send_json, status=200, body=HEALTHY),
        }

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        handler = self._routes.get((scope["method"], scope["path"]))
        if handler is None:
            message = f"Unknown request URL: {scope['method']} {scope['path']}; the mock serves "
            body = error_body(message + ROUTES, "invalid_request_error", code="unknown_url")
            await _send_json(receive, send, status=404, body=body)
            return
        await handler(receive, send)

    async def _complete(self, shape: Shape, receive: Receive, send: Send) -> None:
        self.requests += 1
        number = self.requests
        body = await _read_body(receive)
        if body is None:
            return
        t0 = time.monotonic()
        try:
            request = parse_request(body, shape, self.settings.output_tokens)
        except RequestError as error:
            document = error_body(str(error), "invalid_request_error", error.param)
            await _send_json(receive, send, status=400, body=document)
            return
        fault = self.settings.fault if self.settings.is_faulty(number) else None
        if fault in EARLY_FAULTS:
            await EARLY_FAULTS[fault](request, receive, send)
            return
        planner = plan_stream if request.stream else plan_body
        plan = planner(shape, self.settings, request, f"{shape.id_prefix}{number}")
        if fault in PLAN_FAULTS:
            plan = PLAN_FAULTS[fault](plan)
        plan = with_line_ending(plan, ENDINGS[self.settings.line_ending])
        await self._play(plan, t0, receive, send)

    async def _play(self, plan: Plan, t0: float, receive: Receive, send: Send) -> None:
        """Streams get their headers at once; a JSON body, with its headers when it is due."""
        alarm = Alarm(self._timerfd)
        try:
            if plan.length is not None:
                await alarm.wait_until(t0 + plan.events[0][0])
            await send({"type": "http.response.start", "status": 200, "headers": _headers(plan)})
            await _send_events(plan.events, t0, alarm, send, keep_open=plan.close)
        finally:
            alarm.close()
        if plan.close:
            await _drop(receive, send)


async def _send_events(
    events: list[Event], t0: float, alarm: Alarm, send: Send, *, keep_open: bool
) -> None:
    """Send each event at t0 + its offset; events already due go out together."""
    start, count = 0, len(events)
    while start < count:
        await alarm.wait_until(t0 + events[start][0])
        now, stop = time.monotonic(), start + 1
        while stop < count and t0 + events[stop][0] <= now:
            stop += 1
        data = b"".join(event[1] for event in events[start:stop])
        more = keep_open or stop < count
        await send({"type": "http.response.body", "body": data, "more_body": more})
        start = stop


def _headers(plan: Plan) -> Sequence[tuple[bytes, bytes]]:
    if plan.length is None:
        return SSE_HEADERS
    return [JSON_TYPE, (b"content-length", b"%d" % plan.length)]


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client went away first."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _send_json(receive: Receive, send: Send, *, status: int, body: bytes) -> None:
    headers = [JSON_TYPE, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _drop(receive: Receive, send: Send) -> None:
    """Close the connection, leaving the response unfinished (or unstarted).

    ASGI has no message for this, so it closes the server's transport (uvicorn exposes it
    on `send`); under another server it raises, which makes the server abort the response.
    """
    close = getattr(getattr(getattr(send, "__self__", None), "transport", None), "close", None)
    if not callable(close):
        raise ConnectionAbortedError("mock fault: closing the connection")
    close()
    await _until_disconnect(receive)


def _failure(status: int, kind: str, code: str) -> FaultHandler:
    message = f"mock fault: HTTP {status} injected on purpose (see --fault and --fault-every)"
    body = error_body(message, kind, code=code)

    async def fail(request: Request, receive: Receive, send: Send) -> None:
        await _send_json(receive, send, status=status, body=body)

    return fail


async def _hang(request: Request, receive: Receive, send: Send) -> None:
    headers = SSE_HEADERS if request.stream else (JSON_TYPE,)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await _until_disconnect(receive)


async def _close(request: Request, receive: Receive, send: Send) -> None:
    await _drop(receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


EARLY_FAULTS: Mapping[Fault | None, FaultHandler] = MappingProxyType(
    {
        "http_500": _failure(500, "server_error", "mock_fault"),
        "http_429": _failure(429, "requests", "rate_limit_exceeded"),
        "hang": _hang,
        "close": _close,
    }
)
PLAN_FAULTS: Mapping[Fault | None, Callable[[Plan], Plan]] = MappingProxyType(
    {"cut": cut, "malformed": malform, "error_event": error_event}
)
