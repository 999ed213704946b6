"""Cache scope: whose entries may answer a request.

``shared`` (the default): every end user of a project is answered from one cache partition per
model and context, as before. ``user``: each end user (the request's ``user`` field, OpenAI's
``user`` on the gateway) has a partition of its own, so an answer cached for alice is never
served to bob, however alike their prompts. A request in ``user`` scope that names no user is
answered but neither looked up nor stored (reported as the bypass ``no_user``, like personal
data is).

Whatever the scope, an entry whose text was redacted (``pii_policy: redact``) was someone's
personal data: it is kept in its end user's partition, and not stored at all when the request
names no user.

The user enters the partition as its keyed hash (``Hasher.user``, the server secret's HMAC),
beside model, context and conversation: a filter applied before the similarity search, never
text mixed into the prompt. A project's scope is a project setting; a key may override it
(``ApiKey.cache_scope``), and a key scoped ``user`` can only create keys scoped ``user``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vectorcache.errors import PermissionDenied, ValidationFailed
from vectorcache.models import ApiKey, Project

__all__ = ["CACHE_SCOPES", "NO_USER", "Scope", "check_scope_within", "effective_scope",
           "resolve_scope", "validate_scope"]

CACHE_SCOPES = ("shared", "user")
#: the bypass reason of a request in ``user`` scope that names no end user
NO_USER = "no_user"


@dataclass(frozen=True)
class Scope:
    """Where a request's entries live: ``user_hash`` is the partition's end user (None: the
    project's shared partition); ``bypass`` says why nothing is looked up or stored."""

    user_hash: str | None = None
    bypass: str | None = None


def validate_scope(value: object, param: str = "cache_scope") -> str:
    if not isinstance(value, str) or value not in CACHE_SCOPES:
        raise ValidationFailed(f"{param} must be one of {list(CACHE_SCOPES)}", param=param)
    return value


def effective_scope(project: Project, key: ApiKey | None) -> str:
    """The key's scope if it sets one, else the project's."""
    if key is not None and key.cache_scope is not None:
        return key.cache_scope
    return project.cache_scope or "shared"


def resolve_scope(scope: str, user_hash: str | None, *, redacted: bool) -> Scope:
    """The partition user for a request: its own in ``user`` scope or when personal data was
    redacted from it; none otherwise. No user where one is needed: a bypass."""
    if scope != "user" and not redacted:
        return Scope()
    if user_hash is None:
        return Scope(bypass=NO_USER if scope == "user" else "pii")
    return Scope(user_hash=user_hash)


def check_scope_within(scope: str | None, holder: ApiKey | None, project: Project) -> None:
    """A key answered from its users' own partitions cannot create one that reads them all."""
    if holder is None or effective_scope(project, holder) != "user":
        return
    if (scope or project.cache_scope) != "user":
        raise PermissionDenied("A key cannot grant more than it holds: cache_scope 'shared' "
                               "from a key scoped 'user'", code="privilege_escalation")
