"""Rendering pages: the Jinja2 environment, what every page is given, the console's headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from vectorcache.console.access import Actor
from vectorcache.console.models import Session

__all__ = ["CONSOLE_HEADERS", "STATIC_DIR", "render"]

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
_templates = Jinja2Templates(directory=_HERE / "templates")

#: scripts and styles from our own origin only (no inline script), no framing
CONSOLE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def render(request: Request, template: str, *, status: int = 200,
           session: Session | None = None, actor: Actor | None = None,
           **context: Any) -> HTMLResponse:
    return _templates.TemplateResponse(
        request, template, {"session": session, "actor": actor,
                            "csrf": session.csrf_token if session else "", **context},
        status_code=status)
