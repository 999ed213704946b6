"""``GET /metrics``: the Prometheus text format, on by default; a bearer token when
``VECTORCACHE_METRICS_TOKEN`` is set; off with ``VECTORCACHE_METRICS_ENABLED=false`` (404)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from vectorcache.api.deps import runtime
from vectorcache.errors import AuthenticationFailed, NotFound, ServiceUnavailable
from vectorcache.monitoring.metrics import CONTENT_TYPE

__all__ = ["router"]

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    rt = runtime(request)
    settings = rt.settings
    if not settings.metrics_enabled:
        raise NotFound("Metrics are turned off (VECTORCACHE_METRICS_ENABLED=false).")
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise AuthenticationFailed("A valid metrics token is required", code="invalid_token")
    if rt.monitoring is None:
        raise ServiceUnavailable()
    await rt.monitoring.sample_index()
    return Response(rt.monitoring.metrics.render(), media_type=CONTENT_TYPE)
