"""``GET /v1/analytics/usage`` (rollups: hit rate, savings, errors, latency per bucket, overall
or per key, model or end user) and ``GET /v1/analytics/requests`` (the request log's rows)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from vectorcache.api.deps import authenticated, runtime
from vectorcache.errors import ServiceUnavailable
from vectorcache.monitoring.analytics import UsageQuery
from vectorcache.monitoring.log_store import rows_as_dicts
from vectorcache.monitoring.service import Monitoring
from vectorcache.monitoring.timerange import parse_range, zone_of
from vectorcache.service.auth import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/analytics")

READ = Depends(authenticated("analytics:read"))


def _monitoring(request: Request) -> Monitoring:
    monitoring = runtime(request).monitoring
    if monitoring is None:
        raise ServiceUnavailable()
    return monitoring


@router.get("/usage")
async def usage(request: Request, start: str | None = None, end: str | None = None,
                bucket: str = "day", group_by: str = "none", key_id: str | None = None,
                model: str | None = None, project_id: str | None = None,
                limit: int = Query(default=100, ge=1, le=1000), tz: str | None = None,
                principal: Principal = READ) -> dict[str, Any]:
    principal.check_project(project_id)
    monitoring = _monitoring(request)
    # days are the project's (its working hours' time zone) unless ``tz`` names another
    zone = zone_of(tz or await monitoring.alerts.time_zone(principal.project.id))
    start_at, end_at = parse_range(start, end, bucket, monitoring.clock(), zone)
    answer = await monitoring.analytics.usage(UsageQuery(
        project_id=principal.project.id, start=start_at, end=end_at, bucket=bucket,
        group_by=group_by, key_id=key_id, model=model, limit=limit, tz=zone.key))
    if group_by == "key":  # name the keys (by prefix: never the key itself)
        keys = {k.id: k for k in await runtime(request).store.list_api_keys(
            principal.project.id)}
        for group in answer["groups"]:
            key = keys.get(group["group"])
            group["key_name"] = key.name if key else None
            group["key_prefix"] = key.prefix if key else None
    return answer


@router.get("/requests")
async def requests(request: Request, start: str | None = None, end: str | None = None,
                   limit: int = Query(default=100, ge=1, le=1000),
                   project_id: str | None = None,
                   principal: Principal = READ) -> dict[str, Any]:
    principal.check_project(project_id)
    monitoring = _monitoring(request)
    start_at, end_at = parse_range(start, end, "minute", monitoring.clock())
    rows = await monitoring.log_store.recent(principal.project.id, start=start_at.timestamp(),
                                             end=end_at.timestamp(), limit=limit)
    return {"requests": rows_as_dicts(rows), "total": len(rows)}
