"""Request dependencies: the runtime, and the authenticated principal with a required scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from vectorcache.errors import AuthenticationFailed
from vectorcache.runtime import Runtime
from vectorcache.security.guard import AccessGuard
from vectorcache.security.ratelimit import METER_SCOPE_KEY, Meter
from vectorcache.service.auth import Principal

__all__ = ["authenticated", "presented_key", "runtime"]


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def presented_key(request: Request) -> str | None:
    """``Authorization: Bearer`` (documented) wins over ``X-API-Key`` (the TypeScript SDK's)."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""
    return request.headers.get("x-api-key")


def authenticated(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and requires ``scope``. The two key
    schemes are declared (never enforced) by FastAPI's security classes, so the OpenAPI
    document names them, with ``scope`` as the role each route requires."""
    bearer = HTTPBearer(auto_error=False, scheme_name="bearer")
    api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey")

    async def dependency(request: Request, _bearer: Any = Security(bearer, scopes=[scope]),
                         _api_key: Any = Security(api_key, scopes=[scope])) -> Principal:
        guard: AccessGuard = request.app.state.access_guard
        meter = request.scope.setdefault(METER_SCOPE_KEY, Meter())
        ip = guard.client_ip(request.scope.get("client"),
                             request.headers.getlist("x-forwarded-for"))
        request.state.client_ip = ip
        await guard.before_auth(ip, meter)
        try:
            principal = await runtime(request).auth.authenticate(
                presented_key(request), None if ip is None else str(ip))
        except AuthenticationFailed as exc:
            if exc.subject is not None:  # a known key refused: the request log names it
                request.state.refused_key = exc.subject
            raise
        request.state.principal = principal
        await guard.after_auth(principal.key, ip, meter)
        principal.require(scope)
        return principal

    return dependency
