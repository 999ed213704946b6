"""Keys a developer asks for: a sensitive one (``keys:manage`` or ``*``, no model restriction,
or no client-IP restriction) waits for an owner's or admin's approval before it works; nor
can a developer's edit make a key sensitive (only an owner or an admin may).

A waiting key is a ``console_key_requests`` row, not an ``api_keys`` row, so the request path
(``service/auth.py``) cannot accept it: it is unknown there until approved. The key itself is
shown once, when asked for; approval makes that same key work.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vectorcache.apikeys import display_prefix, generate_key
from vectorcache.bounds import validate_environment
from vectorcache.console.access import Actor
from vectorcache.console.audit import ConsoleAudit
from vectorcache.console.models import KeyRequest
from vectorcache.console.records import ConsoleRecords
from vectorcache.errors import NotFound, PermissionDenied, ValidationFailed
from vectorcache.hashing import Hasher
from vectorcache.models import ApiKey, Project
from vectorcache.security.client_ip import parse_network
from vectorcache.security.delegation import Grant, check_not_past, validate
from vectorcache.service.admin import AdminService
from vectorcache.store import Store

__all__ = ["KeyApprovals", "NewKey", "sensitive_reasons"]


def sensitive_reasons(grant: Grant) -> list[str]:
    reasons = []
    if {"keys:manage", "*"} & set(grant.scopes):
        reasons.append("can manage keys")
    if not grant.models:
        reasons.append("no model restriction")
    if not grant.allowed_ips or any(parse_network(n).prefixlen == 0 for n in grant.allowed_ips):
        reasons.append("no IP restriction")
    return reasons


@dataclass(frozen=True)
class NewKey:
    """A key shown once: it works now (``record``) or after approval (``request``)."""

    key: str
    record: ApiKey | None = None
    request: KeyRequest | None = None

    @property
    def status(self) -> str:
        return "pending" if self.request is not None else "active"


class KeyApprovals:
    def __init__(self, store: Store, records: ConsoleRecords, hasher: Hasher,
                 admin: AdminService, audit: ConsoleAudit,
                 clock: Callable[[], datetime]) -> None:
        self._store = store
        self._records = records
        self._hasher = hasher
        self._admin = admin
        self._audit = audit
        self._now = clock

    async def create_key(self, actor: Actor, project: Project, name: str,
                         grant: Grant, environment: str = "production") -> NewKey:
        actor.require_write(project.id)
        environment = validate_environment(environment)
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed("Key name must be 1..100 characters", param="name")
        grant = validate(grant)
        check_not_past(grant.expires_at)
        reasons = sensitive_reasons(grant)
        if actor.is_admin or not reasons:
            created = await self._admin.create_key(
                project, name=name, actor=actor.name, scopes=grant.scopes, models=grant.models,
                allowed_ips=grant.allowed_ips, expires_at=grant.expires_at,
                rate_limit_per_minute=grant.rate_limit_per_minute,
                quota_requests=grant.quota_requests, quota_period=grant.quota_period,
                environment=environment, client_ip=actor.ip)
            return NewKey(key=created.key, record=created.record)
        key = generate_key()
        request_id = str(uuid.uuid4())
        await self._records.insert_request({
            "id": request_id, "project_id": project.id, "requested_by": actor.user.name,
            "name": name, "prefix": display_prefix(key), "key_hash": self._hasher.api_key(key),
            "grant_json": json.dumps({**_grant_json(grant), "environment": environment}),
            "reasons": json.dumps(reasons),
            "status": "pending", "created_at": self._now().timestamp()})
        await self._audit.record("key.request", actor=actor.name, ip=actor.ip,
                                 project_id=project.id, target=request_id,
                                 prefix=display_prefix(key), reasons=reasons)
        found = await self._records.request(request_id)
        assert found is not None
        return NewKey(key=key, request=found[0])

    async def update_key(self, actor: Actor, project: Project, key_id: str,
                         changes: dict[str, Any]) -> ApiKey:
        """Change a key of ``project`` through ``AdminService.update_key`` (its checks, its
        audit as ``key.update``). A developer's edit may not add a reason for approval (a
        scope that manages keys, or dropping the model or client-IP restriction): 403
        ``admin_only``, so no edit gets round the approval a new key would wait for."""
        actor.require_write(project.id)
        record = await self._admin.find_key(key_id, project)
        if not actor.is_admin:
            after = validate(Grant.of(record).with_changes(**changes))
            before = sensitive_reasons(Grant.of(record))
            added = [r for r in sensitive_reasons(after) if r not in before]
            if added:
                raise PermissionDenied(
                    f"Only an owner or an admin may change a key this way ({added[0]}); ask "
                    "one, or create a new key and have it approved", code="admin_only")
        return await self._admin.update_key(record.id, project=project, actor=actor.name,
                                            client_ip=actor.ip, **changes)

    async def pending(self, project_id: str | None, limit: int = 100) -> list[KeyRequest]:
        return await self._records.requests(project_id, "pending", limit)

    async def _pending(self, actor: Actor, request_id: str) -> tuple[KeyRequest, dict[str, object],
                                                                    str]:
        actor.require_admin()
        found = await self._records.request(request_id)
        if found is None:
            raise NotFound("Key request not found")
        if found[0].status != "pending":
            raise ValidationFailed(f"This request was already {found[0].status}",
                                   code="already_decided")
        return found

    async def approve(self, actor: Actor, request_id: str) -> ApiKey:
        request, grant, key_hash = await self._pending(actor, request_id)
        if not await self._records.decide_request(request_id, "approved", actor.user.name,
                                                  self._now()):
            raise ValidationFailed("This request was already decided", code="already_decided")
        expires = grant.get("expires_at")
        record = ApiKey(
            id=request.id, project_id=request.project_id, name=request.name,
            prefix=request.prefix, key_hash=key_hash, created_at=self._now(),
            scopes=request.scopes, models=request.models, allowed_ips=request.allowed_ips,
            expires_at=None if expires is None else datetime.fromisoformat(str(expires)),
            rate_limit_per_minute=_int(grant.get("rate_limit_per_minute")),
            quota_requests=_int(grant.get("quota_requests")),
            quota_period=None if grant.get("quota_period") is None
            else str(grant.get("quota_period")),
            environment=str(grant.get("environment") or "production"))
        await self._store.add_api_key(record)
        record = await self._store.get_api_key(record.id) or record  # its rotation_due_at
        await self._audit.record("key.approve", actor=actor.name, ip=actor.ip,
                                 project_id=request.project_id, target=request.id,
                                 prefix=request.prefix, requested_by=request.requested_by)
        return record

    async def deny(self, actor: Actor, request_id: str) -> KeyRequest:
        request, _, _ = await self._pending(actor, request_id)
        await self._records.decide_request(request_id, "denied", actor.user.name, self._now())
        await self._audit.record("key.deny", actor=actor.name, ip=actor.ip,
                                 project_id=request.project_id, target=request.id,
                                 prefix=request.prefix, requested_by=request.requested_by)
        found = await self._records.request(request_id)
        assert found is not None
        return found[0]


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _grant_json(grant: Grant) -> dict[str, object]:
    return {"scopes": list(grant.scopes), "models": list(grant.models),
            "allowed_ips": list(grant.allowed_ips),
            "expires_at": None if grant.expires_at is None else grant.expires_at.isoformat(),
            "rate_limit_per_minute": grant.rate_limit_per_minute,
            "quota_requests": grant.quota_requests, "quota_period": grant.quota_period}
