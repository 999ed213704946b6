"""A project's entry count for the dashboard, read from the covering index
(``entries_project``) and kept for a minute, so a page view never aggregates the entries'
rows (``store.stats`` sums their sizes and expiries: seconds on a large project)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from vectorcache.store import Store

__all__ = ["EntryCounts"]


class EntryCounts:
    def __init__(self, store: Store, clock: Callable[[], datetime], ttl_seconds: int = 60,
                 max_projects: int = 10_000) -> None:
        self._db = store.db
        self._now = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._max = max_projects
        self._seen: dict[str, tuple[int, datetime]] = {}

    async def entries(self, project_id: str) -> int:
        now = self._now()
        cached = self._seen.get(project_id)
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        row = await self._db.read(lambda c: c.execute(
            "SELECT COUNT(*) FROM entries WHERE project_id = ?", (project_id,)).fetchone())
        if len(self._seen) >= self._max:
            self._seen.clear()
        self._seen[project_id] = (int(row[0]), now)
        return int(row[0])
