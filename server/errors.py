"""Errors as the client sees them: engine exceptions mapped to :class:`ApiError`, rendered in each API's shape.

Errors are rendered in the shape of the API whose path was hit (Anthropic under ``/v1/messages``,
OpenAI everywhere else), so official SDKs always get an error they can parse, and a client never
sees a 500 or a dropped connection for bad input.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from server.engine import EngineError, EngineOverloaded, PromptTooLong
from server.validate import ApiError

log = logging.getLogger("server.errors")

ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                         404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large",
                         429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}


def is_anthropic(path: str) -> bool:
    """Anthropic's routes live under ``/v1/messages``; every other path answers in OpenAI's shape."""
    return path.startswith("/v1/messages")


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]


def error_response(request: Request, error: ApiError) -> JSONResponse:
    """The error in the shape of the API that ``request`` addressed."""
    request_id = getattr(request.state, "request_id", None) or new_request_id()
    headers = {"request-id": request_id, "x-request-id": request_id, **error.headers}
    if is_anthropic(request.url.path):
        kind = error.kind if error.kind != "invalid_request_error" else ANTHROPIC_ERROR_TYPES.get(error.status, error.kind)
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": error.message}, "request_id": request_id}
    else:
        kind = {"not_found_error": "invalid_request_error",
                "rate_limit_error": "rate_limit_exceeded"}.get(error.kind, error.kind)
        code = {401: "invalid_api_key", 404: "unknown_url", 429: "rate_limit_exceeded"}.get(error.status)
        body = {"error": {"message": error.message, "type": kind, "param": error.param, "code": code}}
    return JSONResponse(body, status_code=error.status, headers=headers)


def engine_error(exc: Exception) -> ApiError:
    """Map an engine exception raised before any output to the client-facing error."""
    if isinstance(exc, PromptTooLong):
        return ApiError(400, str(exc), param="messages")
    if isinstance(exc, EngineOverloaded):
        seconds = max(1, round(exc.retry_after))
        return ApiError(429, f"the server is at capacity; retry after {seconds}s", kind="rate_limit_error",
                        headers={"retry-after": str(seconds)})
    if isinstance(exc, ValueError):
        return ApiError(400, str(exc))
    if isinstance(exc, EngineError):
        return ApiError(503, f"the model is not available: {exc}", kind="overloaded_error")
    raise exc


def install_error_handlers(app: FastAPI) -> None:
    """ApiErrors, Starlette's 404/405 and any unexpected exception, all answered in the API's error shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            error = ApiError(404, f"no route {request.method} {request.url.path}", kind="not_found_error")
        elif exc.status_code == 405:
            error = ApiError(405, f"method {request.method} is not allowed on {request.url.path}")
        else:
            error = ApiError(exc.status_code, str(exc.detail))
        return error_response(request, error)

    @app.exception_handler(ClientDisconnect)
    async def hung_up(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # Nobody is left to read an answer; this is the client's doing, not a server bug worth a traceback.
        log.info("client disconnected before its request body was complete: %s %s", request.method, request.url.path)
        return error_response(request, ApiError(400, "the client disconnected before the request body was complete"))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, ApiError(500, f"internal server error: {type(exc).__name__}", kind="api_error"))
