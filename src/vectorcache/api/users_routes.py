"""End users' data: erase (right to be forgotten) and export (portability)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from vectorcache.api.deps import authenticated, runtime
from vectorcache.service.auth import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/cache/users")

READ = Depends(authenticated("cache:read"))
WRITE = Depends(authenticated("cache:write"))


@router.delete("/{user:path}")  # ids may hold "/" (e.g. "team/alice")
async def erase_user(request: Request, user: str,
                     principal: Principal = WRITE) -> dict[str, Any]:
    """Every cache entry and usage event of this end user, gone."""
    return {"deleted": True, **await runtime(request).users.erase(principal, user)}


@router.get("/{user:path}/export")
async def export_user(request: Request, user: str,
                      principal: Principal = READ) -> dict[str, Any]:
    """This end user's cache entries, decrypted, as JSON."""
    return await runtime(request).users.export(principal, user)
