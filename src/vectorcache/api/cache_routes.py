"""The native API: ``/v1/cache/...`` (shapes in API.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response

from vectorcache.api.deps import authenticated, runtime
from vectorcache.api.idempotent import idempotent
from vectorcache.api.schemas import ClearBody, FeedbackBody, QueryBody, StoreBody
from vectorcache.service.auth import Principal
from vectorcache.service.requests import LookupResult, QueryResult

__all__ = ["lookup_json", "query_json", "router"]

router = APIRouter(prefix="/v1/cache")

READ = Depends(authenticated("cache:read"))
WRITE = Depends(authenticated("cache:write"))
ANALYTICS = Depends(authenticated("analytics:read"))


def lookup_json(result: LookupResult, include_debug: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cache_hit": result.hit,
        "is_cache_hit": result.hit,
        "response": result.response,
        "similarity_score": result.similarity if result.hit else None,
        "cache_entry_id": result.entry_id if result.hit else None,
    }
    if result.bypass:
        body["cache_bypassed"] = result.bypass
    if include_debug:
        body["debug"] = result.debug
    return body


def query_json(result: QueryResult, include_debug: bool) -> dict[str, Any]:
    body = lookup_json(result, include_debug)
    body.update(
        cost_saved=result.cost_saved if result.hit else 0.0,
        llm_provider=result.provider,
        cache_entry_id=result.entry_id,
        query_id=result.query_id,
        response_time_ms=result.response_time_ms,
        tokens_used=0 if result.hit else result.tokens_used,
        estimated_cost=0.0 if result.hit else result.estimated_cost,
        model=result.model,  # the model that answered (a fallback's, when one did)
    )
    if body["cache_entry_id"] is None:  # optional in the TypeScript SDK's type: absent, not null
        del body["cache_entry_id"]
    return body


# The hot routes return a JSONResponse: FastAPI would otherwise validate and re-encode the
# dict through pydantic (dict[str, Any]), ~0.1 ms of event-loop time per request for nothing.
@router.post("/query")
async def query(request: Request, body: QueryBody = Body(),
                principal: Principal = READ) -> Response:
    principal.check_project(body.project_id)
    req = body.to_request()
    # a read-only key may ask, and is answered, but does not write to the cache
    req.no_store = "cache:write" not in principal.scopes

    async def answer() -> Response:
        result = await runtime(request).cache.query(principal, req)
        return JSONResponse(query_json(result, body.include_debug))

    return await idempotent(request, principal, answer)  # a retry is not asked twice


@router.post("/lookup")
async def lookup(request: Request, body: QueryBody = Body(),
                 principal: Principal = READ) -> JSONResponse:
    principal.check_project(body.project_id)
    result = await runtime(request).cache.lookup(principal, body.to_request())
    return JSONResponse(lookup_json(result, body.include_debug))


@router.post("/store", status_code=201)
async def store(request: Request, body: StoreBody = Body(),
                principal: Principal = WRITE) -> dict[str, Any]:
    principal.check_project(body.project_id)
    entry_id = await runtime(request).cache.store(principal, body.to_request())
    return {"cache_entry_id": entry_id, "id": entry_id}


@router.post("/feedback")
async def feedback(request: Request, body: FeedbackBody = Body(),
                   principal: Principal = WRITE) -> dict[str, Any]:
    """Report a served answer as wrong (or right): see ``service/feedback.py``."""
    principal.check_project(body.project_id)
    outcome = await runtime(request).feedback.report(
        principal, entry_id=body.cache_entry_id, correct=body.correct,
        prompt=body.prompt_text(), messages=body.message_dicts())
    return dict(outcome.__dict__)


@router.get("/projects/{project_id}/stats")
async def stats(request: Request, project_id: str,
                principal: Principal = ANALYTICS) -> dict[str, Any]:
    result = await runtime(request).entries.stats(principal, project_id)
    # a number, as the TypeScript SDK types it: 0 until the project has served a hit
    return {**result.__dict__, "avg_similarity_score": result.avg_similarity_score or 0.0}


@router.post("/clear")
async def clear(request: Request, body: ClearBody | None = Body(default=None),
                principal: Principal = WRITE) -> dict[str, Any]:
    body = body or ClearBody()
    outcome = await runtime(request).entries.clear(
        principal, project_id=body.project_id, expired_only=body.expired_only,
        older_than_hours=body.older_than_hours)
    return dict(outcome.__dict__)


@router.delete("/entries/{entry_id}")
async def delete_entry(request: Request, entry_id: str,
                       principal: Principal = WRITE) -> JSONResponse:
    await runtime(request).entries.delete(principal, entry_id)
    return JSONResponse({"deleted": True, "cache_entry_id": entry_id})
