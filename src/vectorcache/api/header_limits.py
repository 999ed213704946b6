"""Request header size limits (``bounds.py``): 431 in the route family's error shape.

Any one header is at most ``MAX_HEADER_BYTES`` (name and value), all of them together
``MAX_HEADERS_BYTES``, and ``X-Vectorcache-Context``, which is screened for personal data and
hashed into the partition, ``MAX_CONTEXT_HEADER_BYTES``. Checked before anything reads them,
whatever server runs the app (uvicorn's httptools parser has no limit of its own).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from vectorcache.api.errors import error_response
from vectorcache.bounds import MAX_CONTEXT_HEADER_BYTES, MAX_HEADER_BYTES, MAX_HEADERS_BYTES
from vectorcache.errors import HeaderTooLarge

__all__ = ["HeaderLimits", "header_problem"]

_CONTEXT = b"x-vectorcache-context"


def header_problem(headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]
                   ) -> str | None:
    """What is wrong with these headers' sizes, or None."""
    total = 0
    for name, value in headers:
        size = len(name) + len(value)
        total += size
        if name.lower() == _CONTEXT and len(value) > MAX_CONTEXT_HEADER_BYTES:
            return f"X-Vectorcache-Context must be at most {MAX_CONTEXT_HEADER_BYTES} bytes"
        if size > MAX_HEADER_BYTES:
            return f"Each request header must be at most {MAX_HEADER_BYTES} bytes"
    if total > MAX_HEADERS_BYTES:
        return f"Request headers must be at most {MAX_HEADERS_BYTES} bytes in all"
    return None


class HeaderLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = header_problem(scope.get("headers", ()))
            if problem is not None:
                response = error_response(scope["path"], HeaderTooLarge(problem),
                                          headers={"Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
