"""Console sessions: a 256-bit random id in an ``HttpOnly`` cookie, kept server-side only as
its keyed hash; idle and absolute expiry; a CSRF token per session; revocable one by one or
all at once. Rows in the database, so every replica sees the same sessions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from vectorcache.console.models import NewSession, Session, User
from vectorcache.console.records import ConsoleRecords
from vectorcache.hashing import Hasher

__all__ = ["Sessions"]

_PARTIAL_LIFETIME = timedelta(minutes=10)  # password given, second factor owed
_TOUCH_EVERY = timedelta(seconds=30)  # last-use writes at most this often per session


class Sessions:
    def __init__(self, records: ConsoleRecords, hasher: Hasher, clock: Callable[[], datetime],
                 *, idle_seconds: int, absolute_seconds: int) -> None:
        self._records = records
        self._hasher = hasher
        self._now = clock
        self.idle = timedelta(seconds=idle_seconds)
        self.absolute = timedelta(seconds=absolute_seconds)

    def _hash(self, cookie: str) -> str:
        return self._hasher.api_key("console-session:" + cookie)

    async def start(self, user: User, stage: str, ip: str | None,
                    user_agent: str | None) -> NewSession:
        """Always a new id (a session id is never carried across sign-in stages)."""
        now = self._now()
        cookie = secrets.token_urlsafe(32)
        expires = now + (self.absolute if stage == "full" else _PARTIAL_LIFETIME)
        id_hash = self._hash(cookie)
        values = {"id_hash": id_hash, "user_id": user.id, "stage": stage,
                  "csrf_token": secrets.token_urlsafe(32), "created_at": now.timestamp(),
                  "last_seen_at": now.timestamp(), "expires_at": expires.timestamp(),
                  "client_ip": ip, "user_agent": (user_agent or "")[:200] or None}
        await self._records.insert_session(values)
        found = await self._records.session(id_hash)
        assert found is not None
        return NewSession(cookie=cookie, session=found[0])

    async def load(self, cookie: str | None) -> Session | None:
        """The live session for a cookie, or None (unknown, revoked, idle or past its end)."""
        if not cookie or len(cookie) > 100:
            return None
        found = await self._records.session(self._hash(cookie))
        if found is None:
            return None
        session, revoked_at = found
        now = self._now()
        if revoked_at is not None or session.expires_at <= now \
                or now - session.last_seen_at > self.idle \
                or session.user.disabled_at is not None:
            return None
        if now - session.last_seen_at >= _TOUCH_EVERY:
            await self._records.touch_session(session.id_hash, now)
        return session

    async def end(self, session: Session) -> None:
        await self._records.revoke_sessions(self._now(), id_hash=session.id_hash)

    async def end_by_id(self, user: User, id_hash: str) -> bool:
        """One of ``user``'s own sessions (from the account page)."""
        return await self._records.revoke_sessions(self._now(), id_hash=id_hash,
                                                   user_id=user.id) > 0

    async def end_all(self, user: User, keep: Session | None = None) -> int:
        return await self._records.revoke_sessions(
            self._now(), user_id=user.id, keep=None if keep is None else keep.id_hash)

    async def of_user(self, user: User) -> list[Session]:
        return await self._records.user_sessions(user, self._now())
