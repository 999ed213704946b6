"""End users' data: erase (right to be forgotten) and export (portability)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from vectorcache.api.deps import authenticated, runtime
from vectorcache.security.users import UserData
from vectorcache.service.auth import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/cache/users")

READ = Depends(authenticated("cache:read"))
WRITE = Depends(authenticated("cache:write"))


def _users(request: Request) -> UserData:
    rt = runtime(request)
    return UserData(rt.store, rt.hasher, rt.events)


@router.delete("/{user:path}")  # ids may hold "/" (e.g. "team/alice")
async def erase_user(request: Request, user: str,
                     principal: Principal = WRITE) -> dict[str, Any]:
    """Every cache entry and usage event of this end user, gone."""
    return {"deleted": True, **await _users(request).erase(principal, user)}


@router.get("/{user:path}/export")
async def export_user(request: Request, user: str,
                      principal: Principal = READ) -> dict[str, Any]:
    """This end user's cache entries, decrypted, as JSON."""
    return await _users(request).export(principal, user)
