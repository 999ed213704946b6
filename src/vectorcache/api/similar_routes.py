"""Native read-only views of the cache: ``GET /v1/cache/projects/{id}/similar`` and the dry run
``POST /v1/cache/test``. Neither calls the provider nor changes anything."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from vectorcache.api.deps import authenticated, runtime
from vectorcache.api.schemas import QueryBody
from vectorcache.clock import to_iso, utcnow
from vectorcache.models import Entry
from vectorcache.runtime import Runtime
from vectorcache.service.auth import Principal
from vectorcache.service.plan import Plan
from vectorcache.service.scope import NO_USER

__all__ = ["router"]

router = APIRouter(prefix="/v1/cache")

READ = Depends(authenticated("cache:read"))


def _listed(found: list[tuple[Entry, float]]) -> list[dict[str, Any]]:
    return [{"id": e.id, "original_query": e.prompt, "similarity": round(float(score), 6),
             "created_at": to_iso(e.created_at)} for e, score in found]


async def _similar(rt: Runtime, plan: Plan, vector: Any, limit: int) -> list[dict[str, Any]]:
    if vector is None:
        vector = (await rt.embedder.embed([plan.view.text]))[0]
    return _listed(await rt.store.search(plan.partition, vector, limit, utcnow()))


async def _similar_in_project(rt: Runtime, principal: Principal, query: str,
                              context: str | None, limit: int,
                              user_hash: str | None) -> list[dict[str, Any]]:
    """Without a model (the TypeScript SDK sends none): the project's entries across its
    models, as a listing (``context``, if given, still narrows it); a key limited to some
    models sees only theirs; ``user_hash``: only that end user's entries."""
    allowed = (principal.key.models if principal.key else ()) or principal.project.allowed_models
    narrowed = bool(allowed) or context is not None
    vector = (await rt.embedder.embed([query]))[0]
    found = await rt.store.search_project(principal.project.id, vector,
                                          limit * 4 if narrowed else limit, utcnow(),
                                          user_hash=user_hash)
    return _listed([(e, s) for e, s in found if (not allowed or e.model in allowed)
                    and (context is None or e.context == context)][:limit])


@router.get("/projects/{project_id}/similar")
async def similar(request: Request, project_id: str,
                  query: str = Query(min_length=1, max_length=32_000),
                  limit: int = Query(default=10, ge=1, le=100),
                  model: str | None = Query(default=None, max_length=200),
                  context: str | None = Query(default=None, max_length=32_000),
                  user: str | None = Query(default=None, max_length=256),
                  principal: Principal = READ) -> dict[str, Any]:
    """The stored prompts nearest to ``query``: in one partition (project, model, context,
    and ``user`` in ``user`` cache scope) when a model is named, else across the project's
    models (a listing, not a decision). In ``user`` scope only ``user``'s own entries are
    listed; naming no user lists nothing (``cache_bypassed: no_user``, as a lookup)."""
    principal.check_project(project_id)
    rt = runtime(request)
    if model is None:
        user_hash = None
        if principal.cache_scope == "user":
            user_hash = rt.cache.user_hash(principal.project, user)
            if user_hash is None:
                return _bypassed(query, NO_USER)
        entries = await _similar_in_project(rt, principal, query, context, limit, user_hash)
    else:
        plan = rt.cache.plan(principal, prompt=query, messages=None, model=model,
                             context=context, params={}, threshold=None, user=user)
        if plan.bypass:  # a lookup would search nothing: nothing to list
            return _bypassed(query, plan.bypass)
        entries = await _similar(rt, plan, None, limit)
    return {"query": query, "similar_entries": entries, "total_found": len(entries)}


def _bypassed(query: str, reason: str) -> dict[str, Any]:
    return {"query": query, "similar_entries": [], "total_found": 0, "cache_bypassed": reason}


def _step(step_id: int, name: str, ms: float, details: str, icon: str,
          status: str = "success") -> dict[str, Any]:
    """A workflow step as the TypeScript SDK types it: a numeric id, and a status of
    ``pending|running|success|error|skipped``."""
    return {"id": step_id, "name": name, "status": status, "duration": round(ms, 3),
            "details": details, "icon": icon}


@router.post("/test")
async def dry_run(request: Request, body: QueryBody = Body(),
                  principal: Principal = READ) -> dict[str, Any]:
    """What a query would do, step by step, without calling the provider or storing.

    ``response`` is the cached answer, or "" when nothing would be served; the hit's
    ``similarity_score``, ``cache_entry_id`` and ``cost_saved`` are present only on a hit."""
    start = time.perf_counter()
    principal.check_project(body.project_id)
    rt = runtime(request)
    req = body.to_request()
    t = time.perf_counter()
    plan = rt.cache.plan(principal, prompt=req.prompt, messages=req.messages, model=req.model,
                         context=req.context, params=req.params,
                         threshold=req.similarity_threshold, user=req.user)
    plan_ms = (time.perf_counter() - t) * 1000
    result = await rt.cache.lookup_plan(plan, include_debug=True)
    # bypassed ("no_user", "pii"): nothing is looked up, so no neighbour is shown either
    similar = [] if plan.bypass else await _similar(rt, plan, result.vector, 5)
    debug = result.debug
    steps = [
        _step(1, "Authenticate API key", 0.0, f"project {plan.project.name}", "key"),
        _step(2, "Resolve partition", plan_ms, f"model {plan.model}", "filter"),
        _step(3, "Embed prompt", float(debug.get("embedding_time_ms", 0.0)),
              "exact match, no embedding needed" if debug.get("exact_match")
              else "all-MiniLM-L6-v2", "cpu"),
        _step(4, "Search similar entries", float(debug.get("search_time_ms", 0.0)),
              f"{len(similar)} candidates", "search"),
        _step(5, "Decide hit or miss", float(debug.get("decision_time_ms", 0.0)),
              str(debug.get("decision_reason", "")), "check"),
        _step(6, "Respond from cache" if result.hit else "Call the LLM provider",
              0.0, "cached answer" if result.hit else "skipped in a dry run",
              "zap" if result.hit else "cloud", "success" if result.hit else "skipped"),
    ]
    answer: dict[str, Any] = {"cache_hit": result.hit, "response": result.response or ""}
    if result.hit:
        answer.update(similarity_score=result.similarity, cache_entry_id=result.entry_id,
                      cost_saved=result.cost_saved)
    if result.bypass:
        answer["cache_bypassed"] = result.bypass
    return {**answer, "response_time": round((time.perf_counter() - start) * 1000, 3),
            "similar_entries": similar, "workflow_steps": steps,
            "similarity_threshold": plan.policy.threshold}
