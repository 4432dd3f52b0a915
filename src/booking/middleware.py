"""Pure ASGI middleware (``@app.middleware("http")`` costs much more throughput)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from booking.db import ConnectionLostBeforeWork
from booking.errors import (
    PayloadTooLarge,
    error_body,
    problem_bytes,
    unexpected_error_payload,
)
from booking.observability import Metrics, current_request_id

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = logging.getLogger("booking.access")


class HttpMiddleware:
    """The base of this service's pure ASGI middlewares: what is not an HTTP request (the
    lifespan) goes straight through; a request goes to ``handle``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class RequestContextMiddleware(HttpMiddleware):
    """Gives every request an id (the caller's ``X-Request-ID`` when sane) and echoes it back;
    turns an unhandled exception into a 500 problem that names only that id; writes the access
    log line.

    The access log names the route's template (``/api/v1/appointments/{appointment_id}``), never
    the query string or the literal path: searches (``?q=``) and links carry patient data."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        request_id_token = current_request_id.set(request_id)
        response_started = False
        status = 500
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as error:
            payload = unexpected_error_payload(error, request_id)
            if response_started:
                return  # too late for an error response; the log has it
            content, media_type = error_body(payload, scope["path"])
            await send_with_request_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", media_type.encode()),
                        (b"content-length", str(len(content)).encode()),
                    ],
                }
            )
            await send_with_request_id({"type": "http.response.body", "body": content})
        finally:
            route = getattr(scope.get("route"), "path", "<unmatched>")
            elapsed = time.perf_counter() - started
            access_log.info(
                "%s %s %d %.1fms request_id=%s",
                scope["method"],
                route,
                status,
                elapsed * 1000,
                request_id,
            )
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            current_request_id.reset(request_id_token)


class BodyLimitMiddleware(HttpMiddleware):
    """413 for a body over the limit, whether or not the client announced its length.

    The body is read up to the limit before the app sees it, so an oversized upload is cut off
    early and never reaches JSON parsing.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        announced = dict(scope["headers"]).get(b"content-length")
        if announced is not None and announced.isdigit() and int(announced) > self.max_body_bytes:
            await self._refuse(send)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body = b"".join(chunks)
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay_receive, send)

    async def _refuse(self, send: Send) -> None:
        error = PayloadTooLarge(f"The request body must be at most {self.max_body_bytes} bytes.")
        content = problem_bytes(error.payload())
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(content)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


class RetryOnLostConnection(HttpMiddleware):
    """Runs a request again, once, when its first database statement found the pooled
    connection dead (the database restarted, a backend was terminated).

    Pinging every connection at checkout would cost three round trips on every request; this
    costs nothing until a connection is found dead. It is safe because nothing of the request
    reached the database (ConnectionLostBeforeWork says so) and no response has started; the
    body, read once, is handed to the second run as it was to the first.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        received: list[Message] = []
        response_started = False

        async def recording_receive() -> Message:
            message = await receive()
            received.append(message)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            response_started = True
            await send(message)

        try:
            await self.app(scope, recording_receive, watching_send)
        except ConnectionLostBeforeWork:
            if response_started:
                raise
            access_log.warning("a pooled database connection was closed; running the request again")
            replay = iter(received)

            async def replay_receive() -> Message:
                return next(replay, None) or await receive()

            await self.app(dict(scope), replay_receive, send)
