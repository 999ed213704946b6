"""The request path: partition → exact match → embed → search → decide → (miss) provider → store.

``lookup`` never calls the provider; ``query`` does on a miss and stores a complete answer.
Every step is timed for ``include_debug``. The steps are their own modules, which this service
puts together: planning (``plan.py``), looking up (``lookup.py``), storing an answer
(``entry_writer.py``) and answering a miss (``misses.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from vectorcache.decision import HitDecider
from vectorcache.embeddings import Embedder
from vectorcache.errors import NotCacheable, ValidationFailed
from vectorcache.hashing import Hasher
from vectorcache.models import Project, Usage, UsageEvent
from vectorcache.pricing import Pricing
from vectorcache.service.auth import Principal
from vectorcache.service.entry_writer import EntryWriter
from vectorcache.service.events import EventWriter
from vectorcache.service.lookup import Lookup
from vectorcache.service.miss_lease import MissLeases
from vectorcache.service.misses import Missed, Misses
from vectorcache.service.plan import Plan, Planner
from vectorcache.service.prompt import PromptView
from vectorcache.service.query_ids import QueryIds
from vectorcache.service.requests import CacheRequest, LookupResult, QueryResult, StoreRequest
from vectorcache.service.scope import NO_USER
from vectorcache.service.timing import elapsed_ms
from vectorcache.settings import Settings
from vectorcache.store import Store

__all__ = ["CacheService"]

_COUNT_TTL_SECONDS = 5.0


class CacheService:
    def __init__(self, *, settings: Settings, store: Store, embedder: Embedder,
                 decider_for: Callable[[str], HitDecider], hasher: Hasher, events: EventWriter,
                 pricing: Pricing, http: httpx.AsyncClient, leases: MissLeases,
                 query_ids: QueryIds | None = None) -> None:
        self._store = store
        self._events = events
        self._pricing = pricing
        self._planner = Planner(hasher=hasher, embedder=embedder, decider_for=decider_for,
                                max_prompt_chars=settings.max_prompt_chars)
        self._lookup = Lookup(store=store, embedder=embedder, decider_for=decider_for,
                              planner=self._planner, pricing=pricing,
                              search_candidates=settings.search_candidates)
        self._writer = EntryWriter(store=store, embedder=embedder, planner=self._planner,
                                   default_ttl_seconds=settings.default_ttl_seconds)
        self._misses = Misses(store=store, http=http, leases=leases, lookup=self._lookup,
                              writer=self._writer)
        self._query_ids = query_ids or QueryIds()
        self._entry_counts: dict[str, tuple[float, int]] = {}

    @property
    def on_timings(self) -> Callable[[dict[str, Any]], None] | None:
        """Sees each lookup's step timings (ms), e.g. the metrics' histograms."""
        return self._lookup.on_timings

    @on_timings.setter
    def on_timings(self, observe: Callable[[dict[str, Any]], None] | None) -> None:
        self._lookup.on_timings = observe

    # ---------------------------------------------------------------- the steps
    def plan(self, principal: Principal, *, prompt: str | None, messages: list[Any] | None,
             model: str | None, context: str | None, params: dict[str, Any],
             threshold: float | None, user: str | None = None) -> Plan:
        return self._planner.plan(principal, prompt=prompt, messages=messages, model=model,
                                  context=context, params=params, threshold=threshold,
                                  user=user)

    def matched_view(self, project: Project, prompt: str | None,
                     messages: list[Any] | None) -> tuple[PromptView, bool]:
        return self._planner.matched_view(project, prompt, messages)

    async def respelt_vector(self, project: Project, text: str, typed: Any) -> Any | None:
        return await self._planner.respelt_vector(project, text, typed)

    def user_hash(self, project: Project, user: str | None) -> str | None:
        return self._planner.user_hash(project, user)

    async def lookup_plan(self, plan: Plan, *, include_debug: bool = False) -> LookupResult:
        return await self._lookup.lookup_plan(plan, include_debug=include_debug)

    async def store_answer(self, principal: Principal, plan: Plan, *, response: str,
                           usage: Usage, provider: str | None, user: str | None,
                           metadata: dict[str, object] | None, context: str | None,
                           ttl_seconds: int | None, vector: Any = None) -> str | None:
        """The new entry's id, or None when the personal-data gate refused to store it."""
        return await self._writer.store_answer(
            principal, plan, response=response, usage=usage, provider=provider, user=user,
            metadata=metadata, context=context, ttl_seconds=ttl_seconds, vector=vector)

    def provider_turn(self, plan: Plan, *, include_debug: bool = False
                      ) -> AbstractAsyncContextManager[LookupResult | None]:
        """See ``Misses.provider_turn``."""
        return self._misses.provider_turn(plan, include_debug=include_debug)

    # ---------------------------------------------------------------- lookup
    async def lookup(self, principal: Principal, req: CacheRequest) -> LookupResult:
        start = time.perf_counter()
        plan = self._planner.plan_request(principal, req)
        result = await self._lookup.lookup_plan(plan, include_debug=req.include_debug)
        self._record(principal, plan, result, req.user, elapsed_ms(start))
        if req.include_debug:
            await self._count_entries(plan, result)
        return result

    async def _count_entries(self, plan: Plan, result: LookupResult) -> None:
        """Debug only, after the timings, and at most every few seconds per project: a COUNT
        over a million-entry project costs tens of milliseconds."""
        now = time.monotonic()
        cached = self._entry_counts.get(plan.project.id)
        if cached is None or now - cached[0] > _COUNT_TTL_SECONDS:
            cached = (now, await self._store.count_entries(plan.project.id))
            self._entry_counts[plan.project.id] = cached
        result.debug["cache_entry_count"] = cached[1]

    def _record(self, principal: Principal, plan: Plan, result: LookupResult,
                user: str | None, latency_ms: float, *, tokens: int = 0,
                cost: float = 0.0) -> None:
        kind = "hit" if result.hit else ("bypass" if result.bypass else "miss")
        self._events.record(UsageEvent(
            project_id=plan.project.id, kind=kind, entry_id=result.entry_id,
            key_id=principal.key_id, user_hash=self.user_hash(plan.project, user),
            similarity=result.similarity, latency_ms=latency_ms,
            tokens=result.usage.total_tokens if result.hit else tokens,
            cost_usd=cost, cost_saved_usd=result.cost_saved, model=plan.model,
            exact=result.exact, reason=None if result.hit else result.bypass,
            provider_ms=getattr(result, "provider_ms", 0.0),
            tokens_in=0 if result.hit else getattr(result, "provider_usage", result.usage)
            .prompt_tokens,
            tokens_out=0 if result.hit else getattr(result, "provider_usage", result.usage)
            .completion_tokens,
        ))

    # ---------------------------------------------------------------- store
    async def store(self, principal: Principal, req: StoreRequest) -> str:
        if not req.response:
            raise ValidationFailed("Field required: response", param="response")
        plan = self.plan(principal, prompt=req.prompt, messages=req.messages, model=req.model,
                         context=req.context, params=req.params, threshold=None,
                         user=req.user)
        entry_id = await self._writer.store_answer(
            principal, plan, response=req.response, usage=req.usage, provider=None,
            user=req.user, metadata=req.metadata, context=req.context,
            ttl_seconds=req.ttl_seconds)
        if entry_id is None and plan.bypass == NO_USER:
            raise NotCacheable("Not stored: the cache scope is 'user' and the request names "
                               "no user", code="user_required")
        if entry_id is None and plan.project.pii_policy == "redact":
            raise NotCacheable("Not stored: redacted personal data is kept only in its end "
                               "user's partition (name the user; for a redacted answer, use "
                               "cache_scope 'user')", code="personal_data")
        if entry_id is None:
            raise NotCacheable("Not stored: the prompt, context, response or metadata contains "
                               "personal data (the project's pii_policy is 'bypass')",
                               code="personal_data")
        self._events.record(UsageEvent(project_id=plan.project.id, kind="store",
                                       entry_id=entry_id, key_id=principal.key_id,
                                       user_hash=self.user_hash(plan.project, req.user),
                                       model=plan.model))
        return entry_id

    # ---------------------------------------------------------------- query
    async def query(self, principal: Principal, req: CacheRequest) -> QueryResult:
        start = time.perf_counter()
        plan = self._planner.plan_request(principal, req)
        if req.no_lookup:
            looked = LookupResult(hit=False, bypass="no-cache", model=plan.model)
        else:
            looked = await self._lookup.lookup_plan(plan, include_debug=req.include_debug)
        result = QueryResult(**looked.__dict__)
        result.query_id = self._query_ids.new()
        if looked.hit:
            result.provider = "cache"
        else:
            missed, shared = await self._misses.answer(principal, plan, req, looked)
            if missed.waited_hit is not None:
                # another request asked the provider meanwhile: served from the entry it stored
                debug = result.debug
                result = QueryResult(**missed.waited_hit.__dict__)
                result.query_id, result.provider = self._query_ids.new(), "cache"
                if req.include_debug:
                    result.debug = {**debug, **result.debug, "coalesced": "waited"}
            else:
                self._answered(result, plan, req, missed, shared)
        result.response_time_ms = elapsed_ms(start)
        if req.include_debug:
            result.debug["total_time_ms"] = result.response_time_ms
        self._record(principal, plan, result, req.user, result.response_time_ms,
                     tokens=result.tokens_used, cost=result.estimated_cost)
        if req.include_debug:
            await self._count_entries(plan, result)
        return result

    def _answered(self, result: QueryResult, plan: Plan, req: CacheRequest, missed: Missed,
                  shared: bool) -> None:
        """Fill ``result`` with the provider's answer (its own, or shared with an identical
        request in flight in this process)."""
        completion = missed.completion
        assert completion is not None
        if req.include_debug:
            result.debug.update(missed.timings or {}, coalesced=shared)
        result.response = completion.text
        result.raw = completion.raw
        result.entry_id = missed.stored
        if completion.fallback_model:  # another model answered: labelled, never stored
            result.model, result.bypass = completion.fallback_model, "fallback"
        if shared and missed.stored is not None:
            # answered by an identical request in flight: served from its new entry
            result.hit, result.provider, result.similarity = True, "cache", 1.0
            result.usage = completion.usage
            result.cost_saved = self._pricing.cost(plan.model, completion.usage)
        elif not shared:
            result.provider = missed.provider
            result.tokens_used = completion.usage.total_tokens
            result.estimated_cost = self._pricing.cost(result.model, completion.usage)
            result.provider_usage = completion.usage
            result.provider_ms = (missed.timings or {}).get("llm_time_ms", 0.0)
        else:
            result.provider = missed.provider
        if missed.stored is None and completion.cacheable and not req.no_store:
            result.bypass = result.bypass or "pii"
