"""ASGI middleware: request body size limit (413) and an access log free of secrets."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectorcache.api.errors import error_response
from vectorcache.errors import PayloadTooLarge, UnsupportedMediaType

__all__ = ["AccessLog", "BodySizeLimit", "JsonBodies"]

access_log = logging.getLogger("vectorcache.access")


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``: by Content-Length up front, or while streaming in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"Request body exceeds {self.max_bytes} bytes")
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await error_response(scope["path"], too_large)(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # a lying or absent Content-Length
                    raise HTTPException(413, too_large.detail)
            return message

        await self.app(scope, limited_receive, send)


class AccessLog:
    """One line per request: method, route template (never the raw path or query), status, ms."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 0}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            access_log.info("%s %s %s %.1fms", scope.get("method"),
                            getattr(route, "path", "<unmatched>"), status["code"],
                            (time.perf_counter() - start) * 1000)


def _json_like(content_type: bytes) -> bool:
    """No type, JSON (``application/json``, ``application/*+json``), or the form type
    ``curl -d`` sends by default, which the README's examples rely on."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return (not media or media in (b"application/json", b"application/x-www-form-urlencoded")
            or (media.startswith(b"application/") and media.endswith(b"+json")))


class JsonBodies:
    """Every API body is JSON: read as such without a Content-Type or with ``curl -d``'s form
    type; any other type (``text/plain``, ``multipart/form-data``, ...) is a 415."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH") \
                and not str(scope.get("path", "")).startswith("/dashboard/"):  # HTML forms
            if any(k == b"content-type" and not _json_like(v)
                   for k, v in scope.get("headers", ())):
                await error_response(scope["path"], UnsupportedMediaType())(scope, receive,
                                                                          send)
                return
            headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-type"]
            headers.append((b"content-type", b"application/json"))
            scope["headers"] = headers  # in place: outer middleware reads scope["route"] later
        await self.app(scope, receive, send)
