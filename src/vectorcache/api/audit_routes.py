"""``GET /v1/audit``: the caller's project's audit log, newest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from vectorcache.api.deps import authenticated, runtime
from vectorcache.clock import to_iso
from vectorcache.models import AuditEvent
from vectorcache.service.auth import Principal

__all__ = ["audit_json", "router"]

router = APIRouter(prefix="/v1")

MANAGE = Depends(authenticated("keys:manage"))


def audit_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": to_iso(event.at), "action": event.action,
            "project_id": event.project_id, "actor": event.actor, "target": event.target,
            "client_ip": event.client_ip, "details": event.details}


@router.get("/audit")
async def list_audit(request: Request, limit: int = Query(default=100, ge=1, le=1000),
                     principal: Principal = MANAGE) -> dict[str, Any]:
    events = await runtime(request).store.list_audit(principal.project.id, limit)
    return {"events": [audit_json(e) for e in events], "total": len(events)}
