"""``/admin/api/users`` (owners: create, role, delete; admins: memberships) and
``/admin/api/audit`` (filters: project, action, actor; keyset pages with ``before``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from vectorcache.api.admin_deps import console_actor
from vectorcache.api.admin_projects import visible_project
from vectorcache.api.audit_routes import audit_json
from vectorcache.api.deps import runtime
from vectorcache.clock import to_iso
from vectorcache.console.access import Actor
from vectorcache.console.models import User

__all__ = ["router"]

router = APIRouter(prefix="/admin/api", tags=["admin"])
ACTOR = Depends(console_actor)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    role: str
    password: str = Field(min_length=1, max_length=256)


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role,
            "totp_enabled": user.totp_enabled, "created_at": to_iso(user.created_at)}


@router.get("/users")
async def list_users(request: Request, offset: int = Query(0, ge=0, le=10_000_000),
                     limit: int = Query(100, ge=1, le=500), actor: Actor = ACTOR
                     ) -> dict[str, Any]:
    actor.require_admin()
    users = await runtime(request).console.records.list_users(offset, limit)
    return {"users": [user_json(u) for u in users]}


@router.post("/users", status_code=201)
async def create_user(request: Request, body: UserCreate = Body(),
                      actor: Actor = ACTOR) -> dict[str, Any]:
    actor.require_owner()
    user = await runtime(request).console.accounts.create_user(
        body.name, body.role, body.password, actor=actor.name, ip=actor.ip)
    return user_json(user)


@router.patch("/users/{name}")
async def change_role(request: Request, name: str, body: RoleChange = Body(),
                      actor: Actor = ACTOR) -> dict[str, Any]:
    actor.require_owner()
    accounts = runtime(request).console.accounts
    user = await accounts.set_role(await accounts.user_by_name(name), body.role,
                                   actor=actor.name, ip=actor.ip)
    return user_json(user)


@router.delete("/users/{name}", status_code=204)
async def delete_user(request: Request, name: str, actor: Actor = ACTOR) -> None:
    actor.require_owner()
    accounts = runtime(request).console.accounts
    await accounts.delete_user(await accounts.user_by_name(name), actor=actor.name,
                               ip=actor.ip)


@router.put("/projects/{project_id}/members/{name}", status_code=204)
async def add_member(request: Request, project_id: str, name: str,
                     actor: Actor = ACTOR) -> None:
    console = runtime(request).console
    project = await visible_project(request, actor, project_id)
    await console.add_member(actor, await console.accounts.user_by_name(name), project.id)


@router.delete("/projects/{project_id}/members/{name}", status_code=204)
async def remove_member(request: Request, project_id: str, name: str,
                        actor: Actor = ACTOR) -> None:
    console = runtime(request).console
    project = await visible_project(request, actor, project_id)
    await console.remove_member(actor, await console.accounts.user_by_name(name), project.id)


@router.get("/audit")
async def audit(request: Request, project_id: str | None = None,
                action: str | None = Query(None, max_length=100),
                actor_name: str | None = Query(None, alias="actor", max_length=100),
                before: int | None = Query(None, ge=1, le=2**62),
                limit: int = Query(100, ge=1, le=500),
                actor: Actor = ACTOR) -> dict[str, Any]:
    if project_id is None:
        actor.require_admin()
    else:
        project_id = (await visible_project(request, actor, project_id)).id
    events = await runtime(request).console.records.audit_page(project_id, before, limit,
                                                               action, actor_name)
    return {"events": [audit_json(e) for e in events],
            "next_before": events[-1].id if len(events) == limit else None}
