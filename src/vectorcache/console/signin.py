"""Signing in, in stages: password, then the second factor (or, for a role that must have one
and has none yet, its enrolment). Each stage gets a fresh session id; the last one is ``full``."""

from __future__ import annotations

from vectorcache.console.models import NewSession, Session
from vectorcache.console.service import Console

__all__ = ["finish_enrolment", "finish_second_factor", "sign_in", "sign_out"]


async def sign_in(console: Console, name: str, password: str, ip: str | None,
                  user_agent: str | None) -> NewSession:
    user = await console.accounts.check_password(name, password, ip)
    if user.totp_enabled:
        stage = "mfa"
    elif console.accounts.two_factor_required(user):
        stage = "enrol"
    else:
        await console.accounts.signed_in(user, ip)
        stage = "full"
    return await console.sessions.start(user, stage, ip, user_agent)


async def finish_second_factor(console: Console, partial: Session, code: str, ip: str | None,
                               user_agent: str | None) -> NewSession:
    await console.accounts.check_second_factor(partial.user, code, ip)
    await console.sessions.end(partial)
    return await console.sessions.start(partial.user, "full", ip, user_agent)


async def finish_enrolment(console: Console, session: Session, code: str, ip: str | None,
                           user_agent: str | None) -> tuple[NewSession, list[str]]:
    """Turning two-factor on (first sign-in, or from the account page) ends every other
    session of the user; the backup codes are returned to show once."""
    enrolment = await console.accounts.begin_enrolment(session.user)
    codes = await console.accounts.confirm_enrolment(session.user, enrolment.secret, code, ip)
    await console.sessions.end_all(session.user)
    user = await console.accounts.user(session.user.id)
    return await console.sessions.start(user, "full", ip, user_agent), codes


async def sign_out(console: Console, session: Session, ip: str | None) -> None:
    await console.sessions.end(session)
    await console.audit.record("console.logout", actor=f"user:{session.user.name}", ip=ip)
