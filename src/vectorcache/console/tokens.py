"""Admin tokens, for automation: a signed-in user makes one (shown once, kept as its keyed
hash), with scopes (``admin:read``: GET only; ``admin:write``: everything the user may do) and
an expiry; it acts as that user, within those scopes, until it expires or is revoked."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vectorcache.console.access import Actor
from vectorcache.console.audit import ConsoleAudit
from vectorcache.console.records import ConsoleRecords
from vectorcache.errors import NotFound, PermissionDenied, ValidationFailed
from vectorcache.hashing import Hasher
from vectorcache.store import Store

__all__ = ["TOKEN_PREFIX", "TOKEN_SCOPES", "AdminToken", "AdminTokens"]

TOKEN_PREFIX = "vca_"  # noqa: S105 (a prefix, not a secret)
TOKEN_SCOPES = ("admin:read", "admin:write")
MAX_DAYS = 365


@dataclass(frozen=True)
class AdminToken:
    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _dt(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _token(row: Any) -> AdminToken:
    created, expires = _dt(row["created_at"]), _dt(row["expires_at"])
    assert created is not None and expires is not None
    return AdminToken(id=row["id"], name=row["name"], prefix=row["prefix"],
                      scopes=tuple(str(row["scopes"]).split()), created_at=created,
                      expires_at=expires, last_used_at=_dt(row["last_used_at"]),
                      revoked_at=_dt(row["revoked_at"]))


class AdminTokens:
    def __init__(self, store: Store, records: ConsoleRecords, hasher: Hasher,
                 audit: ConsoleAudit, clock: Callable[[], datetime]) -> None:
        self._db = store.db
        self._records = records
        self._hasher = hasher
        self._audit = audit
        self._now = clock

    def _hash(self, token: str) -> str:
        return self._hasher.api_key("console-token:" + token)

    async def create(self, actor: Actor, name: str, scopes: tuple[str, ...],
                     days: int) -> tuple[str, AdminToken]:
        """The token (shown once) and its record. Only a signed-in user makes tokens."""
        if actor.via != "session":
            raise PermissionDenied("Admin tokens are made from a signed-in session",
                                   code="session_required")
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed("Token name must be 1..100 characters", param="name")
        if not scopes or set(scopes) - set(TOKEN_SCOPES):
            raise ValidationFailed(f"Scopes: one or both of {', '.join(TOKEN_SCOPES)}",
                                   param="scopes")
        if not 1 <= days <= MAX_DAYS:
            raise ValidationFailed(f"expires_in_days must be 1..{MAX_DAYS}",
                                   param="expires_in_days")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._now()
        values = {"id": str(uuid.uuid4()), "user_id": actor.user.id, "name": name,
                  "prefix": token[:12] + "…", "token_hash": self._hash(token),
                  "scopes": " ".join(sorted(set(scopes))), "created_at": now.timestamp(),
                  "expires_at": (now + timedelta(days=days)).timestamp()}
        cols = ", ".join(values)
        marks = ", ".join("?" * len(values))
        await self._db.write(lambda c: c.execute(
            f"INSERT INTO console_tokens ({cols}) VALUES ({marks})", tuple(values.values())))
        await self._audit.record("console.token.create", actor=actor.name, ip=actor.ip,
                                 target=str(values["id"]), prefix=values["prefix"],
                                 scopes=list(scopes), days=days)
        return token, _token({**values, "last_used_at": None, "revoked_at": None})

    async def actor_for(self, token: str, ip: str | None, write: bool) -> Actor:
        """The token's user as an ``Actor``; 401 ``invalid_admin_token`` when unknown,
        revoked or expired; 403 ``insufficient_scope`` for a write with a read token."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            raise _invalid()
        row = await self._db.read(lambda c: c.execute(
            "SELECT * FROM console_tokens WHERE token_hash = ?", (self._hash(token),)).fetchone())
        now = self._now()
        if row is None or row["revoked_at"] is not None or float(row["expires_at"]) <= \
                now.timestamp():
            raise _invalid()
        record = _token(row)
        if write and "admin:write" not in record.scopes:
            raise PermissionDenied("This admin token is read-only", code="insufficient_scope")
        user = await self._records.user(str(row["user_id"]))
        if user is None or user.disabled_at is not None:
            raise _invalid()
        await self._db.write(lambda c: c.execute(
            "UPDATE console_tokens SET last_used_at = ? WHERE id = ?",
            (now.timestamp(), record.id)))
        return Actor(user=user, memberships=await self._records.memberships(user.id), ip=ip,
                     via="token")

    async def of(self, actor: Actor) -> list[AdminToken]:
        rows = await self._db.read(lambda c: c.execute(
            "SELECT * FROM console_tokens WHERE user_id = ? ORDER BY created_at DESC LIMIT 100",
            (actor.user.id,)).fetchall())
        return [_token(r) for r in rows]

    async def revoke(self, actor: Actor, token_id: str) -> None:
        changed = await self._db.write(lambda c: c.execute(
            "UPDATE console_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND "
            "revoked_at IS NULL", (self._now().timestamp(), token_id, actor.user.id)).rowcount)
        if not changed:
            raise NotFound("Admin token not found")
        await self._audit.record("console.token.revoke", actor=actor.name, ip=actor.ip,
                                 target=token_id)


def _invalid() -> Exception:
    from vectorcache.errors import AuthenticationFailed

    return AuthenticationFailed("Invalid, revoked or expired admin token",
                                code="invalid_admin_token")
