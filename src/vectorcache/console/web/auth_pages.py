"""Sign-in pages: password, then a TOTP or backup code (or first-time enrolment), sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from vectorcache.api.admin_deps import check_csrf, client_ip, console_session, set_session_cookie
from vectorcache.api.deps import runtime
from vectorcache.console import signin
from vectorcache.console.web.guard import SignInRequired
from vectorcache.console.web.render import render
from vectorcache.errors import VectorcacheError

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _to(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    return render(request, "sign_in.html")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    fields = await _form(request)
    try:
        new = await signin.sign_in(runtime(request).console, fields.get("name", "")[:64],
                                   fields.get("password", ""), client_ip(request),
                                   request.headers.get("user-agent"))
    except VectorcacheError as exc:
        return render(request, "sign_in.html", status=exc.status, error=exc.detail,
                      name=fields.get("name", "")[:64])
    where = {"full": "/dashboard/", "mfa": "/dashboard/sign-in/code",
             "enrol": "/dashboard/enrol"}[new.session.stage]
    response = _to(where)
    set_session_cookie(request, response, new)
    return response


@router.get("/sign-in/code")
async def code_page(request: Request) -> Response:
    session = await console_session(request, stage="mfa")
    if session is None:
        raise SignInRequired()
    return render(request, "sign_in_code.html", session=session)


@router.post("/sign-in/code")
async def code(request: Request) -> Response:
    session = await console_session(request, stage="mfa")
    if session is None:
        raise SignInRequired()
    fields = await _form(request)
    check_csrf(session, fields.get("csrf_token"))
    try:
        new = await signin.finish_second_factor(
            runtime(request).console, session, fields.get("code", "")[:32], client_ip(request),
            request.headers.get("user-agent"))
    except VectorcacheError as exc:
        return render(request, "sign_in_code.html", status=exc.status, session=session,
                      error=exc.detail)
    response = _to("/dashboard/")
    set_session_cookie(request, response, new)
    return response


@router.get("/enrol")
async def enrol_page(request: Request) -> Response:
    session = await console_session(request, stage="enrol")
    if session is None:
        raise SignInRequired()
    enrolment = await runtime(request).console.accounts.begin_enrolment(session.user)
    return render(request, "enrol.html", session=session, enrolment=enrolment)


@router.post("/enrol")
async def enrol(request: Request) -> Response:
    session = await console_session(request, stage="enrol")
    if session is None:
        raise SignInRequired()
    fields = await _form(request)
    check_csrf(session, fields.get("csrf_token"))
    console = runtime(request).console
    try:
        new, codes = await signin.finish_enrolment(console, session, fields.get("code", "")[:32],
                                                   client_ip(request),
                                                   request.headers.get("user-agent"))
    except VectorcacheError as exc:
        enrolment = await console.accounts.begin_enrolment(session.user)
        return render(request, "enrol.html", status=exc.status, session=session,
                      enrolment=enrolment, error=exc.detail)
    response = render(request, "backup_codes.html", session=new.session, codes=codes)
    set_session_cookie(request, response, new)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    session = await console_session(request)
    if session is not None:
        fields = await _form(request)
        check_csrf(session, fields.get("csrf_token"))
        await signin.sign_out(runtime(request).console, session, client_ip(request))
    response = _to("/dashboard/sign-in")
    set_session_cookie(request, response, None)
    return response
