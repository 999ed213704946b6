"""The caller's project and its settings (the hit decision's operating point among them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict

from vectorcache.api.deps import authenticated, runtime
from vectorcache.clock import to_iso
from vectorcache.decision import DEFAULT_MODE
from vectorcache.models import Project
from vectorcache.service.auth import Principal

__all__ = ["router", "project_json"]

router = APIRouter(prefix="/v1/cache/projects")


class ProjectPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_model: str | None = None
    similarity_threshold: float | None = None
    target_error_rate: float | None = None
    decision_mode: str | None = None
    ttl_seconds: int | None = None
    pii_policy: str | None = None
    allowed_models: list[str] | None = None


def project_json(p: Project) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "created_at": to_iso(p.created_at),
            "default_model": p.default_model, "similarity_threshold": p.similarity_threshold,
            "decision_mode": p.decision_mode or DEFAULT_MODE,
            "target_error_rate": p.target_error_rate, "ttl_seconds": p.ttl_seconds,
            "pii_policy": p.pii_policy, "allowed_models": list(p.allowed_models)}


@router.get("/{project_id}")
async def get_project(project_id: str,
                      principal: Principal = Depends(authenticated("analytics:read"))
                      ) -> dict[str, Any]:
    principal.check_project(project_id)
    return project_json(principal.project)


@router.patch("/{project_id}")
async def patch_project(request: Request, project_id: str, body: ProjectPatch = Body(),
                        principal: Principal = Depends(authenticated("keys:manage"))
                        ) -> dict[str, Any]:
    principal.check_project(project_id)
    changes = body.model_dump(exclude_unset=True)
    updated = await runtime(request).admin.update_project(
        principal.project.id, actor=principal.actor, **changes)
    return project_json(updated)
