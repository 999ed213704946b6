"""A per-project cap on cache entries (count and bytes), enforced by the schedule: past the
cap, the least recently served entries go first (last hit, else creation). It costs nothing on
the hit path: ``entries.last_hit_at`` is already written behind it by the usage events."""

from __future__ import annotations

from typing import Any

from vectorcache.store import Store
from vectorcache.store.sql import Conn

__all__ = ["CacheCap"]

_BATCH = 500


class CacheCap:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def enforce(self, project_id: str, max_entries: int, max_bytes: int) -> int:
        """Evict down to the caps (0: no cap); how many entries went."""
        if not max_entries and not max_bytes:
            return 0

        def over(conn: Conn) -> list[Any]:
            count, size = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM entries"
                " WHERE project_id = ?", (project_id,)).fetchone()
            if (not max_entries or count <= max_entries) and (not max_bytes
                                                              or size <= max_bytes):
                return []
            rows = conn.execute(
                "SELECT id, size_bytes FROM entries WHERE project_id = ?"
                " ORDER BY COALESCE(last_hit_at, created_at) ASC, created_at ASC",
                (project_id,)).fetchall()
            doomed, n, total = [], int(count), int(size)
            for row in rows:  # the least recently served first
                if (not max_entries or n <= max_entries) and (not max_bytes
                                                              or total <= max_bytes):
                    break
                doomed.append(str(row[0]))
                n -= 1
                total -= int(row[1])
            return doomed

        doomed = await self._store.db.read(over)
        removed = 0
        for i in range(0, len(doomed), _BATCH):
            removed += await self._store.delete_entries(project_id, doomed[i:i + _BATCH])
        return removed
