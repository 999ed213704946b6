"""Who is calling the admin plane and the dashboard: the session cookie, its CSRF token on
every state-changing request, and the client IP (``security/guard.py``'s rules)."""

from __future__ import annotations

import hmac

from fastapi import Request, Response

from vectorcache.api.deps import runtime
from vectorcache.console.access import Actor
from vectorcache.console.models import NewSession, Session
from vectorcache.errors import AuthenticationFailed, PermissionDenied
from vectorcache.security.guard import AccessGuard

__all__ = ["COOKIE", "CSRF_HEADER", "check_csrf", "client_ip", "console_actor",
           "console_session", "set_session_cookie"]

COOKIE = "vc_session"
CSRF_HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str | None:
    guard: AccessGuard = request.app.state.access_guard
    ip = guard.client_ip(request.scope.get("client"), request.headers.getlist("x-forwarded-for"))
    return None if ip is None else str(ip)


async def console_session(request: Request, *, stage: str = "full") -> Session | None:
    session = await runtime(request).console.sessions.load(request.cookies.get(COOKIE))
    return session if session is not None and session.stage == stage else None


def check_csrf(session: Session, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(presented, session.csrf_token):
        raise PermissionDenied("Missing or wrong CSRF token; reload the page and try again",
                               code="csrf_failed")


async def console_actor(request: Request) -> Actor:
    """The caller of the admin API: an admin token (``Authorization: Bearer vca_…``), or the
    signed-in user: 401 without a live session, 403 ``csrf_failed`` on a state-changing
    request without the session's ``X-CSRF-Token`` header."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationFailed("Use Authorization: Bearer vca_…",
                                       code="invalid_admin_token")
        return await runtime(request).console.tokens.actor_for(
            token.strip(), client_ip(request), write=request.method not in _SAFE)
    session = await console_session(request)
    if session is None:
        raise AuthenticationFailed("Sign in first (POST /admin/api/session)",
                                   code="not_signed_in")
    if request.method not in _SAFE:
        check_csrf(session, request.headers.get(CSRF_HEADER))
    request.state.console_session = session
    return await runtime(request).console.actor(session.user, client_ip(request))


def set_session_cookie(request: Request, response: Response, new: NewSession | None) -> None:
    """``HttpOnly``, ``SameSite=Lax``, ``Secure`` over HTTPS or when the settings say so;
    ``None`` clears it."""
    if new is None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        return
    settings = runtime(request).settings
    secure = request.url.scheme == "https" or settings.console_secure_cookies
    response.set_cookie(COOKIE, new.cookie, path="/", httponly=True, samesite="lax",
                        secure=secure)
