"""From a presented API key to a ``Principal``: the project, the key record and its rights."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vectorcache.apikeys import is_well_formed
from vectorcache.clock import utcnow
from vectorcache.errors import AuthenticationFailed, PermissionDenied
from vectorcache.hashing import Hasher
from vectorcache.models import ALL_SCOPES, ApiKey, Project
from vectorcache.security.authfail import FailedAuthAudit, safe_prefix
from vectorcache.security.scopes import expand_scopes
from vectorcache.security.throttled_audit import ThrottledAudit
from vectorcache.service.events import EventWriter
from vectorcache.service.scope import effective_scope
from vectorcache.store import Store

__all__ = ["Authenticator", "Principal", "expand_scopes"]


@dataclass(frozen=True)
class Principal:
    project: Project
    key: ApiKey | None  # None: an operator acting through the CLI or a benchmark
    #: the client address as the server resolved it (security/client_ip.py), for the audit log
    client_ip: str | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return expand_scopes(self.key.scopes) if self.key else frozenset(ALL_SCOPES)

    @property
    def key_id(self) -> str | None:
        return None if self.key is None else self.key.id

    @property
    def cache_scope(self) -> str:
        """``shared`` or ``user`` (``service/scope.py``): the key's, else the project's."""
        return effective_scope(self.project, self.key)

    @property
    def actor(self) -> str:
        return "cli" if self.key is None else f"key:{self.key.prefix}"

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise PermissionDenied(f"API key lacks the '{scope}' scope", code="insufficient_scope")

    def check_project(self, project_id: str | None) -> None:
        if project_id is not None and project_id not in (self.project.id, self.project.name):
            raise PermissionDenied(code="project_access_denied")

    def check_model(self, model: str) -> None:
        allowed = (self.key.models if self.key else ()) or self.project.allowed_models
        if allowed and model not in allowed:
            raise PermissionDenied(f"API key is not allowed to use model '{model}'",
                                   code="model_access_denied")


class Authenticator:
    def __init__(self, store: Store, hasher: Hasher, events: EventWriter,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._hasher = hasher
        self._events = events
        seconds = lambda: clock().timestamp()  # noqa: E731 - the audits' minutes follow ``clock``
        self._failures = FailedAuthAudit(store, clock=seconds)
        self._refusals = ThrottledAudit(store, clock=seconds)  # a budget of its own

    async def _failed(self, presented: str | None, code: str, client_ip: str | None,
                      project_id: str | None = None, detail: str | None = None,
                      key: ApiKey | None = None) -> AuthenticationFailed:
        """Audited (prefix only, throttled); returned for the caller to raise. ``key``: the
        known key refused (its ids go to the request log, for ``rotated_key_used``)."""
        await self._failures.record(presented, code, project_id, client_ip)
        failed = AuthenticationFailed(detail, code=code)
        if key is not None:
            failed.subject = (key.project_id, key.id)
        return failed

    async def authenticate(self, presented: str | None,
                           client_ip: str | None = None) -> Principal:
        if not presented:
            raise await self._failed(presented, "missing_api_key", client_ip)
        if not is_well_formed(presented):
            raise await self._failed(presented, "invalid_api_key", client_ip)
        digest = self._hasher.api_key(presented)
        found = await self._store.find_api_key_and_project(digest)
        if found is None or not hmac.compare_digest(found[0].key_hash, digest):
            raise await self._failed(presented, "invalid_api_key", client_ip)
        record, project = found
        now = utcnow()
        if record.revoked_at is not None and record.revoked_at <= now:
            raise await self._failed(presented, "invalid_api_key", client_ip, record.project_id,
                                     key=record)
        if record.expires_at is not None and record.expires_at <= now:
            raise await self._failed(presented, "expired_api_key", client_ip,
                                     record.project_id, "API key has expired", key=record)
        if project is None:
            raise await self._failed(presented, "invalid_api_key", client_ip)
        self._events.touch_key(record.id)
        return Principal(project=project, key=record, client_ip=client_ip)

    async def refused(self, principal: Principal | None, presented: str | None,
                      client_ip: str | None, status: int, code: str,
                      route: str | None) -> None:
        """A request refused with 403 (scope, model, IP, project) or 429 (rate limit, quota)
        in the audit log, throttled per key and address like failed authentications."""
        action = "access.throttled" if status == 429 else "access.denied"
        await self._refusals.record(
            action, code, actor=principal.actor if principal else safe_prefix(presented),
            project_id=principal.project.id if principal else None, client_ip=client_ip,
            details={"status": status, "route": route})
