"""The caller's project and its settings (the hit decision's operating point among them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, StrictInt

from vectorcache.api.deps import authenticated, runtime
from vectorcache.bounds import Finite, RotationDays
from vectorcache.service.auth import Principal
from vectorcache.service.project_settings import project_view

__all__ = ["router"]

router = APIRouter(prefix="/v1/cache/projects")


class RotationPolicyIn(BaseModel):
    """Days before a key of each environment is due for rotation (omitted: unchanged)."""

    model_config = ConfigDict(extra="forbid")
    production: RotationDays | None = None
    staging: RotationDays | None = None
    development: RotationDays | None = None


class ProjectPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_model: str | None = None
    similarity_threshold: Finite | None = None
    target_error_rate: Finite | None = None
    decision_mode: str | None = None
    ttl_seconds: StrictInt | None = None  # its range: validate_project_settings (one message)
    pii_policy: str | None = None
    allowed_models: list[str] | None = None
    cache_scope: str | None = None
    rotation_policy: RotationPolicyIn | None = None


@router.get("/{project_id}")
async def get_project(project_id: str,
                      principal: Principal = Depends(authenticated("analytics:read"))
                      ) -> dict[str, Any]:
    principal.check_project(project_id)
    return project_view(principal.project)


@router.patch("/{project_id}")
async def patch_project(request: Request, project_id: str, body: ProjectPatch = Body(),
                        principal: Principal = Depends(authenticated("keys:manage"))
                        ) -> dict[str, Any]:
    principal.check_project(project_id)
    changes = body.model_dump(exclude_unset=True)
    updated = await runtime(request).admin.update_project(
        principal.project.id, actor=principal.actor, client_ip=principal.client_ip, **changes)
    return project_view(updated)
