"""Storing an answer as an entry of a plan's partition, behind the personal-data gate: the
response, context, metadata and the request's shape are screened (off the event loop), and
what the project's policy would not keep is not stored."""

from __future__ import annotations

from typing import Any

import anyio

from vectorcache.bounds import expiry
from vectorcache.clock import utcnow
from vectorcache.embeddings import Embedder
from vectorcache.models import NewEntry, Usage
from vectorcache.security import pii
from vectorcache.service.auth import Principal
from vectorcache.service.plan import Plan, Planner
from vectorcache.store import Store

__all__ = ["EntryWriter"]


def _shape(plan: Plan) -> dict[str, object] | None:
    """What besides the prompt put an entry in its partition (earlier turns, sampling
    parameters), kept encrypted so an export imports into the same partition. Personal data in
    it is screened like the prompt; where the policy would not store it, only the hash stays."""
    if not plan.view.history and not plan.params:
        return None
    shape = {"history": [dict(turn) for turn in plan.view.history], "params": plan.params}
    screened, ok = pii.screen_json(shape, plan.project.pii_policy)
    return screened if ok and isinstance(screened, dict) else None


def _screened(plan: Plan, response: str, context: str | None,
              metadata: dict[str, object] | None) -> tuple[Any, ...]:
    """Everything an entry keeps, screened: (response, ok), (context, ok), (metadata, ok),
    shape. Run in a worker thread: a megabyte of answer takes a while, even linearly."""
    policy = plan.project.pii_policy
    return (pii.screen(response, policy), pii.screen(context, policy),
            pii.screen_json(metadata, policy), _shape(plan))


class EntryWriter:
    def __init__(self, *, store: Store, embedder: Embedder, planner: Planner,
                 default_ttl_seconds: int | None) -> None:
        self._store = store
        self._embedder = embedder
        self._planner = planner
        self._default_ttl_seconds = default_ttl_seconds

    async def store_answer(self, principal: Principal, plan: Plan, *, response: str,
                           usage: Usage, provider: str | None, user: str | None,
                           metadata: dict[str, object] | None, context: str | None,
                           ttl_seconds: int | None, vector: Any = None) -> str | None:
        """The new entry's id, or None when the personal-data gate refused to store it."""
        (screened, response_ok), (context, context_ok), (kept, metadata_ok), shape = \
            await anyio.to_thread.run_sync(_screened, plan, response, context, metadata)
        # a redacted answer was someone's personal data: served in its user's partition only
        redacted = screened != response and plan.user_hash is None
        if (plan.bypass or not response_ok or not context_ok or not metadata_ok
                or screened is None or redacted):
            return None
        response = screened
        metadata = kept if isinstance(kept, dict) else metadata
        if vector is None:  # as a lookup would store it: without slips of the keyboard
            typed = (await self._embedder.embed([plan.view.text]))[0]
            respelt = await self._planner.respelt_vector(plan.project, plan.view.text, typed)
            vector = typed if respelt is None else respelt
        ttl = ttl_seconds or plan.project.ttl_seconds or self._default_ttl_seconds
        return await self._store.insert_entry(NewEntry(
            project_id=plan.project.id, partition=plan.partition, exact_key=plan.exact_key,
            model=plan.model, prompt=plan.view.text, response=response, embedding=vector,
            context=context, metadata=metadata,
            user_hash=self._planner.user_hash(plan.project, user),
            usage=usage, provider=provider, created_by_key=principal.key_id, shape=shape,
            expires_at=None if not ttl else expiry(utcnow(), ttl),
        ))
