"""Answering a miss: ask the project's provider, and store a complete answer.

Identical misses share one provider call: in this process through ``SingleFlight``; between
the gateway's kinds of request and across replicas through ``MissLeases``, where the others
wait for the one asking and serve the entry it stored (``provider_turn``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from vectorcache.service.auth import Principal
from vectorcache.service.entry_writer import EntryWriter
from vectorcache.service.lookup import Lookup
from vectorcache.service.miss_lease import MissLeases
from vectorcache.service.plan import Plan
from vectorcache.service.requests import CacheRequest, LookupResult
from vectorcache.service.singleflight import SingleFlight
from vectorcache.service.timing import elapsed_ms
from vectorcache.store import Store
from vectorcache.upstream import ChatRequest, Completion, build_upstream

__all__ = ["Missed", "Misses"]


@dataclass(frozen=True)
class Missed:
    """How a miss was answered: by the provider (and maybe stored), or, after waiting for
    another request asking the provider the same thing, by the entry it stored."""

    completion: Completion | None = None
    provider: str = ""
    stored: str | None = None
    timings: dict[str, float] | None = None
    waited_hit: LookupResult | None = None


class Misses:
    def __init__(self, *, store: Store, http: httpx.AsyncClient, leases: MissLeases,
                 lookup: Lookup, writer: EntryWriter) -> None:
        self._store = store
        self._http = http
        self._leases = leases
        self._lookup = lookup
        self._writer = writer
        self._flights: SingleFlight[Missed] = SingleFlight()

    async def complete(self, plan: Plan) -> tuple[Completion, str]:
        config = await self._store.get_provider(plan.project.id)
        upstream = build_upstream(self._http, config)
        request = ChatRequest(model=plan.model, messages=plan.view.messages, params=plan.params)
        return await upstream.complete(request), upstream.name

    @asynccontextmanager
    async def provider_turn(self, plan: Plan, *,
                            include_debug: bool = False) -> AsyncIterator[LookupResult | None]:
        """Around asking the provider on a miss. If another request (another kind, or on
        another replica) is asking it the same prompt, waits for that call and yields the entry
        it stored, looked up again, as a hit; otherwise yields None, and the provider is to be
        asked inside the block while the others wait (``MissLeases``). If the call waited for
        stored nothing, tries once more to lead, so that a third request waits for this one."""
        if plan.bypass:  # nothing would be stored for the others to find
            yield None
            return
        for _ in range(2):
            async with self._leases.lead_or_follow(plan.exact_key) as waited:
                if not waited:
                    yield None
                    return
                again = await self._lookup.lookup_plan(plan, include_debug=include_debug)
                if again.hit:
                    yield again
                    return
        yield None  # waited twice for calls that stored nothing: ask, without a lease

    async def answer(self, principal: Principal, plan: Plan, req: CacheRequest,
                     looked: LookupResult) -> tuple[Missed, bool]:
        """The miss answered, and whether the answer was shared with an identical request in
        flight in this process."""
        if plan.bypass:  # answered for this request alone: nothing shared
            return await self._ask_and_store(principal, plan, req, looked), False
        return await self._flights.run(
            (plan.exact_key, req.no_store),
            lambda: self._answer_and_store(principal, plan, req, looked))

    async def _answer_and_store(self, principal: Principal, plan: Plan, req: CacheRequest,
                                looked: LookupResult) -> Missed:
        """Ask the provider (unless another request asking the same stored an answer
        meanwhile); store a complete answer unless told not to."""
        if req.no_lookup or req.no_store:  # a fresh answer asked for; nothing to share
            return await self._ask_and_store(principal, plan, req, looked)
        async with self.provider_turn(plan, include_debug=req.include_debug) as hit:
            if hit is not None:
                return Missed(waited_hit=hit)
            return await self._ask_and_store(principal, plan, req, looked)

    async def _ask_and_store(self, principal: Principal, plan: Plan, req: CacheRequest,
                             looked: LookupResult) -> Missed:
        t = time.perf_counter()
        completion, provider = await self.complete(plan)
        timings = {"llm_time_ms": elapsed_ms(t)}
        stored = None
        if completion.cacheable and not req.no_store:
            t = time.perf_counter()
            stored = await self._writer.store_answer(
                principal, plan, response=completion.text, usage=completion.usage,
                provider=provider, user=req.user, metadata=req.metadata, context=req.context,
                ttl_seconds=req.ttl_seconds, vector=looked.vector)
            timings["store_time_ms"] = elapsed_ms(t)
        return Missed(completion, provider, stored, timings)
