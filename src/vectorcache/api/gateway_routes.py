"""The OpenAI-compatible gateway: ``/v1/chat/completions``, ``/v1/models``, ``/v1/embeddings``.

Errors on these paths are in OpenAI's ``{"error": {...}}`` shape (see ``api/errors.py``), so the
official ``openai`` client raises its usual exceptions. A body's numbers and flags are parsed
strictly first (``openai_models.check_numbers``): a 400, not a value sent on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from vectorcache.api.deps import authenticated, runtime
from vectorcache.api.idempotent import idempotent
from vectorcache.api.openai_models import ChatNumbers, EmbeddingNumbers, check_numbers
from vectorcache.errors import NotFound, ValidationFailed
from vectorcache.pricing import Pricing
from vectorcache.service.auth import Principal
from vectorcache.service.gateway import CacheControl, Gateway
from vectorcache.service.gateway_models import embeddings, list_models

__all__ = ["header_safe", "router"]

router = APIRouter(prefix="/v1")

READ = Depends(authenticated("cache:read"))
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def gateway(request: Request) -> Gateway:
    """One gateway per app, built on first use from the runtime."""
    built: Gateway | None = getattr(request.app.state, "gateway", None)
    if built is None:
        rt = runtime(request)
        built = Gateway(settings=rt.settings, cache=rt.cache, store=rt.store, http=rt.http,
                        events=rt.events, pricing=Pricing.from_file(rt.settings.pricing_file))
        request.app.state.gateway = built
    return built


def header_safe(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers as printable ASCII: some echo the client's text (a model name may hold
    any character, a line break included), percent-encoded when it is not."""
    return {name: value if value.isascii() and value.isprintable() else quote(value, safe="")
            for name, value in headers.items()}


def _object(body: Any, numbers: type[ChatNumbers | EmbeddingNumbers]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed("Request body must be a JSON object")
    check_numbers(numbers, body)
    return body


@router.post("/chat/completions")
async def chat_completions(request: Request, body: Any = Body(),
                           principal: Principal = READ) -> Response:
    control = CacheControl.from_headers(request.headers)
    body = _object(body, ChatNumbers)

    async def respond() -> Response:
        answer = await gateway(request).chat(principal, body, control,
                                             can_store="cache:write" in principal.scopes)
        headers = header_safe(answer.headers)
        if answer.stream is not None:
            return StreamingResponse(answer.stream, media_type="text/event-stream",
                                     headers={**_SSE_HEADERS, **headers})
        return JSONResponse(answer.body, headers=headers)

    return await idempotent(request, principal, respond)  # non-streaming answers are kept


@router.get("/models")
async def models(request: Request, principal: Principal = READ) -> dict[str, Any]:
    rt = runtime(request)
    return await list_models(principal, rt.store, rt.http)


@router.get("/models/{model_id:path}")
async def model(request: Request, model_id: str,
                principal: Principal = READ) -> dict[str, Any]:
    rt = runtime(request)
    for item in (await list_models(principal, rt.store, rt.http))["data"]:
        if item["id"] == model_id:
            return dict(item)
    raise NotFound(f"The model '{model_id}' does not exist", code="model_not_found")


@router.post("/embeddings")
async def create_embeddings(request: Request, body: Any = Body(),
                            principal: Principal = READ) -> dict[str, Any]:
    rt = runtime(request)
    return await embeddings(_object(body, EmbeddingNumbers), rt.embedder,
                            rt.settings.max_prompt_chars)
