"""Native read-only views of the cache: ``GET /v1/cache/projects/{id}/similar`` and the dry run
``POST /v1/cache/test``. Neither calls the provider nor changes anything."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from vectorcache.api.deps import authenticated, runtime
from vectorcache.api.schemas import QueryBody
from vectorcache.clock import to_iso, utcnow
from vectorcache.runtime import Runtime
from vectorcache.service.auth import Principal
from vectorcache.service.cache import Plan

__all__ = ["router"]

router = APIRouter(prefix="/v1/cache")

READ = Depends(authenticated("cache:read"))


async def _similar(rt: Runtime, plan: Plan, vector: Any, limit: int) -> list[dict[str, Any]]:
    if vector is None:
        vector = (await rt.embedder.embed([plan.view.text]))[0]
    found = await rt.store.search(plan.partition, vector, limit, utcnow())
    return [{"id": e.id, "original_query": e.prompt, "similarity": round(float(score), 6),
             "created_at": to_iso(e.created_at)} for e, score in found]


@router.get("/projects/{project_id}/similar")
async def similar(request: Request, project_id: str,
                  query: str = Query(min_length=1, max_length=32_000),
                  limit: int = Query(default=10, ge=1, le=100),
                  model: str | None = Query(default=None, max_length=200),
                  context: str | None = Query(default=None, max_length=32_000),
                  principal: Principal = READ) -> dict[str, Any]:
    """The stored prompts nearest to ``query`` in one partition (project, model, context)."""
    principal.check_project(project_id)
    rt = runtime(request)
    plan = rt.cache.plan(principal, prompt=query, messages=None, model=model, context=context,
                         params={}, threshold=None)
    entries = await _similar(rt, plan, None, limit)
    return {"query": query, "similar_entries": entries, "total_found": len(entries)}


def _step(step_id: str, name: str, ms: float, details: str, icon: str,
          status: str = "completed") -> dict[str, Any]:
    return {"id": step_id, "name": name, "status": status, "duration": round(ms, 3),
            "details": details, "icon": icon}


@router.post("/test")
async def dry_run(request: Request, body: QueryBody = Body(),
                  principal: Principal = READ) -> dict[str, Any]:
    """What a query would do, step by step, without calling the provider or storing."""
    start = time.perf_counter()
    principal.check_project(body.project_id)
    rt = runtime(request)
    req = body.to_request()
    t = time.perf_counter()
    plan = rt.cache.plan(principal, prompt=req.prompt, messages=req.messages, model=req.model,
                         context=req.context, params=req.params,
                         threshold=req.similarity_threshold)
    plan_ms = (time.perf_counter() - t) * 1000
    result = await rt.cache.lookup_plan(plan, include_debug=True)
    similar = await _similar(rt, plan, result.vector, 5)
    debug = result.debug
    steps = [
        _step("auth", "Authenticate API key", 0.0, f"project {plan.project.name}", "key"),
        _step("partition", "Resolve partition", plan_ms, f"model {plan.model}", "filter"),
        _step("embed", "Embed prompt", float(debug.get("embedding_time_ms", 0.0)),
              "exact match, no embedding needed" if debug.get("exact_match")
              else "all-MiniLM-L6-v2", "cpu"),
        _step("search", "Search similar entries", float(debug.get("search_time_ms", 0.0)),
              f"{len(similar)} candidates", "search"),
        _step("decide", "Decide hit or miss", float(debug.get("decision_time_ms", 0.0)),
              str(debug.get("decision_reason", "")), "check"),
        _step("respond", "Respond from cache" if result.hit else "Call the LLM provider",
              0.0, "cached answer" if result.hit else "skipped in a dry run",
              "zap" if result.hit else "cloud", "completed" if result.hit else "skipped"),
    ]
    return {"cache_hit": result.hit, "similarity_score": result.similarity,
            "response": result.response, "cache_entry_id": result.entry_id,
            "response_time": round((time.perf_counter() - start) * 1000, 3),
            "similar_entries": similar, "workflow_steps": steps,
            "similarity_threshold": plan.policy.threshold}
