"""The ASGI request guard in front of every route: request id, API key and body-size checks."""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_response, new_request_id
from server.validate import ApiError

MAX_BODY_BYTES = 16 << 20


class RequestGuard:
    """Request id, API key and body-size checks as a plain ASGI middleware.

    Starlette's ``@app.middleware("http")`` runs every request in an extra task with memory streams;
    at dozens of requests per second that cost more event-loop time than the route itself.
    """

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = new_request_id()
        request.state.request_id = request_id
        error = None
        if scope["method"] != "OPTIONS" and scope["path"] != "/health" and self.api_key:
            if not _authorised(request, self.api_key):
                error = ApiError(401, "invalid or missing API key (send x-api-key or Authorization: Bearer)",
                                 kind="authentication_error")
        if error is None:
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
                error = ApiError(413, f"request body over {MAX_BODY_BYTES} bytes", kind="request_too_large")
        if error is not None:
            await error_response(request, error)(scope, receive, send)
            return
        stamp = [(b"request-id", request_id.encode()), (b"x-request-id", request_id.encode())]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [item for item in stamp if item[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def _authorised(request: Request, key: str) -> bool:
    offered = request.headers.get("x-api-key")
    if offered is None:
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            offered = authorization[7:].strip()
    return offered is not None and hmac.compare_digest(offered.encode(), key.encode())
