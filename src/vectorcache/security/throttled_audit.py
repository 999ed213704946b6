"""Audit rows for what a client can repeat at will (failed authentications, refused requests),
throttled so that a flood cannot fill the append-only table.

A row's bucket is its action, code (why: ``ip_not_allowed``, ``rate_limit_exceeded``...),
actor (a key's display prefix), project and client address. Per minute, the first event of
each bucket is written at once (at most ``max_buckets`` distinct buckets; the rest share one
``(other)`` bucket per action and code); repeats are counted in memory and written as one
``<action>.repeated`` row per bucket when the next minute's first event arrives.
A flood therefore costs at most ``2 * (max_buckets + codes)`` rows a minute per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vectorcache.store import Store

__all__ = ["ThrottledAudit"]


@dataclass(frozen=True)
class _Bucket:
    action: str
    code: str
    actor: str | None
    project_id: str | None
    client_ip: str | None


class ThrottledAudit:
    def __init__(self, store: Store, *, max_buckets: int = 20,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._max = max_buckets
        self._clock = clock
        self._minute = -1
        self._counts: dict[_Bucket, int] = {}

    async def record(self, action: str, code: str, *, actor: str | None,
                     project_id: str | None, client_ip: str | None,
                     details: dict[str, object] | None = None) -> None:
        minute = int(self._clock() // 60)
        if minute != self._minute:
            await self._roll(minute)
        bucket = _Bucket(action, code, actor, project_id, client_ip)
        if bucket not in self._counts and len(self._counts) >= self._max:
            bucket = _Bucket(action, code, "(other)", None, None)
        seen = self._counts.get(bucket, 0)
        self._counts[bucket] = seen + 1
        if not seen:
            await self._store.add_audit(action, project_id=bucket.project_id,
                                        actor=bucket.actor, target=None,
                                        details={"code": code, **(details or {})},
                                        client_ip=bucket.client_ip)

    async def _roll(self, minute: int) -> None:
        previous, counts = self._minute, self._counts
        self._minute, self._counts = minute, {}
        for bucket, n in counts.items():
            if n > 1:
                await self._store.add_audit(
                    f"{bucket.action}.repeated", project_id=bucket.project_id,
                    actor=bucket.actor, target=None, client_ip=bucket.client_ip,
                    details={"code": bucket.code, "count": n - 1,
                             "minute_start": previous * 60})
