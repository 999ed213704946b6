"""Liveness and readiness, without authentication."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from vectorcache.api.deps import runtime
from vectorcache.clock import to_iso, utcnow

__all__ = ["router"]

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, Any]:
    return {"status": "healthy", "timestamp": to_iso(utcnow())}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    checks: dict[str, object] = {}
    try:
        rt = runtime(request)
        await rt.store.ping()
        checks["storage"] = "ok"
        await rt.embedder.embed(["ready"])
        checks["model"] = "ok"
        checks["index"] = await rt.store.index_status()  # informational: a rebuild still serves
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; named below
        checks["error"] = type(exc).__name__
        return _not_ready(checks)
    # rate limits in Redis: without it this replica refuses (503), or counts on its own
    redis = await request.app.state.access_guard.storage_status()
    if redis is not None:
        checks["redis"] = redis
        if redis == "unavailable":
            return _not_ready(checks)
    return JSONResponse({"status": "ready", "checks": checks})


def _not_ready(checks: dict[str, object]) -> JSONResponse:
    return JSONResponse({"status": "not_ready", "checks": checks}, status_code=503,
                        headers={"Retry-After": "5"})
