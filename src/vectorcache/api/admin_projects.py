"""``/admin/api/projects``: the projects the caller may see, their settings and provider key
(set, rotate, remove: never returned, only its last four characters)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from vectorcache.api.admin_deps import console_actor
from vectorcache.api.deps import runtime
from vectorcache.api.project_routes import ProjectPatch
from vectorcache.clock import to_iso
from vectorcache.console import projects
from vectorcache.console.access import Actor
from vectorcache.console.web.usage import charts_for
from vectorcache.errors import NotFound
from vectorcache.models import Project
from vectorcache.service.project_settings import project_view

__all__ = ["router", "visible_project"]

router = APIRouter(prefix="/admin/api/projects", tags=["admin"])
ACTOR = Depends(console_actor)


class ProjectCreate(ProjectPatch):
    name: str = Field(min_length=1, max_length=100)


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: str = Field(min_length=1, max_length=40)
    api_key: str | None = Field(default=None, min_length=1, max_length=500)
    base_url: str | None = Field(default=None, max_length=500)


async def visible_project(request: Request, actor: Actor, ref: str) -> Project:
    """404 for a project the caller may not see (not 403: its existence is not told)."""
    try:
        project = await runtime(request).admin.project(ref)
    except NotFound:
        raise NotFound("Project not found") from None
    if not actor.can_read(project.id):
        raise NotFound("Project not found")
    return project


@router.get("")
async def list_projects(request: Request, offset: int = Query(0, ge=0, le=10_000_000),
                        limit: int = Query(100, ge=1, le=500),
                        actor: Actor = ACTOR) -> dict[str, Any]:
    projects = [p for p in await runtime(request).admin.list_projects() if actor.can_read(p.id)]
    return {"projects": [project_view(p) for p in projects[offset:offset + limit]],
            "total": len(projects)}


@router.post("", status_code=201)
async def create_project(request: Request, body: ProjectCreate = Body(),
                         actor: Actor = ACTOR) -> dict[str, Any]:
    actor.require_admin()
    settings = body.model_dump(exclude_unset=True, exclude={"name"})
    project = await runtime(request).admin.create_project(body.name, actor=actor.name,
                                                          **settings)
    return project_view(project)


@router.get("/{project_id}")
async def get_project(request: Request, project_id: str,
                      actor: Actor = ACTOR) -> dict[str, Any]:
    return project_view(await visible_project(request, actor, project_id))


@router.patch("/{project_id}")
async def patch_project(request: Request, project_id: str, body: ProjectPatch = Body(),
                        actor: Actor = ACTOR) -> dict[str, Any]:
    project = await visible_project(request, actor, project_id)
    actor.require_write(project.id)
    updated = await runtime(request).admin.update_project(
        project.id, actor=actor.name, client_ip=actor.ip,
        **body.model_dump(exclude_unset=True))
    return project_view(updated)


@router.delete("/{project_id}")
async def delete_project(request: Request, project_id: str,
                         confirm: str = Query(max_length=100,
                                              description="The project's name, typed back"),
                         actor: Actor = ACTOR) -> dict[str, Any]:
    """Owners and admins: the project, its entries, keys and provider key (400
    ``confirmation_mismatch`` unless ``confirm`` is the project's name)."""
    rt = runtime(request)
    project = await visible_project(request, actor, project_id)
    entries = await projects.delete_project(rt.store, rt.console.audit, actor, project,
                                            confirm, rt.clock)
    return {"deleted": project.id, "entries": entries}


@router.get("/{project_id}/stats")
async def project_stats(request: Request, project_id: str,
                        actor: Actor = ACTOR) -> dict[str, Any]:
    rt = runtime(request)
    project = await visible_project(request, actor, project_id)
    return dict((await rt.store.stats(project.id, rt.clock())).__dict__)


@router.get("/{project_id}/usage")
async def project_usage(request: Request, project_id: str,
                        span: str = Query("24h", alias="range", pattern="^(24h|7d|30d)$"),
                        actor: Actor = ACTOR) -> dict[str, Any]:
    """The Analytics page's numbers: the entry count, and the range's totals and series from
    the request-log rollups."""
    rt = runtime(request)
    project = await visible_project(request, actor, project_id)
    totals, series = await charts_for(rt, project.id, span)
    return {"project_id": project.id, "range": span,
            "entries": await rt.console.counts.entries(project.id), "totals": totals,
            "series": {title: [{"bucket": b, "value": v} for b, v in points]
                       for title, points, _ in series}}


@router.get("/{project_id}/provider")
async def get_provider(request: Request, project_id: str,
                       actor: Actor = ACTOR) -> dict[str, Any]:
    project = await visible_project(request, actor, project_id)
    config = await runtime(request).store.get_provider(project.id)
    if config is None:
        raise NotFound("This project has no provider key")
    return {"provider": config.provider, "base_url": config.base_url,
            "key_last4": config.api_key[-4:] if config.api_key else None,
            "updated_at": to_iso(config.updated_at)}


@router.put("/{project_id}/provider")
async def set_provider(request: Request, project_id: str, body: ProviderIn = Body(),
                       actor: Actor = ACTOR) -> dict[str, Any]:
    """Set or rotate the provider key (``api_key`` omitted: keep the stored one)."""
    rt = runtime(request)
    project = await visible_project(request, actor, project_id)
    actor.require_write(project.id)
    existing = await rt.store.get_provider(project.id)
    api_key = body.api_key or (existing.api_key if existing else None)
    config = await rt.admin.set_provider(project, provider=body.provider, api_key=api_key,
                                         base_url=body.base_url, actor=actor.name)
    return {"provider": config.provider, "base_url": config.base_url,
            "key_last4": api_key[-4:] if api_key else None}


@router.delete("/{project_id}/provider", status_code=204)
async def remove_provider_key(request: Request, project_id: str, actor: Actor = ACTOR) -> None:
    """Forget the provider key (the provider and base URL stay): misses answer 502."""
    rt = runtime(request)
    project = await visible_project(request, actor, project_id)
    actor.require_write(project.id)
    existing = await rt.store.get_provider(project.id)
    if existing is None:
        raise NotFound("This project has no provider key")
    await rt.admin.set_provider(project, provider=existing.provider, api_key=None,
                                base_url=existing.base_url, actor=actor.name,
                                fallback_models=existing.fallback_models)
