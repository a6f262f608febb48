"""The server's own routes, beside the two APIs: ``GET /health`` and ``GET /v1/models``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from server import blas

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    engine, settings = request.app.state.engine, request.app.state.settings
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


@router.get("/v1/models")
async def models(request: Request) -> dict[str, Any]:
    engine, settings = request.app.state.engine, request.app.state.settings
    return {"object": "list", "data": [{"id": engine.model_id, "object": "model", "created": int(settings.started), "owned_by": "local"}]}
