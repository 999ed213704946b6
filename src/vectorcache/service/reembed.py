"""Move a cache to the server's embedding model, a batch at a time, while it keeps serving.

Every stored vector records the model (``space``) that made it, and a search compares vectors
of one space only: after a model change the old entries still hit exactly (the exact-match key
does not depend on the model) but not semantically, until they are re-embedded here. Prompts
are decrypted in memory to be embedded and never written out; the entry keeps its id, answer,
counters and expiry. Resumable by construction: each batch takes entries still in another
space, so an interrupted run goes on where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vectorcache.embeddings import Embedder
from vectorcache.models import Project
from vectorcache.store import Store

__all__ = ["ReembedResult", "Reembedder"]


@dataclass
class ReembedResult:
    moved: int = 0
    vanished: int = 0  # deleted (or expired and cleared) while the run went on


class Reembedder:
    def __init__(self, store: Store, embedder: Embedder,
                 respelt: Callable[[Project, str, Any], Any],
                 project: Callable[[str], Any]) -> None:
        """``respelt``: the cache's reading without slips (``CacheService.respelt_vector``), so a
        moved entry gets the vector a fresh miss would have stored; ``project``: by id."""
        self._store = store
        self._embedder = embedder
        self._respelt = respelt
        self._project = project

    async def pending(self) -> int:
        return await self._store.count_other_space()

    async def run(self, batch: int = 64,
                  progress: Callable[[int], None] | None = None) -> ReembedResult:
        if self._store.space is None:
            raise RuntimeError("Re-embedding needs a store opened with the server's model.")
        result = ReembedResult()
        projects: dict[str, Any] = {}  # read once each, not once per entry
        while entries := await self._store.entries_to_reembed(batch):
            vectors = await self._embedder.embed([e.prompt for e in entries])
            for entry, typed in zip(entries, vectors, strict=True):
                if entry.project_id not in projects:
                    projects[entry.project_id] = await self._project(entry.project_id)
                project = projects[entry.project_id]
                respelt = (None if project is None
                           else await self._respelt(project, entry.prompt, typed))
                vector = typed if respelt is None else respelt
                if await self._store.set_entry_vector(entry.id, vector):
                    result.moved += 1
                else:
                    result.vanished += 1
            if progress is not None:
                progress(len(entries))
        return result
