"""The users page (owners and admins): accounts, their roles and project memberships."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from vectorcache.api.deps import runtime
from vectorcache.console.models import ROLES
from vectorcache.console.web.guard import Page, form_errors, page, posted
from vectorcache.console.web.render import render
from vectorcache.errors import NotFound

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/users", include_in_schema=False)
PER_PAGE = 50


@router.get("")
@form_errors
async def users(request: Request, page_no: int = Query(1, alias="page", ge=1, le=100_000),
                current: Page = Depends(page)) -> Response:
    current.actor.require_admin()
    console = runtime(request).console
    listed = await console.records.list_users((page_no - 1) * PER_PAGE, PER_PAGE + 1)
    members = {u.id: sorted(await console.records.memberships(u.id)) for u in listed}
    projects = {p.id: p.name for p in await runtime(request).store.list_projects()}
    return render(request, "users.html", session=current.session, actor=current.actor,
                  users=listed[:PER_PAGE], more=len(listed) > PER_PAGE, page=page_no,
                  members=members, projects=projects, roles=ROLES)


@router.post("")
@form_errors
async def create_user(request: Request) -> Response:
    current, fields = await posted(request)
    current.actor.require_owner()
    await runtime(request).console.accounts.create_user(
        fields.get("name", ""), fields.get("role", ""), fields.get("password", ""),
        actor=current.actor.name, ip=current.actor.ip)
    return RedirectResponse("/dashboard/users", status_code=303)


@router.post("/{name}/role")
@form_errors
async def change_role(request: Request, name: str) -> Response:
    current, fields = await posted(request)
    current.actor.require_owner()
    accounts = runtime(request).console.accounts
    await accounts.set_role(await accounts.user_by_name(name), fields.get("role", ""),
                            actor=current.actor.name, ip=current.actor.ip)
    return RedirectResponse("/dashboard/users", status_code=303)


@router.post("/{name}/members")
@form_errors
async def membership(request: Request, name: str) -> Response:
    current, fields = await posted(request)
    console = runtime(request).console
    user = await console.accounts.user_by_name(name)
    project = await runtime(request).store.get_project(fields.get("project_id", ""))
    if project is None:
        raise NotFound("Project not found")
    if fields.get("remove"):
        await console.remove_member(current.actor, user, project.id)
    else:
        await console.add_member(current.actor, user, project.id)
    return RedirectResponse("/dashboard/users", status_code=303)


@router.post("/{name}/reset-2fa")
@form_errors
async def reset_two_factor(request: Request, name: str) -> Response:
    current, _ = await posted(request)
    current.actor.require_owner()
    console = runtime(request).console
    user = await console.accounts.user_by_name(name)
    await console.accounts.reset_two_factor(user, actor=current.actor.name, ip=current.actor.ip)
    await console.sessions.end_all(user)
    return RedirectResponse("/dashboard/users", status_code=303)
