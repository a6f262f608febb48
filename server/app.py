"""The FastAPI application: routes, API-shaped errors, API key, CORS, health.

Errors are rendered in the shape of the API whose path was hit (Anthropic under ``/v1/messages``,
OpenAI everywhere else), so official SDKs always get an error they can parse, and a client never
sees a 500 or a dropped connection for bad input.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import blas
from server.engine import Engine, EngineError, EngineOverloaded, PromptTooLong
from server.validate import ApiError

log = logging.getLogger("server.app")

ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                         404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large",
                         429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}
MAX_BODY_BYTES = 16 << 20


@dataclass(frozen=True)
class Settings:
    """Everything ``python -m server`` can be told."""

    model: str
    host: str = "127.0.0.1"
    port: int = 8000
    cache_dir: str | None = None
    cache_max_bytes: int = 2 << 30
    cache_disk_max_bytes: int = 8 << 30
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_tokens_limit: int = 4096
    max_queue: int = 256
    log_level: str = "info"
    started: float = field(default_factory=time.time)


def is_anthropic(path: str) -> bool:
    return path.startswith("/v1/messages")


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


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]


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


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Build the app; the engine is started in the lifespan and shut down (caches flushed) after it."""
    from server import api_anthropic, api_openai

    engine = engine or Engine(
        settings.model,
        cache_dir=settings.cache_dir,
        cache_max_bytes=settings.cache_max_bytes,
        cache_disk_max_bytes=settings.cache_disk_max_bytes,
        max_queue=settings.max_queue,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine.start()
        log.info("model %s loaded from %s", engine.model_id, engine.model_path)
        yield
        engine.shutdown(timeout=30.0)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.settings = settings

    app.add_middleware(_Guard, api_key=settings.api_key)

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["*"], expose_headers=["request-id", "x-request-id", "retry-after"])

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            error = ApiError(404, f"no route {request.method} {request.url.path}", kind="not_found_error")
        elif exc.status_code == 405:
            error = ApiError(405, f"method {request.method} is not allowed on {request.url.path}")
        else:
            error = ApiError(exc.status_code, str(exc.detail))
        return error_response(request, error)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, ApiError(500, f"internal server error: {type(exc).__name__}", kind="api_error"))

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": engine.model_id,
            "model_path": engine.model_path,
            "loaded": engine.loaded,
            "uptime_s": float(time.time() - settings.started),
            "active_requests": engine.active,
            "queued_requests": engine.queued,
            "blas": blas.active().name,
        }

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": engine.model_id, "object": "model", "created": int(settings.started), "owned_by": "local"}]}

    app.include_router(api_anthropic.router)
    app.include_router(api_openai.router)
    return app


class _Guard:
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
