"""Projects, API keys and provider keys: the management actions shared by the CLI and the API.

Every change is written to the audit log. Keys are returned in full exactly once, at creation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from vectorcache.apikeys import display_prefix, generate_key, is_well_formed
from vectorcache.bounds import validate_environment
from vectorcache.clock import utcnow
from vectorcache.errors import NotFound, ValidationFailed
from vectorcache.hashing import Hasher
from vectorcache.models import (
    ALL_SCOPES,
    ApiKey,
    NewApiKey,
    Project,
    ProviderConfig,
)
from vectorcache.security.delegation import Grant, check_not_past, check_within, validate
from vectorcache.service.auth import Principal
from vectorcache.service.project_settings import validate_project_settings
from vectorcache.service.scope import check_scope_within, validate_scope
from vectorcache.store import Store

__all__ = ["DEFAULT_PROJECT", "AdminService"]

DEFAULT_PROJECT = "default"


class AdminService:
    def __init__(self, store: Store, hasher: Hasher, *,
                 default_threshold: float = 0.85) -> None:
        self._store = store
        self._hasher = hasher
        self._default_threshold = default_threshold

    # ---------------------------------------------------------------- projects
    async def create_project(self, name: str, *, actor: str = "cli", **settings: Any) -> Project:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed("Project name must be 1..100 characters", param="name")
        settings = validate_project_settings(
            {"similarity_threshold": self._default_threshold,
             **{k: v for k, v in settings.items() if v is not None}})
        project = await self._store.create_project(name, **settings)
        await self._store.add_audit("project.create", project_id=project.id, actor=actor,
                                    target=project.id, details={"name": name})
        return project

    async def project(self, ref: str) -> Project:
        """A project by id or by name."""
        project = await self._store.get_project(ref) or await self._store.get_project_by_name(ref)
        if project is None:
            raise NotFound(f"Project {ref!r} not found")
        return project

    async def list_projects(self) -> list[Project]:
        return await self._store.list_projects()

    async def update_project(self, ref: str, *, actor: str = "cli", client_ip: str | None = None,
                             **settings: Any) -> Project:
        project = await self.project(ref)
        settings = validate_project_settings(settings)
        updated = await self._store.update_project(project.id, **settings)
        await self._store.add_audit("project.update", project_id=project.id, actor=actor,
                                    target=project.id, details={"fields": sorted(settings)},
                                    client_ip=client_ip)
        return updated

    def principal_for(self, project: Project) -> Principal:
        """An operator principal (all scopes, no key): for the CLI and benchmarks."""
        return Principal(project=project, key=None)

    async def bootstrap(self) -> NewApiKey | None:
        """On first start: the ``default`` project and one all-scope key (returned once)."""
        if await self._store.list_projects():
            return None
        try:
            project = await self.create_project(DEFAULT_PROJECT, actor="bootstrap")
        except ValidationFailed as exc:
            if exc.code != "project_exists":
                raise
            return None  # another replica, starting at the same time, bootstrapped
        return await self.create_key(project, name="bootstrap", actor="bootstrap")

    # ---------------------------------------------------------------- API keys
    async def create_key(
        self,
        project: Project,
        *,
        name: str = "default",
        scopes: Sequence[str] = ALL_SCOPES,
        models: Sequence[str] = (),
        allowed_ips: Sequence[str] = (),
        expires_at: datetime | None = None,
        rate_limit_per_minute: int | None = None,
        quota_requests: int | None = None,
        quota_period: str | None = None,
        cache_scope: str | None = None,
        environment: str = "production",
        actor: str = "cli",
        holder: ApiKey | None = None,
        client_ip: str | None = None,
    ) -> NewApiKey:
        """``holder``: the key asking (API); it cannot grant more than it holds itself.
        ``cache_scope``: "shared" or "user", overriding the project's (None: the project's).
        ``environment``: production, staging or development (the project's rotation period
        for it sets ``rotation_due_at``)."""
        environment = validate_environment(environment)
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed("Key name must be 1..100 characters", param="name")
        grant = validate(Grant(scopes=tuple(scopes), models=tuple(models),
                               allowed_ips=tuple(allowed_ips), expires_at=expires_at,
                               rate_limit_per_minute=rate_limit_per_minute,
                               quota_requests=quota_requests, quota_period=quota_period))
        check_not_past(expires_at)
        check_within(grant, holder)
        if cache_scope is not None:
            validate_scope(cache_scope)
        check_scope_within(cache_scope, holder, project)
        return await self._add_key(project, name, grant, actor, "key.create",
                                   cache_scope=cache_scope, environment=environment,
                                   client_ip=client_ip)

    async def _add_key(self, project: Project, name: str, grant: Grant, actor: str,
                       action: str, details: dict[str, object] | None = None, *,
                       cache_scope: str | None = None, environment: str = "production",
                       client_ip: str | None = None) -> NewApiKey:
        key = generate_key()
        record = ApiKey(id=str(uuid.uuid4()), project_id=project.id, name=name,
                        prefix=display_prefix(key), key_hash=self._hasher.api_key(key),
                        created_at=utcnow(), cache_scope=cache_scope, environment=environment,
                        **grant.fields())
        await self._store.add_api_key(record)
        record = await self._store.get_api_key(record.id) or record  # its rotation_due_at
        await self._store.add_audit(action, project_id=project.id, actor=actor,
                                    target=record.id,
                                    details={"prefix": record.prefix, "environment": environment,
                                             "scopes": list(grant.scopes), **(details or {})},
                                    client_ip=client_ip)
        return NewApiKey(record=record, key=key)

    async def rotate_key(self, ref: str, *, project: Project | None = None,
                         grace_seconds: int = 0, actor: str = "cli",
                         holder: ApiKey | None = None,
                         client_ip: str | None = None) -> NewApiKey:
        """A new key with the same rights; the old one keeps working ``grace_seconds``."""
        if not 0 <= grace_seconds <= 30 * 86400:
            raise ValidationFailed("grace_seconds must be between 0 and 2592000",
                                   param="grace_seconds")
        old = await self.find_key(ref, project)
        if old.status != "active":
            raise ValidationFailed(f"Key {old.prefix} is {old.status}; create a new key instead",
                                   code="key_not_active")
        check_within(Grant.of(old), holder)
        owner = await self.project(old.project_id)
        created = await self._add_key(owner, old.name, Grant.of(old), actor, "key.rotate",
                                      {"replaces": old.id, "grace_seconds": grace_seconds},
                                      cache_scope=old.cache_scope,
                                      environment=old.environment, client_ip=client_ip)
        now = utcnow()
        end = now + timedelta(seconds=grace_seconds)
        ending: dict[str, object] = {"rotated_at": now, "replaced_by": created.record.id}
        if old.revoked_at is None or old.revoked_at > end:
            ending["revoked_at"] = end
        await self._store.update_api_key(old.id, **ending)
        return created

    async def update_key(self, ref: str, *, project: Project | None = None, actor: str = "cli",
                         holder: ApiKey | None = None, client_ip: str | None = None,
                         **changes: object) -> ApiKey:
        """Change a key's name or rights (``scopes``, ``models``, ``allowed_ips``,
        ``expires_at``, ``rate_limit_per_minute``, ``quota_requests``, ``quota_period``)."""
        record = await self.find_key(ref, project)
        check_within(Grant.of(record), holder)
        fields: dict[str, object] = {}
        if "name" in changes:
            name = str(changes.pop("name") or "").strip()
            if not name or len(name) > 100:
                raise ValidationFailed("Key name must be 1..100 characters", param="name")
            fields["name"] = name
        if "cache_scope" in changes:
            raw = changes.pop("cache_scope")
            scope = None if raw is None else validate_scope(raw)
            check_scope_within(scope, holder, await self.project(record.project_id))
            fields["cache_scope"] = scope
        grant = validate(Grant.of(record).with_changes(**changes))
        if "expires_at" in changes:
            check_not_past(grant.expires_at)
        check_within(grant, holder)
        fields.update({k: v for k, v in grant.fields().items() if k in changes})
        updated = await self._store.update_api_key(record.id, **fields)
        await self._store.add_audit("key.update", project_id=record.project_id, actor=actor,
                                    target=record.id,
                                    details={"prefix": record.prefix, "fields": sorted(fields)},
                                    client_ip=client_ip)
        return updated

    async def list_keys(self, project: Project) -> list[ApiKey]:
        return await self._store.list_api_keys(project.id)

    async def find_key(self, ref: str, project: Project | None = None) -> ApiKey:
        """A key by its id, its displayed prefix (``vc_1a2b3c4d…``) or the full key itself."""
        ref = ref.strip()
        record: ApiKey | None = None
        if is_well_formed(ref):
            record = await self._store.find_api_key(self._hasher.api_key(ref))
        else:
            record = await self._store.get_api_key(ref)
            if record is None and ref.startswith("vc_"):
                stem = ref.rstrip("…").rstrip(".")
                matches = [k for k in await self._store.list_api_keys()
                           if k.prefix.rstrip("…") == stem]
                if len(matches) > 1:
                    raise ValidationFailed(f"Prefix {ref!r} matches {len(matches)} keys; "
                                           "use the key id instead")
                record = matches[0] if matches else None
        if record is None or (project is not None and record.project_id != project.id):
            raise NotFound("API key not found")
        return record

    async def revoke_key(self, ref: str, *, project: Project | None = None,
                         actor: str = "cli", holder: ApiKey | None = None,
                         client_ip: str | None = None) -> ApiKey:
        record = await self.find_key(ref, project)
        check_within(Grant.of(record), holder)
        if record.revoked_at is None or record.revoked_at > utcnow():
            record = await self._store.update_api_key(record.id, revoked_at=utcnow())
        await self._store.add_audit("key.revoke", project_id=record.project_id, actor=actor,
                                    target=record.id, details={"prefix": record.prefix},
                                    client_ip=client_ip)
        return record

    # ---------------------------------------------------------------- providers
    async def set_provider(self, project: Project, *, provider: str, api_key: str | None,
                           base_url: str | None = None, actor: str = "cli",
                           fallback_models: Sequence[str] = ()) -> ProviderConfig:
        from vectorcache.upstream import ADAPTERS

        if provider not in ADAPTERS:
            raise ValidationFailed(
                f"Unknown provider {provider!r}; choose one of {sorted(ADAPTERS)}",
                param="provider")
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise ValidationFailed("base_url must start with http:// or https://",
                                   param="base_url")
        config = ProviderConfig(project_id=project.id, provider=provider, api_key=api_key,
                                base_url=base_url, updated_at=utcnow(),
                                fallback_models=tuple(fallback_models))
        await self._store.set_provider(config)
        await self._store.add_audit("provider.set", project_id=project.id, actor=actor,
                                    target=project.id,
                                    details={"provider": provider, "base_url": base_url})
        return config
