"""The account page: password, two-factor and backup codes, and the user's sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from vectorcache.api.admin_deps import set_session_cookie
from vectorcache.api.deps import runtime
from vectorcache.console import signin
from vectorcache.console.web.guard import Page, form_errors, page, posted
from vectorcache.console.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/account", include_in_schema=False)


async def _account(request: Request, current: Page, **context: Any) -> Response:
    console = runtime(request).console
    return render(request, "account.html", session=current.session, actor=current.actor,
                  sessions=await console.sessions.of_user(current.actor.user),
                  codes_left=await console.accounts.backup_codes_left(current.actor.user),
                  tokens=await console.tokens.of(current.actor), **context)


@router.get("")
async def account(request: Request) -> Response:
    return await _account(request, await page(request))


@router.post("/password")
@form_errors
async def change_password(request: Request) -> Response:
    current, fields = await posted(request)
    console = runtime(request).console
    user = current.actor.user
    await console.accounts.change_password(user, fields.get("current_password", ""),
                                           fields.get("new_password", ""), current.actor.ip)
    await console.sessions.end_all(user)  # every session, this one too: sign in again
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    set_session_cookie(request, response, None)
    return response


@router.post("/backup-codes")
@form_errors
async def backup_codes(request: Request) -> Response:
    current, _ = await posted(request)
    codes = await runtime(request).console.accounts.new_backup_codes(current.actor.user,
                                                                     current.actor.ip)
    return render(request, "backup_codes.html", session=current.session, actor=current.actor,
                  codes=codes)


@router.post("/sessions/{id_hash}/revoke")
@form_errors
async def revoke_session(request: Request, id_hash: str) -> Response:
    current, _ = await posted(request)
    await runtime(request).console.sessions.end_by_id(current.actor.user, id_hash)
    return RedirectResponse("/dashboard/account", status_code=303)


@router.post("/tokens")
@form_errors
async def create_token(request: Request) -> Response:
    current, fields = await posted(request)
    scopes = tuple(s for s in ("admin:read", "admin:write") if fields.get(f"scope_{s}"))
    try:
        days = int(fields.get("days", "30") or 30)
    except ValueError:
        days = 0  # refused below, with the allowed range
    token, _ = await runtime(request).console.tokens.create(
        current.actor, fields.get("name", ""), scopes, days)
    return await _account(request, current, new_token=token)


@router.post("/tokens/{token_id}/revoke")
@form_errors
async def revoke_token(request: Request, token_id: str) -> Response:
    current, _ = await posted(request)
    await runtime(request).console.tokens.revoke(current.actor, token_id)
    return RedirectResponse("/dashboard/account", status_code=303)


@router.get("/2fa")
async def two_factor_page(request: Request) -> Response:
    current = await page(request)
    if current.actor.user.totp_enabled:
        return RedirectResponse("/dashboard/account", status_code=303)
    enrolment = await runtime(request).console.accounts.begin_enrolment(current.actor.user)
    return render(request, "enrol.html", session=current.session, actor=current.actor,
                  enrolment=enrolment, action="/dashboard/account/2fa")


@router.post("/2fa")
@form_errors
async def two_factor(request: Request) -> Response:
    """Turning two-factor on from the account page: every other session ends."""
    current, fields = await posted(request)
    console = runtime(request).console
    new, codes = await signin.finish_enrolment(console, current.session,
                                               fields.get("code", "")[:32], current.actor.ip,
                                               request.headers.get("user-agent"))
    response = render(request, "backup_codes.html", session=new.session, codes=codes)
    set_session_cookie(request, response, new)
    return response
