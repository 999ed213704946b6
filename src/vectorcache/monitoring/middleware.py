"""The request log's and the metrics' edge: one row and one count per ``/v1/`` request.

Pure ASGI (no task hand-off); it opens the request's note before the app runs, and completes
the row from the response's status (and, for an error, its stable ``code``), the route
template, the authenticated key and the client address once the response is sent.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectorcache.monitoring.requestlog import outcome_of
from vectorcache.monitoring.rows import RequestRow

__all__ = ["MonitorRequests"]

_MAX_ERROR_BODY = 4096
_MAX_USER_AGENT = 256


def _error_code(body: bytes, status: int) -> str:
    """The error's stable ``code`` from either wire shape; else ``http_<status>``."""
    try:
        data = json.loads(body)
        code = data.get("code") or (data.get("error") or {}).get("code")
    except (ValueError, AttributeError):
        code = None
    return str(code)[:64] if code else f"http_{status}"


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))[:_MAX_USER_AGENT]
    return ""


class MonitorRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        runtime = getattr(scope["app"].state, "runtime", None)
        monitoring = getattr(runtime, "monitoring", None)
        if monitoring is None:
            await self.app(scope, receive, send)
            return
        at, start = time.time(), time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        seen: dict[str, Any] = {"status": 500, "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif (message["type"] == "http.response.body" and seen["status"] >= 400
                  and len(seen["body"]) < _MAX_ERROR_BODY):
                seen["body"] += message.get("body", b"")[:_MAX_ERROR_BODY]
            await send(message)

        note, token = monitoring.requests.open_note()
        try:
            await self.app(scope, receive, capture)
        finally:
            monitoring.requests.close_note(token)
            latency_ms = (time.perf_counter() - start) * 1000
            status = int(seen["status"])
            event = note.event
            outcome, reason = outcome_of(event)
            if status >= 400:
                outcome, reason = "error", _error_code(seen["body"], status)
            principal = state.get("principal")
            project = getattr(principal, "project", None)
            key = getattr(principal, "key", None)
            # a known key refused (revoked, past its grace, expired): its project and id
            refused = ("", "") if principal else state.get("refused_key") or ("", "")
            route = scope.get("route")
            client = scope.get("client")
            monitoring.record(RequestRow(
                at=at, project_id=project.id if project else refused[0],
                key_id=key.id if key else refused[1],
                route=getattr(route, "path", "<unmatched>"),
                method=str(scope.get("method", "")),
                model=(event.model if event else None) or "", status=status,
                outcome=outcome, reason=reason, latency_ms=round(latency_ms, 3),
                provider_ms=event.provider_ms if event else 0.0,
                tokens_in=event.tokens_in if event else 0,
                tokens_out=event.tokens_out if event else 0,
                tokens_saved=event.tokens if event and event.kind == "hit" else 0,
                cost_usd=event.cost_usd if event else 0.0,
                cost_saved_usd=event.cost_saved_usd if event else 0.0,
                client_ip=str(state.get("client_ip") or (client[0] if client else "")),
                user_agent=_header(scope, b"user-agent"),
                user_hash=(event.user_hash if event else None) or ""),
                project_name=project.name if project else "")
