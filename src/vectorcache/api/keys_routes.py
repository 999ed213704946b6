"""``/v1/keys``: the caller's project's API keys (scope ``keys:manage``).

A key never grants more than it holds: omitted restrictions are inherited from the calling key,
and anything wider is refused with 403 ``privilege_escalation``. The full key is in the
response exactly once, when it is created or rotated; the key hash never is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from vectorcache.api.deps import authenticated, runtime
from vectorcache.bounds import QuotaRequests, RateLimitPerMinute
from vectorcache.clock import to_iso
from vectorcache.models import ApiKey, NewApiKey
from vectorcache.service.auth import Principal

__all__ = ["KeyCreate", "KeyUpdate", "Rotate", "key_changes", "key_json", "router"]

router = APIRouter(prefix="/v1/keys")

MANAGE = Depends(authenticated("keys:manage"))


class QuotaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: QuotaRequests
    period: Literal["day", "month"] = "day"


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class _KeyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scopes: list[str] | None = None
    models: list[str] | None = None
    allowed_ips: list[str] | None = None
    expires_at: datetime | None = None
    rate_limit_per_minute: RateLimitPerMinute | None = None
    quota: QuotaIn | None = None
    #: overrides the project's cache scope (null: the project's)
    cache_scope: Literal["shared", "user"] | None = None

    @field_validator("expires_at")
    @classmethod
    def _tz(cls, v: datetime | None) -> datetime | None:
        return _aware(v)


class KeyCreate(_KeyFields):
    name: str = Field(min_length=1, max_length=100)
    #: what the key is for; picks the project's rotation period (``rotation_due_at``)
    environment: Literal["production", "staging", "development"] = "production"


class KeyUpdate(_KeyFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class Rotate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_seconds: StrictInt = Field(default=0, ge=0, le=30 * 86400)


def key_json(key: ApiKey) -> dict[str, Any]:
    """A key as the API shows it: never its hash."""
    return {
        "id": key.id, "project_id": key.project_id, "name": key.name, "prefix": key.prefix,
        "status": key.status, "scopes": list(key.scopes), "models": list(key.models),
        "allowed_ips": list(key.allowed_ips), "expires_at": to_iso(key.expires_at),
        "rate_limit_per_minute": key.rate_limit_per_minute,
        "quota": None if key.quota_requests is None else
        {"requests": key.quota_requests, "period": key.quota_period},
        "created_at": to_iso(key.created_at), "last_used_at": to_iso(key.last_used_at),
        "request_count": key.request_count, "revoked_at": to_iso(key.revoked_at),
        "cache_scope": key.cache_scope, "environment": key.environment,
        "rotation_due_at": to_iso(key.rotation_due_at), "rotated_at": to_iso(key.rotated_at),
        "replaced_by": key.replaced_by,
    }


def _created_json(created: NewApiKey) -> dict[str, Any]:
    return {**key_json(created.record), "key": created.key}


def _holder(principal: Principal) -> ApiKey:
    assert principal.key is not None  # API callers always present a key
    return principal.key


@router.post("", status_code=201)
async def create_key(request: Request, body: KeyCreate = Body(),
                     principal: Principal = MANAGE) -> dict[str, Any]:
    holder = _holder(principal)
    quota = body.quota
    inherit = quota is None and "quota" not in body.model_fields_set
    created = await runtime(request).admin.create_key(
        principal.project, name=body.name,
        scopes=holder.scopes if body.scopes is None else body.scopes,
        models=holder.models if body.models is None else body.models,
        allowed_ips=holder.allowed_ips if body.allowed_ips is None else body.allowed_ips,
        expires_at=body.expires_at if "expires_at" in body.model_fields_set
        else holder.expires_at,
        rate_limit_per_minute=body.rate_limit_per_minute
        if "rate_limit_per_minute" in body.model_fields_set else holder.rate_limit_per_minute,
        quota_requests=holder.quota_requests if inherit else (quota.requests if quota else None),
        quota_period=holder.quota_period if inherit else (quota.period if quota else None),
        cache_scope=body.cache_scope if "cache_scope" in body.model_fields_set
        else holder.cache_scope, environment=body.environment,
        actor=principal.actor, holder=holder, client_ip=principal.client_ip)
    return _created_json(created)


@router.get("")
async def list_keys(request: Request, principal: Principal = MANAGE) -> dict[str, Any]:
    keys = await runtime(request).admin.list_keys(principal.project)
    return {"keys": [key_json(k) for k in keys], "total": len(keys)}


@router.get("/{key_id}")
async def get_key(request: Request, key_id: str,
                  principal: Principal = MANAGE) -> dict[str, Any]:
    return key_json(await runtime(request).admin.find_key(key_id, principal.project))


@router.post("/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str,
                     principal: Principal = MANAGE) -> dict[str, Any]:
    record = await runtime(request).admin.revoke_key(
        key_id, project=principal.project, actor=principal.actor, holder=_holder(principal),
        client_ip=principal.client_ip)
    return key_json(record)


@router.post("/{key_id}/rotate", status_code=201)
async def rotate_key(request: Request, key_id: str, body: Rotate | None = Body(default=None),
                     principal: Principal = MANAGE) -> dict[str, Any]:
    body = body or Rotate()
    created = await runtime(request).admin.rotate_key(
        key_id, project=principal.project, grace_seconds=body.grace_seconds,
        actor=principal.actor, holder=_holder(principal), client_ip=principal.client_ip)
    return {**_created_json(created), "replaces": key_id, "grace_seconds": body.grace_seconds}


def key_changes(body: KeyUpdate) -> dict[str, Any]:
    """What an update asks, as ``AdminService.update_key`` takes it: the fields sent only; a
    list sent as null is emptied, a quota sent as null removed. The project API and the admin
    plane both read their ``KeyUpdate`` through this."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set - {"quota"}:
        value = getattr(body, name)
        changes[name] = () if value is None and name in ("scopes", "models",
                                                          "allowed_ips") else value
    if "scopes" in changes and not changes["scopes"]:
        changes["scopes"] = ()  # refused by validation: a key needs a scope
    if "quota" in body.model_fields_set:
        changes["quota_requests"] = body.quota.requests if body.quota else None
        changes["quota_period"] = body.quota.period if body.quota else None
    return changes


@router.patch("/{key_id}")
async def update_key(request: Request, key_id: str, body: KeyUpdate = Body(),
                     principal: Principal = MANAGE) -> dict[str, Any]:
    record = await runtime(request).admin.update_key(
        key_id, project=principal.project, actor=principal.actor, holder=_holder(principal),
        client_ip=principal.client_ip, **key_changes(body))
    return key_json(record)
