"""Looking a plan up: exact match (hash) → embed → search the partition → decide; on a miss,
once more with the prompt as it reads without its slips. Never calls the provider.

Every step is timed; the timings go to ``on_timings`` (the metrics) and, for
``include_debug``, into the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vectorcache.clock import utcnow
from vectorcache.decision import Candidate, Decision, HitDecider
from vectorcache.embeddings import Embedder
from vectorcache.models import Entry
from vectorcache.pricing import Pricing
from vectorcache.service.plan import Plan, Planner
from vectorcache.service.requests import LookupResult
from vectorcache.service.timing import elapsed_ms
from vectorcache.store import Store

__all__ = ["Lookup"]


@dataclass(frozen=True)
class _Nearest:
    """One search of a partition and the decision on what it found."""

    found: list[tuple[Entry, float]]
    candidates: int  # servable: not reported wrong for a prompt as far
    skipped: int
    decision: Decision


class Lookup:
    def __init__(self, *, store: Store, embedder: Embedder,
                 decider_for: Callable[[str], HitDecider], planner: Planner, pricing: Pricing,
                 search_candidates: int) -> None:
        self._store = store
        self._embedder = embedder
        self._decider_for = decider_for  # mode name -> HitDecider
        self._planner = planner
        self._pricing = pricing
        self._search_candidates = search_candidates
        #: sees each lookup's step timings (ms), e.g. the metrics' histograms
        self.on_timings: Callable[[dict[str, Any]], None] | None = None

    async def lookup_plan(self, plan: Plan, *, include_debug: bool = False) -> LookupResult:
        if plan.bypass:
            return LookupResult(hit=False, bypass=plan.bypass, model=plan.model)
        start = time.perf_counter()
        now = utcnow()
        debug: dict[str, Any] = {}
        entry = await self._store.find_exact(plan.partition, plan.exact_key, now)
        debug["exact_time_ms"] = elapsed_ms(start)
        if entry is not None:
            debug.update(exact_match=True, embedding_time_ms=0.0,
                         search_time_ms=elapsed_ms(start),
                         decision_reason="exact match of the normalised prompt")
            result = self._hit(plan, entry, 1.0, exact=True)
        else:
            result = await self._semantic(plan, now, debug)
        if self.on_timings is not None:
            self.on_timings(debug)
        if include_debug:
            debug["total_time_ms"] = elapsed_ms(start)
            debug["matched_cache_entry_id"] = result.entry_id
            debug["similarity_threshold"] = plan.policy.threshold
            result.debug = debug
        return result

    async def _semantic(self, plan: Plan, now: Any, debug: dict[str, Any]) -> LookupResult:
        """No exact match: embed, search, decide; timings go into ``debug``."""
        t = time.perf_counter()
        vector = (await self._embedder.embed([plan.view.text]))[0]
        debug["embedding_time_ms"] = elapsed_ms(t)
        decider = self._decider_for(plan.policy.mode)
        near = await self._nearest(plan, decider, vector, now, debug)
        # a mistyped prompt ("captial") embeds far from what it repeats: look again as it
        # reads without its slips; the decision still reads the prompt as it was typed
        t = time.perf_counter()
        respelt = (None if near.decision.hit
                   else await self._planner.respelt_vector(plan.project, plan.view.text,
                                                           vector))
        if respelt is not None:
            vector = respelt
            again = await self._nearest(plan, decider, vector, now, {})
            debug["respelt_time_ms"] = elapsed_ms(t)
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
            return self._hit(plan, chosen, decision.candidate.similarity)
        # a miss is stored under the vector of the prompt as it reads without its slips, so
        # the prompt asked without them finds it (a repeat with the same slip is an exact
        # match)
        return LookupResult(hit=False, model=plan.model, vector=vector)

    async def _nearest(self, plan: Plan, decider: HitDecider, vector: Any, now: Any,
                       debug: dict[str, Any]) -> _Nearest:
        """Search the partition near ``vector`` and decide; timings go into ``debug``."""
        t = time.perf_counter()
        found = await self._store.search(plan.partition, vector, self._search_candidates,
                                         now, min_score=decider.floor(plan.policy))
        debug["search_time_ms"] = elapsed_ms(t)
        t = time.perf_counter()
        # an entry reported wrong for a prompt this far away serves only closer ones
        servable = [(e, s) for e, s in found if s >= e.min_similarity]
        candidates = [Candidate(e.id, score, e.prompt) for e, score in servable]
        decision = decider.decide(plan.view.text, candidates, plan.policy)
        debug["decision_time_ms"] = elapsed_ms(t)
        return _Nearest(found, len(candidates), len(found) - len(servable), decision)

    def _hit(self, plan: Plan, entry: Entry, similarity: float,
             exact: bool = False) -> LookupResult:
        return LookupResult(
            hit=True, response=entry.response, similarity=round(float(similarity), 6),
            entry_id=entry.id, usage=entry.usage, model=plan.model,
            cost_saved=self._pricing.cost(entry.model, entry.usage), exact=exact,
        )
