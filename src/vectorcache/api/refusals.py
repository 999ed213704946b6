"""403 and 429 answers in the audit log: who (the key's prefix), from where (the client address
as resolved under ``trusted_proxies``), which route and why. Throttled per key and address in
``Authenticator.refused``, so a flood of refusals cannot fill the table."""

from __future__ import annotations

import logging

from starlette.requests import Request

from vectorcache.api.deps import presented_key
from vectorcache.errors import PermissionDenied, RateLimited, VectorcacheError

__all__ = ["audit_refusal"]

log = logging.getLogger("vectorcache.api")


async def audit_refusal(request: Request, exc: VectorcacheError) -> None:
    """Records ``exc`` if it refuses the request (403, 429); never raises: the refusal is
    answered even when the audit log cannot be written."""
    if not isinstance(exc, PermissionDenied | RateLimited):
        return
    rt = getattr(request.app.state, "runtime", None)
    if rt is None:
        return
    principal = getattr(request.state, "principal", None)
    ip = getattr(request.state, "client_ip", None)
    route = getattr(request.scope.get("route"), "path", None)
    try:
        await rt.auth.refused(principal, None if principal else presented_key(request),
                              None if ip is None else str(ip), exc.status, exc.code, route)
    except Exception as err:  # noqa: BLE001 - the answer matters more than its audit row
        log.warning("could not audit a refused request (%s)", type(err).__name__)
