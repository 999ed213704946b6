"""The request path: partition → exact match → embed → search → decide → (miss) provider → store.

``lookup`` never calls the provider; ``query`` does on a miss and stores a complete answer.
Every step is timed for ``include_debug``.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import anyio
import httpx
import numpy as np

from vectorcache.bounds import expiry
from vectorcache.clock import utcnow
from vectorcache.decision import (
    RESPELT_MIN_COSINE,
    Candidate,
    Decision,
    DecisionPolicy,
    HitDecider,
)
from vectorcache.embeddings import Embedder
from vectorcache.errors import NotCacheable, ValidationFailed
from vectorcache.hashing import Hasher
from vectorcache.models import Entry, NewEntry, Project, Usage, UsageEvent
from vectorcache.pricing import Pricing
from vectorcache.security import pii
from vectorcache.service.auth import Principal
from vectorcache.service.events import EventWriter
from vectorcache.service.miss_lease import MissLeases
from vectorcache.service.prompt import PromptView, resolve_prompt
from vectorcache.service.requests import CacheRequest, LookupResult, QueryResult, StoreRequest
from vectorcache.service.scope import NO_USER, resolve_scope
from vectorcache.service.singleflight import SingleFlight
from vectorcache.settings import Settings
from vectorcache.store import Store
from vectorcache.upstream import ChatRequest, Completion, build_upstream

__all__ = ["CacheService", "Plan"]

_ids = random.Random(os.urandom(32))  # noqa: S311 - ids need to be unique, not secret


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


def _query_id() -> str:
    """A UUID4 for the response's ``query_id``. A label, not a secret: drawn from a PRNG seeded
    from the OS once, because ``uuid.uuid4()`` makes a ``getrandom`` syscall per call, which
    releases the GIL on the event loop's thread (4 % of its time under load went to
    re-acquiring it)."""
    return str(uuid.UUID(int=_ids.getrandbits(128), version=4))


_COUNT_TTL_SECONDS = 5.0


@dataclass(frozen=True)
class _Nearest:
    """One search of a partition and the decision on what it found."""

    found: list[tuple[Entry, float]]
    candidates: int  # servable: not reported wrong for a prompt as far
    skipped: int
    decision: Decision


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


@dataclass(frozen=True)
class Plan:
    """A request resolved against its project: what is matched, where, and how."""

    project: Project
    model: str
    view: PromptView
    partition: str
    exact_key: str
    policy: DecisionPolicy
    params: dict[str, Any]
    #: answer, but neither look up nor store: "pii" (personal data under the "bypass"
    #: policy) or "no_user" (``user`` cache scope, no user named: ``service/scope.py``)
    bypass: str | None = None
    #: the end user whose own partition this is (``service/scope.py``); None: shared
    user_hash: str | None = None

    @property
    def pii_bypass(self) -> bool:
        return self.bypass == "pii"


@dataclass(frozen=True)
class _Missed:
    """How a miss was answered: by the provider (and maybe stored), or, after waiting for
    another request asking the provider the same thing, by the entry it stored."""

    completion: Completion | None = None
    provider: str = ""
    stored: str | None = None
    timings: dict[str, float] | None = None
    waited_hit: LookupResult | None = None


class CacheService:
    def __init__(self, *, settings: Settings, store: Store, embedder: Embedder,
                 decider_for: Callable[[str], HitDecider], hasher: Hasher, events: EventWriter,
                 pricing: Pricing, http: httpx.AsyncClient, leases: MissLeases) -> None:
        self._settings = settings
        self._store = store
        self._embedder = embedder
        self._decider_for = decider_for  # mode name -> HitDecider
        self._hasher = hasher
        self._events = events
        self._pricing = pricing
        self._http = http
        self._entry_counts: dict[str, tuple[float, int]] = {}
        self._misses: SingleFlight[_Missed] = SingleFlight()
        self._leases = leases
        #: sees each lookup's step timings (ms), e.g. the metrics' histograms
        self.on_timings: Callable[[dict[str, Any]], None] | None = None

    # ---------------------------------------------------------------- planning
    def plan(self, principal: Principal, *, prompt: str | None, messages: list[Any] | None,
             model: str | None, context: str | None, params: dict[str, Any],
             threshold: float | None, user: str | None = None) -> Plan:
        project = principal.project
        model = model or project.default_model
        if not model:
            raise ValidationFailed("Field required: model", param="model")
        principal.check_model(model)
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValidationFailed("similarity_threshold must be between 0 and 1",
                                   param="similarity_threshold")
        view, prompt_ok = self.matched_view(project, prompt, messages)
        screened_context, context_ok = pii.screen(context, project.pii_policy)
        scope = resolve_scope(principal.cache_scope, self.user_hash(project, user),
                              redacted=view.redacted or screened_context != context)
        partition = self._hasher.partition(project.id, model, context, view.history, params,
                                           scope.user_hash)
        policy = DecisionPolicy(
            threshold=project.similarity_threshold if threshold is None else threshold,
            target_error_rate=project.target_error_rate,
            mode=project.decision_mode or DecisionPolicy().mode,
        )
        return Plan(project, model, view, partition,
                    self._hasher.exact(partition, view.text), policy, params,
                    bypass="pii" if not (prompt_ok and context_ok) else scope.bypass,
                    user_hash=scope.user_hash)

    def matched_view(self, project: Project, prompt: str | None,
                     messages: list[Any] | None) -> tuple[PromptView, bool]:
        """The text that is embedded and matched, and whether it is free of personal data
        (under the "redact" policy the redacted text is matched and stored instead)."""
        view = resolve_prompt(prompt, messages, self._settings.max_prompt_chars)
        text, ok = pii.screen(view.text, project.pii_policy)
        return replace(view, text=text or view.text,
                       redacted=text is not None and text != view.text), ok

    async def respelt_vector(self, project: Project, text: str, typed: Any) -> Any | None:
        """The vector of ``text`` as it reads without its slips of the keyboard ("captial"),
        which the prompt as typed embeds far from, or None: when the project's rule reads no
        slips, the text has none, or the model moves the reading too far from the prompt as
        typed (``RESPELT_MIN_COSINE``): then the "slip" was a word it knows, a name or a
        product ("cuda" is not "cuba", "canva" not "canvas"), not noise it could not read."""
        decider = self._decider_for(project.decision_mode or DecisionPolicy().mode)
        respelt = decider.respelt(text)
        if respelt is None:
            return None
        vector = (await self._embedder.embed([respelt]))[0]
        return vector if float(np.dot(typed, vector)) >= RESPELT_MIN_COSINE else None

    def _plan_request(self, principal: Principal, req: CacheRequest) -> Plan:
        return self.plan(principal, prompt=req.prompt, messages=req.messages, model=req.model,
                         context=req.context, params=req.params,
                         threshold=req.similarity_threshold, user=req.user)

    # ---------------------------------------------------------------- lookup
    async def lookup_plan(self, plan: Plan, *, include_debug: bool = False) -> LookupResult:
        if plan.bypass:
            return LookupResult(hit=False, bypass=plan.bypass, model=plan.model)
        start = time.perf_counter()
        now = utcnow()
        debug: dict[str, Any] = {}
        entry = await self._store.find_exact(plan.partition, plan.exact_key, now)
        debug["exact_time_ms"] = _ms(start)
        if entry is not None:
            debug.update(exact_match=True, embedding_time_ms=0.0, search_time_ms=_ms(start),
                         decision_reason="exact match of the normalised prompt")
            result = self._hit(plan, entry, 1.0, exact=True)
        else:
            t = time.perf_counter()
            vector = (await self._embedder.embed([plan.view.text]))[0]
            debug["embedding_time_ms"] = _ms(t)
            decider = self._decider_for(plan.policy.mode)
            near = await self._nearest(plan, decider, vector, now, debug)
            # a mistyped prompt ("captial") embeds far from what it repeats: look again as it
            # reads without its slips; the decision still reads the prompt as it was typed
            t = time.perf_counter()
            respelt = (None if near.decision.hit
                       else await self.respelt_vector(plan.project, plan.view.text, vector))
            if respelt is not None:
                vector = respelt
                again = await self._nearest(plan, decider, vector, now, {})
                debug["respelt_time_ms"] = _ms(t)
                if again.decision.hit:
                    near = again
                    debug["respelt"] = True
            decision, reason = near.decision, near.decision.reason
            if near.skipped:
                reason += (f"; {near.skipped} entr{'y' if near.skipped == 1 else 'ies'} skipped, "
                           "reported wrong for a prompt as far")
            debug.update(exact_match=False, decision_reason=reason, candidates=near.candidates,
                         **({"decision": decision.details} if decision.details else {}))
            if decision.hit and decision.candidate is not None:
                chosen = next(e for e, _ in near.found if e.id == decision.candidate.entry_id)
                result = self._hit(plan, chosen, decision.candidate.similarity)
            else:
                # a miss is stored under the vector of the prompt as it reads without its
                # slips, so the prompt asked without them finds it (a repeat with the same
                # slip is an exact match)
                result = LookupResult(hit=False, model=plan.model, vector=vector)
        if self.on_timings is not None:
            self.on_timings(debug)
        if include_debug:
            debug["total_time_ms"] = _ms(start)
            debug["matched_cache_entry_id"] = result.entry_id
            debug["similarity_threshold"] = plan.policy.threshold
            result.debug = debug
        return result

    async def _nearest(self, plan: Plan, decider: HitDecider, vector: Any, now: Any,
                       debug: dict[str, Any]) -> _Nearest:
        """Search the partition near ``vector`` and decide; timings go into ``debug``."""
        t = time.perf_counter()
        found = await self._store.search(plan.partition, vector, self._settings.search_candidates,
                                         now, min_score=decider.floor(plan.policy))
        debug["search_time_ms"] = _ms(t)
        t = time.perf_counter()
        # an entry reported wrong for a prompt this far away serves only closer ones
        servable = [(e, s) for e, s in found if s >= e.min_similarity]
        candidates = [Candidate(e.id, score, e.prompt) for e, score in servable]
        decision = decider.decide(plan.view.text, candidates, plan.policy)
        debug["decision_time_ms"] = _ms(t)
        return _Nearest(found, len(candidates), len(found) - len(servable), decision)

    def _hit(self, plan: Plan, entry: Entry, similarity: float,
             exact: bool = False) -> LookupResult:
        return LookupResult(
            hit=True, response=entry.response, similarity=round(float(similarity), 6),
            entry_id=entry.id, usage=entry.usage, model=plan.model,
            cost_saved=self._pricing.cost(entry.model, entry.usage), exact=exact,
        )

    async def lookup(self, principal: Principal, req: CacheRequest) -> LookupResult:
        start = time.perf_counter()
        plan = self._plan_request(principal, req)
        result = await self.lookup_plan(plan, include_debug=req.include_debug)
        self._record(principal, plan, result, req.user, _ms(start))
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

    def user_hash(self, project: Project, user: str | None) -> str | None:
        return None if user is None else self._hasher.user(project.id, user)

    # ---------------------------------------------------------------- store
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
            respelt = await self.respelt_vector(plan.project, plan.view.text, typed)
            vector = typed if respelt is None else respelt
        ttl = ttl_seconds or plan.project.ttl_seconds or self._settings.default_ttl_seconds
        return await self._store.insert_entry(NewEntry(
            project_id=plan.project.id, partition=plan.partition, exact_key=plan.exact_key,
            model=plan.model, prompt=plan.view.text, response=response, embedding=vector,
            context=context, metadata=metadata, user_hash=self.user_hash(plan.project, user),
            usage=usage, provider=provider, created_by_key=principal.key_id, shape=shape,
            expires_at=None if not ttl else expiry(utcnow(), ttl),
        ))

    async def store(self, principal: Principal, req: StoreRequest) -> str:
        if not req.response:
            raise ValidationFailed("Field required: response", param="response")
        plan = self.plan(principal, prompt=req.prompt, messages=req.messages, model=req.model,
                         context=req.context, params=req.params, threshold=None,
                         user=req.user)
        entry_id = await self.store_answer(
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
                again = await self.lookup_plan(plan, include_debug=include_debug)
                if again.hit:
                    yield again
                    return
        yield None  # waited twice for calls that stored nothing: ask, without a lease

    async def _answer_and_store(
        self, principal: Principal, plan: Plan, req: CacheRequest, looked: LookupResult
    ) -> _Missed:
        """Ask the provider (unless another request asking the same stored an answer
        meanwhile); store a complete answer unless told not to."""
        if req.no_lookup or req.no_store:  # a fresh answer asked for; nothing to share
            return await self._ask_and_store(principal, plan, req, looked)
        async with self.provider_turn(plan, include_debug=req.include_debug) as hit:
            if hit is not None:
                return _Missed(waited_hit=hit)
            return await self._ask_and_store(principal, plan, req, looked)

    async def _ask_and_store(self, principal: Principal, plan: Plan, req: CacheRequest,
                             looked: LookupResult) -> _Missed:
        t = time.perf_counter()
        completion, provider = await self.complete(plan)
        timings = {"llm_time_ms": _ms(t)}
        stored = None
        if completion.cacheable and not req.no_store:
            t = time.perf_counter()
            stored = await self.store_answer(
                principal, plan, response=completion.text, usage=completion.usage,
                provider=provider, user=req.user, metadata=req.metadata, context=req.context,
                ttl_seconds=req.ttl_seconds, vector=looked.vector)
            timings["store_time_ms"] = _ms(t)
        return _Missed(completion, provider, stored, timings)

    async def query(self, principal: Principal, req: CacheRequest) -> QueryResult:
        start = time.perf_counter()
        plan = self._plan_request(principal, req)
        if req.no_lookup:
            looked = LookupResult(hit=False, bypass="no-cache", model=plan.model)
        else:
            looked = await self.lookup_plan(plan, include_debug=req.include_debug)
        result = QueryResult(**looked.__dict__)
        result.query_id = _query_id()
        if looked.hit:
            result.provider = "cache"
        else:
            if plan.bypass:  # answered for this request alone: nothing shared
                missed, shared = await self._ask_and_store(principal, plan, req, looked), False
            else:
                missed, shared = await self._misses.run(
                    (plan.exact_key, req.no_store),
                    lambda: self._answer_and_store(principal, plan, req, looked))
            if missed.waited_hit is not None:
                # another request asked the provider meanwhile: served from the entry it stored
                debug = result.debug
                result = QueryResult(**missed.waited_hit.__dict__)
                result.query_id, result.provider = _query_id(), "cache"
                if req.include_debug:
                    result.debug = {**debug, **result.debug, "coalesced": "waited"}
            else:
                self._answered(result, plan, req, missed, shared)
        result.response_time_ms = _ms(start)
        if req.include_debug:
            result.debug["total_time_ms"] = result.response_time_ms
        self._record(principal, plan, result, req.user, result.response_time_ms,
                     tokens=result.tokens_used, cost=result.estimated_cost)
        if req.include_debug:
            await self._count_entries(plan, result)
        return result

    def _answered(self, result: QueryResult, plan: Plan, req: CacheRequest, missed: _Missed,
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
