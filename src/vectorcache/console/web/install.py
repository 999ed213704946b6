"""Mounting the console on the app: the dashboard's routes and static files, the admin API,
and the console's security headers on every page of both."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectorcache.console.web import account_pages, auth_pages, project_pages, user_pages
from vectorcache.console.web.guard import SignInRequired
from vectorcache.console.web.render import CONSOLE_HEADERS, STATIC_DIR

__all__ = ["ConsoleHeaders", "install_console"]

_PREFIXES = ("/dashboard", "/admin/")


class ConsoleHeaders:
    """Adds ``CONSOLE_HEADERS`` to every response under /dashboard and /admin/."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in CONSOLE_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def install_console(app: FastAPI) -> None:
    async def to_sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(exc.location, status_code=303)

    app.add_exception_handler(SignInRequired, to_sign_in)
    for module in (auth_pages, project_pages, account_pages, user_pages):
        app.include_router(module.router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.add_middleware(ConsoleHeaders)
