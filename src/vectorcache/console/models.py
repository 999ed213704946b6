"""The console's records, as its services hand them out (never a hash or a secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ROLES", "KeyRequest", "NewSession", "Session", "User"]

#: owner: everything, users included; admin: every project; developer: the projects they are
#: a member of (keys and settings); viewer: read-only (analytics, keys list, audit)
ROLES = ("owner", "admin", "developer", "viewer")


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: str
    totp_enabled: bool
    created_at: datetime
    password_changed_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True)
class Session:
    """A signed-in browser. ``stage``: ``full``, or ``mfa`` (password given, second factor
    owed) or ``enrol`` (password given, two-factor enrolment owed)."""

    id_hash: str
    user: User
    stage: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class NewSession:
    """The cookie value, shown to the browser once; the server keeps only its hash."""

    cookie: str
    session: Session


@dataclass(frozen=True)
class KeyRequest:
    """A key a developer asked for that needs an admin's approval before it exists."""

    id: str
    project_id: str
    requested_by: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    models: tuple[str, ...]
    allowed_ips: tuple[str, ...]
    reasons: tuple[str, ...]
    status: str  # pending | approved | denied
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
