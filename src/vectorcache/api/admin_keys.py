"""``/admin/api/projects/{id}/keys``: API keys of any project the caller may see: list,
create (shown once; a developer's sensitive key waits for approval), edit (as
``PATCH /v1/keys/{id}``), revoke, rotate with grace, and the approval queue (approve / deny:
owners and admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from vectorcache.api.admin_deps import console_actor
from vectorcache.api.admin_projects import visible_project
from vectorcache.api.deps import runtime
from vectorcache.api.keys_routes import KeyCreate, KeyUpdate, Rotate, key_changes, key_json
from vectorcache.clock import to_iso
from vectorcache.console.access import Actor
from vectorcache.console.models import KeyRequest
from vectorcache.security.delegation import Grant

__all__ = ["router"]

router = APIRouter(prefix="/admin/api", tags=["admin"])
ACTOR = Depends(console_actor)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


def request_json(r: KeyRequest) -> dict[str, Any]:
    return {"id": r.id, "project_id": r.project_id, "name": r.name, "prefix": r.prefix,
            "requested_by": r.requested_by, "scopes": list(r.scopes), "models": list(r.models),
            "allowed_ips": list(r.allowed_ips), "reasons": list(r.reasons),
            "status": r.status, "created_at": to_iso(r.created_at),
            "decided_by": r.decided_by, "decided_at": to_iso(r.decided_at)}


@router.get("/projects/{project_id}/keys")
async def list_keys(request: Request, project_id: str, offset: int = Query(0, ge=0, le=10_000_000),
                    limit: int = Query(50, ge=1, le=500), actor: Actor = ACTOR) -> dict[str, Any]:
    project = await visible_project(request, actor, project_id)
    keys = await runtime(request).console.records.keys_page(project.id, offset, limit)
    return {"keys": [key_json(k) for k in keys], "offset": offset, "limit": limit}


@router.post("/projects/{project_id}/keys", status_code=201)
async def create_key(request: Request, project_id: str, body: KeyCreate = Body(),
                     actor: Actor = ACTOR) -> dict[str, Any]:
    """201 with ``key`` (shown once) and ``status``: ``active``, or ``pending`` (refused
    until an admin approves it)."""
    project = await visible_project(request, actor, project_id)
    quota = body.quota
    grant = Grant(scopes=tuple(body.scopes) if body.scopes is not None else Grant().scopes,
                  models=tuple(body.models or ()), allowed_ips=tuple(body.allowed_ips or ()),
                  expires_at=body.expires_at, rate_limit_per_minute=body.rate_limit_per_minute,
                  quota_requests=quota.requests if quota else None,
                  quota_period=quota.period if quota else None)
    created = await runtime(request).console.approvals.create_key(actor, project, body.name,
                                                                  grant, body.environment)
    shown = key_json(created.record) if created.record else request_json(created.request) \
        if created.request else {}
    return {**shown, "key": created.key, "status": created.status}


@router.patch("/projects/{project_id}/keys/{key_id}")
async def update_key(request: Request, project_id: str, key_id: str,
                     body: KeyUpdate = Body(), actor: Actor = ACTOR) -> dict[str, Any]:
    """The fields sent change (name, scopes, models, allowed_ips, expires_at,
    rate_limit_per_minute, quota, cache_scope), checked as ``PATCH /v1/keys/{id}`` checks
    them; audited as ``key.update``. 403 ``admin_only`` when a developer's edit would make
    the key need approval (``keys:manage``, or no model or client-IP restriction)."""
    project = await visible_project(request, actor, project_id)
    record = await runtime(request).console.approvals.update_key(actor, project, key_id,
                                                                 key_changes(body))
    return key_json(record)


@router.post("/projects/{project_id}/keys/{key_id}/revoke")
async def revoke_key(request: Request, project_id: str, key_id: str,
                     actor: Actor = ACTOR) -> dict[str, Any]:
    project = await visible_project(request, actor, project_id)
    actor.require_write(project.id)
    record = await runtime(request).admin.revoke_key(key_id, project=project, actor=actor.name,
                                                     client_ip=actor.ip)
    return key_json(record)


@router.post("/projects/{project_id}/keys/{key_id}/rotate", status_code=201)
async def rotate_key(request: Request, project_id: str, key_id: str,
                     body: Rotate | None = Body(default=None),
                     actor: Actor = ACTOR) -> dict[str, Any]:
    project = await visible_project(request, actor, project_id)
    actor.require_write(project.id)
    body = body or Rotate()
    created = await runtime(request).admin.rotate_key(
        key_id, project=project, grace_seconds=body.grace_seconds, actor=actor.name,
        client_ip=actor.ip)
    return {**key_json(created.record), "key": created.key, "replaces": key_id,
            "grace_seconds": body.grace_seconds}


@router.get("/key-requests")
async def list_requests(request: Request, project_id: str | None = None,
                        status: str | None = Query("pending",
                                                   pattern="^(pending|approved|denied)$"),
                        actor: Actor = ACTOR) -> dict[str, Any]:
    if project_id is None:
        actor.require_admin()
    else:
        project_id = (await visible_project(request, actor, project_id)).id
    found = await runtime(request).console.records.requests(project_id, status)
    return {"requests": [request_json(r) for r in found]}


@router.post("/key-requests/{request_id}/approve")
async def approve(request: Request, request_id: str, actor: Actor = ACTOR) -> dict[str, Any]:
    return key_json(await runtime(request).console.approvals.approve(actor, request_id))


@router.post("/key-requests/{request_id}/deny")
async def deny(request: Request, request_id: str, body: Decision | None = Body(default=None),
               actor: Actor = ACTOR) -> dict[str, Any]:
    return request_json(await runtime(request).console.approvals.deny(actor, request_id))
