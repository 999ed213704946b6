"""The HTTP admin plane under ``/admin/api/``: every router, for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from vectorcache.api import admin_keys, admin_projects, admin_session, admin_users

__all__ = ["admin_routers"]


def admin_routers() -> list[APIRouter]:
    return [admin_session.router, admin_projects.router, admin_keys.router, admin_users.router]
