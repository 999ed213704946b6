"""The dashboard's gate: a page needs a full session (else a redirect to sign-in), and a form
post needs the session's CSRF token in its ``csrf_token`` field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from vectorcache.api.admin_deps import check_csrf, client_ip, console_session
from vectorcache.api.deps import runtime
from vectorcache.console.access import Actor
from vectorcache.console.models import Session
from vectorcache.console.web.render import render
from vectorcache.errors import VectorcacheError

__all__ = ["Page", "SignInRequired", "form_errors", "page", "posted"]


class SignInRequired(Exception):
    def __init__(self, location: str = "/dashboard/sign-in") -> None:
        super().__init__(location)
        self.location = location


@dataclass(frozen=True)
class Page:
    session: Session
    actor: Actor


async def page(request: Request) -> Page:
    """A dependency: the signed-in user, or a redirect to the sign-in page."""
    session = await console_session(request)
    if session is None:
        raise SignInRequired()
    actor = await runtime(request).console.actor(session.user, client_ip(request))
    return Page(session=session, actor=actor)


async def posted(request: Request) -> tuple[Page, dict[str, str]]:
    """A form post: the signed-in user and the form's fields, after the CSRF check."""
    current = await page(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(current.session, fields.get("csrf_token"))
    return current, fields


Handler = Callable[..., Awaitable[Any]]


def form_errors(fn: Handler) -> Handler:
    """A service error during a page's action: rendered as a page with its status, not JSON."""
    import functools

    @functools.wraps(fn)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(request, *args, **kwargs)
        except VectorcacheError as exc:
            session = await console_session(request)
            return render(request, "error.html", status=exc.status, session=session,
                          error=exc)

    return wrapper


