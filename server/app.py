"""``create_app``: the FastAPI application assembled from settings, middleware, error handlers and routes.

Each part lives in its own module: :mod:`server.settings` (what the server is told),
:mod:`server.middleware` (the request guard: request id, API key, body size), :mod:`server.errors`
(API-shaped errors), :mod:`server.routes` (health, models) and the two APIs,
:mod:`server.api_anthropic` and :mod:`server.api_openai`.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

# Starlette streams through anyio, which imports its asyncio backend on first use: ~20 ms that the
# first streamed answer after every start (a restarted agent's first turn included) would pay.
import anyio._backends._asyncio  # noqa: F401
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from server import api_anthropic, api_openai, routes
from server.engine import Engine
from server.errors import install_error_handlers
from server.middleware import RequestGuard
from server.settings import Settings

log = logging.getLogger("server.app")


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Build the app; the engine is started in the lifespan and shut down (caches flushed) after it."""
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

    app.add_middleware(RequestGuard, api_key=settings.api_key)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["*"], expose_headers=["request-id", "x-request-id", "retry-after"])
    install_error_handlers(app)

    app.include_router(routes.router)
    app.include_router(api_anthropic.router)
    app.include_router(api_openai.router)
    return app
