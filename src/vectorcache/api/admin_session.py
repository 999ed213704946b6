"""``/admin/api/session``: sign in for automation and the JSON twin of the sign-in pages
(password and, where the account has one, the TOTP or backup code in one request)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from vectorcache.api.admin_deps import client_ip, console_actor, set_session_cookie
from vectorcache.api.deps import runtime
from vectorcache.clock import to_iso
from vectorcache.console import signin
from vectorcache.console.access import Actor
from vectorcache.console.tokens import AdminToken
from vectorcache.errors import AuthenticationFailed, NotFound

__all__ = ["router"]

router = APIRouter(prefix="/admin/api", tags=["admin"])
ACTOR = Depends(console_actor)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["admin:read"], max_length=2)
    expires_in_days: int = Field(default=30, ge=1, le=365)


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    code: str | None = Field(default=None, max_length=32)


def actor_json(actor: Actor) -> dict[str, Any]:
    return {"name": actor.user.name, "role": actor.role, "totp_enabled": actor.user.totp_enabled,
            "projects": sorted(actor.memberships)}


@router.post("/session")
async def sign_in(request: Request, response: Response, body: SignIn = Body()) -> dict[str, Any]:
    """200 with the CSRF token to send as ``X-CSRF-Token``; 401 ``invalid_credentials`` /
    ``invalid_code`` / ``code_required`` / ``enrolment_required``; 429 ``login_locked``."""
    console = runtime(request).console
    ip, agent = client_ip(request), request.headers.get("user-agent")
    new = await signin.sign_in(console, body.name, body.password, ip, agent)
    if new.session.stage == "enrol":
        await console.sessions.end(new.session)
        raise AuthenticationFailed("Two-factor enrolment is required first: sign in at "
                                   "/dashboard/", code="enrolment_required")
    if new.session.stage == "mfa":
        if not body.code:
            await console.sessions.end(new.session)
            raise AuthenticationFailed("This account needs its TOTP or a backup code",
                                       code="code_required")
        new = await signin.finish_second_factor(console, new.session, body.code, ip, agent)
    set_session_cookie(request, response, new)
    return {"csrf_token": new.session.csrf_token, "expires_at": to_iso(new.session.expires_at),
            "user": {"name": new.session.user.name, "role": new.session.user.role}}


@router.delete("/session", status_code=204)
async def sign_out(request: Request, response: Response, actor: Actor = ACTOR) -> None:
    await signin.sign_out(runtime(request).console, request.state.console_session, actor.ip)
    set_session_cookie(request, response, None)


@router.get("/me")
async def me(actor: Actor = ACTOR) -> dict[str, Any]:
    return actor_json(actor)


def token_json(token: AdminToken) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "prefix": token.prefix,
            "scopes": list(token.scopes), "created_at": to_iso(token.created_at),
            "expires_at": to_iso(token.expires_at), "last_used_at": to_iso(token.last_used_at),
            "revoked_at": to_iso(token.revoked_at)}


@router.post("/tokens", status_code=201)
async def create_token(request: Request, body: TokenCreate = Body(),
                       actor: Actor = ACTOR) -> dict[str, Any]:
    """An admin token acting as the caller within ``scopes`` (``admin:read``,
    ``admin:write``); the token is in this response only. Made from a session only."""
    token, record = await runtime(request).console.tokens.create(
        actor, body.name, tuple(body.scopes), body.expires_in_days)
    return {**token_json(record), "token": token}


@router.get("/tokens")
async def list_tokens(request: Request, actor: Actor = ACTOR) -> dict[str, Any]:
    return {"tokens": [token_json(t) for t in await runtime(request).console.tokens.of(actor)]}


@router.post("/tokens/{token_id}/revoke", status_code=204)
async def revoke_token(request: Request, token_id: str, actor: Actor = ACTOR) -> None:
    await runtime(request).console.tokens.revoke(actor, token_id)


@router.get("/sessions")
async def list_sessions(request: Request, actor: Actor = ACTOR) -> dict[str, Any]:
    """The caller's live sessions (the account page's list): client IP and last use."""
    current = getattr(request.state, "console_session", None)
    sessions = await runtime(request).console.sessions.of_user(actor.user)
    return {"sessions": [{"id": s.id_hash, "created_at": to_iso(s.created_at),
                          "last_seen_at": to_iso(s.last_seen_at),
                          "expires_at": to_iso(s.expires_at), "client_ip": s.client_ip,
                          "user_agent": s.user_agent,
                          "current": current is not None and current.id_hash == s.id_hash}
                         for s in sessions]}


@router.delete("/sessions/{session_id}", status_code=204)
async def end_session(request: Request, session_id: str, actor: Actor = ACTOR) -> None:
    if not await runtime(request).console.sessions.end_by_id(actor.user, session_id):
        raise NotFound("Session not found")
