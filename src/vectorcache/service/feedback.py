"""Wrong-answer reports: a client says a served hit was wrong, and the entry stops serving it.

The client sends the prompt it asked (``prompt``, or the chat's ``messages``) with the
``cache_entry_id`` it was served and ``correct: false``. The entry id says which entry, and
thereby which partition (project, model, context, conversation); it must belong to the caller's
project. With ``s`` the cosine between the prompt and the entry's:

* the entry's own floor rises to ``s + (1 - s) / 2``: afterwards it is served only to prompts
  at most half as far from it as the one it answered wrongly. This is a per-entry threshold
  learned from feedback, in the spirit of vCache, but it is only ever tightened: one report is
  evidence enough to be stricter, and nothing a client says makes an entry looser. The same
  wrong answer is never served for that prompt again, nor for prompts as far or farther.
* when the report is about the entry's own prompt (the same text after normalisation, or
  ``s >= SAME_PROMPT``), the stored answer itself is wrong: the entry is deleted, and the next
  such request goes to the provider.

``correct: true`` is recorded in the audit log and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vectorcache.embeddings import Embedder
from vectorcache.errors import NotFound
from vectorcache.hashing import normalize_prompt
from vectorcache.models import Project
from vectorcache.service.auth import Principal
from vectorcache.service.prompt import PromptView
from vectorcache.store import Store

__all__ = ["SAME_PROMPT", "FeedbackOutcome", "FeedbackService", "floor_after_report"]

#: a cosine this high is the entry's own prompt (int8 vectors of one text agree to ~1e-3)
SAME_PROMPT = 0.995


def floor_after_report(similarity: float) -> float:
    """The entry's new floor after it answered a prompt at ``similarity`` wrongly."""
    return round(similarity + (1.0 - similarity) / 2.0, 6)


@dataclass(frozen=True)
class FeedbackOutcome:
    cache_entry_id: str
    correct: bool
    similarity: float
    #: the entry's floor now (None when the entry was deleted or the report said "correct")
    min_similarity: float | None
    deleted: bool


class FeedbackService:
    def __init__(self, store: Store, embedder: Embedder,
                 matched_view: Callable[[Project, str | None, list[Any] | None],
                                        tuple[PromptView, bool]],
                 respelt_vector: Callable[[Project, str, Any], Awaitable[Any | None]]) -> None:
        self._store = store
        self._embedder = embedder
        self._matched_view = matched_view  # CacheService.matched_view: what a lookup embeds
        # CacheService.respelt_vector: what a lookup searches with once more, for slips
        self._respelt_vector = respelt_vector

    async def report(self, principal: Principal, *, entry_id: str, correct: bool,
                     prompt: str | None, messages: list[Any] | None) -> FeedbackOutcome:
        view, _ = self._matched_view(principal.project, prompt, messages)
        entry = await self._store.get_entry(entry_id)
        if entry is None or entry.project_id != principal.project.id:
            raise NotFound(f"Cache entry {entry_id} not found")
        stored = await self._store.entry_vector(entry_id)
        # as near as the lookup that served it saw it: a mistyped prompt is also searched for
        # without its slips, and the floor must keep the entry from that search too
        typed = (await self._embedder.embed([view.text]))[0]
        respelt = await self._respelt_vector(principal.project, view.text, typed)
        queries = [typed] if respelt is None else [typed, respelt]
        similarity = (round(max(float(np.dot(stored, q)) for q in queries), 6)
                      if stored is not None else 0.0)
        floor: float | None = None
        deleted = False
        if not correct:
            # the entry's own prompt (the exact-match path serves it whatever the floor)
            if (normalize_prompt(view.text) == normalize_prompt(entry.prompt)
                    or similarity >= SAME_PROMPT):
                deleted = bool(await self._store.delete_entries(principal.project.id, [entry_id]))
            else:
                floor = await self._store.raise_entry_floor(entry_id,
                                                            floor_after_report(similarity))
        await self._store.add_audit(
            "cache.feedback", project_id=principal.project.id, actor=principal.actor,
            target=entry_id,
            details={"correct": correct, "similarity": similarity, "min_similarity": floor,
                     "deleted": deleted}, client_ip=principal.client_ip)
        return FeedbackOutcome(cache_entry_id=entry_id, correct=correct, similarity=similarity,
                               min_similarity=floor, deleted=deleted)
