"""Managing what is cached: stats, clear, delete one entry."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from vectorcache.bounds import MAX_OLDER_THAN_HOURS
from vectorcache.clock import utcnow
from vectorcache.errors import NotFound, ValidationFailed
from vectorcache.models import ProjectStats
from vectorcache.service.auth import Principal
from vectorcache.service.timing import elapsed_ms
from vectorcache.store import Store

__all__ = ["ClearOutcome", "EntryService"]


@dataclass(frozen=True)
class ClearOutcome:
    entries_cleared: int
    space_freed_mb: float
    operation_time_ms: float


class EntryService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def stats(self, principal: Principal, project_id: str) -> ProjectStats:
        principal.check_project(project_id)
        return await self._store.stats(principal.project.id, utcnow())

    async def clear(self, principal: Principal, *, project_id: str | None = None,
                    expired_only: bool = False,
                    older_than_hours: float | None = None) -> ClearOutcome:
        principal.check_project(project_id)
        if older_than_hours is not None and not 0 <= older_than_hours <= MAX_OLDER_THAN_HOURS:
            raise ValidationFailed(f"older_than_hours must be from 0 to {MAX_OLDER_THAN_HOURS}",
                                   param="older_than_hours")
        start = time.perf_counter()
        now = utcnow()
        older = None if older_than_hours is None else now - timedelta(hours=older_than_hours)
        count, size = await self._store.clear(principal.project.id, expired_only=expired_only,
                                              older_than=older, now=now)
        await self._store.add_audit("cache.clear", project_id=principal.project.id,
                                    actor=principal.actor, target=principal.project.id,
                                    details={"entries": count, "expired_only": expired_only},
                                    client_ip=principal.client_ip)
        return ClearOutcome(count, round(size / 1_048_576, 6),
                            elapsed_ms(start))

    async def delete(self, principal: Principal, entry_id: str) -> None:
        if not await self._store.delete_entries(principal.project.id, [entry_id]):
            raise NotFound(f"Cache entry {entry_id} not found")
        await self._store.add_audit("cache.entry.delete", project_id=principal.project.id,
                                    actor=principal.actor, target=entry_id, details={},
                                    client_ip=principal.client_ip)
